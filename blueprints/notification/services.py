"""The notification domain's public face: send, templates, the in-app inbox, preferences, delivery tracking.

``send`` writes rows in the caller's transaction; delivery happens in a job after commit, so nothing
is sent from inside a web request and a rolled-back change sends nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from blueprints.core import services as core
from blueprints.notification import rendering
from blueprints.notification.defaults import BY_KEY, DEFAULTS
from blueprints.notification.models import (
    TRANSITIONS,
    Channel,
    DeliveryStatus,
    Notification,
    NotificationLog,
    NotificationPreference,
    NotificationTemplate,
    Status,
)
from medcover import clock, jobs
from medcover.audit import snapshot
from medcover.errors import Conflict, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Role, Tenant, scope

CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
PHONE = re.compile(r"^\+?[0-9]{7,15}$")
#: one address, nothing else: no list (a comma would add recipients), no line break (header injection)
EMAIL = re.compile(r"^[^@\s,;:<>()\[\]\\\"\x00-\x1f\x7f]+@[^@\s,;:<>()\[\]\\\"\x00-\x1f\x7f]+$")
TEMPLATE_FIELDS = ("code", "channel", "version", "subject", "body", "mandatory", "active")


@dataclass(frozen=True)
class Recipient:
    """A staff user (by id), or an outside person by email and/or phone (a patient, a member)."""

    user_id: int | None = None
    email: str | None = None
    phone: str | None = None
    name: str | None = None

    @classmethod
    def parse(cls, data: dict) -> Recipient:
        if not isinstance(data, dict):
            raise Invalid.field("recipients", "Each recipient is an object.")
        user_id = data.get("user_id")
        if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool) or user_id < 1):
            raise Invalid.field("recipients", "user_id is a positive whole number.")
        email = (data.get("email") or "").strip().lower() or None
        phone = (data.get("phone") or "").replace(" ", "") or None
        if email and (len(email) > 254 or not EMAIL.match(email)):
            raise Invalid.field("recipients", "Not an email address.")
        if phone and not PHONE.match(phone):
            raise Invalid.field("recipients", "Phone numbers are 7 to 15 digits, with an optional +.")
        if user_id is None and not email and not phone:
            raise Invalid.field("recipients", "Give a user_id, an email or a phone.")
        name = str(data.get("name") or "")[:120] or None
        return cls(user_id=user_id, email=email, phone=phone, name=name)


# --- templates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateText:
    code: str
    channel: Channel
    subject: str
    body: str
    variables: dict
    mandatory: bool
    template_id: int | None  # None: the built-in default
    version: int


def active_template(code: str, channel: Channel) -> TemplateText | None:
    row = db.session.scalar(
        select(NotificationTemplate)
        .where(
            NotificationTemplate.code == code,
            NotificationTemplate.channel == channel,
            NotificationTemplate.active.is_(True),
        )
        .order_by(NotificationTemplate.version.desc())
        .limit(1)
    )
    if row is not None:
        return TemplateText(
            row.code, row.channel, row.subject, row.body, row.variables or {}, row.mandatory, row.id, row.version
        )
    default = BY_KEY.get((code, channel))
    if default is None:
        return None
    return TemplateText(
        default.code, default.channel, default.subject, default.body, default.variables, default.mandatory, None, 0
    )


def channels_for(code: str) -> list[Channel]:
    stored = set(
        db.session.scalars(
            select(NotificationTemplate.channel).where(
                NotificationTemplate.code == code, NotificationTemplate.active.is_(True)
            )
        )
    )
    return [c for c in Channel if c in stored or (code, c) in BY_KEY]


def save_template(
    *,
    actor,
    code: str,
    channel: Channel | str,
    subject: str,
    body: str,
    variables: dict[str, str] | None = None,
    description: str = "",
    mandatory: bool | None = None,
) -> NotificationTemplate:
    """Store a new version of the text for (code, channel) and make it the active one."""
    code = (code or "").strip()
    if not CODE.match(code) or len(code) > 80:
        raise Invalid.field("code", "Use lower-case words joined by dots, e.g. claim.decided.")
    try:
        channel = Channel(channel)
    except ValueError:
        raise Invalid.field("channel", "Choose email, sms or in_app.") from None
    current = active_template(code, channel)
    if variables is None:
        variables = dict(current.variables) if current else {}
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise Invalid.field("variables", "Variables are names with a description each.")
    if mandatory is None:
        mandatory = current.mandatory if current else False
    subject, body = subject or "", body or ""
    if len(description) > 300:
        raise Invalid.field("description", "Use at most 300 characters.")
    rendering.check(subject, body, variables)
    last = (
        db.session.scalar(
            select(func.max(NotificationTemplate.version)).where(
                NotificationTemplate.code == code, NotificationTemplate.channel == channel
            )
        )
        or 0
    )
    db.session.execute(
        update(NotificationTemplate)
        .where(NotificationTemplate.code == code, NotificationTemplate.channel == channel)
        .values(active=False)
    )
    row = NotificationTemplate(
        code=code,
        channel=channel,
        version=last + 1,
        subject=subject,
        body=body,
        variables=variables,
        description=description or (current and "") or "",
        mandatory=mandatory,
        active=True,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(row)
    db.session.flush()
    core.record_audit(actor, "create", "notification_template", row.id, after=snapshot(row, TEMPLATE_FIELDS))
    return row


def template_versions(code: str, channel: Channel) -> list[NotificationTemplate]:
    return list(
        db.session.scalars(
            select(NotificationTemplate)
            .where(NotificationTemplate.code == code, NotificationTemplate.channel == channel)
            .order_by(NotificationTemplate.version.desc())
        )
    )


def templates_query():
    return select(NotificationTemplate).order_by(
        NotificationTemplate.code, NotificationTemplate.channel, NotificationTemplate.version.desc()
    )


def get_template(template_id: int) -> NotificationTemplate:
    row = db.session.get(NotificationTemplate, template_id)
    if row is None:
        raise NotFound("No such template.")
    return row


def catalogue() -> list[TemplateText]:
    """Every (code, channel) with its active text: stored versions first, built-in defaults otherwise."""
    keys = {(d.code, d.channel) for d in DEFAULTS}
    keys |= set(db.session.execute(select(NotificationTemplate.code, NotificationTemplate.channel).distinct()).all())
    found = [active_template(code, channel) for code, channel in sorted(keys, key=lambda k: (k[0], k[1].value))]
    return [t for t in found if t is not None]


def preview(subject: str, body: str, variables: dict[str, str], context: dict | None = None) -> tuple[str, str]:
    rendering.check(subject, body, variables)
    sample = rendering.sample_context(variables) | (context or {})
    try:
        return rendering.render(subject, sample), rendering.render(body, sample)
    except rendering.RenderError as exc:
        raise Invalid.field("body", str(exc)) from None


# --- sending -----------------------------------------------------------------------------------


def _opted_out(user_ids: set[int], code: str) -> set[tuple[int, Channel]]:
    if not user_ids:
        return set()
    rows = db.session.execute(
        select(NotificationPreference.user_id, NotificationPreference.channel).where(
            NotificationPreference.user_id.in_(user_ids),
            NotificationPreference.template_code == code,
            NotificationPreference.enabled.is_(False),
        )
    )
    return {(r.user_id, r.channel) for r in rows}


def send(
    template_code: str,
    recipients: list[Recipient],
    context: dict,
    channels: list[Channel] | None = None,
    *,
    dedupe: str | None = None,
    institution_id: int | None = None,
    company_id: int | None = None,
) -> list[Notification]:
    """Write one notification per recipient and channel, and queue their delivery for after commit.

    ``dedupe`` makes the call idempotent: a second call with the same key writes nothing new.
    """
    channels = list(channels) if channels else channels_for(template_code)
    users = core.users_by_id(r.user_id for r in recipients if r.user_id)
    opted_out = _opted_out({r.user_id for r in recipients if r.user_id}, template_code)
    written: list[Notification] = []
    for index, recipient in enumerate(recipients):
        user = users.get(recipient.user_id) if recipient.user_id else None
        if recipient.user_id and user is None:
            continue  # a user who no longer exists
        for channel in channels:
            template = active_template(template_code, channel)
            if template is None:
                continue
            key = (
                f"{dedupe}:{channel.value}:{index}:{recipient.user_id or recipient.email or recipient.phone}"[:200]
                if dedupe
                else None
            )
            if key and db.session.scalar(select(Notification.id).where(Notification.dedupe_key == key)):
                continue
            address = _address(channel, recipient, user)
            row = Notification(
                template_code=template_code,
                template_id=template.template_id,
                channel=channel,
                recipient_user_id=recipient.user_id,
                recipient_address=address,
                dedupe_key=key,
                institution_id=institution_id,
                company_id=company_id,
                attempts=0,
                status=Status.QUEUED,
                created_at=clock.now(),
            )
            name = recipient.name or (user.full_name if user else "") or "colleague"
            try:
                row.subject = rendering.render(template.subject, {"recipient_name": name, **context})[:200]
                row.body = rendering.render(template.body, {"recipient_name": name, **context})
            except rendering.RenderError as exc:
                row.subject, row.body = template_code, ""
                row.status, row.last_error = Status.DEAD, str(exc)[:2000]
            skip_reason = None
            if row.status is not Status.DEAD:
                if (recipient.user_id, channel) in opted_out and not template.mandatory:
                    skip_reason = "the recipient opted out of this on this channel"
                elif channel is not Channel.IN_APP and not address:
                    skip_reason = f"no {'email address' if channel is Channel.EMAIL else 'phone number'}"
            if skip_reason:
                row.status, row.last_error = Status.SKIPPED, skip_reason
            elif channel is Channel.IN_APP and row.status is Status.QUEUED:
                row.status, row.sent_at = Status.SENT, clock.now()  # stored is delivered
            db.session.add(row)
            db.session.flush()
            _log(row, row.status, row.last_error)
            if row.status is Status.QUEUED:
                enqueue_delivery(row.id)
            written.append(row)
    return written


def _address(channel: Channel, recipient: Recipient, user) -> str | None:
    if channel is Channel.EMAIL:
        return recipient.email or (user.email if user else None)
    if channel is Channel.SMS:
        return recipient.phone
    return None


def enqueue_delivery(notification_id: int, delay: int = 0) -> None:
    from blueprints.notification.jobs import deliver_notification

    jobs.enqueue(deliver_notification, notification_id, queue="notifications", delay=delay)


def _log(row: Notification, status: Status | str, detail: str | None = None) -> None:
    db.session.add(
        NotificationLog(
            notification_id=row.id, at=clock.now(), status=str(status), detail=(detail or None) and detail[:2000]
        )
    )


def _move(row: Notification, to: Status, detail: str | None = None) -> None:
    if to not in TRANSITIONS[row.status]:
        raise Conflict(f"A {row.status.value} notification cannot become {to.value}.")
    row.status = to
    _log(row, to, detail)


# --- delivery (the job calls these, committing between them) -----------------------------------


def claim_for_delivery(notification_id: int) -> Notification | None:
    """Mark the notification as being sent, or None when there is nothing to do (sent already, or
    another worker holds it). Idempotent: a retried or duplicated job never sends twice."""
    stmt = select(Notification).where(Notification.id == notification_id)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = db.session.scalar(stmt)
    if row is None:
        return None
    lease = timedelta(minutes=10)
    stale_sending = row.status is Status.SENDING and row.next_attempt_at and row.next_attempt_at <= clock.now()
    if row.status not in (Status.QUEUED, Status.FAILED) and not stale_sending:
        return None
    if stale_sending and row.attempts >= current_app.config["NOTIFY_MAX_ATTEMPTS"]:
        # Every attempt was lost with its worker (a message that crashes it?): the limit holds here too,
        # or the sweeper would retry it every lease for ever.
        row.next_attempt_at = None
        row.last_error = row.last_error or "no attempt finished: the worker was lost each time"
        _move(row, Status.DEAD, f"gave up after {row.attempts} attempts: none finished")
        _alert_admins(row)
        db.session.flush()
        return None
    row.attempts += 1
    row.next_attempt_at = clock.now() + lease  # if this worker dies, the sweeper retries after the lease
    _move(row, Status.SENDING, f"attempt {row.attempts}")
    db.session.flush()
    return row


def record_sent(notification_id: int, provider_message_id: str | None) -> None:
    row = db.session.get(Notification, notification_id)
    row.provider_message_id = (provider_message_id or "")[:120] or None
    row.sent_at, row.next_attempt_at, row.last_error = clock.now(), None, None
    _move(row, Status.SENT)


def record_failure(notification_id: int, error: str) -> int | None:
    """Schedule the next attempt with exponential backoff; returns its delay, or None when dead-lettered."""
    config = current_app.config
    row = db.session.get(Notification, notification_id)
    row.last_error = error[:2000]
    if row.attempts >= config["NOTIFY_MAX_ATTEMPTS"]:
        row.next_attempt_at = None
        _move(row, Status.DEAD, f"gave up after {row.attempts} attempts: {error}")
        _alert_admins(row)
        return None
    delay = config["NOTIFY_RETRY_BASE_SECONDS"] * 2 ** (row.attempts - 1)
    row.next_attempt_at = clock.now() + timedelta(seconds=delay)
    _move(row, Status.FAILED, f"{error} (next try in {delay} s)")
    return delay


def _alert_admins(row: Notification) -> None:
    if row.template_code == "notification.dead_lettered":
        return
    admins = core.user_ids_with_role(Role.ADMIN)
    send(
        "notification.dead_lettered",
        [Recipient(user_id=i) for i in admins],
        {
            "channel": row.channel.label,
            "notification_id": row.id,
            "template_code": row.template_code,
            "attempts": row.attempts,
            "error": (row.last_error or "")[:300],
        },
        [Channel.IN_APP],
        dedupe=f"dead:{row.id}:{row.attempts}",
    )


def due_for_retry(limit: int = 500) -> list[int]:
    """Notifications whose delivery is due: failed ones past their backoff, queued ones whose job was lost
    (Redis was down), and sending ones whose worker died (lease over)."""
    now = clock.now()
    lost = now - timedelta(minutes=2)
    rows = db.session.scalars(
        select(Notification.id)
        .where(
            ((Notification.status == Status.FAILED) & (Notification.next_attempt_at <= now))
            | ((Notification.status == Status.QUEUED) & (Notification.created_at <= lost))
            | ((Notification.status == Status.SENDING) & (Notification.next_attempt_at <= now))
        )
        .order_by(Notification.id)
        .limit(limit)
    )
    return list(rows)


def resend(*, actor, notification_id: int, tenant: Tenant) -> Notification:
    row = get_notification(notification_id, tenant)
    if row.status not in (Status.DEAD, Status.FAILED):
        raise Conflict("Only failed or dead-lettered notifications can be sent again.")
    row.next_attempt_at = None
    if row.status is Status.DEAD:
        row.attempts = 0
        _move(row, Status.QUEUED, f"resent by {actor.email}")
    else:
        _log(row, "retry", f"retried now by {actor.email}")
        row.next_attempt_at = clock.now()
    core.record_audit(
        actor, "resend", "notification", row.id, institution_id=row.institution_id, company_id=row.company_id
    )
    db.session.flush()
    enqueue_delivery(row.id)
    return row


def record_receipt(provider: str, provider_message_id: str, status: str, detail: str | None = None) -> DeliveryStatus:
    """A provider's delivery report: kept as received, and moves the notification to delivered or failed."""
    if status not in ("delivered", "failed"):
        raise Invalid.field("status", "Use delivered or failed.")
    row = db.session.scalar(select(Notification).where(Notification.provider_message_id == provider_message_id))
    receipt = DeliveryStatus(
        notification_id=row.id if row else None,
        provider=provider[:40],
        provider_message_id=provider_message_id[:120],
        status=status,
        detail=(detail or None) and detail[:2000],
        received_at=clock.now(),
    )
    db.session.add(receipt)
    if row is not None and row.status is Status.SENT:
        if status == "delivered":
            row.delivered_at = clock.now()
            _move(row, Status.DELIVERED, detail)
        else:
            row.last_error = (detail or "provider reported failure")[:2000]
            _move(row, Status.FAILED, row.last_error)
            row.next_attempt_at = clock.now()
    db.session.flush()
    return receipt


