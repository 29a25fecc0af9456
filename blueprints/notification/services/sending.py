"""Sending: who a message goes to, and writing one notification per recipient and channel for delivery.

``send`` writes rows in the caller's transaction; delivery happens in a job after commit, so nothing
is sent from inside a web request and a rolled-back change sends nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from blueprints.core import services as core
from blueprints.notification.models import Channel, Notification, Status
from blueprints.notification.services import delivery_log, push, rendering, templates, user_preferences
from medcover import clock, jobs
from medcover.errors import Invalid
from medcover.extensions import db

PHONE = re.compile(r"^\+?[0-9]{7,15}$")
#: one address, nothing else: no list (a comma would add recipients), no line break (header injection)
EMAIL = re.compile(r"^[^@\s,;:<>()\[\]\\\"\x00-\x1f\x7f]+@[^@\s,;:<>()\[\]\\\"\x00-\x1f\x7f]+$")


@dataclass(frozen=True)
class Recipient:
    """A staff user (by id), or an outside person by email and/or phone (a patient, a member)."""

    user_id: int | None = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None

    @classmethod
    def parse(cls, data: dict) -> Recipient:
        if not isinstance(data, dict):
            raise Invalid.field("recipients", "Each recipient is an object.")
        user_id = data.get("user_id")
        if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool) or user_id < 1):
            raise Invalid.field("recipients", "user_id is a positive whole number.")
        email = (data.get("email") or "").strip().lower() or None
        phone = (data.get("phone") or "").replace(" ", "") or None
        if email and (len(email) > 254 or not EMAIL.match(email)):
            raise Invalid.field("recipients", "Not an email address.")
        if phone and not PHONE.match(phone):
            raise Invalid.field("recipients", "Phone numbers are 7 to 15 digits, with an optional +.")
        if user_id is None and not email and not phone:
            raise Invalid.field("recipients", "Give a user_id, an email or a phone.")
        name = str(data.get("name") or "")[:120] or None
        return cls(user_id=user_id, email=email, phone=phone, name=name)


def send(
    template_code: str,
    recipients: list[Recipient],
    context: dict,
    channels: list[Channel] | None = None,
    *,
    dedupe: str | None = None,
    institution_id: int | None = None,
    company_id: int | None = None,
) -> list[Notification]:
    """Write one notification per recipient and channel, and queue their delivery for after commit (in batches).

    ``dedupe`` makes the call idempotent: a second call with the same key writes nothing new. A fixed number of
    reads and writes whatever the number of recipients: the users, their preferences, each channel's template and
    the dedupe keys already used are read once, the rows and their log entries written in one statement each.
    """
    # web push is never asked for: it copies in-app notifications to the browsers of those who opted in
    channels = [c for c in (channels or templates.channels_for(template_code)) if c is not Channel.PUSH]
    users = core.users_by_id(r.user_id for r in recipients if r.user_id)
    opted_out = user_preferences.opted_out({r.user_id for r in recipients if r.user_id}, template_code)
    texts = {channel: templates.active_template(template_code, channel) for channel in channels}
    keys = {
        (index, channel): f"{dedupe}:{channel.value}:{index}:{r.user_id or r.email or r.phone}"[:200]
        for index, r in enumerate(recipients)
        for channel in channels
        if dedupe
    }
    used = _used_keys(list(keys.values()))
    written: list[Notification] = []
    for index, recipient in enumerate(recipients):
        user = users.get(recipient.user_id) if recipient.user_id else None
        if recipient.user_id and user is None:
            continue  # a user who no longer exists
        name = recipient.name or (user.full_name if user else "") or "colleague"
        for channel in channels:
            template = texts[channel]
            if template is None:
                continue
            key = keys.get((index, channel))
            if key and key in used:
                continue
            address = _address(channel, recipient, user)
            row = Notification(
                template_code=template_code,
                template_id=template.template_id,
                channel=channel,
                recipient_user_id=recipient.user_id,
                recipient_address=address,
                dedupe_key=key,
                institution_id=institution_id,
                company_id=company_id,
                attempts=0,
                status=Status.QUEUED,
                created_at=clock.now(),
                # every row names the same columns, so they go in one multi-row INSERT (where the driver allows)
                sent_at=None,
                last_error=None,
            )
            try:
                row.subject = rendering.render(template.subject, {"recipient_name": name, **context})[:200]
                row.body = rendering.render(template.body, {"recipient_name": name, **context})
            except rendering.RenderError as exc:
                row.subject, row.body = template_code, ""
                row.status, row.last_error = Status.DEAD, str(exc)[:2000]
            skip_reason = None
            if row.status is not Status.DEAD:
                if (recipient.user_id, channel) in opted_out and not template.mandatory:
                    skip_reason = "the recipient opted out of this on this channel"
                elif channel is not Channel.IN_APP and not address:
                    skip_reason = f"no {'email address' if channel is Channel.EMAIL else 'phone number'}"
            if skip_reason:
                row.status, row.last_error = Status.SKIPPED, skip_reason
            elif channel is Channel.IN_APP and row.status is Status.QUEUED:
                row.status, row.sent_at = Status.SENT, clock.now()  # stored is delivered
            db.session.add(row)
            written.append(row)
    db.session.flush()
    for row in written:
        delivery_log.log_step(row, row.status, row.last_error)
    enqueue_deliveries([row.id for row in written if row.status is Status.QUEUED])
    return written + push.push_copies(written)


def _used_keys(keys: list[str]) -> set[str]:
    used: set[str] = set()
    for start in range(0, len(keys), 10_000):  # within the drivers' limits on bound parameters
        chunk = keys[start : start + 10_000]
        used.update(db.session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(chunk))))
    return used


def _address(channel: Channel, recipient: Recipient, user) -> str | None:
    if channel is Channel.EMAIL:
        return recipient.email or (user.email if user else None)
    if channel is Channel.SMS:
        return recipient.phone
    return None


def enqueue_delivery(notification_id: int, delay: int = 0) -> None:
    enqueue_deliveries([notification_id], delay=delay)


def enqueue_deliveries(notification_ids: list[int], delay: int = 0) -> None:
    """Queue the delivery of these notifications after commit: one job per ``NOTIFY_BATCH_SIZE`` of them."""
    from blueprints.notification.jobs import deliver_batch

    size = max(1, int(current_app.config.get("NOTIFY_BATCH_SIZE") or 100))
    for start in range(0, len(notification_ids), size):
        batch = list(notification_ids[start : start + size])
        jobs.enqueue(deliver_batch, batch, queue="notifications", delay=delay)
