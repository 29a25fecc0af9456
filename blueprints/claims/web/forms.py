"""Claims forms: claims, the work queue, the dashboard, disputes and reconciliation. They parse and bound the
input; the claims services decide what is allowed (one truth for pages and API), so "at most the allowed
amount" or "an ICD-10 code" come back from there as field errors."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import Form as SubForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from blueprints.claims.services.disputes import REASON_CHARS
from medcover.forms import Form

#: blank line rows the intake form offers (a claim may have more: the API takes up to 100)
INTAKE_LINES = 6
ID = [Optional(), NumberRange(min=1, max=2**31 - 1)]
VERSION = [InputRequired(), NumberRange(min=1, max=2**31 - 1)]


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _amount(label: str, **render) -> DecimalField:
    return DecimalField(
        label, places=2, validators=[Optional()], render_kw={"inputmode": "decimal", "autocomplete": "off", **render}
    )


class LineForm(SubForm):
    service_code = StringField(
        "Service code", validators=[Optional(), Length(max=30)], render_kw={"autocomplete": "off"}
    )
    quantity = IntegerField(
        "Qty", validators=[Optional(), NumberRange(min=-(2**31), max=2**31 - 1)], render_kw={"inputmode": "numeric"}
    )
    unit_price = _amount("Unit price")
    preauth_code = StringField(
        "Pre-auth code", validators=[Optional(), Length(max=20)], render_kw={"autocomplete": "off"}
    )

    def is_blank(self) -> bool:
        return not any((self.service_code.data, self.quantity.data, self.unit_price.data, self.preauth_code.data))


class ClaimForm(Form):
    """A draft, by hand: the member, the day, the diagnoses and the lines (blank rows are skipped)."""

    institution_id = SelectField("Hospital", coerce=int, validate_choice=False, validators=ID)
    member_number = StringField("Member number", validators=[DataRequired(), Length(max=30)])
    service_date = DateField("Service date", validators=[InputRequired()])
    diagnosis_codes = StringField(
        "Diagnosis codes", validators=[Optional(), Length(max=400)], render_kw={"autocomplete": "off"}
    )
    #: no min_entries: WTForms would pad a posted list with rows that read the posted data again (a line sent
    #: twice); blank rows are added for display only, by ``with_blank_lines``
    lines = FieldList(FormField(LineForm), max_entries=100)

    def with_blank_lines(self, at_least: int = INTAKE_LINES, spare: int = 2) -> ClaimForm:
        while len(self.lines) < max(at_least, len([e for e in self.lines if not e.form.is_blank()]) + spare):
            self.lines.append_entry()
        return self


class DraftActionForm(Form):
    """Submit or void a draft: the version read, and for a void an optional reason."""

    version = HiddenField("Version")
    reason = StringField("Reason", validators=[Optional(), Length(max=300)])


class VoidForm(Form):
    """Void a claim: the reason is required (the insurer and the timeline read it)."""

    version = HiddenField("Version")
    reason = StringField(
        "Reason for voiding",
        validators=[DataRequired("Say why the claim is voided."), Length(max=300)],
        id="void-reason",  # the reject form on the same page has its own "reason"
    )


class OverrideForm(SubForm):
    line_no = HiddenField("Line")
    amount = _amount("Approve instead")
    reject = BooleanField("Reject the line")
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class ApproveForm(Form):
    """Accept the engine's proposal, deciding lines by hand with a note each (M01 amount, M02 waiver of a rejected
    line, M03 rejection); ``version`` is the claim as read."""

    version = IntegerField("Version", validators=VERSION)
    overrides = FieldList(FormField(OverrideForm), max_entries=100)


class RejectForm(Form):
    version = IntegerField("Version", validators=VERSION)
    reason = StringField("Reason for rejecting", validators=[Optional(), Length(max=500)])


class BulkApproveForm(Form):
    """The queue's checkboxes; ids are checked against the tenant by the service, one by one."""


class QueueFilters(Form):
    """The work queue's filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    scheme_id = SelectField("Scheme", coerce=int, validate_choice=False, validators=ID)
    institution_id = SelectField("Provider", coerce=int, validate_choice=False, validators=ID)
    min_amount = _amount("Billed from", placeholder="0.00")
    max_amount = _amount("to", placeholder="any")
    older_than = IntegerField(
        "Waiting at least (days)",
        validators=[Optional(), NumberRange(min=0, max=3650)],
        render_kw={"inputmode": "numeric"},
    )
    submitted_before = DateField("Submitted on or before", validators=[Optional()])
    sort = SelectField(
        "Sort",
        choices=choices(
            [("age", "Oldest first"), ("-age", "Newest first"), ("-amount", "Largest first"), ("amount", "Smallest")]
        ),
        default="age",
        validate_choice=False,
    )


class DashboardFilters(Form):
    class Meta:
        csrf = False

    start = DateField("Submitted from", validators=[Optional()])
    end = DateField("to", validators=[Optional()])


class DisputeForm(Form):
    """The evidence file is read from ``request.files`` (optional); the service checks it by content."""

    reason = TextAreaField(
        "Why the decision should change",
        validators=[DataRequired("Say why the claim is disputed."), Length(max=REASON_CHARS)],
    )
    line_nos = SelectMultipleField("Disputed lines (none ticked: the whole claim)", coerce=int, validate_choice=False)


class ResolveForm(Form):
    """Per-line overrides come as ``approved-<line_no>`` and ``note-<line_no>``; blank lines are left alone."""

    status = RadioField(
        "Decision",
        choices=choices([("upheld", "Uphold: decide the claim again"), ("dismissed", "Dismiss: the decision stands")]),
        validators=[DataRequired("Choose upheld or dismissed.")],
    )
    resolution = TextAreaField(
        "Resolution", validators=[DataRequired("Write the resolution."), Length(max=REASON_CHARS)]
    )


class ReconciliationForm(Form):
    institution_id = SelectField("Provider", coerce=int, validate_choice=False)
    period_start = DateField("Service dates from", validators=[DataRequired("Enter a date.")])
    period_end = DateField("to", validators=[DataRequired("Enter a date.")])
    company_id = SelectField("Insurer", coerce=int, validate_choice=False, validators=[Optional()])
