"""Delivery tracking for admins: their organisation's notifications, each one's receipts, and sending again."""

from __future__ import annotations

from sqlalchemy import select

from blueprints.core import services as core
from blueprints.notification.models import Channel, DeliveryStatus, Notification, Status
from blueprints.notification.services import delivery_log, sending
from medcover import clock
from medcover.errors import Conflict, Hidden, NotFound
from medcover.extensions import db
from medcover.rbac import Tenant, scope


def get_notification(notification_id: int, tenant: Tenant) -> Notification:
    row = db.session.get(Notification, notification_id)
    if row is None:
        raise NotFound("No such notification.")
    if not tenant.owns(row.institution_id, row.company_id):
        raise Hidden("No such notification.", record=f"notification {row.id}")
    return row


def delivery_query(tenant: Tenant, status: str = "", channel: str = "", code: str = ""):
    stmt = scope(select(Notification), Notification, tenant).order_by(Notification.id.desc())
    if status in {s.value for s in Status}:
        stmt = stmt.where(Notification.status == Status(status))
    if channel in {c.value for c in Channel}:
        stmt = stmt.where(Notification.channel == Channel(channel))
    if code:
        stmt = stmt.where(Notification.template_code == code[:80])
    return stmt


def receipts(notification_id: int) -> list[DeliveryStatus]:
    return list(
        db.session.scalars(
            select(DeliveryStatus).where(DeliveryStatus.notification_id == notification_id).order_by(DeliveryStatus.id)
        )
    )


def resend(*, actor, notification_id: int, tenant: Tenant) -> Notification:
    """Send again: a dead-lettered or failed message, or one that may have been sent once a person has checked
    that it did not arrive (it goes out under the same Message-ID)."""
    row = get_notification(notification_id, tenant)
    if row.status not in (Status.DEAD, Status.FAILED, Status.UNSURE):
        raise Conflict("Only failed, dead-lettered or unconfirmed notifications can be sent again.")
    row.next_attempt_at = None
    if row.status is Status.UNSURE:
        delivery_log.move(row, Status.QUEUED, f"checked and sent again by {actor.email}")
    elif row.status is Status.DEAD:
        row.attempts = 0
        delivery_log.move(row, Status.QUEUED, f"resent by {actor.email}")
    else:
        delivery_log.log_step(row, "retry", f"retried now by {actor.email}")
        row.next_attempt_at = clock.now()
    core.record_audit(
        actor, "resend", "notification", row.id, institution_id=row.institution_id, company_id=row.company_id
    )
    db.session.flush()
    sending.enqueue_delivery(row.id)
    return row


def mark_sent(*, actor, notification_id: int, tenant: Tenant) -> Notification:
    """A person checked that a message which may have been sent did arrive: it is recorded sent, never resent."""
    row = get_notification(notification_id, tenant)
    if row.status is not Status.UNSURE:
        raise Conflict("Only a notification that may have been sent can be marked sent.")
    row.sent_at, row.last_error = clock.now(), None
    delivery_log.move(row, Status.SENT, f"checked by {actor.email}: it did arrive")
    core.record_audit(
        actor, "mark_sent", "notification", row.id, institution_id=row.institution_id, company_id=row.company_id
    )
    db.session.flush()
    return row
