"""The in-app inbox: a staff member's own in-app notifications, the unread count for the bell, marking read."""

from __future__ import annotations

from sqlalchemy import func, select, update

from blueprints.notification.models import Channel, Notification, Status
from medcover import clock
from medcover.errors import NotFound
from medcover.extensions import db


def get_inbox_item(user_id: int, notification_id: int) -> Notification:
    row = db.session.scalar(inbox_query(user_id).where(Notification.id == notification_id))
    if row is None:
        raise NotFound("No such notification.")
    return row


def inbox_query(user_id: int, unread_only: bool = False):
    stmt = select(Notification).where(
        Notification.recipient_user_id == user_id,
        Notification.channel == Channel.IN_APP,
        Notification.status.in_((Status.SENT, Status.DELIVERED)),
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(inbox_query(user_id, True).order_by(None).subquery()))


def mark_read(*, user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, every) in-app notification of the user read. Returns how many changed."""
    stmt = update(Notification).where(
        Notification.recipient_user_id == user_id,
        Notification.channel == Channel.IN_APP,
        Notification.read_at.is_(None),
    )
    if notification_id is not None:
        exists = db.session.scalar(
            select(Notification.id).where(
                Notification.id == notification_id,
                Notification.recipient_user_id == user_id,
                Notification.channel == Channel.IN_APP,
            )
        )
        if exists is None:
            raise NotFound("No such notification.")
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=clock.now()), execution_options={"synchronize_session": False})
    return result.rowcount or 0
