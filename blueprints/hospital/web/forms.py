"""Hospital forms. They parse and bound the input (lengths match the columns, so oversized input is a field
error); the services decide what is allowed and their refusals come back as field errors."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FileField,
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

from blueprints.hospital.models import OrderKind, PersonnelKind
from medcover.forms import Form

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
ORDER_KIND_CHOICES = [SelectChoice(k.value, k.value.capitalize()) for k in OrderKind]
LAB_ROWS = 6


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
    #: the confirmation step for a lookalike (same name and date of birth): ticked, with the reason, it registers
    different_person = BooleanField("This is a different person")
    different_person_reason = TextAreaField(
        "Why is this a different person?", validators=[Optional(), Length(max=500)], render_kw={"rows": 2}
    )


class BookForm(Form):
    personnel_id = SelectField("Clinician", coerce=int, validate_choice=False, validators=[DataRequired()])
    starts_at = DateTimeLocalField("Starts", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    duration_minutes = IntegerField(
        "Minutes", default=20, validators=[InputRequired(), NumberRange(min=5, max=480)], render_kw={"min": 5}
    )
    room = StringField("Room", validators=[Optional(), Length(max=40)], render_kw=OFF)
    reason = StringField("Reason for the visit", validators=[Optional(), Length(max=300)])


class RescheduleForm(Form):
    starts_at = DateTimeLocalField("New start", format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
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
    """A file for a medical record; the CSRF token is checked here, the file itself by services.records."""

    file = FileField("File")


# --- encounters and orders -----------------------------------------------------------------------


class EncounterForm(Form):
    """A new encounter on the patient page; services.records checks the codes and the limits."""

    encounter_date = DateField("Encounter date", validators=[InputRequired()])
    diagnoses = StringField(
        "Diagnoses (ICD-10)", validators=[DataRequired(), Length(max=400)], render_kw={"placeholder": "J06.9, R50.9"}
    )
    procedures = TextAreaField("Procedures (one a line)", validators=[Optional(), Length(max=4000)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=20_000)])


class OrderForm(Form):
    """A pharmacy, lab or radiology order from one encounter."""

    kind = SelectField("Kind", choices=ORDER_KIND_CHOICES, default="pharmacy")
    service_code = StringField("Service code", validators=[DataRequired(), Length(max=30)], render_kw=OFF)
    description = StringField("Description", validators=[DataRequired(), Length(max=200)])
    quantity = IntegerField("Quantity", default=1, validators=[InputRequired(), NumberRange(min=1, max=1000)])


class OrderActionForm(Form):
    """Dispense and cancel: one button each."""

    next = HiddenField()


class AnalyteForm(SubForm):
    """One line of a lab result; a line left blank is ignored."""

    analyte = StringField("Test", validators=[Optional(), Length(max=40)])
    value = StringField("Value", validators=[Optional(), Length(max=40)])
    unit = StringField("Unit", validators=[Optional(), Length(max=20)])
    range = StringField("Reference range", validators=[Optional(), Length(max=40)])


class LabResultForm(Form):
    values = FieldList(FormField(AnalyteForm), min_entries=LAB_ROWS, max_entries=100)
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=2000)])
    next = HiddenField()


class RadiologyResultForm(Form):
    report = TextAreaField("Report", validators=[DataRequired(), Length(max=20_000)])
    next = HiddenField()


class StockForm(Form):
    """A delivery to the pharmacy: adds to the item's stock, creating the item the first time."""

    institution_id = SelectField("Hospital", coerce=int, validate_choice=False, validators=ID)
    item_code = StringField("Item code", validators=[DataRequired(), Length(max=30)], render_kw=OFF)
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    quantity = IntegerField("Quantity received", validators=[InputRequired(), NumberRange(min=1, max=1_000_000)])
    unit = StringField("Unit", default="unit", validators=[Optional(), Length(max=20)])


class ScheduleForm(Form):
    """A week of hours, one text box a day: "08:00-13:00, 14:00-17:00"; empty is a day off."""

    mon = StringField("Monday", validators=[Optional(), Length(max=200)], render_kw=OFF)
    tue = StringField("Tuesday", validators=[Optional(), Length(max=200)], render_kw=OFF)
    wed = StringField("Wednesday", validators=[Optional(), Length(max=200)], render_kw=OFF)
    thu = StringField("Thursday", validators=[Optional(), Length(max=200)], render_kw=OFF)
    fri = StringField("Friday", validators=[Optional(), Length(max=200)], render_kw=OFF)
    sat = StringField("Saturday", validators=[Optional(), Length(max=200)], render_kw=OFF)
    sun = StringField("Sunday", validators=[Optional(), Length(max=200)], render_kw=OFF)
