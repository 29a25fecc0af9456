"""Delivery in batches, the job's side: claim a batch of notifications, mark it handed over, record every outcome,
each step in a fixed number of statements whatever the batch's size.

Every message keeps the rules a single one has (``delivery``): only a queued or failed notification is taken, under
a lease; one whose lease ran out is judged by ``delivery.claim_row`` (retried when nothing had left, marked "may
have been sent: check" when its handover had begun); a failure is retried with exponential backoff up to
NOTIFY_MAX_ATTEMPTS, then dead-lettered with an alert to the administrators. Set-based writes apply them to many
rows at once: a guarded UPDATE (``status = 'sending'``) per outcome, one INSERT for the delivery log.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import BigInteger, Integer, String, bindparam, case, cast, func, literal, select, update

from blueprints.notification.models import Channel, Notification, Status
from blueprints.notification.services import delivery, delivery_log
from medcover import clock
from medcover.extensions import db

_table = Notification.__table__
_COLUMNS = (
    Notification.id,
    Notification.channel,
    Notification.recipient_address,
    Notification.subject,
    Notification.body,
    Notification.provider_message_id,
    Notification.attempts,
)


@dataclass(frozen=True)
class Claimed:
    """A notification this worker now holds ("sending"): what its delivery needs."""

    id: int
    channel: Channel
    recipient_address: str | None
    subject: str
    body: str
    provider_message_id: str | None
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What became of one message: sent (with the provider's id), failed (why), or skipped (nowhere to send)."""

    notification_id: int
    kind: str  # "sent", "failed" or "skipped"
    detail: str | None = None


def claim(notification_ids: list[int]) -> list[Claimed]:
    """Take every notification of the batch that is due; leave out those with nothing to do (sent already, or
    another worker holds them). A repeated job takes nothing twice: the guarded UPDATE only moves queued and failed
    rows, and on PostgreSQL a second job's UPDATE waits for the first one's commit and then finds them "sending"."""
    if not notification_ids:
        return []
    now = clock.now()
    retaken = _claim_lost(notification_ids, now)
    lease = now + timedelta(seconds=current_app.config["NOTIFY_SENDING_LEASE"])
    rows = db.session.execute(
        update(_table)
        .where(_table.c.id.in_(notification_ids), _table.c.status.in_([Status.QUEUED.value, Status.FAILED.value]))
        .values(
            status=Status.SENDING.value,
            attempts=_table.c.attempts + 1,
            handover_at=None,
            next_attempt_at=lease,
            # the email's Message-ID, recorded with "sending" and the same on every attempt
            provider_message_id=case(
                (
                    (_table.c.channel == Channel.EMAIL.value) & _table.c.provider_message_id.is_(None),
                    _message_id_sql(),
                ),
                else_=_table.c.provider_message_id,
            ),
        )
        .returning(*(_table.c[column.key] for column in _COLUMNS))
    ).all()
    fresh = [Claimed(row[0], Channel(row[1]), *row[2:]) for row in rows]
    delivery_log.log_steps([(c.id, c.channel, Status.SENDING, f"attempt {c.attempts}") for c in fresh])
    return sorted(retaken + fresh, key=lambda c: c.id)


