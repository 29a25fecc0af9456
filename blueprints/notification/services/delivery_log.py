"""The delivery log: every step of a notification's life (queued, sending, sent, failed ...), one row each."""

from __future__ import annotations

from sqlalchemy import select

from blueprints.notification.models import TRANSITIONS, Channel, Notification, NotificationLog, Status
from medcover import bulk, clock, metrics
from medcover.errors import Conflict
from medcover.extensions import db


def log_step(row: Notification, status: Status | str, detail: str | None = None) -> None:
    metrics.notification_outcome(Channel(row.channel).value, str(status))
    db.session.add(
        NotificationLog(
            notification_id=row.id, at=clock.now(), status=str(status), detail=(detail or None) and detail[:2000]
        )
    )


def log_steps(steps: list[tuple[int, Channel, Status | str, str | None]]) -> None:
    """Many notifications' steps, (id, channel, status, detail) each, written in one statement."""
    at = clock.now()
    for _id, channel, status, _detail in steps:
        metrics.notification_outcome(Channel(channel).value, str(status))
    # one statement (arrays unnested on PostgreSQL): a multi-row VALUES was compiled anew, and its placeholders
    # parsed again, for every batch, at about a tenth of a millisecond per row
    bulk.insert_rows(
        NotificationLog.__table__,
        [
            {"notification_id": i, "at": at, "status": str(status), "detail": (detail or None) and detail[:2000]}
            for i, _channel, status, detail in steps
        ],
    )


def move(row: Notification, to: Status, detail: str | None = None) -> None:
    if to not in TRANSITIONS[row.status]:
        raise Conflict(f"A {row.status.value} notification cannot become {to.value}.")
    row.status = to
    log_step(row, to, detail)


def history(notification_id: int) -> list[NotificationLog]:
    return list(
        db.session.scalars(
            select(NotificationLog)
            .where(NotificationLog.notification_id == notification_id)
            .order_by(NotificationLog.id)
        )
    )
