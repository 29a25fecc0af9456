"""Webhook deliveries: domain events from the outbox become one delivery per matching subscription of the event's
own tenant; a job sends each, signed per Standard Webhooks, and retries with exponential backoff until it is
delivered or out of attempts (dead-lettered)."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta

import urllib3
from flask import current_app
from sqlalchemy import select
from standardwebhooks import Webhook

from blueprints.notification.models import WebhookDelivery, WebhookStatus, WebhookSubscription
from blueprints.notification.services import webhook_targets
from blueprints.notification.services.webhooks import EVENTS, signing_secrets
from medcover import clock, jobs
from medcover.errors import Invalid
from medcover.extensions import db

log = logging.getLogger(__name__)

#: what each event's ``data`` carries: ids the API answers to, business numbers, amounts and dates; never names,
#: contacts, member numbers, diagnoses or free text (the payload's ``context`` is read for the business numbers)
DATA: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "claim.decided": (("claim_id", "status"), ("claim_number", "service_date", "total_billed", "total_approved")),
    "invoice.issued": (("invoice_id", "number", "total", "insurer_part", "patient_part"), ("due_date",)),
    "payment.recorded": (
        ("payment_id", "number", "kind", "amount", "paid_on", "method", "reference", "invoice_id", "claim_id"),
        (),
    ),
    "refund.recorded": (("payment_id", "number", "refund_id", "amount", "refunded_on", "invoice_id", "claim_id"), ()),
    "dispute.opened": (("dispute_id", "claim_id", "status"), ("claim_number",)),
    "dispute.resolved": (("dispute_id", "claim_id", "status"), ("claim_number", "claim_status")),
}
#: the context's amounts are written for people ("1,250.00"); the webhook's are the API's ("1250.00")
AMOUNTS = {"total_billed", "total_approved"}
#: status codes a receiver answers with for a message it will never take: retrying can't help
NO_RETRY = {400, 401, 403, 404, 410, 413, 422}


def data_of(event_name: str, payload: dict) -> dict:
    top, from_context = DATA[event_name]
    context = payload.get("context") or {}
    data = {key: payload[key] for key in top if payload.get(key) not in (None, "")}
    for key in from_context:
        value = context.get(key)
        if value not in (None, ""):
            data[key] = value.replace(",", "") if key in AMOUNTS and isinstance(value, str) else value
    return data


def _tenant_match(event_payload: dict):
    institution_id, company_id = event_payload.get("institution_id"), event_payload.get("company_id")
    clauses = []
    if institution_id is not None:
        clauses.append(WebhookSubscription.institution_id == institution_id)
    if company_id is not None:
        clauses.append(WebhookSubscription.company_id == company_id)
    return clauses


def fan_out(event_name: str, event_id: int, payload: dict) -> int:
    """One delivery per active subscription of the event's tenant (the hospital's and, when the event is also
    the insurer's, the insurer's) that asked for it. Idempotent: an event seen twice adds nothing."""
    clauses = _tenant_match(payload)
    if not clauses:
        return 0
    condition = clauses[0] if len(clauses) == 1 else (clauses[0] | clauses[1])
    subscriptions = db.session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.active.is_(True), condition)
    ).all()
    wanted = [s for s in subscriptions if event_name in (s.events or [])]
    if not wanted:
        return 0
    done = set(
        db.session.scalars(
            select(WebhookDelivery.subscription_id).where(
                WebhookDelivery.event_id == event_id, WebhookDelivery.subscription_id.in_([s.id for s in wanted])
            )
        )
    )
    body = {"type": event_name, "timestamp": clock.now().isoformat(), "data": data_of(event_name, payload)}
    created = []
    for subscription in wanted:
        if subscription.id in done:
            continue
        row = WebhookDelivery(
            subscription_id=subscription.id,
            event_id=event_id,
            event_type=event_name,
            message_id="msg_" + secrets.token_hex(12),
            payload=body,
            status=WebhookStatus.PENDING,
            attempts=0,
            next_attempt_at=clock.now(),
            created_at=clock.now(),
        )
        db.session.add(row)
        created.append(row)
    db.session.flush()
    for row in created:
        enqueue(row.id)
    return len(created)


def enqueue(delivery_id: int, delay: int = 0) -> None:
    jobs.enqueue(deliver, delivery_id, queue="notifications", delay=delay)


def signed_headers(subscription: WebhookSubscription, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """Standard Webhooks' three headers; during a rotation's grace period the signature header holds both."""
    signatures = [Webhook(secret).sign(message_id, at, body) for secret in signing_secrets(subscription)]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "Content-Type": "application/json",
        "User-Agent": "MedCover-Webhooks/1",
    }


def _post(target: webhook_targets.Target, body: str, headers: dict[str, str]) -> int:
    """POST to the address the check resolved (not a second lookup), naming the host for HTTP and TLS."""
    timeout = urllib3.Timeout(total=current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
    address = target.addresses[0]
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False)
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body.encode(),
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=True,
        )
        return response.status
    finally:
        pool.close()


def deliver(delivery_id: int) -> str | None:
    """One attempt (the job). Returns the delivery's status after it, or None when there was nothing to do."""
    row = db.session.get(WebhookDelivery, delivery_id, with_for_update=True)  # one attempt at a time
    if row is None or row.status is not WebhookStatus.PENDING:
        return None
    subscription = db.session.get(WebhookSubscription, row.subscription_id)
    now = clock.now()
    if subscription is None or not subscription.active:
        row.status, row.next_attempt_at, row.last_error = WebhookStatus.DEAD, None, "The subscription is disabled."
        db.session.flush()
        return row.status.value
    if row.next_attempt_at and row.next_attempt_at > now:
        return None  # a sweep or a duplicate job came early: its own time will come
    row.attempts += 1
    row.last_attempt_at = now
    status, error = None, None
    try:
        target = webhook_targets.check(subscription.url)
        body = json.dumps(row.payload, separators=(",", ":"), ensure_ascii=False)
        status = _post(target, body, signed_headers(subscription, row.message_id, now, body))
    except Invalid as refused:
        error = "Refused: " + refused.detail
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    row.last_status_code = status
    if status is not None and 200 <= status < 300:
        row.status, row.delivered_at, row.next_attempt_at, row.last_error = WebhookStatus.DELIVERED, now, None, None
    else:
        row.last_error = (error or f"The receiver answered {status}.")[:500]
        _retry_or_dead(row, now, give_up=status in NO_RETRY)
    db.session.flush()
    return row.status.value


