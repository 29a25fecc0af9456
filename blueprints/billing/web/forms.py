"""Forms of the billing pages. They bound the input (lengths match the columns); the services decide what is
valid, so quantities, prices and dates are text here and "0", "abc" or "-1" come back as the service words
them, the same on the page as in the API."""

from __future__ import annotations

from wtforms import (
    DateField,
    FileField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from medcover.forms import Form

OFF = {"autocomplete": "off"}
NUMBER = {"inputmode": "numeric", **OFF}
DECIMAL = {"inputmode": "decimal", **OFF}
PAYER_CHOICES = [SelectChoice("patient", "Patient"), SelectChoice("insurer", "Insurer")]
ID = [Optional(), NumberRange(min=1, max=2**31 - 1)]


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _quantity(default: str | None = "1") -> StringField:
    return StringField("Quantity", default=default, validators=[Optional(), Length(max=10)], render_kw=NUMBER)


def _price(label: str = "Unit price") -> StringField:
    return StringField(label, validators=[Optional(), Length(max=20)], render_kw=DECIMAL)


def _date(label: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=10)], render_kw={"type": "date"})


# --- invoices and the patient's billing panel ----------------------------------------------------


class LineForm(Form):
    """One draft line edited in its row (prefixed ``line<no>`` so rows do not share ids). A field left out of
    the post stays as it was (no default)."""

    quantity = _quantity(default=None)
    unit_price = _price()
    description = StringField("Description", validators=[Optional(), Length(max=200)])


class LineAddForm(Form):
    """A line added to a draft: priced from the tariff on the service date unless a price is given."""

    service_code = StringField("Service code", validators=[DataRequired(), Length(max=30)], render_kw=OFF)
    quantity = _quantity()
    unit_price = _price("Unit price (blank: tariff)")
    description = StringField("Description (blank: tariff's)", validators=[Optional(), Length(max=200)])
    service_date = _date("Service date")


class ChargeForm(Form):
    """A billable service entered by hand on the patient's billing panel."""

    service_code = StringField("Service code", validators=[DataRequired(), Length(max=30)], render_kw=OFF)
    quantity = _quantity()
    unit_price = _price("Unit price (blank: tariff)")
    service_date = _date("Service date")
    next = HiddenField()


class DraftForm(Form):
    """The unbilled items ticked on the panel, to become one draft invoice."""

    item_ids = SelectMultipleField(
        "Items", coerce=int, validate_choice=False, validators=[DataRequired("Tick the items to bill.")]
    )


class ActionForm(Form):
    """Issue an invoice, remove a line: one button, nothing to fill in."""


class VoidForm(Form):
    reason = StringField("Reason", validators=[DataRequired("Say why the invoice is voided."), Length(max=300)])


class CreditForm(Form):
    amount = StringField("Amount", validators=[DataRequired(), Length(max=20)], render_kw=DECIMAL)
    payer = SelectField("Payer", choices=PAYER_CHOICES, default="patient")
    reason = StringField("Reason", validators=[DataRequired(), Length(max=300)])


# --- tariffs, receivables and billing settings ---------------------------------------------------


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
    """The upload; the CSRF token is checked here, the file itself by the view (type, size) and the tariffs
    service."""

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