def _claim_lost(notification_ids: list[int], now: datetime) -> list[Claimed]:
    """Notifications still "sending" after their lease: their worker was lost. Rare, so judged one by one."""
    stmt = (
        select(Notification)
        .where(
            Notification.id.in_(notification_ids),
            Notification.status == Status.SENDING,
            Notification.next_attempt_at <= now,
        )
        .execution_options(populate_existing=True)  # the set-based writes above bypassed the session's copies
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    retaken = [row for row in db.session.scalars(stmt) if delivery.claim_row(row)]
    db.session.flush()
    return [
        Claimed(r.id, r.channel, r.recipient_address, r.subject, r.body, r.provider_message_id, r.attempts)
        for r in retaken
    ]


def _message_id_sql():
    """``delivery.message_id_for`` in SQL, so the claim's one UPDATE records every email's Message-ID."""
    created = _table.c.created_at
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = cast(func.floor(func.extract("epoch", created)), BigInteger)
    else:  # SQLite keeps UTC times as text
        seconds = cast(func.strftime("%s", created), Integer)
    domain = literal(delivery.message_id_domain() + ">")
    return "<notification." + cast(_table.c.id, String) + "." + cast(seconds, String) + "@" + domain


def claim_for_delivery(notification_id: int) -> Claimed | None:
    """One notification taken for delivery (``claim``), or None when there is nothing to do."""
    claimed = claim([notification_id])
    return claimed[0] if claimed else None


def record_handover(notification_id: int) -> None:
    """The message is about to leave (the server greeted us, DATA comes next): a lost worker may have sent it."""
    record_batch_handover([notification_id])


def record_batch_handover(notification_ids: list[int]) -> None:
    """The batch's messages are about to leave, one after the other: from now on a lost worker may have sent any
    of them not yet recorded. One statement for the batch."""
    db.session.execute(
        update(_table).where(_table.c.id.in_(notification_ids)).values(handover_at=clock.now()),
    )


def record(claimed: list[Claimed], outcomes: list[Outcome]) -> dict[int, list[int]]:
    """Record every outcome of the batch: an UPDATE for the emails sent, one (multi-row) for every other outcome,
    one INSERT into the delivery log; the admins' alert for each dead-lettered one. Returns {delay: ids} to retry.
    Only rows still "sending" are written: a row the sweep took from a worker it thought lost keeps that verdict."""
    config = current_app.config
    now = clock.now()
    by_id = {c.id: c for c in claimed}
    plain_sent: list[int] = []
    others: list[dict] = []
    steps: list[tuple[int, Channel, Status, str | None]] = []
    retry: dict[int, list[int]] = defaultdict(list)
    dead: list[int] = []
    for outcome in outcomes:
        c = by_id[outcome.notification_id]
        row = {"b_id": c.id, "b_status": None, "b_sent": None, "b_next": None, "b_error": None, "b_pid": None}
        if outcome.kind == "sent":
            steps.append((c.id, c.channel, Status.SENT, None))
            provider_id = (outcome.detail or "")[:120] or c.provider_message_id
            if provider_id == c.provider_message_id:
                plain_sent.append(c.id)
                continue
            row.update(b_status=Status.SENT.value, b_sent=now, b_pid=provider_id)
        elif outcome.kind == "skipped":
            row.update(b_status=Status.SKIPPED.value, b_error=(outcome.detail or "")[:2000])
            steps.append((c.id, c.channel, Status.SKIPPED, outcome.detail))
        elif c.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
            row.update(b_status=Status.DEAD.value, b_error=(outcome.detail or "")[:2000])
            steps.append((c.id, c.channel, Status.DEAD, f"gave up after {c.attempts} attempts: {outcome.detail}"))
            dead.append(c.id)
        else:
            delay = config["NOTIFY_RETRY_BASE_SECONDS"] * 2 ** (c.attempts - 1)
            row.update(b_status=Status.FAILED.value, b_error=(outcome.detail or "")[:2000])
            row["b_next"] = now + timedelta(seconds=delay)
            steps.append((c.id, c.channel, Status.FAILED, f"{outcome.detail} (next try in {delay} s)"))
            retry[delay].append(c.id)
        row["b_pid"] = row["b_pid"] or c.provider_message_id
        others.append(row)
    sending = _table.c.status == Status.SENDING.value
    if plain_sent:
        db.session.execute(
            update(_table)
            .where(_table.c.id.in_(plain_sent), sending)
            .values(status=Status.SENT.value, sent_at=now, next_attempt_at=None, last_error=None)
        )
    if others:
        db.session.execute(
            update(_table)
            .where(_table.c.id == bindparam("b_id"), sending)
            .values(
                status=bindparam("b_status"),
                sent_at=bindparam("b_sent"),
                next_attempt_at=bindparam("b_next"),
                last_error=bindparam("b_error"),
                provider_message_id=bindparam("b_pid"),
            ),
            others,
        )
    delivery_log.log_steps(steps)
    if dead:
        stmt = select(Notification).where(Notification.id.in_(dead)).execution_options(populate_existing=True)
        for row in db.session.scalars(stmt):
            delivery.alert_admins(row)
    return dict(retry)
