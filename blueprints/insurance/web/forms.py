"""Insurance forms. They parse and bound the input; the services decide what is allowed (one truth for
pages and API), so ranges such as "copay at most 100" are checked there and come back as field errors."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms import Form as SubForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from blueprints.insurance.models import SchemeStatus
from medcover.forms import Form

MAX_DEPENDANTS = 6


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


STATUS_CHOICES = choices([(s.value, s.value.capitalize()) for s in SchemeStatus])
GENDER_CHOICES = choices([("female", "Female"), ("male", "Male"), ("other", "Other"), ("unknown", "Unknown")])
FREQUENCY_CHOICES = choices([("annual", "Annual"), ("quarterly", "Quarterly"), ("monthly", "Monthly")])
MEMBER_TYPE_CHOICES = choices([("principal", "Principal"), ("dependant", "Dependant")])
ID = [Optional(), NumberRange(min=1, max=2**31 - 1)]


def amount_field(label: str, *, required: bool = False) -> DecimalField:
    return DecimalField(
        label,
        places=2,
        validators=[DataRequired() if required else Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )


def whole_field(label: str, *, required: bool = False) -> IntegerField:
    return IntegerField(
        label,
        validators=[DataRequired() if required else Optional(), NumberRange(min=-(2**31), max=2**31 - 1)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


class SchemeFields:
    code = StringField("Code", validators=[DataRequired(), Length(max=30)], render_kw={"autocomplete": "off"})
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    currency = StringField("Currency", default="KES", validators=[DataRequired(), Length(max=3)])
    status = SelectField("Status", choices=STATUS_CHOICES, default="draft")
    effective_from = DateField("Effective from", validators=[Optional()])
    effective_to = DateField("Effective to", validators=[Optional()])
    annual_limit = amount_field("Annual limit (blank: none)")
    deductible = amount_field("Deductible")
    timely_filing_days = whole_field("Timely filing (days)")
    review_threshold = amount_field("Review threshold (blank: never)")
    review_sample_percent = whole_field("Random review sample (% of claims)")
    duplicate_window_days = whole_field("Suspect duplicate window (days either side)")
    duplicate_score_threshold = whole_field("Suspect duplicate score (of 100)")
    variance_factor = DecimalField(
        "Outlier factor (times the provider's mean; blank: never)",
        places=2,
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )


class SchemeCreateForm(SchemeFields, Form):
    company_id = SelectField("Insurance company", coerce=int, validate_choice=False, validators=ID)


class SchemeEditForm(SchemeFields, Form):
    reason = StringField("Reason for the change", validators=[Optional(), Length(max=500)])


class CloneForm(Form):
    code = StringField("New code", validators=[DataRequired(), Length(max=30)], render_kw={"autocomplete": "off"})
    name = StringField("New name", validators=[DataRequired(), Length(max=120)])
    effective_from = DateField("Effective from", validators=[Optional()])
    effective_to = DateField("Effective to", validators=[Optional()])


class BenefitTermsForm(Form):
    """One row of the scheme builder; rendered with a prefix so several rows can share a page."""

    covered = BooleanField("Covered", default=True)
    annual_limit = amount_field("Annual limit")
    per_visit_limit = amount_field("Per-visit limit")
    copay_percent = DecimalField("Copay %", places=2, validators=[Optional()], render_kw={"inputmode": "decimal"})
    copay_fixed = amount_field("Copay fixed")
    waiting_period_days = whole_field("Waiting days")
    requires_preauth = BooleanField("Pre-auth")
    max_visits = whole_field("Max visits")
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])


class BenefitAddForm(BenefitTermsForm):
    benefit_id = SelectField("Benefit", coerce=int, validate_choice=False, validators=ID)


class CategoryForm(Form):
    code = StringField("Code", validators=[DataRequired(), Length(max=30)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])


class BenefitForm(CategoryForm):
    category_id = SelectField("Category", coerce=int, validate_choice=False, validators=ID)


class RateForm(Form):
    scheme_id = SelectField("Scheme", coerce=int, validate_choice=False, validators=ID)
    member_type = SelectField("Member type", choices=MEMBER_TYPE_CHOICES)
    age_from = whole_field("Age from", required=False)
    age_to = whole_field("Age to", required=False)
    annual_amount = amount_field("Annual amount")
    effective_from = DateField("Effective from", validators=[InputRequired()])
    effective_to = DateField("Effective to", validators=[Optional()])


class QuoteForm(Form):
    class Meta:
        csrf = False  # a quote changes nothing

    scheme_id = SelectField("Scheme", coerce=int, validate_choice=False, validators=ID)
    principal_date_of_birth = DateField("Principal's date of birth", validators=[InputRequired()])
    dependant_dates_of_birth = TextAreaField(
        "Dependants' dates of birth (one a line, YYYY-MM-DD)", validators=[Optional(), Length(max=500)]
    )
    start_date = DateField("Start date", validators=[InputRequired()])
    end_date = DateField("End date (blank: a full year)", validators=[Optional()])
    frequency = SelectField("Instalments", choices=FREQUENCY_CHOICES)


class PersonForm(SubForm):
    member_number = StringField("Member number", validators=[Optional(), Length(max=30)])
    first_name = StringField("First name", validators=[Optional(), Length(max=80)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=80)])
    date_of_birth = DateField("Date of birth", validators=[Optional()])
    gender = SelectField("Gender", choices=[SelectChoice("", "—"), *GENDER_CHOICES], validate_choice=False)

    def is_blank(self) -> bool:
        return not any((self.member_number.data, self.first_name.data, self.last_name.data, self.date_of_birth.data))


class EnrolForm(Form):
    company_id = SelectField("Insurance company", coerce=int, validate_choice=False, validators=ID)
    scheme_id = SelectField("Scheme", coerce=int, validate_choice=False, validators=ID)
    start_date = DateField("Cover starts", validators=[InputRequired()])
    end_date = DateField("Cover ends (blank: one year)", validators=[Optional()])
    #: blank: the next number from the insurer's pattern
    member_number = StringField("Member number", validators=[Optional(), Length(max=30)])
    first_name = StringField("First name", validators=[DataRequired(), Length(max=80)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=80)])
    date_of_birth = DateField("Date of birth", validators=[InputRequired()])
    gender = SelectField("Gender", choices=GENDER_CHOICES)
    email = StringField("Email", validators=[Optional(), Length(max=254)])
    phone = StringField("Phone", validators=[Optional(), Length(max=20)])
    dependants = FieldList(FormField(PersonForm), min_entries=MAX_DEPENDANTS, max_entries=MAX_DEPENDANTS)


class CoverageActionForm(Form):
    status = HiddenField("Status")
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])


class PreauthForm(Form):
    member_number = StringField("Member number", validators=[DataRequired(), Length(max=30)])
    benefit_code = SelectField("Benefit", validate_choice=False)
    valid_from = DateField("Valid from", validators=[InputRequired()])
    valid_to = DateField("Valid to", validators=[InputRequired()])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])


class VerifyForm(Form):
    class Meta:
        csrf = False  # a look-up changes nothing

    member_number = StringField("Member number", validators=[Optional(), Length(max=30)])
    service_date = DateField("Service date", validators=[Optional()])
    benefit_code = SelectField("Benefit (optional)", validate_choice=False, validators=[Optional()])
