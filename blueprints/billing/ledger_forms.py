"""Forms of the tariff, receivables and billing settings pages. They bound the input (lengths match the
columns); tariffs.py and services.py decide what is valid and their refusals come back as field errors."""

from __future__ import annotations

from wtforms import DateField, FileField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from medcover.forms import Form

ID = [Optional(), NumberRange(min=1, max=2**31 - 1)]
OFF = {"autocomplete": "off"}


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class PriceForm(Form):
    #: platform admins choose the hospital; hospital staff price their own
    institution_id = SelectField("Hospital", coerce=int, validate_choice=False, validators=ID)
    service_code = StringField("Service code", validators=[DataRequired(), Length(max=30)], render_kw=OFF)
    description = StringField("Description", validators=[DataRequired(), Length(max=200)])
    benefit_code = StringField("Benefit code", validators=[DataRequired(), Length(max=30)], render_kw=OFF)
    # Text, not DecimalField: the service words the message for "abc" and "-1" the same way everywhere.
    unit_price = StringField(
        "Unit price", validators=[DataRequired(), Length(max=20)], render_kw={"inputmode": "decimal", **OFF}
    )
    effective_from = StringField(
        "Effective from", validators=[DataRequired(), Length(max=10)], render_kw={"type": "date"}
    )


class ImportForm(Form):
    """The upload; the CSRF token is checked here, the file itself by the view (type, size) and tariffs.py."""

    institution_id = SelectField("Hospital", coerce=int, validate_choice=False, validators=ID)
    file = FileField("Price list (CSV)", render_kw={"accept": ".csv,text/csv"})


class ConfirmImportForm(Form):
    """Names the previewed upload kept in the session; its content never comes back from the browser."""

    digest = HiddenField(validators=[DataRequired(), Length(max=64)])


class AgingForm(Form):
    """The receivables filters, read from the query string (a GET: no CSRF token)."""

    class Meta:
        csrf = False

    as_of = DateField("As of", validators=[Optional()])


class SettingsForm(Form):
    invoice_prefix = StringField("Invoice prefix", validators=[DataRequired(), Length(max=12)], render_kw=OFF)
    currency = StringField("Currency", validators=[DataRequired(), Length(max=3)], render_kw=OFF)
    tax_percent = StringField("Tax %", validators=[DataRequired(), Length(max=10)], render_kw={"inputmode": "decimal"})
    payment_terms_days = StringField(
        "Payment terms (days)", validators=[DataRequired(), Length(max=6)], render_kw={"inputmode": "numeric"}
    )
    bank_name = StringField("Bank", validators=[Optional(), Length(max=120)])
    bank_account = StringField("Account number", validators=[Optional(), Length(max=40)], render_kw=OFF)
    bank_branch = StringField("Branch", validators=[Optional(), Length(max=80)])
    payment_instructions = TextAreaField("Payment instructions", validators=[Optional(), Length(max=1000)])
