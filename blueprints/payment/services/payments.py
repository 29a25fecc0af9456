"""Payments of invoices, claims and premiums: taken through the method's gateway adapter against what is still
owed, under a lock per paid thing; corrected by a reversal (a new row of the opposite amount), never edited.

Each payment publishes ``payment.recorded`` (billing balances, claim statuses and reconciliation follow); a
patient paying an invoice also gets ``payment.received`` (a receipt); a reversal publishes ``refund.recorded``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.hospital import services as hospital
from blueprints.payment.models import Payment, PaymentKind, Refund, RefundStatus
from blueprints.payment.services import balances, commissions, gateways, methods, rules
from medcover import clock, fields, locks
from medcover.errors import Conflict, Forbidden, Invalid
from medcover.events import publish
from medcover.extensions import db
from medcover.rbac import Tenant, ensure_owned, scope, tenant_of


@dataclass(frozen=True)
class PaymentInput:
    kind: str
    reference_id: int
    amount: Decimal | str
    method: str
    reference: str | None = None
    paid_on: date | str | None = None
    payer: str | None = None
    details: dict | None = None
    note: str | None = None


def _may_take(actor, target: balances.Owed) -> None:
    tenant = tenant_of(actor)
    if actor.role not in rules.CASHIERS:
        raise Forbidden("Only cashiers, billing clerks and finance officers record payments.")
    if tenant.is_global:
        return
    if target.kind == "invoice" and tenant.institution_id != target.institution_id:
        raise Forbidden("Invoice payments are recorded by the hospital that issued the invoice.")
    if target.kind in ("claim", "premium") and tenant.company_id != target.company_id:
        raise Forbidden("Claim and premium payments are recorded by the insurer.")


def record_payment(*, actor, values: PaymentInput, settlement_id: int | None = None) -> Payment:
    """Take one payment: checked against what is owed under a lock on the paid thing, confirmed by the
    method's gateway adapter, numbered, audited, announced."""
    kind = balances.payment_kind(values.kind)
    reference_id = fields.whole(values.reference_id, "reference_id", 1, 2**31 - 1)
    amount = fields.amount(values.amount, "amount", positive=True)
    method = methods.method_kind(values.method)
    reference = methods.method_reference(method, values.reference)
    details = methods.method_details(method, values.details)
    paid_on = rules.paid_day(values.paid_on)
    note = fields.text(values.note, "note", 300, required=False) or None
    locks.hold(f"payment:{kind.value}:{reference_id}")
    target = balances.owed(actor, kind.value, reference_id, values.payer)
    _may_take(actor, target)
    if target.refusal:
        raise Conflict(target.refusal)
    if target.outstanding is not None and amount > target.outstanding:
        raise Invalid.field(
            "amount", f"Only {target.currency} {target.outstanding:,.2f} is still owed on {target.label.lower()}."
        )
    gateway = gateways.for_method(method, institution_id=target.institution_id, company_id=target.company_id)
    result = gateway.take(amount=amount, method=method.value, reference=reference)
    if not result.confirmed:
        raise Conflict(f"The {gateway.name} gateway did not confirm the payment: {result.message}")
    payment = Payment(
        kind=kind,
        reference_id=reference_id,
        payer=target.payer,
        institution_id=target.institution_id,
        company_id=target.company_id,
        amount=amount,
        currency=target.currency,
        method=method,
        method_details=details,
        reference=reference,
        gateway=gateway.name,
        gateway_reference=result.reference,
        paid_on=paid_on,
        note=note,
        settlement_id=settlement_id,
        recorded_by_id=actor.id,
    )
    db.session.add(payment)
    db.session.flush()
    payment.number = f"PAY-{paid_on.year}-{payment.id:06d}"
    db.session.flush()
    if kind is PaymentKind.PREMIUM:
        commissions.accrue_commission(payment)
    rules.audit(
        actor, "create", "payment", payment, after={"number": payment.number, "amount": str(amount), "kind": kind.value}
    )
    publish("payment.recorded", recorded_payload(payment))
    _thank(payment, target)
    return payment


def recorded_payload(payment: Payment) -> dict:
    """The ``payment.recorded`` event of a payment."""
    payload = {
        "payment_id": payment.id,
        "number": payment.number,
        "kind": payment.kind.value,
        "payer": "insurer" if payment.kind is PaymentKind.CLAIM else payment.payer,
        "amount": str(payment.amount),
        "paid_on": payment.paid_on.isoformat(),
        "method": payment.method.value,
        "reference": payment.reference,
        "institution_id": payment.institution_id,
        "company_id": payment.company_id,
    }
    if payment.kind is PaymentKind.INVOICE:
        payload["invoice_id"] = payment.reference_id
    elif payment.kind is PaymentKind.CLAIM:
        payload["claim_id"] = payment.reference_id
        claim = claims.claim_summary(Tenant(None, None), payment.reference_id)
        if claim.invoice_id:
            payload["invoice_id"] = claim.invoice_id
    else:
        payload["coverage_id"] = payment.reference_id
    return payload


def refund_payload(payment: Payment, refund_key: str, amount: Decimal, day: date) -> dict:
    """The ``refund.recorded`` event of money given back on a payment (a refund or a reversal)."""
    payload = recorded_payload(payment)
    payload.update({"refund_id": refund_key, "amount": str(amount), "refunded_on": day.isoformat()})
    return payload


