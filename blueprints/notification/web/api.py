"""Notification JSON endpoints: send, list, read; templates; provider delivery receipts."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any, Literal

from flask import current_app, request
from flask_login import current_user
from pydantic import Field, StrictBool, WithJsonSchema

from blueprints.notification import api_bp, services
from blueprints.notification.models import Channel, Status
from medcover.api import (
    Out,
    Schema,
    Text,
    actor,
    created,
    documented,
    jsonify_model,
    page_model,
    page_response,
    parse,
    saved,
    tenant,
)
from medcover.errors import Unauthorized
from medcover.extensions import db
from medcover.rbac import ALL_ROLES, Role, allow, public

TAG = "Notifications"


class RecipientIn(Schema):
    user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=120)


#: the channels a template writes for; web push copies in-app notifications and is never asked for
TemplateChannel = Literal[Channel.EMAIL, Channel.SMS, Channel.IN_APP]


class SendIn(Schema):
    template_code: str = Field(max_length=80)
    recipients: list[RecipientIn] = Field(min_length=1, max_length=500)
    context: dict[str, Any] = Field(default_factory=dict)
    channels: list[TemplateChannel] | None = None


class NotificationOut(Out):
    id: int
    template_code: str
    channel: Channel
    recipient_user_id: int | None
    subject: str
    body: str
    status: Status
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None


NotificationPage = page_model(NotificationOut)


class SendOut(Out):
    items: list[NotificationOut]


#: any key names a variable (the renderer checks the body's placeholders against them): no pattern on keys, so the
#: document does not split the map into keys that must match and keys that need not
VariableName = Annotated[str, WithJsonSchema({"type": "string"})]


class TemplateIn(Schema):
    code: str = Field(max_length=80, pattern=services.CODE.pattern)
    channel: TemplateChannel
    subject: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    variables: dict[VariableName, Text] | None = None
    description: str = Field(default="", max_length=300)
    mandatory: StrictBool | None = None


class TemplateOut(Out):
    id: int
    code: str
    channel: Channel
    version: int
    subject: str
    body: str
    variables: dict[str, str]
    description: str
    mandatory: bool
    active: bool
    created_at: datetime


TemplatePage = page_model(TemplateOut)


class ReceiptIn(Schema):
    provider_message_id: str = Field(max_length=120)
    status: Literal["delivered", "failed"]
    detail: str | None = Field(default=None, max_length=2000)


@api_bp.post("/notifications/send")
@allow(Role.ADMIN, Role.INTEGRATION)
@documented(
    "Send a notification from a template to users or outside recipients", tag=TAG, body=SendIn, responses={202: SendOut}
)
def send():
    data = parse(SendIn)
    recipients = [services.Recipient.parse(r.model_dump(exclude_none=True)) for r in data.recipients]
    caller = tenant()
    rows = services.send(
        data.template_code,
        recipients,
        data.context,
        data.channels,
        institution_id=caller.institution_id,
        company_id=caller.company_id,
    )
    return saved(SendOut(items=[NotificationOut.model_validate(r) for r in rows]), status=202)


@api_bp.get("/notifications")
@allow(ALL_ROLES)
@documented(
    "Notifications: for admins, their organisation's deliveries; for others, their own in-app messages",
    tag=TAG,
    responses={200: NotificationPage},
    query={
        "status": "queued, sending, sent, delivered, failed, dead, skipped, unsure (may have been sent: check)",
        "channel": "email, sms, in_app, push",
        "page": "page number",
        "per_page": "at most 200",
    },
)
def list_notifications():
    if current_user.role is Role.ADMIN:
        stmt = services.delivery_query(
            tenant(),
            request.args.get("status", ""),
            request.args.get("channel", ""),
            request.args.get("code", ""),
        )
    else:
        stmt = services.inbox_query(current_user.id)
    return page_response(stmt, NotificationOut, NotificationPage)


@api_bp.get("/notifications/<id:notification_id>")
@allow(ALL_ROLES)
@documented("One notification", tag=TAG, responses={200: NotificationOut, 404: None})
def get_notification(notification_id: int):
    if current_user.role is Role.ADMIN:
        row = services.get_notification(notification_id, tenant())
    else:
        row = services.get_inbox_item(current_user.id, notification_id)
    return jsonify_model(NotificationOut.model_validate(row))


@api_bp.post("/notifications/templates")
@allow(Role.ADMIN)
@documented(
    "Save a new version of a template (it becomes the active one)",
    tag=TAG,
    body=TemplateIn,
    responses={201: TemplateOut},
)
def create_template():
    data = parse(TemplateIn)
    row = services.save_template(actor=actor(), **data.model_dump())
    return created(TemplateOut.model_validate(row))


@api_bp.get("/notifications/templates")
@allow(Role.ADMIN)
@documented("Stored template versions", tag=TAG, responses={200: TemplatePage})
def list_templates():
    return page_response(services.templates_query(), TemplateOut, TemplatePage)


@api_bp.get("/notifications/templates/<id:template_id>")
@allow(Role.ADMIN)
@documented("One template version", tag=TAG, responses={200: TemplateOut, 404: None})
def get_template(template_id: int):
    return jsonify_model(TemplateOut.model_validate(services.get_template(template_id)))


@api_bp.post("/notifications/delivery-status")
@public
@documented(
    "Delivery receipt from the SMS gateway (authenticated by the shared X-Webhook-Token)",
    tag=TAG,
    body=ReceiptIn,
    responses={204: None, 401: None},
)
def delivery_status():
    expected = current_app.config.get("SMS_WEBHOOK_TOKEN")
    given = request.headers.get("X-Webhook-Token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("A valid X-Webhook-Token is required.")
    data = parse(ReceiptIn)
    provider = current_app.config.get("SMS_BACKEND", "log")
    services.record_receipt(provider, data.provider_message_id, data.status, data.detail)
    db.session.commit()
    return "", 204
