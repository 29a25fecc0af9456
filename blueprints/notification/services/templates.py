"""Templates: the text each event sends on each channel, stored as versions over the built-in defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select, update

from blueprints.core import services as core
from blueprints.notification.models import Channel, NotificationTemplate
from blueprints.notification.services import rendering
from blueprints.notification.services.defaults import BY_KEY, DEFAULTS
from medcover.audit import snapshot
from medcover.errors import Invalid, NotFound
from medcover.extensions import db

CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
TEMPLATE_FIELDS = ("code", "channel", "version", "subject", "body", "mandatory", "active")


@dataclass(frozen=True)
class TemplateText:
    code: str
    channel: Channel
    subject: str
    body: str
    variables: dict
    mandatory: bool
    template_id: int | None  # None: the built-in default
    version: int


def active_template(code: str, channel: Channel) -> TemplateText | None:
    row = db.session.scalar(
        select(NotificationTemplate)
        .where(
            NotificationTemplate.code == code,
            NotificationTemplate.channel == channel,
            NotificationTemplate.active.is_(True),
        )
        .order_by(NotificationTemplate.version.desc())
        .limit(1)
    )
    if row is not None:
        return TemplateText(
            row.code, row.channel, row.subject, row.body, row.variables or {}, row.mandatory, row.id, row.version
        )
    default = BY_KEY.get((code, channel))
    if default is None:
        return None
    return TemplateText(
        default.code, default.channel, default.subject, default.body, default.variables, default.mandatory, None, 0
    )


def channels_for(code: str) -> list[Channel]:
    stored = set(
        db.session.scalars(
            select(NotificationTemplate.channel).where(
                NotificationTemplate.code == code, NotificationTemplate.active.is_(True)
            )
        )
    )
    return [c for c in Channel if c in stored or (code, c) in BY_KEY]


def save_template(
    *,
    actor,
    code: str,
    channel: Channel | str,
    subject: str,
    body: str,
    variables: dict[str, str] | None = None,
    description: str = "",
    mandatory: bool | None = None,
) -> NotificationTemplate:
    """Store a new version of the text for (code, channel) and make it the active one."""
    code = (code or "").strip()
    if not CODE.match(code) or len(code) > 80:
        raise Invalid.field("code", "Use lower-case words joined by dots, e.g. claim.decided.")
    try:
        channel = Channel(channel)
    except ValueError:
        raise Invalid.field("channel", "Choose email, sms or in_app.") from None
    if channel is Channel.PUSH:
        raise Invalid.field("channel", "Web push sends the in-app text: choose email, sms or in_app.")
    current = active_template(code, channel)
    if variables is None:
        variables = dict(current.variables) if current else {}
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise Invalid.field("variables", "Variables are names with a description each.")
    if mandatory is None:
        mandatory = current.mandatory if current else False
    subject, body = subject or "", body or ""
    if len(description) > 300:
        raise Invalid.field("description", "Use at most 300 characters.")
    rendering.check(subject, body, variables)
    last = (
        db.session.scalar(
            select(func.max(NotificationTemplate.version)).where(
                NotificationTemplate.code == code, NotificationTemplate.channel == channel
            )
        )
        or 0
    )
    db.session.execute(
        update(NotificationTemplate)
        .where(NotificationTemplate.code == code, NotificationTemplate.channel == channel)
        .values(active=False)
    )
    row = NotificationTemplate(
        code=code,
        channel=channel,
        version=last + 1,
        subject=subject,
        body=body,
        variables=variables,
        description=description or (current and "") or "",
        mandatory=mandatory,
        active=True,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(row)
    db.session.flush()
    core.record_audit(actor, "create", "notification_template", row.id, after=snapshot(row, TEMPLATE_FIELDS))
    return row


def template_versions(code: str, channel: Channel) -> list[NotificationTemplate]:
    return list(
        db.session.scalars(
            select(NotificationTemplate)
            .where(NotificationTemplate.code == code, NotificationTemplate.channel == channel)
            .order_by(NotificationTemplate.version.desc())
        )
    )


def templates_query():
    return select(NotificationTemplate).order_by(
        NotificationTemplate.code, NotificationTemplate.channel, NotificationTemplate.version.desc()
    )


def get_template(template_id: int) -> NotificationTemplate:
    row = db.session.get(NotificationTemplate, template_id)
    if row is None:
        raise NotFound("No such template.")
    return row


def catalogue() -> list[TemplateText]:
    """Every (code, channel) with its active text: stored versions first, built-in defaults otherwise."""
    keys = {(d.code, d.channel) for d in DEFAULTS}
    keys |= set(db.session.execute(select(NotificationTemplate.code, NotificationTemplate.channel).distinct()).all())
    found = [active_template(code, channel) for code, channel in sorted(keys, key=lambda k: (k[0], k[1].value))]
    return [t for t in found if t is not None]


def preview(subject: str, body: str, variables: dict[str, str], context: dict | None = None) -> tuple[str, str]:
    rendering.check(subject, body, variables)
    sample = rendering.sample_context(variables) | (context or {})
    try:
        return rendering.render(subject, sample), rendering.render(body, sample)
    except rendering.RenderError as exc:
        raise Invalid.field("body", str(exc)) from None
