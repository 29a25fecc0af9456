"""Notification jobs: deliver a batch of notifications, and sweep up what is due (retries, lost jobs, dead workers).

A delivery job takes a batch of notification ids (``send`` queues one job per ``NOTIFY_BATCH_SIZE`` messages) and
sends them over one SMTP connection and one HTTP session for SMS (``channels.Connections``). It commits three
times per batch, whatever its size, each commit a few multi-row statements:

1. claim: every message that is due becomes "sending" under a lease (one read, one update, one log insert);
2. handover, just before the first message leaves: the batch is marked as being handed over;
3. outcomes, once every message was tried: sent, failed (retried with backoff) or dead-lettered, each on its own.

Exactly once, per message: a repeated job claims nothing it does not find queued or failed; a message refused by
the server or the gateway fails alone (the others go on, over the same connection or a new one if it dropped);
a worker lost mid-batch leaves its messages "sending": once the lease is over, the sweep marks those of a batch
that had begun handing over as "may have been sent: check" (never a second copy), and retries those of a batch
that had not. The price of three commits per batch instead of three per message is that a lost worker leaves its
whole batch (at most ``NOTIFY_BATCH_SIZE`` messages) for a person to check rather than the one message it was
sending: a lost worker is rare, the commits are every message's cost.

The worker runs these jobs in its own process (``medcover.worker``: no fork per job), so a batch also keeps the
worker's database connections and loaded templates.
"""

from __future__ import annotations

import logging
from collections import Counter

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


class _Handover:
    """Marks the whole batch as being handed over (and commits) just before its first message leaves."""

    def __init__(self, ids: list[int]) -> None:
        self.ids, self.done = ids, False

    def __call__(self) -> None:
        if not self.done:
            services.record_batch_handover(self.ids)
            db.session.commit()  # on record before the first byte of the first message leaves
            self.done = True


def _deliver(notification_ids: list[int]) -> dict[int, str]:
    claimed = services.claim(notification_ids)
    db.session.commit()  # "sending" is on record before anything leaves
    if not claimed:
        return {}
    handover = _Handover([c.id for c in claimed])
    outcomes: list[services.Outcome] = []
    with channels.Connections() as via:
        for c in claimed:
            message = channels.Outgoing(
                c.id, c.recipient_address, c.subject, c.body, c.provider_message_id, handover, via
            )
            outcomes.append(_send(c.channel, message))
    retry = services.record(claimed, outcomes)
    db.session.commit()
    for delay, ids in retry.items():
        services.enqueue_deliveries(ids, delay=delay)
    if retry:
        db.session.commit()
    return {o.notification_id: o.kind if o.kind == "sent" else f"{o.kind}: {o.detail}" for o in outcomes}


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
