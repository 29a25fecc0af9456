"""Requested work: what a person asked for (decide this claim, print these invoices, run this reconciliation) is
a row written in the request's own transaction; the job that carries it out is only the messenger.

``request(fn, *args, about=(kind, key))`` writes the row and enqueues ``perform(row id)`` for after commit. When
Redis is away the job is lost but the row waits; the scheduler's ``sweep`` sends again whatever has waited longer
than ``REQUESTED_WORK_RESEND_AFTER`` seconds, and whatever a dead worker was running once its heartbeat is older
than ``REQUESTED_WORK_LEASE`` seconds (it is then "interrupted, retrying"). ``perform`` is idempotent: a row done,
or running under a live lease, is left alone, so a message sent twice does the work once.

The rows belong to the chassis; what the work is about (the claim, the print batch, the reconciliation run) stays
in its own domain's tables, and each domain reads the state of its requests with ``state_of``.
"""

from __future__ import annotations

import contextvars
import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from medcover import clock, jobs
from medcover.dbtypes import UtcDateTime, enum_column, utcnow
from medcover.extensions import db

log = logging.getLogger(__name__)
_current = contextvars.ContextVar("medcover_requested_work", default=None)


class WorkState(enum.StrEnum):
    WAITING = "waiting"  # asked for; a job is (or will again be) on its way
    RUNNING = "running"  # a worker holds it, and beats its heart while it works
    DONE = "done"
    FAILED = "failed"  # out of attempts: a person looks at it


