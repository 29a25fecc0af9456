"""Delivery in batches, the job's side: claim a batch of notifications, mark it handed over, record every outcome,
each step in a fixed number of statements whatever the batch's size.

Every message keeps the rules a single one has (``delivery``): only a queued or failed notification is taken, under
a lease; one whose lease ran out is judged by ``delivery.claim_row`` (retried when nothing had left, marked "may
have been sent: check" when its handover had begun); a failure is retried with exponential backoff up to
NOTIFY_MAX_ATTEMPTS, then dead-lettered with an alert to the administrators. Set-based writes apply them to many
rows at once: one guarded UPDATE (``status = 'sending'``) for every outcome of a part, one INSERT for the delivery
log (``medcover.bulk``: arrays unnested on PostgreSQL, where a long IN list or multi-row VALUES costs more to build
and parse in Python than the database takes to run it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import BigInteger, Integer, String, case, cast, func, literal, select, text, update

from blueprints.notification.models import Channel, Notification, Status
from blueprints.notification.services import delivery, delivery_log
from medcover import bulk, clock
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
    rows, and on PostgreSQL a second job's UPDATE waits for the first one's commit and then finds them "sending".
    Only when the UPDATE leaves some of the batch behind are those looked at for a lost worker's (one statement
    fewer for the usual batch, all of whose messages are queued)."""
    if not notification_ids:
        return []
    now = clock.now()
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
    left = sorted(set(notification_ids) - {c.id for c in fresh})
    # the rows the UPDATE moved are "sending" under a new lease: never among a lost worker's
    retaken = _claim_lost(left, now) if left else []
    delivery_log.log_steps([(c.id, c.channel, Status.SENDING, f"attempt {c.attempts}") for c in fresh])
    return sorted(retaken + fresh, key=lambda c: c.id)


def _claim_lost(notification_ids: list[int], now: datetime) -> list[Claimed]:
    """Notifications still "sending" after their lease: their worker was lost. Rare, so judged one by one (a plain
    read of their ids first: none, almost always, and loading none as entities costs more than the read)."""
    lost = (_table.c.status == Status.SENDING.value) & (_table.c.next_attempt_at <= now)
    if db.session.execute(select(_table.c.id).where(_table.c.id.in_(notification_ids), lost).limit(1)).first() is None:
        return []
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


def commit_claim() -> None:
    """Commit the claim without waiting for the disk (PostgreSQL's ``synchronous_commit`` off for this transaction:
    one flush of the log less per batch). Safe because nothing leaves before the handover's commit, which does
    wait, and the log is flushed in order: when that commit returns, the claim before it is on disk too. Lost to a
    database crash before then, the claim leaves the messages queued, and none of them has left."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    db.session.commit()


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
    now = clock.now()
    bulk.update_rows(_table, [{"id": i} for i in notification_ids], [{"handover_at": now}] * len(notification_ids))


def record(claimed: list[Claimed], outcomes: list[Outcome]) -> dict[int, list[int]]:
    """Record every outcome of the batch: one UPDATE (``medcover.bulk.update_rows``: arrays unnested on
    PostgreSQL), one INSERT into the delivery log; the admins' alert for each dead-lettered one. Returns {delay: ids}
    to retry. Only rows still "sending" are written: a row the sweep took from a worker it thought lost keeps that
    verdict."""
    config = current_app.config
    now = clock.now()
    by_id = {c.id: c for c in claimed}
    matches: list[dict] = []
    values: list[dict] = []
    steps: list[tuple[int, Channel, Status | str, str | None]] = []
    retry: dict[int, list[int]] = defaultdict(list)
    dead: list[int] = []
    for outcome in outcomes:
        c = by_id[outcome.notification_id]
        pid, sent_at, next_at, error = c.provider_message_id, None, None, (outcome.detail or "")[:2000]
        if outcome.kind == "sent":
            status, sent_at, error = Status.SENT, now, None
            pid = (outcome.detail or "")[:120] or pid
            steps.append((c.id, c.channel, status, None))
        elif outcome.kind == "skipped":
            status = Status.SKIPPED
            steps.append((c.id, c.channel, status, outcome.detail))
        elif c.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
            status = Status.DEAD
            steps.append((c.id, c.channel, status, f"gave up after {c.attempts} attempts: {outcome.detail}"))
            dead.append(c.id)
        else:
            status, delay = Status.FAILED, config["NOTIFY_RETRY_BASE_SECONDS"] * 2 ** (c.attempts - 1)
            next_at = now + timedelta(seconds=delay)
            steps.append((c.id, c.channel, status, f"{outcome.detail} (next try in {delay} s)"))
            retry[delay].append(c.id)
        matches.append({"id": c.id, "status": Status.SENDING})
        values.append(
            {
                "status": status,
                "sent_at": sent_at,
                "next_attempt_at": next_at,
                "last_error": error,
                "provider_message_id": pid,
            }
        )
    bulk.update_rows(_table, matches, values)
    delivery_log.log_steps(steps)
    if dead:
        stmt = select(Notification).where(Notification.id.in_(dead)).execution_options(populate_existing=True)
        for row in db.session.scalars(stmt):
            delivery.alert_admins(row)
    return dict(retry)
