"""The base form of every page: Flask-WTF's CSRF-protected form that refuses NUL characters and says what is
wrong in the field's own words ("Enter the override note", not "This field is required.").

The templates' half is ``_form_macros.html``: an error summary linking to each field at fault, a hint before the
field, and only the fields at fault marked."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm

#: the library's generic messages (WTForms, and the services' own for a blank field), and what each becomes
_REQUIRED = ("This field is required.", "Field is required.")
_NUMBER = re.compile(r"^Not a valid (decimal|float) value\.?$")
_WHOLE = re.compile(r"^Not a valid integer value\.?$")
_DATE = re.compile(r"^Not a valid (date|datetime) value\.?$")
_CHOICE = re.compile(r"^Not a valid choice\.?$")
_LONGER = re.compile(r"^Field (?:cannot be longer than|must be between \d+ and) (\d+) characters?(?: long)?\.?$")
_EMAIL = re.compile(r"^Invalid email address\.?$")

#: fields whose type takes a choice rather than typing
_CHOSEN = {"SelectField", "RadioField", "SelectMultipleField", "QuerySelectField"}


def _subject(label: str) -> str:
    """A label as the object of a sentence: "Override note" -> "the override note"; a label that is an
    abbreviation or starts with one keeps its capitals ("NHIF number" -> "the NHIF number")."""
    label = (label or "").strip().rstrip(":")
    if not label:
        return "a value"
    first, _, rest = label.partition(" ")
    if not first.isupper() or len(first) == 1:
        first = first[:1].lower() + first[1:]
    return "the " + (f"{first} {rest}" if rest else first)


def field_message(field, message: str) -> str:
    """A generic message made specific to the field it is about; anything already specific is kept."""
    label = getattr(getattr(field, "label", None), "text", "") or ""
    subject = _subject(label)
    kind = getattr(field, "type", "")
    if message in _REQUIRED:
        if kind in _CHOSEN:
            return f"Choose {subject}"
        if kind == "BooleanField":
            return f"Tick {subject}"
        if kind in {"FileField", "MultipleFileField"}:
            return f"Choose a file for {subject}"
        return f"Enter {subject}"
    if _NUMBER.match(message):
        return f"Enter {subject} as a number, like 1250.00"
    if _WHOLE.match(message):
        return f"Enter {subject} as a whole number"
    if _DATE.match(message):
        return f"Enter {subject} as a date, like 2026-12-04"
    if _CHOICE.match(message):
        return f"Choose {subject} from the list"
    longer = _LONGER.match(message)
    if longer:
        return f"{subject[4:5].upper()}{subject[5:]} must be {longer.group(1)} characters or fewer"
    if _EMAIL.match(message):
        return "Enter an email address like name@example.com"
    return message


def name_errors(field) -> None:
    """Rewrite a field's generic messages in its own words (a list of sub-forms' errors is left as it is)."""
    errors = getattr(field, "errors", None)
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        field.errors = [field_message(field, e) for e in errors]
    for entry in getattr(field, "entries", None) or ():
        for sub in getattr(entry, "form", None) or ():
            name_errors(sub)


class Form(FlaskForm):
    """A form whose text fields refuse NUL (nobody types one, and PostgreSQL cannot store or compare it) and whose
    messages name their field."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and "\x00" in field.data:
                field.errors = [*field.errors, "Remove the control characters."]
                valid = False
            name_errors(field)
        return valid
