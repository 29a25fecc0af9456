"""Notification jobs: deliver a batch of notifications, and sweep up what is due (retries, lost jobs, dead workers).

A delivery job takes a batch of notification ids (``send`` queues one job per ``NOTIFY_BATCH_SIZE`` messages) and
sends them over one SMTP connection and one HTTP session for SMS (``channels.Connections``). It hands the batch
over in ``NOTIFY_HANDOVER_PARTS`` parts and commits a fixed number of times per batch, whatever its size, each
commit a few multi-row statements:

1. claim: every message that is due becomes "sending" under a lease (one read, one update, one log insert),
   committed without waiting for the disk (``services.commit_claim``: the next commit, which waits, covers it);
2. per part, just before its first message leaves: the outcomes of the part before are recorded, and the part
   is marked as being handed over;
3. once every message was tried: the last part's outcomes, sent, failed (retried with backoff) or
   dead-lettered, each on its own.

Exactly once, per message: a repeated job claims nothing it does not find queued or failed; a message refused by
the server or the gateway fails alone (the others go on, over the same connection or a new one if it dropped);
a worker lost mid-batch leaves its unrecorded messages "sending": once the lease is over, the sweep marks those of
the part that was being handed over as "may have been sent: check" (never a second copy), and retries those of
the parts not yet begun; the parts before were recorded already. The price of a few commits per batch instead of
three per message is that a lost worker leaves one part (``NOTIFY_BATCH_SIZE / NOTIFY_HANDOVER_PARTS``
messages at most) for a person to check rather than the one message it was sending: a lost worker is rare, the
commits are every message's cost.

The worker runs these jobs in its own process (``medcover.worker``: no fork per job), so a batch also keeps the
worker's database connections and loaded templates.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict

from flask import current_app

from blueprints.notification import channels, services
from blueprints.notification.models import Channel
from medcover.extensions import db

log = logging.getLogger(__name__)
SENDERS = {Channel.EMAIL: channels.send_email, Channel.SMS: channels.send_sms, Channel.PUSH: channels.send_push}


def deliver_notification(notification_id: int) -> str:
    """One notification (jobs queued before batches, and a resend): what became of it."""
    outcomes = _deliver([notification_id])
    return outcomes.get(notification_id, "nothing to do")


def deliver_batch(notification_ids: list[int]) -> str:
    """A batch of notifications; a summary of what became of them ("nothing to do" when none was due)."""
    outcomes = _deliver(list(notification_ids))
    if not outcomes:
        return "nothing to do"
    counts = Counter(outcome.split(":", 1)[0] for outcome in outcomes.values())
    return ", ".join(f"{word} {counts[word]}" for word in ("sent", "failed", "skipped") if counts[word])


class _Book:
    """The batch's outcomes, and those not recorded yet: each part's are recorded as the next part is handed over,
    the last part's at the end."""

    def __init__(self) -> None:
        self.outcomes: list[services.Outcome] = []
        self.retry: defaultdict[int, list[int]] = defaultdict(list)
        self._unrecorded: list[tuple[services.Claimed, services.Outcome]] = []

    def add(self, claimed: services.Claimed, outcome: services.Outcome) -> None:
        self.outcomes.append(outcome)
        self._unrecorded.append((claimed, outcome))

    def record(self) -> None:
        """Write what is not on record yet (the caller commits)."""
        if self._unrecorded:
            claimed, outcomes = zip(*self._unrecorded, strict=True)
            for delay, ids in services.record(list(claimed), list(outcomes)).items():
                self.retry[delay].extend(ids)
            self._unrecorded = []


class _Handover:
    """Just before a part's first message leaves: the part before on record, this part marked as being handed
    over, one commit."""

    def __init__(self, ids: list[int], book: _Book) -> None:
        self.ids, self.book, self.done = ids, book, False

    def __call__(self) -> None:
        if not self.done:
            self.book.record()
            services.record_batch_handover(self.ids)
            db.session.commit()  # on record before the first byte of the part's first message leaves
            self.done = True


def _parts(claimed: list, count: int) -> list[list]:
    size = -(-len(claimed) // max(1, count))
    return [claimed[start : start + size] for start in range(0, len(claimed), size)]


def _deliver(notification_ids: list[int]) -> dict[int, str]:
    claimed = services.claim(notification_ids)
    services.commit_claim()  # "sending" is on record (on disk once the handover's commit returns)
    if not claimed:
        return {}
    book = _Book()
    with channels.Connections() as via:
        for part in _parts(claimed, current_app.config["NOTIFY_HANDOVER_PARTS"]):
            handover = _Handover([c.id for c in part], book)
            for c in part:
                message = channels.Outgoing(
                    c.id, c.recipient_address, c.subject, c.body, c.provider_message_id, handover, via
                )
                book.add(c, _send(c.channel, message))
    book.record()
    db.session.commit()
    for delay, ids in book.retry.items():
        services.enqueue_deliveries(ids, delay=delay)
    if book.retry:
        db.session.commit()
    return {o.notification_id: o.kind if o.kind == "sent" else f"{o.kind}: {o.detail}" for o in book.outcomes}


def _send(channel: Channel, message: channels.Outgoing) -> services.Outcome:
    """One message of the batch: its failure is its own, never its batch's."""
    sender = SENDERS.get(channel)
    try:
        if sender is None:
            raise channels.DeliveryError(f"no sender for {channel.value}")
        return services.Outcome(message.notification_id, "sent", sender(message))
    except channels.Undeliverable as exc:
        return services.Outcome(message.notification_id, "skipped", str(exc))
    except channels.DeliveryError as exc:
        return services.Outcome(message.notification_id, "failed", str(exc))
    except Exception as exc:  # a surprise in one message: the others go on
        log.exception("delivering notification %s failed", message.notification_id)
        return services.Outcome(message.notification_id, "failed", f"unexpected error: {type(exc).__name__}")


def sweep() -> int:
    """Re-queue every notification whose delivery is due (in batches); then deliver waiting domain events."""
    from medcover.events import dispatch_pending

    dispatched = dispatch_pending()
    ids = services.due_for_retry()
    services.enqueue_deliveries(ids)
    db.session.commit()
    if ids or dispatched:
        log.info("sweep", extra={"requeued": len(ids), "events": dispatched})
    return len(ids)