def _thank(payment: Payment, target: balances.Owed) -> None:
    """``payment.received`` for the notification domain: a patient paying an invoice gets a receipt."""
    if payment.kind is not PaymentKind.INVOICE or payment.payer != "patient":
        return
    invoice = billing.invoice_summary(Tenant(None, None), payment.reference_id)
    patient = hospital.patients_by_id([invoice.patient_id]).get(invoice.patient_id)
    if patient is None or not (patient.email or patient.phone):
        return
    publish(
        "payment.received",
        {
            "payment_id": payment.id,
            "institution_id": payment.institution_id,
            "recipients": [
                {"email": patient.email, "phone": patient.phone, "name": f"{patient.first_name} {patient.last_name}"}
            ],
            "context": {
                "amount": f"{payment.currency} {payment.amount:,.2f}",
                "paid_on": payment.paid_on.isoformat(),
                "description": target.label,
                "reference": payment.number,
            },
        },
    )


def reverse_payment(*, actor, payment_id: int, reason: str) -> Payment:
    """Correct a mistaken payment: a new row with the opposite amount; the original stays as it was."""
    original = locked_payment(actor, payment_id)
    reason = fields.text(reason, "reason", 300)
    if original.reversal_of_id is not None or original.amount < 0:
        raise Conflict("A reversal cannot itself be reversed; record a new payment instead.")
    if db.session.scalar(select(Payment.id).where(Payment.reversal_of_id == original.id)):
        raise Conflict(f"Payment {original.number} is already reversed.")
    if db.session.scalar(
        select(func.count()).where(Refund.payment_id == original.id, Refund.status != RefundStatus.REJECTED)
    ):
        raise Conflict(f"Payment {original.number} has refunds; it cannot be reversed as well.")
    reversal = Payment(
        kind=original.kind,
        reference_id=original.reference_id,
        payer=original.payer,
        institution_id=original.institution_id,
        company_id=original.company_id,
        amount=-original.amount,
        currency=original.currency,
        method=original.method,
        method_details={},
        reference=original.reference,
        gateway=original.gateway,
        paid_on=clock.today(),
        reversal_of_id=original.id,
        note=reason,
        recorded_by_id=actor.id,
    )
    db.session.add(reversal)
    db.session.flush()
    reversal.number = f"REV-{reversal.paid_on.year}-{reversal.id:06d}"
    if original.kind is PaymentKind.PREMIUM:
        commissions.accrue_commission(reversal)
    db.session.flush()
    rules.audit(actor, "reverse", "payment", original, after={"reversal": reversal.number, "reason": reason})
    publish("refund.recorded", refund_payload(original, f"reversal-{reversal.id}", original.amount, reversal.paid_on))
    return reversal


def locked_payment(actor, payment_id: int) -> Payment:
    """A payment the actor may move money on, locked for the rest of the transaction."""
    payment = (
        db.session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update()) if payment_id else None
    )
    ensure_owned(tenant_of(actor), payment)
    if actor.role not in rules.CASHIERS:
        raise Forbidden("Only cashiers, billing clerks and finance officers move money.")
    return payment


# --- reading -------------------------------------------------------------------------------------


def get_payment(tenant: Tenant, payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id) if payment_id else None
    ensure_owned(tenant, payment)
    return payment


def payments_query(tenant: Tenant, *, kind: str = "", reference_id: int | None = None, paid_on: date | None = None):
    stmt = scope(select(Payment), Payment, tenant).order_by(Payment.id.desc())
    if kind in {k.value for k in PaymentKind}:
        stmt = stmt.where(Payment.kind == PaymentKind(kind))
        if reference_id:
            stmt = stmt.where(Payment.reference_id == reference_id)
    if paid_on:
        stmt = stmt.where(Payment.paid_on == paid_on)
    return stmt


def payments_of_invoice(tenant: Tenant, invoice_id: int, *, limit: int = 50) -> list[Payment]:
    """The newest payments (and reversals) of an invoice, for the invoice page's panel."""
    return list(db.session.scalars(payments_query(tenant, kind="invoice", reference_id=invoice_id).limit(limit)))


def reversal_of(payment: Payment) -> Payment | None:
    """The reversal of a payment, if it was reversed."""
    return db.session.scalar(select(Payment).where(Payment.reversal_of_id == payment.id))


def original_of(reversal: Payment) -> Payment | None:
    """The payment a reversal reverses (None for a payment that is not a reversal)."""
    return db.session.get(Payment, reversal.reversal_of_id) if reversal.reversal_of_id else None


def payments_by_id(payment_ids) -> dict[int, Payment]:
    """Payments by id, in one query (no tenant check: for ids read from rows the caller may see)."""
    ids = {i for i in payment_ids if i}
    return {p.id: p for p in db.session.scalars(select(Payment).where(Payment.id.in_(ids)))} if ids else {}


def payment_numbers(payment_ids) -> dict[int, str | None]:
    """The numbers of payments by id, in one query."""
    ids = {i for i in payment_ids if i}
    return dict(db.session.execute(select(Payment.id, Payment.number).where(Payment.id.in_(ids))).all()) if ids else {}
