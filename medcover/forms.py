"""The base form of every page: Flask-WTF's CSRF-protected form that also refuses NUL characters."""

from flask_wtf import FlaskForm


class Form(FlaskForm):
    """A form whose text fields refuse NUL: nobody types one, and PostgreSQL cannot store or compare it."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and "\x00" in field.data:
                field.errors = [*field.errors, "Remove the control characters."]
                valid = False
        return valid
