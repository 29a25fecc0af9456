"""Preferences: which notices a staff member turned off, per channel (mandatory notices cannot be turned off)."""

from __future__ import annotations

from sqlalchemy import select

from blueprints.core import services as core
from blueprints.notification.models import Channel, NotificationPreference
from blueprints.notification.services import templates
from medcover.errors import Conflict, Invalid
from medcover.extensions import db


def preferences(user_id: int) -> dict[tuple[str, Channel], bool]:
    rows = db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    return {(r.template_code, r.channel): r.enabled for r in rows}


def set_preference(*, actor, template_code: str, channel: Channel | str, enabled: bool) -> None:
    try:
        channel = Channel(channel)
    except ValueError:
        raise Invalid.field("channel", "Choose email, sms or in_app.") from None
    template = templates.active_template(template_code, channel)
    if template is None:
        raise Invalid.field("template_code", "No such notification.")
    if template.mandatory and not enabled:
        raise Conflict("This notice is required and cannot be turned off.")
    row = db.session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.user_id == actor.id,
            NotificationPreference.template_code == template_code,
            NotificationPreference.channel == channel,
        )
    )
    if row is None:
        row = NotificationPreference(user_id=actor.id, template_code=template_code, channel=channel)
        db.session.add(row)
    before = row.enabled if row.id else True
    row.enabled = enabled
    db.session.flush()
    if before != enabled:
        core.record_audit(
            actor,
            "update",
            "notification_preference",
            row.id,
            before={"enabled": before},
            after={"enabled": enabled, "code": template_code, "channel": channel.value},
        )


def opted_out(user_ids: set[int], code: str) -> set[tuple[int, Channel]]:
    """(user, channel) pairs among ``user_ids`` that turned ``code`` off."""
    if not user_ids:
        return set()
    rows = db.session.execute(
        select(NotificationPreference.user_id, NotificationPreference.channel).where(
            NotificationPreference.user_id.in_(user_ids),
            NotificationPreference.template_code == code,
            NotificationPreference.enabled.is_(False),
        )
    )
    return {(r.user_id, r.channel) for r in rows}
