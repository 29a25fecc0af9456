"""Hospital forms. They parse and bound the input (lengths match the columns, so oversized input is a field
error); the services decide what is allowed and their refusals come back as field errors."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FileField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from blueprints.core.forms import Form
from blueprints.hospital.models import PersonnelKind

ID = [Optional(), NumberRange(min=1, max=2**31 - 1)]
GENDER_CHOICES = [
    SelectChoice("", "Choose…"),
    SelectChoice("female", "Female"),
    SelectChoice("male", "Male"),
    SelectChoice("other", "Other"),
    SelectChoice("unknown", "Unknown"),
]
KIND_CHOICES = [SelectChoice(k.value, k.value.replace("_", " ").capitalize()) for k in PersonnelKind]
OFF = {"autocomplete": "off"}


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class PatientForm(Form):
    first_name = StringField("First name", validators=[DataRequired(), Length(max=80)])
    last_name = StringField("Last name", validators=[DataRequired(), Length(max=80)])
    date_of_birth = DateField("Date of birth", validators=[InputRequired()])
    gender = SelectField("Gender", choices=GENDER_CHOICES, validators=[DataRequired()])
    phone = StringField("Phone", validators=[Optional(), Length(max=20)], render_kw={"inputmode": "tel", **OFF})
    email = StringField("Email", validators=[Optional(), Length(max=254)], render_kw=OFF)
    national_id = StringField("National id", validators=[Optional(), Length(max=30)], render_kw=OFF)
    member_number = StringField("Insurance member number", validators=[Optional(), Length(max=30)], render_kw=OFF)


class RegisterForm(PatientForm):
    #: platform admins choose the hospital; hospital staff register at their own
    institution_id = SelectField("Hospital", coerce=int, validate_choice=False, validators=ID)


class BookForm(Form):
    personnel_id = SelectField("Clinician", coerce=int, validate_choice=False, validators=[DataRequired()])
    starts_at = DateTimeLocalField("Starts (UTC)", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    duration_minutes = IntegerField(
        "Minutes", default=20, validators=[InputRequired(), NumberRange(min=5, max=480)], render_kw={"min": 5}
    )
    room = StringField("Room", validators=[Optional(), Length(max=40)], render_kw=OFF)
    reason = StringField("Reason for the visit", validators=[Optional(), Length(max=300)])


class RescheduleForm(Form):
    starts_at = DateTimeLocalField("New start (UTC)", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    duration_minutes = IntegerField("Minutes", validators=[Optional(), NumberRange(min=5, max=480)])
    room = StringField("Room", validators=[Optional(), Length(max=40)], render_kw=OFF)
    next = HiddenField()


class StatusForm(Form):
    """No-show, complete, cancel (with a reason) and check-in: one button each."""

    reason = StringField("Reason", validators=[Optional(), Length(max=300)])
    next = HiddenField()


class MergeForm(Form):
    duplicate_number = StringField(
        "Duplicate's patient number", validators=[DataRequired(), Length(max=30)], render_kw=OFF
    )
    confirm = BooleanField(
        "I have checked that both records are the same person", validators=[DataRequired("Tick to confirm.")]
    )


class PersonnelForm(Form):
    institution_id = SelectField("Hospital", coerce=int, validate_choice=False, validators=ID)
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    kind = SelectField("Kind", choices=KIND_CHOICES, default="clinician")
    department = StringField("Department", validators=[DataRequired(), Length(max=80)])
    specialty = StringField("Specialty", validators=[Optional(), Length(max=80)])
    licence_number = StringField("Licence number", validators=[Optional(), Length(max=40)], render_kw=OFF)


class AttachmentForm(Form):
    """A file for a medical record; the CSRF token is checked here, the file itself by records.py."""

    file = FileField("File")
