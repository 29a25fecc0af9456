"""Webhook JSON endpoints: integrators subscribe URLs to their own organisation's events, rotate the signing
secret, read the delivery log and resend."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from blueprints.notification import api_bp
from blueprints.notification.models import WebhookStatus
from blueprints.notification.services import webhooks
from medcover.api import (
    Id,
    Out,
    Schema,
    actor,
    created,
    documented,
    jsonify_model,
    named_by_platform_admins,
    page_response,
    parse,
    saved,
    tenant,
)
from medcover.rbac import allow

TAG = "Webhooks"
EVENTS_TEXT = ", ".join(f"`{name}`" for name in webhooks.EVENTS)


#: an http(s) URL with a host and no credentials (whose host must also resolve: checked on subscribing)
URL = r"^\s*[hH][tT][tT][pP][sS]?://[^\s/?#@]+([/?#]\S*)?\s*$"


class SubscriptionIn(Schema):
    model_config = ConfigDict(json_schema_extra=named_by_platform_admins("institution_id", "company_id"))

    url: str = Field(max_length=500, json_schema_extra={"pattern": URL})
    events: list[str] = Field(
        min_length=1,
        max_length=len(webhooks.EVENTS),
        json_schema_extra={"items": {"type": "string", "enum": list(webhooks.EVENTS)}},
    )
    description: str = Field(default="", max_length=200)
    institution_id: Id | None = None
    company_id: Id | None = None


class SubscriptionOut(Out):
    id: int
    url: str
    description: str
    events: list[str]
    institution_id: int | None
    company_id: int | None
    active: bool
    created_at: datetime


class SubscriptionWithSecretOut(SubscriptionOut):
    #: the signing secret (Standard Webhooks ``whsec_...``); answered on create and rotation only
    secret: str


class SubscriptionPage(Out):
    items: list[SubscriptionOut]
    page: int
    per_page: int
    total: int


class DeliveryOut(Out):
    id: int
    message_id: str
    event_type: str
    status: WebhookStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(Out):
    items: list[DeliveryOut]
    page: int
    per_page: int
    total: int


def _with_secret(done: webhooks.WithSecret) -> SubscriptionWithSecretOut:
    return SubscriptionWithSecretOut(
        **SubscriptionOut.model_validate(done.subscription).model_dump(), secret=done.secret
    )


@api_bp.get("/webhooks")
@allow(webhooks.MANAGERS)
@documented("Your organisation's webhook subscriptions", tag=TAG, responses={200: SubscriptionPage})
def webhooks_list():
    return page_response(webhooks.subscriptions_query(tenant()), SubscriptionOut, SubscriptionPage)


@api_bp.post("/webhooks")
@allow(webhooks.MANAGERS)
@documented(
    "Subscribe a URL to your organisation's events; the signing secret is in this answer",
    tag=TAG,
    body=SubscriptionIn,
    responses={201: SubscriptionWithSecretOut, 422: None},
    description=(
        f"Events: {EVENTS_TEXT}. Deliveries follow Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
        '`webhook-signature`); the body is `{"type", "timestamp", "data"}`. A URL whose host resolves to a '
        "private, loopback or link-local address is refused (422 on `url`), here and at every delivery. "
        "A platform administrator names the `institution_id` or `company_id`; everyone else subscribes to their own."
    ),
)
def webhook_create():
    data = parse(SubscriptionIn)
    done = webhooks.subscribe(
        actor=actor(),
        url=data.url,
        events=data.events,
        description=data.description,
        institution_id=data.institution_id,
        company_id=data.company_id,
    )
    return created(_with_secret(done), headers={"Cache-Control": "no-store"})


@api_bp.get("/webhooks/<id:subscription_id>")
@allow(webhooks.MANAGERS)
@documented("One webhook subscription", tag=TAG, responses={200: SubscriptionOut, 404: None})
def webhook_get(subscription_id: int):
    return jsonify_model(SubscriptionOut.model_validate(webhooks.get_subscription(tenant(), subscription_id)))


@api_bp.post("/webhooks/<id:subscription_id>/rotate-secret")
@allow(webhooks.MANAGERS)
@documented(
    "A new signing secret; the old one keeps signing beside it for the grace period",
    tag=TAG,
    responses={200: SubscriptionWithSecretOut, 404: None, 409: None},
)
def webhook_rotate(subscription_id: int):
    response = saved(_with_secret(webhooks.rotate_secret(actor=actor(), subscription_id=subscription_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@api_bp.post("/webhooks/<id:subscription_id>/disable")
@allow(webhooks.MANAGERS)
@documented(
    "Stop a subscription: no more deliveries; it and its delivery log stay readable",
    tag=TAG,
    responses={200: SubscriptionOut, 404: None, 409: None},
)
def webhook_disable(subscription_id: int):
    return saved(SubscriptionOut.model_validate(webhooks.disable(actor=actor(), subscription_id=subscription_id)))


@api_bp.get("/webhooks/<id:subscription_id>/deliveries")
@allow(webhooks.MANAGERS)
@documented("A subscription's delivery log, newest first", tag=TAG, responses={200: DeliveryPage, 404: None})
def webhook_deliveries(subscription_id: int):
    return page_response(webhooks.deliveries_query(tenant(), subscription_id), DeliveryOut, DeliveryPage)


@api_bp.post("/webhook-deliveries/<id:delivery_id>/resend")
@allow(webhooks.MANAGERS)
@documented(
    "Send a delivery again with the same webhook-id", tag=TAG, responses={200: DeliveryOut, 404: None, 409: None}
)
def webhook_resend(delivery_id: int):
    return saved(DeliveryOut.model_validate(webhooks.resend(actor=actor(), delivery_id=delivery_id)))