def _retry_or_dead(row: WebhookDelivery, now: datetime, *, give_up: bool) -> None:
    if give_up or row.attempts >= current_app.config["WEBHOOK_MAX_ATTEMPTS"]:
        row.status, row.next_attempt_at = WebhookStatus.DEAD, None
        log.warning("webhook delivery dead-lettered", extra={"delivery": row.id, "event": row.event_type})
        return
    wait = current_app.config["WEBHOOK_RETRY_BASE_SECONDS"] * 2 ** (row.attempts - 1)
    row.next_attempt_at = now + timedelta(seconds=wait)
    enqueue(row.id, delay=wait)  # on RQ; inline, the sweep sends it when it is due


def due(limit: int = 500) -> list[int]:
    """Deliveries waiting whose time has come (retries, and first attempts whose job was lost). On RQ the delayed
    jobs send retries on time; the sweep takes only what is a minute late, so the two seldom meet."""
    late = timedelta(seconds=60 if current_app.config.get("REDIS_URL") else 0)
    return list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == WebhookStatus.PENDING, WebhookDelivery.next_attempt_at <= clock.now() - late
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
    )


def sweep() -> int:
    """The periodic job: attempt every delivery that is due, each in its own commit."""
    ids = due()
    for delivery_id in ids:
        try:
            deliver(delivery_id)
            db.session.commit()
        except Exception:  # one broken row must not stop the rest
            db.session.rollback()
            log.exception("webhook delivery %s failed", delivery_id)
    return len(ids)


def subscriber(event_name: str):
    def handle(event_id: int, payload: dict) -> None:
        fan_out(event_name, event_id, payload)

    handle.__name__ = f"webhook_{event_name.replace('.', '_')}"
    return handle


EVENT_NAMES = tuple(EVENTS)