class RequestedWork(db.Model):
    """One piece of work a person asked for, until it is done."""

    __tablename__ = "requested_work"
    __table_args__ = (
        Index("ix_requested_work_about", "about_kind", "about_key"),
        Index("ix_requested_work_due", "state", "sent_at"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the job function by import path, e.g. ``blueprints.claims.services.submission:decide_submitted``
    job: Mapped[str] = mapped_column(String(200))
    #: its positional arguments (JSON values only)
    args: Mapped[list] = mapped_column(JSON, default=list)
    queue: Mapped[str] = mapped_column(String(30), default="default")
    #: what the work is about, in its domain's words: ("claim", "12"), ("invoice_print", token) ...
    about_kind: Mapped[str] = mapped_column(String(40))
    about_key: Mapped[str] = mapped_column(String(64))
    state: Mapped[WorkState] = mapped_column(
        enum_column(WorkState, "requested_work_state", validate_strings=True), default=WorkState.WAITING
    )
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: when a job last carried it to the queue (the sweep sends again after REQUESTED_WORK_RESEND_AFTER)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: the running worker's last sign of life; older than the lease means the worker is gone
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: when a run was last found interrupted (a worker killed or lost mid-way); shown as "interrupted, retrying"
    interrupted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class Requested:
    """What the pages say about a request: waiting since, running, interrupted (when) and retrying."""

    state: str
    requested_at: datetime
    started_at: datetime | None
    interrupted_at: datetime | None
    finished_at: datetime | None
    attempts: int
    #: the worker running it stopped answering (the sweep will send it again)
    stalled: bool
    args: tuple
    #: the running worker's last sign of life
    heartbeat_at: datetime | None = None

    @property
    def waiting(self) -> bool:
        return self.state in (WorkState.WAITING, WorkState.RUNNING)

    @property
    def interrupted(self) -> bool:
        """A run was cut short and the work has not finished since: "interrupted, retrying"."""
        return self.waiting and (self.stalled or self.interrupted_at is not None)

    @property
    def interrupted_when(self) -> datetime | None:
        """When the run was cut short: found so by the sweep, or the last sign of life of a silent worker."""
        if not self.interrupted:
            return None
        return self.heartbeat_at if self.stalled else self.interrupted_at


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)


def lease() -> timedelta:
    return timedelta(seconds=_setting("REQUESTED_WORK_LEASE", 300))


def request(fn, *args, about: tuple[str, object], queue: str = "default") -> RequestedWork:
    """Record the work in the current transaction and send a job to do it once that transaction commits."""
    now = clock.now()
    row = RequestedWork(
        job=jobs._path_of(fn),
        args=list(args),
        queue=queue,
        about_kind=about[0],
        about_key=str(about[1]),
        state=WorkState.WAITING,
        requested_at=now,
        sent_at=now,
        attempts=0,
    )
    db.session.add(row)
    db.session.flush()
    jobs.enqueue(perform, row.id, queue=queue)
    return row


def _take(work_id: int) -> RequestedWork | None:
    """The row, marked running by this worker, or None when there is nothing to do."""
    stmt = select(RequestedWork).where(RequestedWork.id == work_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = db.session.scalar(stmt)
    if row is None or row.state in (WorkState.DONE, WorkState.FAILED):
        return None
    now = clock.now()
    if row.state is WorkState.RUNNING:
        if (row.heartbeat_at or row.started_at or now) > now - lease():
            return None  # another worker is on it and alive
        row.interrupted_at = now
    row.state, row.started_at, row.heartbeat_at = WorkState.RUNNING, now, now
    row.attempts += 1
    return row


def perform(work_id: int):
    """The job: run the requested work once. Commits its steps itself, so a crash leaves a visible running row."""
    row = _take(work_id)
    if row is None:
        db.session.commit()
        return "nothing to do"
    path, args = row.job, tuple(row.args or ())
    db.session.commit()  # "running" is on record before the work starts
    token = _current.set([work_id, clock.now()])
    try:
        result = jobs._resolve(path)(*args)
        db.session.flush()
    except Exception as exc:
        db.session.rollback()
        _finish(work_id, failed=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        _current.reset(token)
    _finish(work_id)
    return result


def _finish(work_id: int, *, failed: str | None = None) -> None:
    row = db.session.get(RequestedWork, work_id)
    now = clock.now()
    if failed is None:
        row.state, row.finished_at, row.last_error = WorkState.DONE, now, None
    elif row.attempts >= _setting("REQUESTED_WORK_MAX_ATTEMPTS", 5):
        row.state, row.finished_at, row.last_error = WorkState.FAILED, now, failed[:2000]
    else:  # back to waiting: the queue's own retry, or the sweep after REQUESTED_WORK_RESEND_AFTER, runs it again
        row.state, row.sent_at, row.last_error = WorkState.WAITING, now, failed[:2000]
    db.session.commit()


def heartbeat() -> None:
    """Called by long work as it progresses: the worker is alive, the lease goes on. On a connection of its own,
    so it is seen at once and never commits the work's own changes; at most once every tenth of the lease.
    Not on SQLite (the embedded default runs work inline, in the process that would notice its own death)."""
    running = _current.get()
    if running is None or db.engine.dialect.name == "sqlite":
        return
    now = clock.now()
    if now - running[1] < lease() / 10:
        return
    running[1] = now
    try:
        with db.engine.begin() as conn:
            conn.execute(
                update(RequestedWork)
                .where(RequestedWork.id == running[0], RequestedWork.state == WorkState.RUNNING)
                .values(heartbeat_at=now)
            )
    except Exception:  # a blip: the next beat tries again
        log.warning("requested work heartbeat failed", exc_info=True)


def sweep(limit: int = 500) -> int:
    """Send again what waits too long, and what a lost worker was running (marked interrupted). The scheduler
    runs it every REQUESTED_WORK_SWEEP_SECONDS; returns how many were sent."""
    now = clock.now()
    resend_before = now - timedelta(seconds=_setting("REQUESTED_WORK_RESEND_AFTER", 120))
    stale_before = now - lease()
    stmt = (
        select(RequestedWork)
        .where(
            ((RequestedWork.state == WorkState.WAITING) & (RequestedWork.sent_at <= resend_before))
            | ((RequestedWork.state == WorkState.RUNNING) & (RequestedWork.heartbeat_at <= stale_before))
        )
        .order_by(RequestedWork.id)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(stmt))
    for row in rows:
        if row.state is WorkState.RUNNING:
            row.state, row.interrupted_at = WorkState.WAITING, now
            row.last_error = "interrupted: the worker stopped answering"
        row.sent_at = now
        jobs.enqueue(perform, row.id, queue=row.queue)
    db.session.commit()
    if rows:
        log.info("requested work sent again", extra={"count": len(rows)})
    return len(rows)


def state_of(kind: str, keys: Iterable[object]) -> dict[str, Requested]:
    """The latest request about each key of a kind, for the owning domain's pages: {key: Requested}."""
    wanted = {str(key) for key in keys}
    if not wanted:
        return {}
    rows = db.session.scalars(
        select(RequestedWork)
        .where(RequestedWork.about_kind == kind, RequestedWork.about_key.in_(wanted))
        .order_by(RequestedWork.id)
    )
    stale_before = clock.now() - lease()
    found: dict[str, Requested] = {}
    for row in rows:
        found[row.about_key] = Requested(
            row.state.value,
            row.requested_at,
            row.started_at,
            row.interrupted_at,
            row.finished_at,
            row.attempts,
            row.state is WorkState.RUNNING and (row.heartbeat_at or row.requested_at) <= stale_before,
            tuple(row.args or ()),
            row.heartbeat_at,
        )
    return found
