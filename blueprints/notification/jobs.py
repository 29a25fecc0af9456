"""Notification jobs: deliver one notification, and sweep up what is due (retries, lost jobs, dead workers).

These are edges: they commit between steps, so a crash mid-send leaves a visible ``sending`` row (with the
Message-ID it was sent under); once its lease is over the sweeper marks it "may have been sent: check" instead
of sending a second copy, and a finished send is never repeated.
"""

from __future__ import annotations

import logging

from blueprints.notification import channels, services
from blueprints.notification.models import Channel
from medcover.extensions import db

log = logging.getLogger(__name__)
SENDERS = {Channel.EMAIL: channels.send_email, Channel.SMS: channels.send_sms, Channel.PUSH: channels.send_push}


def deliver_notification(notification_id: int) -> str:
    row = services.claim_for_delivery(notification_id)
    if row is None:
        db.session.commit()
        return "nothing to do"

    def before_handover() -> None:
        services.record_handover(notification_id)
        db.session.commit()  # on record before the first byte of the message leaves

    message = channels.Outgoing(
        row.id, row.recipient_address, row.subject, row.body, row.provider_message_id, before_handover
    )
    sender = SENDERS.get(row.channel)
    db.session.commit()  # "sending" is on record before anything leaves
    try:
        if sender is None:
            raise channels.DeliveryError(f"no sender for {row.channel.value}")
        provider_id = sender(message)
    except channels.Undeliverable as exc:
        services.record_skipped(notification_id, str(exc))
        db.session.commit()
        return f"skipped: {exc}"
    except channels.DeliveryError as exc:
        delay = services.record_failure(notification_id, str(exc))
        db.session.commit()
        if delay is not None:
            services.enqueue_delivery(notification_id, delay=delay)
            db.session.commit()
        return f"failed: {exc}"
    services.record_sent(notification_id, provider_id)
    db.session.commit()
    return "sent"


def sweep() -> int:
    """Re-queue every notification whose delivery is due; then deliver waiting domain events."""
    from medcover.events import dispatch_pending

    dispatched = dispatch_pending()
    ids = services.due_for_retry()
    for notification_id in ids:
        services.enqueue_delivery(notification_id)
    db.session.commit()
    if ids or dispatched:
        log.info("sweep", extra={"requeued": len(ids), "events": dispatched})
    return len(ids)
