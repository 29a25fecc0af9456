"""Notification tables: templates (versioned), notifications, their delivery log, provider receipts, preferences."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from medcover.dbtypes import UtcDateTime, enum_column, utcnow
from medcover.extensions import db


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    IN_APP = "in_app"
    #: a web push copy of an in-app notification, to the browsers of a staff member who opted in
    PUSH = "push"

    @property
    def label(self) -> str:
        return {"email": "Email", "sms": "SMS", "in_app": "In-app", "push": "Web push"}[self.value]


class Status(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"  # this attempt failed; another is scheduled
    DEAD = "dead"  # out of attempts: dead-lettered, admins alerted
    SKIPPED = "skipped"  # the recipient opted out or has no address for the channel
    #: the worker sending it was lost mid-send: it may have gone out. Never sent again on its own (no second
    #: copy); a person checks, then marks it sent or sends it again.
    UNSURE = "unsure"

    @property
    def label(self) -> str:
        return "May have been sent: check" if self is Status.UNSURE else self.value.capitalize()


#: status -> statuses it may move to
TRANSITIONS: dict[Status, set[Status]] = {
    Status.QUEUED: {Status.SENDING, Status.SKIPPED},
    #: sending -> skipped: nowhere left to send it (every push subscription had expired)
    Status.SENDING: {Status.SENT, Status.FAILED, Status.DEAD, Status.SENDING, Status.UNSURE, Status.SKIPPED},
    Status.FAILED: {Status.SENDING, Status.QUEUED},
    Status.SENT: {Status.DELIVERED, Status.FAILED},
    Status.DELIVERED: set(),
    Status.DEAD: {Status.QUEUED},  # an admin's resend
    Status.SKIPPED: set(),
    Status.UNSURE: {Status.QUEUED, Status.SENT},  # a person's answer: send it again, or it did go out
}


class NotificationTemplate(db.Model):
    """One version of the text for an event on a channel. Edits add a version; one version is active."""

    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("code", "channel", "version", name="uq_notification_templates_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the event or purpose, e.g. ``claim.decided``
    code: Mapped[str] = mapped_column(String(80), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "notification_channel", validate_strings=True))
    version: Mapped[int] = mapped_column(Integer)
    #: email subject / in-app title (Jinja); unused for SMS
    subject: Mapped[str] = mapped_column(String(200), default="")
    #: Jinja text, rendered in a sandbox with only the event's context
    body: Mapped[str] = mapped_column(Text)
    #: the variables the context offers, {name: description}, shown beside the editor
    variables: Mapped[dict] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(String(300), default="")
    #: security and legal notices go out whatever the recipient's preferences
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Notification(db.Model):
    """One message to one recipient on one channel, rendered when it was written."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_inbox", "recipient_user_id", "channel", "read_at"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_code: Mapped[str] = mapped_column(String(80), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("notification_templates.id", ondelete="SET NULL"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "notification_channel", validate_strings=True))
    #: a staff user (core's id), when the recipient is one
    recipient_user_id: Mapped[int | None] = mapped_column(Integer)
    #: email address or phone number for email/SMS; null for in-app
    recipient_address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[Status] = mapped_column(
        enum_column(Status, "notification_status", validate_strings=True), default=Status.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: the email's Message-ID (recorded with "sending", the same on every attempt) or the SMS provider's id
    provider_message_id: Mapped[str | None] = mapped_column(String(120), index=True)
    #: makes event subscribers idempotent: one notification per event, channel and recipient
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: the tenant the message concerns, for the delivery pages
    institution_id: Mapped[int | None] = mapped_column(Integer, index=True)
    company_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    #: set (and committed) just before this attempt hands the message to the SMTP server or SMS provider: a lost
    #: worker without it provably sent nothing (retried); with it, the message may have gone out (a person checks)
    handover_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class NotificationLog(db.Model):
    """What happened to a notification, step by step: queued, sending, sent, failed (why), retried ..."""

    __tablename__ = "notification_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)


class DeliveryStatus(db.Model):
    """A delivery receipt from a provider (an SMS gateway's callback), kept as received."""

    __tablename__ = "delivery_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_message_id: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class NotificationPreference(db.Model):
    """A user's choice to not receive a kind of notification on a channel (opt-out)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "template_code", "channel", name="uq_notification_preferences"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    template_code: Mapped[str] = mapped_column(String(80))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "notification_channel", validate_strings=True))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class PushSubscription(db.Model):
    """One browser of a staff member that accepts web push (the Push API's subscription); gone when the push
    service says it expired (404/410) or the person turns push off."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: core's user id
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    #: the push service's URL for this browser (a capability: whoever has it can push to the browser)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    #: the browser's P-256 public key and auth secret (base64url) that encrypt every message
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    #: the browser, in words, for the profile page ("Firefox on Linux")
    browser: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first attempt, or for a retry
    DELIVERED = "delivered"
    DEAD = "dead"  # out of attempts (or its target refused): dead-lettered, an admin may resend

    @property
    def label(self) -> str:
        return {"pending": "Waiting", "delivered": "Delivered", "dead": "Failed: out of attempts"}[self.value]


class WebhookSubscription(db.Model):
    """An integrator's URL that receives one tenant's domain events, signed per Standard Webhooks."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (CheckConstraint("(institution_id IS NULL) <> (company_id IS NULL)", name="one_tenant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    #: event names it receives (a list of strings)
    events: Mapped[list] = mapped_column(JSON)
    institution_id: Mapped[int | None] = mapped_column(Integer, index=True)
    company_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: ``whsec_`` + base64 key; kept whole because every delivery is signed with it
    secret: Mapped[str] = mapped_column(String(100))
    #: the secret before the last rotation, still signing alongside the new one until ``previous_until``
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookDelivery(db.Model):
    """One event for one subscription: its attempts, its outcome (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True)
    #: the outbox event it carries (the dedupe key: an event redelivered to the subscriber adds nothing)
    event_id: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(80))
    #: the ``webhook-id`` header: the same on every attempt and resend, so receivers can drop duplicates
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[WebhookStatus] = mapped_column(
        enum_column(WebhookStatus, "webhook_status", validate_strings=True), index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: the receiver's HTTP status on the last attempt (null when none came back)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
