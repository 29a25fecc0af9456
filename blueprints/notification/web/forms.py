"""Notification forms."""

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from blueprints.notification.models import Channel
from blueprints.notification.services.webhooks import EVENTS
from medcover.forms import Form

CHANNEL_CHOICES = [SelectChoice(c.value, c.label) for c in Channel if c is not Channel.PUSH]  # push copies in-app


class TemplateForm(FlaskForm):
    code = StringField("Event code", validators=[DataRequired(), Length(max=80)])
    channel = SelectField("Channel", choices=CHANNEL_CHOICES, validators=[DataRequired()])
    subject = StringField("Subject / title", validators=[Optional(), Length(max=200)])
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=10_000)], render_kw={"rows": 10})
    description = StringField("Description", validators=[Optional(), Length(max=300)])


class WebhookForm(Form):
    url = URLField("Receiving URL", validators=[DataRequired(), Length(max=500)])
    description = StringField("Description", validators=[Optional(), Length(max=200)])
    organisation = SelectField("Organisation", choices=[], validators=[DataRequired()])
    events = SelectMultipleField(
        "Events",
        choices=[SelectChoice(name, words) for name, words in EVENTS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired()],
    )