# --- reading -----------------------------------------------------------------------------------


def get_notification(notification_id: int, tenant: Tenant) -> Notification:
    row = db.session.get(Notification, notification_id)
    if row is None or not tenant.owns(row.institution_id, row.company_id):
        raise NotFound("No such notification.")
    return row


def delivery_query(tenant: Tenant, status: str = "", channel: str = "", code: str = ""):
    stmt = scope(select(Notification), Notification, tenant).order_by(Notification.id.desc())
    if status in {s.value for s in Status}:
        stmt = stmt.where(Notification.status == Status(status))
    if channel in {c.value for c in Channel}:
        stmt = stmt.where(Notification.channel == Channel(channel))
    if code:
        stmt = stmt.where(Notification.template_code == code[:80])
    return stmt


def history(notification_id: int) -> list[NotificationLog]:
    return list(
        db.session.scalars(
            select(NotificationLog)
            .where(NotificationLog.notification_id == notification_id)
            .order_by(NotificationLog.id)
        )
    )


def receipts(notification_id: int) -> list[DeliveryStatus]:
    return list(
        db.session.scalars(
            select(DeliveryStatus).where(DeliveryStatus.notification_id == notification_id).order_by(DeliveryStatus.id)
        )
    )


def get_inbox_item(user_id: int, notification_id: int) -> Notification:
    row = db.session.scalar(inbox_query(user_id).where(Notification.id == notification_id))
    if row is None:
        raise NotFound("No such notification.")
    return row


