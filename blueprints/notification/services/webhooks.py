"""Webhook subscriptions: an integrator's URL for one tenant's domain events, its signing secret (rotated with a
grace period in which both sign), and the delivery log with its resend."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from blueprints.core import services as core
from blueprints.notification.models import WebhookDelivery, WebhookStatus, WebhookSubscription
from blueprints.notification.services import webhook_targets
from medcover import clock, tenants
from medcover.errors import Conflict, Forbidden, Invalid
from medcover.extensions import db
from medcover.rbac import Role, Tenant, ensure_owned, scope, tenant_of

#: the events a subscription may ask for, with what each says in words
EVENTS: dict[str, str] = {
    "claim.decided": "A claim was decided",
    "invoice.issued": "An invoice was issued",
    "payment.recorded": "A payment was recorded",
    "refund.recorded": "A refund or reversal was recorded",
    "dispute.opened": "A dispute was opened",
    "dispute.resolved": "A dispute was resolved",
}
MANAGERS = frozenset({Role.ADMIN, Role.INTEGRATION})
SUBSCRIPTION_FIELDS = ("url", "description", "events", "institution_id", "company_id", "active")


@dataclass(frozen=True)
class WithSecret:
    """A subscription and its signing secret, which the integrator sees in this answer."""

    subscription: WebhookSubscription
    secret: str


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _owner(actor, institution_id: int | None, company_id: int | None) -> tuple[int | None, int | None]:
    """The tenant a subscription belongs to: the caller's own; a platform admin names one."""
    if actor.role not in MANAGERS:
        raise Forbidden("Only administrators and integrations manage webhooks.")
    mine = tenant_of(actor)
    if not mine.is_global:
        if (institution_id or company_id) and not mine.owns(institution_id, company_id):
            raise Forbidden("You can subscribe to your own organisation's events only.")
        return mine.institution_id, mine.company_id
    if (institution_id is None) == (company_id is None):
        raise Invalid.field("institution_id", "Choose the hospital or the insurer whose events it receives.")
    if not tenants.exists(institution_id, company_id):
        raise Invalid.field("institution_id" if institution_id else "company_id", "No such organisation.")
    return institution_id, company_id


def _events(events: list[str]) -> list[str]:
    if any(not (e or "").strip() for e in events or []):
        raise Invalid.field("events", "An event's name is empty.")
    wanted = list(dict.fromkeys(e.strip() for e in events or []))
    if not wanted:
        raise Invalid.field("events", "Choose at least one event.")
    unknown = [e for e in wanted if e not in EVENTS]
    if unknown:
        raise Invalid.field("events", f"Unknown event: {', '.join(unknown)}. Choose from {', '.join(EVENTS)}.")
    return wanted


def subscribe(
    *,
    actor,
    url: str,
    events: list[str],
    description: str = "",
    institution_id: int | None = None,
    company_id: int | None = None,
) -> WithSecret:
    institution_id, company_id = _owner(actor, institution_id, company_id)
    wanted = _events(events)
    target = webhook_targets.check(url)
    description = (description or "").strip()
    if len(description) > 200:
        raise Invalid.field("description", "At most 200 characters.")
    secret = new_secret()
    row = WebhookSubscription(
        url=url.strip(),
        description=description,
        events=wanted,
        institution_id=institution_id,
        company_id=company_id,
        secret=secret,
        active=True,
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    db.session.add(row)
    db.session.flush()
    _audit(actor, "create", row, after={"url": row.url, "events": wanted, "host": target.host})
    return WithSecret(row, secret)


def _audit(actor, action: str, row: WebhookSubscription, *, before=None, after=None, summary=None) -> None:
    core.record_audit(
        actor,
        action,
        "webhook_subscription",
        row.id,
        before=before,
        after=after,
        summary=summary or f"webhook to {row.url}",
        institution_id=row.institution_id,
        company_id=row.company_id,
    )


def subscriptions_query(tenant: Tenant):
    return scope(select(WebhookSubscription), WebhookSubscription, tenant).order_by(WebhookSubscription.id.desc())


def get_subscription(tenant: Tenant, subscription_id: int) -> WebhookSubscription:
    row = db.session.get(WebhookSubscription, subscription_id)
    ensure_owned(tenant, row)
    return row


def _managed(actor, subscription_id: int) -> WebhookSubscription:
    if actor.role not in MANAGERS:
        raise Forbidden("Only administrators and integrations manage webhooks.")
    return get_subscription(tenant_of(actor), subscription_id)


def rotate_secret(*, actor, subscription_id: int) -> WithSecret:
    """A new secret signs from now on; the old one signs beside it for ``WEBHOOK_SECRET_GRACE_HOURS``, so the
    receiver can switch without missing a delivery."""
    row = _managed(actor, subscription_id)
    if not row.active:
        raise Conflict("The subscription is disabled.")
    secret = new_secret()
    row.previous_secret = row.secret
    row.previous_until = clock.now() + timedelta(hours=current_app.config["WEBHOOK_SECRET_GRACE_HOURS"])
    row.secret = secret
    db.session.flush()
    _audit(actor, "rotate_secret", row)
    return WithSecret(row, secret)


def disable(*, actor, subscription_id: int) -> WebhookSubscription:
    row = _managed(actor, subscription_id)
    if not row.active:
        raise Conflict("The subscription is already disabled.")
    row.active = False
    db.session.flush()
    _audit(actor, "disable", row, before={"active": True}, after={"active": False})
    return row


def signing_secrets(row: WebhookSubscription) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one in its grace period."""
    found = [row.secret]
    if row.previous_secret and row.previous_until and row.previous_until > clock.now():
        found.append(row.previous_secret)
    return found


def deliveries_query(tenant: Tenant, subscription_id: int):
    get_subscription(tenant, subscription_id)
    return (
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
    )


def get_delivery(tenant: Tenant, delivery_id: int) -> WebhookDelivery:
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is not None:
        ensure_owned(tenant, db.session.get(WebhookSubscription, row.subscription_id))
    else:
        ensure_owned(tenant, None)
    return row


def resend(*, actor, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again (a dead-lettered one, or one delivered that the receiver lost): same message id,
    a fresh set of attempts."""
    if actor.role not in MANAGERS:
        raise Forbidden("Only administrators and integrations manage webhooks.")
    row = get_delivery(tenant_of(actor), delivery_id)
    subscription = db.session.get(WebhookSubscription, row.subscription_id)
    if not subscription.active:
        raise Conflict("The subscription is disabled: enable a new one to receive events.")
    if row.status is WebhookStatus.PENDING:
        raise Conflict("This delivery is still being attempted.")
    before = {"status": row.status.value, "attempts": row.attempts}
    row.status = WebhookStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = clock.now()
    db.session.flush()
    core.record_audit(
        actor,
        "resend",
        "webhook_delivery",
        row.id,
        before=before,
        after={"status": row.status.value},
        summary=f"{row.event_type} to {subscription.url}",
        institution_id=subscription.institution_id,
        company_id=subscription.company_id,
    )
    from blueprints.notification.services.webhook_delivery import enqueue

    enqueue(row.id)
    return row


def subscription_urls(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(WebhookSubscription.id, WebhookSubscription.url).where(WebhookSubscription.id.in_(ids))
    )
    return dict(rows.all())


def delivery_names(ids: set[int]) -> dict[int, tuple[str, str, int]]:
    """Each delivery's event, its subscription's URL and the subscription's id."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.event_type, WebhookSubscription.url, WebhookSubscription.id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.id.in_(ids))
    )
    return {pk: (event, url, sub) for pk, event, url, sub in rows.all()}
