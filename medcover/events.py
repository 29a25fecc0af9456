"""Domain events through a transactional outbox.

``publish`` writes the event in the same transaction as the change; after commit a job dispatches
pending events to their subscribers. Subscribers get ``(event_id, payload)``, run in the dispatch
transaction and must be idempotent: an event can reach them twice if a worker dies mid-way.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from medcover import jobs
from medcover.bulk import insert_rows
from medcover.dbtypes import UtcDateTime, utcnow
from medcover.extensions import db

log = logging.getLogger(__name__)

_subscribers: dict[str, list[Callable[[int, dict], None]]] = defaultdict(list)
MAX_ATTEMPTS = 8


class OutboxEvent(db.Model):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: dotted name, e.g. ``invoice.issued``
    name: Mapped[str] = mapped_column(String(80), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: set once every subscriber has run; null rows are what the sweeper re-sends
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def subscribe(name: str):
    """Decorator: call the function for every event of that name."""

    def register(fn: Callable[[int, dict], None]):
        if fn not in _subscribers[name]:
            _subscribers[name].append(fn)
        return fn

    return register


def subscribers(name: str) -> list[Callable[[int, dict], None]]:
    return list(_subscribers.get(name, ()))


def publish(name: str, payload: dict) -> OutboxEvent:
    """Record an event in the current transaction; it is dispatched after commit."""
    row = OutboxEvent(name=name, payload=payload, attempts=0)
    db.session.add(row)
    db.session.flush()
    jobs.enqueue(dispatch_pending)
    return row


def publish_many(name: str, payloads: list[dict]) -> None:
    """Many events of one name in one statement (batch jobs deciding thousands of rows)."""
    publish_all([(name, payload) for payload in payloads])


def publish_all(events: list[tuple[str, dict]]) -> None:
    """Many events, ``(name, payload)`` in the order given, in one multi-row INSERT."""
    if not events:
        return
    db.session.flush()  # the rows the events are about first, as ``publish`` has them
    insert_rows(
        OutboxEvent.__table__,
        [{"name": name, "payload": payload, "attempts": 0, "created_at": utcnow()} for name, payload in events],
    )
    jobs.enqueue(dispatch_pending)


def dispatch_pending(limit: int = 200) -> int:
    """Deliver undispatched events to their subscribers, oldest first. Returns how many were done."""
    stmt = (
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None), OutboxEvent.attempts < MAX_ATTEMPTS)
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    done = 0
    for row in db.session.scalars(stmt).all():
        savepoint = db.session.begin_nested()
        try:
            for handler in subscribers(row.name):
                handler(row.id, row.payload)
            savepoint.commit()
            row.dispatched_at = utcnow()
            done += 1
        except Exception as exc:  # one bad subscriber must not block the rest of the outbox
            savepoint.rollback()
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            log.exception("event %s #%s failed", row.name, row.id)
    db.session.flush()
    return done
