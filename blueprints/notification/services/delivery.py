"""Delivery, the job's side: take a notification, record the outcome, retry with backoff, dead-letter; receipts.

The delivery job calls these and commits between them; providers' delivery reports arrive as receipts.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from blueprints.core import services as core
from blueprints.notification.models import Channel, DeliveryStatus, Notification, Status
from blueprints.notification.services import delivery_log, sending
from medcover import clock
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import Role


def claim_for_delivery(notification_id: int) -> Notification | None:
    """Mark the notification as being sent, or None when there is nothing to do (sent already, or
    another worker holds it). Idempotent: a retried or duplicated job never sends twice."""
    stmt = select(Notification).where(Notification.id == notification_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = db.session.scalar(stmt)
    if row is None:
        return None
    lease = timedelta(minutes=10)
    stale_sending = row.status is Status.SENDING and row.next_attempt_at and row.next_attempt_at <= clock.now()
    if row.status not in (Status.QUEUED, Status.FAILED) and not stale_sending:
        return None
    if stale_sending and row.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
        # Every attempt was lost with its worker (a message that crashes it?): the limit holds here too,
        # or the sweeper would retry it every lease for ever.
        row.next_attempt_at = None
        row.last_error = row.last_error or "no attempt finished: the worker was lost each time"
        delivery_log.move(row, Status.DEAD, f"gave up after {row.attempts} attempts: none finished")
        _alert_admins(row)
        db.session.flush()
        return None
    row.attempts += 1
    row.next_attempt_at = clock.now() + lease  # if this worker dies, the sweeper retries after the lease
    delivery_log.move(row, Status.SENDING, f"attempt {row.attempts}")
    db.session.flush()
    return row


def record_sent(notification_id: int, provider_message_id: str | None) -> None:
    row = db.session.get(Notification, notification_id)
    row.provider_message_id = (provider_message_id or "")[:120] or None
    row.sent_at, row.next_attempt_at, row.last_error = clock.now(), None, None
    delivery_log.move(row, Status.SENT)


def record_failure(notification_id: int, error: str) -> int | None:
    """Schedule the next attempt with exponential backoff; returns its delay, or None when dead-lettered."""
    config = current_app.config
    row = db.session.get(Notification, notification_id)
    row.last_error = error[:2000]
    if row.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
        row.next_attempt_at = None
        delivery_log.move(row, Status.DEAD, f"gave up after {row.attempts} attempts: {error}")
        _alert_admins(row)
        return None
    delay = config["NOTIFY_RETRY_BASE_SECONDS"] * 2 ** (row.attempts - 1)
    row.next_attempt_at = clock.now() + timedelta(seconds=delay)
    delivery_log.move(row, Status.FAILED, f"{error} (next try in {delay} s)")
    return delay


def _alert_admins(row: Notification) -> None:
    if row.template_code == "notification.dead_lettered":
        return
    admins = core.user_ids_with_role(Role.ADMIN)
    sending.send(
        "notification.dead_lettered",
        [sending.Recipient(user_id=i) for i in admins],
        {
            "channel": row.channel.label,
            "notification_id": row.id,
            "template_code": row.template_code,
            "attempts": row.attempts,
            "error": (row.last_error or "")[:300],
        },
        [Channel.IN_APP],
        dedupe=f"dead:{row.id}:{row.attempts}",
    )


def due_for_retry(limit: int = 500) -> list[int]:
    """Notifications whose delivery is due: failed ones past their backoff, queued ones whose job was lost
    (Redis was down), and sending ones whose worker died (lease over)."""
    now = clock.now()
    lost = now - timedelta(minutes=2)
    rows = db.session.scalars(
        select(Notification.id)
        .where(
            ((Notification.status == Status.FAILED) & (Notification.next_attempt_at <= now))
            | ((Notification.status == Status.QUEUED) & (Notification.created_at <= lost))
            | ((Notification.status == Status.SENDING) & (Notification.next_attempt_at <= now))
        )
        .order_by(Notification.id)
        .limit(limit)
    )
    return list(rows)


def record_receipt(provider: str, provider_message_id: str, status: str, detail: str | None = None) -> DeliveryStatus:
    """A provider's delivery report: kept as received, and moves the notification to delivered or failed."""
    if status not in ("delivered", "failed"):
        raise Invalid.field("status", "Use delivered or failed.")
    row = db.session.scalar(select(Notification).where(Notification.provider_message_id == provider_message_id))
    receipt = DeliveryStatus(
        notification_id=row.id if row else None,
        provider=provider[:40],
        provider_message_id=provider_message_id[:120],
        status=status,
        detail=(detail or None) and detail[:2000],
        received_at=clock.now(),
    )
    db.session.add(receipt)
    if row is not None and row.status is Status.SENT:
        if status == "delivered":
            row.delivered_at = clock.now()
            delivery_log.move(row, Status.DELIVERED, detail)
        else:
            row.last_error = (detail or "provider reported failure")[:2000]
            delivery_log.move(row, Status.FAILED, row.last_error)
            row.next_attempt_at = clock.now()
    db.session.flush()
    return receipt
