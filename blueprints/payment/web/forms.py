"""Forms of the payment pages. They bound the input (lengths match the columns); services.py decides what is
valid, so amounts, dates and references are text here and come back worded by the service, the same on the
page as in the API."""

from __future__ import annotations

from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from blueprints.payment.models import MethodKind, PaymentKind
from medcover.forms import Form

OFF = {"autocomplete": "off"}
DECIMAL = {"inputmode": "decimal", **OFF}
DATE = {"type": "date"}
METHOD_LABELS = {
    MethodKind.CASH: "Cash",
    MethodKind.CARD: "Card",
    MethodKind.BANK_TRANSFER: "Bank transfer",
    MethodKind.MOBILE_MONEY: "Mobile money",
    MethodKind.CHEQUE: "Cheque",
}
METHOD_CHOICES = [SelectChoice(kind.value, label) for kind, label in METHOD_LABELS.items()]
KIND_LABELS = {
    PaymentKind.INVOICE: "An invoice",
    PaymentKind.CLAIM: "An approved claim",
    PaymentKind.PREMIUM: "A premium",
}
PAYERS = {"invoice": ("patient", "insurer"), "premium": ("member", "employer"), "claim": ("insurer",)}
#: the method detail each method asks for (services.DETAIL_FIELDS), as a field of RecordForm
DETAIL_FIELD = {"card": "last4", "mobile_money": "phone", "cheque": "bank", "bank_transfer": "bank"}


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _amount(label: str = "Amount") -> StringField:
    return StringField(label, validators=[Optional(), Length(max=20)], render_kw=DECIMAL)


def _date(label: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=10)], render_kw=DATE)


def _method() -> SelectField:
    return SelectField("Method", choices=METHOD_CHOICES, default="cash", validate_choice=False)


def _reference(label: str = "Reference") -> StringField:
    return StringField(label, validators=[Optional(), Length(max=80)], render_kw=OFF)


class RecordForm(Form):
    """One payment: what is paid (kind, reference_id, payer), then amount, method and the method's details."""

    kind = HiddenField(validators=[Length(max=10)])
    reference_id = HiddenField(validators=[Length(max=12)])
    payer = SelectField("Paid by", choices=[], validate_choice=False)
    amount = _amount()
    method = _method()
    reference = _reference()
    last4 = StringField("Card's last four digits", validators=[Optional(), Length(max=4)], render_kw=OFF)
    phone = StringField("Paying phone number", validators=[Optional(), Length(max=20)], render_kw=OFF)
    bank = StringField("Bank", validators=[Optional(), Length(max=80)])
    paid_on = _date("Paid on")
    note = StringField("Note", validators=[Optional(), Length(max=300)])

    @property
    def details(self):
        """The field holding the chosen method's detail: services word a bad one as the ``details`` error."""
        return getattr(self, DETAIL_FIELD.get(self.method.data or "", "bank"))

    def detail_values(self) -> dict:
        name = DETAIL_FIELD.get(self.method.data or "")
        value = (getattr(self, name).data or "").strip() if name else ""
        return {name: value} if value else {}


class RefundForm(Form):
    amount = _amount("Amount to refund")
    reason = StringField("Reason", validators=[DataRequired("Say why the money goes back."), Length(max=300)])


class ReverseForm(Form):
    reason = StringField("Reason", validators=[DataRequired("Say why the payment is reversed."), Length(max=300)])


class DecideForm(Form):
    """Approve or reject a refund; a rejection says why."""

    note = StringField("Note", validators=[Optional(), Length(max=300)])


class ActionForm(Form):
    """One button, nothing to fill in."""


class PreviewForm(Form):
    """The provider and period of a settlement (read from the query string: a preview changes nothing)."""

    class Meta:
        csrf = False

    institution_id = SelectField("Provider", coerce=int, choices=[], validate_choice=False)
    period_start = _date("Claims from")
    period_end = _date("to")


class SettleForm(Form):
    institution_id = HiddenField(validators=[DataRequired(), Length(max=12)])
    period_start = HiddenField(validators=[DataRequired(), Length(max=10)])
    period_end = HiddenField(validators=[DataRequired(), Length(max=10)])
    #: the total the officer saw; a settlement that would pay anything else is refused
    total = HiddenField(validators=[DataRequired(), Length(max=20)])
    method = SelectField("Method", choices=METHOD_CHOICES, default="bank_transfer", validate_choice=False)
    reference = _reference()
    paid_on = _date("Paid on")


class AgentForm(Form):
    code = StringField("Code", validators=[DataRequired(), Length(max=20)], render_kw=OFF)
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = StringField("Email", validators=[Optional(), Length(max=254)])
    phone = StringField("Phone", validators=[Optional(), Length(max=20)])


class RateForm(Form):
    scheme_id = SelectField("Scheme", coerce=int, choices=[], validate_choice=False)
    rate_percent = StringField("Rate %", validators=[DataRequired(), Length(max=8)], render_kw=DECIMAL)
    effective_from = StringField("From", validators=[DataRequired(), Length(max=10)], render_kw=DATE)


class AssignForm(Form):
    agent_id = SelectField("Agent", coerce=int, choices=[], validate_choice=False)
    coverage = StringField("Coverage id or member number", validators=[DataRequired(), Length(max=30)], render_kw=OFF)


class CommissionPayForm(Form):
    method = SelectField("Method", choices=METHOD_CHOICES, default="bank_transfer", validate_choice=False)
    reference = _reference()


class StatementForm(Form):
    class Meta:
        csrf = False

    start = _date("From")
    end = _date("To")


class MethodForm(Form):
    """A way the hospital or insurer takes money; the settings are what the clerk shows the payer."""

    kind = SelectField("Kind", choices=METHOD_CHOICES, default="mobile_money", validate_choice=False)
    label = StringField("Name", validators=[DataRequired(), Length(max=80)])
    paybill = StringField("Paybill number", validators=[Optional(), Length(max=120)], render_kw=OFF)
    account = StringField("Account", validators=[Optional(), Length(max=120)], render_kw=OFF)
    bank = StringField("Bank", validators=[Optional(), Length(max=120)])
    instructions = StringField("Instructions", validators=[Optional(), Length(max=120)])

    def settings(self) -> dict:
        return {
            name: getattr(self, name).data.strip()
            for name in ("paybill", "account", "bank", "instructions")
            if (getattr(self, name).data or "").strip()
        }
