"""Core forms. Length limits here match the columns, so oversized input is a field error, not a crash."""

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from medcover.forms import Form
from medcover.rbac import Role

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)], render_kw={"autocomplete": "username"})
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=128)], render_kw={"autocomplete": "current-password"}
    )


class ResetRequestForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])


class NewPasswordForm(Form):
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(max=128)], render_kw={"autocomplete": "new-password"}
    )


class ChangePasswordForm(Form):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=128)])
    new_password = PasswordField(
        "New password", validators=[DataRequired(), Length(max=128)], render_kw={"autocomplete": "new-password"}
    )


class RegisterForm(Form):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])


class TenantFields:
    institution_id = IntegerField("Institution id", validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])
    company_id = IntegerField("Company id", validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])


class UserCreateForm(TenantFields, Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    password = PasswordField("Initial password", validators=[DataRequired(), Length(max=128)])


class UserEditForm(TenantFields, Form):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    active = BooleanField("Active")


class InviteForm(TenantFields, Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])


class AuditFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter changes nothing

    user = StringField("User", validators=[Optional(), Length(max=254)])
    entity_type = StringField("Entity", validators=[Optional(), Length(max=60)])
    action = StringField("Action", validators=[Optional(), Length(max=40)])
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])


class OAuthClientForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    organisation = SelectField("Organisation", choices=[], validators=[DataRequired()])
    scopes = SelectMultipleField(
        "Scopes",
        choices=[SelectChoice(role.value, role.label) for role in Role if role is not Role.ADMIN],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired()],
    )
