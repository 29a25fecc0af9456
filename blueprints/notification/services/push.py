"""Web push: staff members' browser subscriptions, and the push copy of each in-app notification they receive.

Push is a channel beside email, SMS and in-app. A staff member opts in per browser from their profile page (the
browser's Push API subscription is stored here); every in-app notification they are sent then gets a push copy,
a notification row of its own with the usual delivery states, retries and dead letters. Off unless the VAPID keys
are configured. A subscription the push service calls expired (404/410) is removed.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from blueprints.core import services as core
from blueprints.notification.models import Channel, Notification, PushSubscription, Status
from blueprints.notification.services import delivery_log
from medcover import clock
from medcover.errors import Invalid, NotFound
from medcover.extensions import db

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+=*$")


def push_enabled() -> bool:
    config = current_app.config
    return bool(config.get("VAPID_PRIVATE_KEY") and config.get("VAPID_PUBLIC_KEY") and config.get("VAPID_SUBJECT"))


def public_key() -> str | None:
    """The application server key a browser subscribes with (None when push is off)."""
    return current_app.config["VAPID_PUBLIC_KEY"] if push_enabled() else None


def _key(value, field: str, size: int) -> str:
    """A base64url key of exactly ``size`` bytes, as the Push API gives it."""
    if not isinstance(value, str) or not _BASE64URL.match(value) or len(value) > 200:
        raise Invalid.field(field, "Not a key from the browser's push subscription.")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise Invalid.field(field, "Not a key from the browser's push subscription.") from None
    if len(raw) != size:
        raise Invalid.field(field, "Not a key from the browser's push subscription.")
    return value.rstrip("=")


def subscribe(*, actor, endpoint, p256dh, auth, browser: str = "") -> PushSubscription:
    """Opt this browser in (again): one row per endpoint, moved to ``actor`` if another person had it."""
    if not push_enabled():
        raise Invalid.field("endpoint", "Web push is not set up on this site.")
    if not isinstance(endpoint, str) or len(endpoint) > 1000 or urlsplit(endpoint).scheme != "https":
        raise Invalid.field("endpoint", "A push endpoint is an https address given by the browser.")
    if not urlsplit(endpoint).hostname:
        raise Invalid.field("endpoint", "A push endpoint is an https address given by the browser.")
    p256dh, auth = _key(p256dh, "p256dh", 65), _key(auth, "auth", 16)
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    created = row is None
    if row is None:
        row = PushSubscription(endpoint=endpoint, created_at=clock.now())
        db.session.add(row)
    row.user_id, row.p256dh, row.auth, row.browser = actor.id, p256dh, auth, str(browser or "")[:200]
    db.session.flush()
    if created:
        core.record_audit(actor, "create", "push_subscription", row.id, after={"browser": row.browser})
    return row


def unsubscribe(*, actor, endpoint: str | None = None) -> int:
    """Opt out this browser (by its endpoint), or every browser of ``actor``. Returns how many were removed."""
    stmt = select(PushSubscription).where(PushSubscription.user_id == actor.id)
    if endpoint is not None:
        stmt = stmt.where(PushSubscription.endpoint == str(endpoint)[:1000])
    rows = list(db.session.scalars(stmt))
    if endpoint is not None and not rows:
        raise NotFound("This browser is not subscribed.")
    for row in rows:
        core.record_audit(actor, "delete", "push_subscription", row.id, before={"browser": row.browser})
        db.session.delete(row)
    db.session.flush()
    return len(rows)


def subscription_count(user_id: int) -> int:
    return len(db.session.scalars(select(PushSubscription.id).where(PushSubscription.user_id == user_id)).all())


def subscriptions_for(notification_id: int) -> list[PushSubscription]:
    """The browsers a push notification goes to: its recipient's current subscriptions."""
    user_id = db.session.scalar(select(Notification.recipient_user_id).where(Notification.id == notification_id))
    if user_id is None:
        return []
    return list(db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id)))


def expired(subscription_id: int) -> None:
    """The push service said this browser's subscription is gone (404/410): it is never tried again."""
    row = db.session.get(PushSubscription, subscription_id)
    if row is not None:
        db.session.delete(row)
        db.session.flush()


def pushed(subscription_id: int) -> None:
    row = db.session.get(PushSubscription, subscription_id)
    if row is not None:
        row.last_sent_at = clock.now()


def push_copies(rows: list[Notification]) -> list[Notification]:
    """A push notification for each in-app one just stored for someone with a push subscription, queued for
    delivery after commit. Called by ``send``; nothing when push is off."""
    in_app = [r for r in rows if r.channel is Channel.IN_APP and r.status is Status.SENT and r.recipient_user_id]
    if not in_app or not push_enabled():
        return []
    subscribed = set(
        db.session.scalars(
            select(PushSubscription.user_id).where(PushSubscription.user_id.in_({r.recipient_user_id for r in in_app}))
        )
    )
    copies = []
    for source in in_app:
        if source.recipient_user_id not in subscribed:
            continue
        row = Notification(
            template_code=source.template_code,
            template_id=source.template_id,
            channel=Channel.PUSH,
            recipient_user_id=source.recipient_user_id,
            subject=source.subject,
            body=source.body,
            dedupe_key=f"push:{source.id}",
            institution_id=source.institution_id,
            company_id=source.company_id,
            attempts=0,
            status=Status.QUEUED,
            created_at=clock.now(),
        )
        db.session.add(row)
        copies.append(row)
    db.session.flush()
    for row in copies:
        delivery_log.log_step(row, row.status, "a push copy of the in-app notification")
    from blueprints.notification.services.sending import enqueue_deliveries

    enqueue_deliveries([row.id for row in copies])
    return copies
