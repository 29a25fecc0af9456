"""Refunds: money given back on a payment, never more than is left of it; above a threshold a refund waits for a
finance officer other than the one who asked. An approved refund publishes ``refund.recorded``."""

from __future__ import annotations

from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from blueprints.payment.models import Payment, Refund, RefundStatus
from blueprints.payment.services import payments, rules
from medcover import clock, fields
from medcover.errors import Conflict, Forbidden, Invalid
from medcover.events import publish
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Tenant, ensure_owned, scope, tenant_of

DEFAULT_REFUND_THRESHOLD = Decimal("10000.00")


def refundable(payment: Payment) -> Decimal:
    if payment.amount <= 0 or db.session.scalar(select(Payment.id).where(Payment.reversal_of_id == payment.id)):
        return ZERO
    taken = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.payment_id == payment.id, Refund.status != RefundStatus.REJECTED
        )
    )
    return max(ZERO, money(payment.amount - money(str(taken))))


def refund_threshold() -> Decimal:
    return money(str(current_app.config.get("REFUND_APPROVAL_THRESHOLD") or DEFAULT_REFUND_THRESHOLD))


def request_refund(*, actor, payment_id: int, amount, reason: str) -> Refund:
    """Give money back on a payment: never more than what is left of it (a refund waiting for approval
    already holds its amount). Above the threshold it waits for a finance officer's approval."""
    amount = fields.amount(amount, "amount", positive=True)
    reason = fields.text(reason, "reason", 300)
    payment = payments.locked_payment(actor, payment_id)
    left = refundable(payment)
    if amount > left:
        raise Invalid.field(
            "amount", f"At most {payment.currency} {left:,.2f} of payment {payment.number} can be refunded."
        )
    needs_approval = amount > refund_threshold()
    refund = Refund(
        payment_id=payment.id,
        institution_id=payment.institution_id,
        company_id=payment.company_id,
        amount=amount,
        reason=reason,
        status=RefundStatus.PENDING_APPROVAL if needs_approval else RefundStatus.APPROVED,
        requested_by_id=actor.id,
        decided_by_id=None if needs_approval else actor.id,
        decided_at=None if needs_approval else clock.now(),
    )
    db.session.add(refund)
    db.session.flush()
    rules.audit(
        actor,
        "create",
        "refund",
        refund,
        after={"payment": payment.number, "amount": str(amount), "status": refund.status.value},
    )
    if not needs_approval:
        publish("refund.recorded", payments.refund_payload(payment, str(refund.id), amount, clock.today()))
    return refund


def decide_refund(*, actor, refund_id: int, approve: bool, note: str = "") -> Refund:
    """A finance officer (not the one who asked) approves or rejects a refund waiting for approval."""
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update()) if refund_id else None
    ensure_owned(tenant_of(actor), refund)
    if actor.role not in rules.APPROVERS:
        raise Forbidden("Refunds above the threshold are approved by a finance officer.")
    if refund.status is not RefundStatus.PENDING_APPROVAL:
        raise Conflict(f"This refund is already {refund.status.value.replace('_', ' ')}.")
    if refund.requested_by_id == actor.id:
        raise Forbidden("Someone other than the requester approves a refund.")
    refund.status = RefundStatus.APPROVED if approve else RefundStatus.REJECTED
    refund.decided_by_id = actor.id
    refund.decided_at = clock.now()
    refund.decision_note = fields.text(note, "note", 300, required=not approve) or None
    db.session.flush()
    rules.audit(actor, "approve" if approve else "reject", "refund", refund, after={"status": refund.status.value})
    if approve:
        payment = db.session.get(Payment, refund.payment_id)
        publish("refund.recorded", payments.refund_payload(payment, str(refund.id), refund.amount, clock.today()))
    return refund


# --- reading -------------------------------------------------------------------------------------


def refunds_query(tenant: Tenant, *, status: str = "", payment_id: int | None = None):
    stmt = scope(select(Refund), Refund, tenant).order_by(Refund.id.desc())
    if status in {s.value for s in RefundStatus}:
        stmt = stmt.where(Refund.status == RefundStatus(status))
    if payment_id:
        stmt = stmt.where(Refund.payment_id == payment_id)
    return stmt


def get_refund(tenant: Tenant, refund_id: int) -> Refund:
    refund = db.session.get(Refund, refund_id) if refund_id else None
    ensure_owned(tenant, refund)
    return refund


def refunds_of(payment_ids) -> dict[int, list[Refund]]:
    ids = [i for i in payment_ids if i]
    found: dict[int, list[Refund]] = {}
    if ids:
        for row in db.session.scalars(select(Refund).where(Refund.payment_id.in_(ids)).order_by(Refund.id)):
            found.setdefault(row.payment_id, []).append(row)
    return found
