"""Delivery rules, the job's side: a notification whose worker was lost, its Message-ID, the admins' alerts, what is
due for another try; providers' delivery reports (receipts). The batch job's steps are in ``batches``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from blueprints.core import services as core
from blueprints.notification.models import Channel, DeliveryStatus, Notification, Status
from blueprints.notification.services import delivery_log, sending
from blueprints.notification.services.defaults import ADMIN_ALERTS
from medcover import clock
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import Role


def claim_row(row: Notification) -> bool:
    """Whether this worker takes the notification (now "sending", under a lease).

    A notification still "sending" after its lease lost its worker. If the worker had begun handing the message
    over (``batches.record_handover``), it may have gone out and nothing here can tell: it is never sent again
    on its own but marked "may have been sent: check" for an administrator, who marks it sent or sends it again. If not,
    nothing left, and it is simply tried again."""
    stale_sending = row.status is Status.SENDING and row.next_attempt_at and row.next_attempt_at <= clock.now()
    if stale_sending and row.handover_at is not None:
        row.next_attempt_at = None
        row.last_error = "the worker sending it was lost mid-send: it may have been sent"
        delivery_log.move(row, Status.UNSURE, f"attempt {row.attempts} lost while handing the message over")
        alert_admins(row, unsure=True)
        return False
    if row.status not in (Status.QUEUED, Status.FAILED) and not stale_sending:
        return False
    if stale_sending and row.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
        # Every attempt was lost with its worker before anything left (a message that crashes it?): the limit
        # holds here too, or the sweeper would retry it every lease for ever.
        row.next_attempt_at = None
        row.last_error = row.last_error or "no attempt finished: the worker was lost each time"
        delivery_log.move(row, Status.DEAD, f"gave up after {row.attempts} attempts: none finished")
        alert_admins(row)
        return False
    row.attempts += 1
    row.handover_at = None
    if row.channel is Channel.EMAIL and not row.provider_message_id:
        row.provider_message_id = message_id_for(row.id, row.created_at)  # the same Message-ID on every attempt
    # If this worker dies, the sweep finds the lease over: before the handover it tries again (nothing left),
    # after it the message is marked for a person to check.
    row.next_attempt_at = clock.now() + timedelta(seconds=current_app.config["NOTIFY_SENDING_LEASE"])
    delivery_log.move(row, Status.SENDING, f"attempt {row.attempts}")
    return True


def message_id_for(notification_id: int, created_at: datetime) -> str:
    """The notification's own Message-ID: stable across attempts, so a copy that did arrive is recognisable."""
    return f"<notification.{notification_id}.{int(created_at.timestamp())}@{message_id_domain()}>"


def message_id_domain() -> str:
    sender = current_app.config["MAIL_SENDER"]
    return sender.rsplit("@", 1)[-1].strip("> ") if "@" in sender else "medcover.local"


def alert_admins(row: Notification, *, unsure: bool = False) -> None:
    """Tell the administrators in-app that a message was dead-lettered, or may have been sent (a lost worker)."""
    if row.template_code in ADMIN_ALERTS:
        return
    admins = core.user_ids_with_role(Role.ADMIN)
    sending.send(
        "notification.may_have_been_sent" if unsure else "notification.dead_lettered",
        [sending.Recipient(user_id=i) for i in admins],
        {
            "channel": row.channel.label,
            "notification_id": row.id,
            "template_code": row.template_code,
            "attempts": row.attempts,
            "error": (row.last_error or "")[:300],
        },
        [Channel.IN_APP],
        dedupe=f"{'unsure' if unsure else 'dead'}:{row.id}:{row.attempts}",
    )


def due_for_retry(limit: int = 500) -> list[int]:
    """Notifications whose delivery is due: failed ones past their backoff, queued ones whose job was lost
    (Redis was down), and sending ones whose worker died (lease over)."""
    now = clock.now()
    lost = now - timedelta(seconds=current_app.config["NOTIFY_REQUEUE_AFTER"])
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
