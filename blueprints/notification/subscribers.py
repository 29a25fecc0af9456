"""Domain events that reach people. Each event's payload names its recipients and the template context:

    {"recipients": [{"user_id": 7}, {"email": "...", "phone": "...", "name": "..."}],
     "context": {...}, "institution_id": 1, "company_id": null}

An event without ``recipients`` but with ``user_id`` goes to that user. Handlers are idempotent: the
outbox event id is the dedupe key, so a redelivered event writes nothing new.
"""

from __future__ import annotations

from blueprints.notification import services
from blueprints.notification.services import webhook_delivery
from medcover import clock
from medcover.events import subscribe

EVENTS = (
    "appointment.booked",
    "appointment.reminder",
    "invoice.issued",
    "claim.decided",
    "dispute.opened",
    "dispute.resolved",
    "payment.received",
    "user.password_changed",
)


def notify(event_name: str, event_id: int, payload: dict) -> None:
    raw = payload.get("recipients")
    if raw is None and payload.get("user_id"):
        raw = [{"user_id": payload["user_id"]}]
    recipients = [services.Recipient.parse(item) for item in raw or []]
    if not recipients:
        return
    context = dict(payload.get("context") or {})
    if event_name == "user.password_changed":
        context.setdefault("changed_at", clock.format_datetime(clock.now()))
    services.send(
        event_name,
        recipients,
        context,
        dedupe=f"event:{event_id}",
        institution_id=payload.get("institution_id"),
        company_id=payload.get("company_id"),
    )


def _handler(event_name: str):
    def handle(event_id: int, payload: dict) -> None:
        notify(event_name, event_id, payload)

    handle.__name__ = f"notify_{event_name.replace('.', '_')}"
    return handle


# Registered once, at import: the registry is per process, not per app.
for _name in EVENTS:
    subscribe(_name)(_handler(_name))


# Signed webhooks: the same events, to integrators' subscriptions of the event's tenant.
for _name in webhook_delivery.EVENT_NAMES:
    subscribe(_name)(webhook_delivery.subscriber(_name))
