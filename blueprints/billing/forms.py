"""Forms of the invoice pages. They bound the input (lengths match the columns); services.py decides what is
valid, so quantities, prices and dates are text here and "0", "abc" or "-1" come back as the service words
them, the same on the page as in the API."""

from __future__ import annotations

from wtforms import HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from medcover.forms import Form

OFF = {"autocomplete": "off"}
NUMBER = {"inputmode": "numeric", **OFF}
DECIMAL = {"inputmode": "decimal", **OFF}
PAYER_CHOICES = [SelectChoice("patient", "Patient"), SelectChoice("insurer", "Insurer")]


def _quantity(default: str | None = "1") -> StringField:
    return StringField("Quantity", default=default, validators=[Optional(), Length(max=10)], render_kw=NUMBER)


def _price(label: str = "Unit price") -> StringField:
    return StringField(label, validators=[Optional(), Length(max=20)], render_kw=DECIMAL)


def _date(label: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=10)], render_kw={"type": "date"})


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