def inbox_query(user_id: int, unread_only: bool = False):
    stmt = select(Notification).where(
        Notification.recipient_user_id == user_id,
        Notification.channel == Channel.IN_APP,
        Notification.status.in_((Status.SENT, Status.DELIVERED)),
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(inbox_query(user_id, True).order_by(None).subquery()))


def mark_read(*, user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, every) in-app notification of the user read. Returns how many changed."""
    stmt = update(Notification).where(
        Notification.recipient_user_id == user_id,
        Notification.channel == Channel.IN_APP,
        Notification.read_at.is_(None),
    )
    if notification_id is not None:
        exists = db.session.scalar(
            select(Notification.id).where(
                Notification.id == notification_id,
                Notification.recipient_user_id == user_id,
                Notification.channel == Channel.IN_APP,
            )
        )
        if exists is None:
            raise NotFound("No such notification.")
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=clock.now()), execution_options={"synchronize_session": False})
    return result.rowcount or 0


# --- preferences -------------------------------------------------------------------------------


def preferences(user_id: int) -> dict[tuple[str, Channel], bool]:
    rows = db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    return {(r.template_code, r.channel): r.enabled for r in rows}


def set_preference(*, actor, template_code: str, channel: Channel | str, enabled: bool) -> None:
    try:
        channel = Channel(channel)
    except ValueError:
        raise Invalid.field("channel", "Choose email, sms or in_app.") from None
    template = active_template(template_code, channel)
    if template is None:
        raise Invalid.field("template_code", "No such notification.")
    if template.mandatory and not enabled:
        raise Conflict("This notice is required and cannot be turned off.")
    row = db.session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.user_id == actor.id,
            NotificationPreference.template_code == template_code,
            NotificationPreference.channel == channel,
        )
    )
    if row is None:
        row = NotificationPreference(user_id=actor.id, template_code=template_code, channel=channel)
        db.session.add(row)
    before = row.enabled if row.id else True
    row.enabled = enabled
    db.session.flush()
    if before != enabled:
        core.record_audit(
            actor,
            "update",
            "notification_preference",
            row.id,
            before={"enabled": before},
            after={"enabled": enabled, "code": template_code, "channel": channel.value},
        )
