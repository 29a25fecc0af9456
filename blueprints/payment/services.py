"""Payment's public face: recording payments (invoices, claims, premiums) through a gateway adapter,
reversals, refunds with approval above a threshold, settlements of approved claims, payment methods,
agents and commissions. Money movement is append-only: nothing here updates or deletes an amount.

Each payment publishes ``payment.recorded`` (billing balances, claim statuses and reconciliation follow);
each refund and reversal publishes ``refund.recorded``. What is still owed is computed from this
domain's own rows (authoritative and synchronous), under a lock per paid thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from blueprints.payment import gateways
from blueprints.payment.models import (
    Agent,
    AgentAssignment,
    Commission,
    CommissionPayment,
    CommissionRate,
    FinancialSettlement,
    MethodKind,
    Payment,
    PaymentKind,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from medcover import clock, fields, locks
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import publish, publish_many
from medcover.extensions import db
from medcover.money import ZERO, money, percent_of
from medcover.rbac import Role, Tenant, ensure_owned, scope, tenant_of

#: roles that record and refund money
CASHIERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.INTEGRATION})
APPROVERS = frozenset({Role.ADMIN, Role.FINANCE_OFFICER})
DEFAULT_REFUND_THRESHOLD = Decimal("10000.00")
#: what the clerk must capture for each method (the payment's ``reference`` field), as a pattern and a hint
REFERENCE_RULES: dict[MethodKind, tuple[re.Pattern | None, str]] = {
    MethodKind.CASH: (None, "a receipt number (optional)"),
    MethodKind.CARD: (re.compile(r"[A-Z0-9]{4,12}"), "the card terminal's approval code"),
    MethodKind.BANK_TRANSFER: (re.compile(r"[A-Z0-9][A-Z0-9/-]{3,39}"), "the bank transfer reference"),
    MethodKind.MOBILE_MONEY: (re.compile(r"[A-Z0-9]{6,20}"), "the mobile money transaction code"),
    MethodKind.CHEQUE: (re.compile(r"[0-9]{4,12}"), "the cheque number"),
}
DETAIL_FIELDS = {
    MethodKind.CARD: ("last4",),
    MethodKind.MOBILE_MONEY: ("phone",),
    MethodKind.CHEQUE: ("bank",),
    MethodKind.BANK_TRANSFER: ("bank",),
    MethodKind.CASH: (),
}


def _method(value) -> MethodKind:
    try:
        return MethodKind(str(value or "").strip())
    except ValueError:
        raise Invalid.field("method", "Choose cash, card, bank_transfer, mobile_money or cheque.") from None


def _reference(method: MethodKind, value) -> str | None:
    pattern, hint = REFERENCE_RULES[method]
    text = str(value or "").strip().upper()
    if not text:
        if pattern is None:
            return None
        raise Invalid.field("reference", f"Enter {hint}.")
    if pattern is not None and not pattern.fullmatch(text):
        raise Invalid.field("reference", f"That is not {hint}.")
    if len(text) > 80 or not text.isprintable():
        raise Invalid.field("reference", "Use at most 80 letters and digits.")
    return text


def _details(method: MethodKind, values: dict | None) -> dict:
    values = values or {}
    unknown = set(values) - set(DETAIL_FIELDS[method])
    if unknown:
        raise Invalid.field("details", f"{method.value} takes {', '.join(DETAIL_FIELDS[method]) or 'no details'}.")
    clean = {}
    if values.get("last4"):
        if not re.fullmatch(r"[0-9]{4}", str(values["last4"]).strip()):
            raise Invalid.field("details", "Give the card's last four digits.")
        clean["last4"] = str(values["last4"]).strip()
    if values.get("phone"):
        phone = re.sub(r"[\s-]", "", str(values["phone"]))
        if not re.fullmatch(r"\+?[0-9]{9,15}", phone):
            raise Invalid.field("details", "Give the phone number the money came from.")
        clean["phone"] = phone
    if values.get("bank"):
        clean["bank"] = fields.text(values["bank"], "details", 80)
    return clean


def _paid_on(value) -> date:
    day = fields.day(value, "paid_on") if value else clock.today()
    if day > clock.today():
        raise Invalid.field("paid_on", "A payment cannot be dated in the future.")
    return day


# --- what is owed --------------------------------------------------------------------------------


def _net_paid(kind: PaymentKind, reference_id: int, payer: str | None = None) -> Decimal:
    """Payments less reversals less refunds (approved or waiting) on one thing, from this domain's rows."""
    paid_filter = [Payment.kind == kind, Payment.reference_id == reference_id]
    if payer:
        paid_filter.append(Payment.payer == payer)
    paid = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(*paid_filter))
    refunded = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0))
        .join(Payment, Payment.id == Refund.payment_id)
        .where(*paid_filter, Refund.status != RefundStatus.REJECTED)
    )
    return money(str(paid)) - money(str(refunded))


@dataclass(frozen=True)
class Owed:
    """What a payer still owes on an invoice, a claim or (premiums: no ceiling) a coverage."""

    kind: str
    reference_id: int
    payer: str
    label: str
    due: Decimal | None
    paid: Decimal
    institution_id: int | None
    company_id: int | None
    currency: str = "KES"
    #: when set, nothing may be paid and this says why
    refusal: str | None = None
    #: another ceiling: the insurer's part of an invoice is paid through the invoice or through its claims,
    #: and the two together never exceed it
    ceiling: Decimal | None = None

    @property
    def outstanding(self) -> Decimal | None:
        if self.due is None:
            return None
        left = max(ZERO, money(self.due - self.paid))
        return left if self.ceiling is None else max(ZERO, min(left, self.ceiling))


def owed(actor, kind: str, reference_id: int, payer: str | None = None) -> Owed:
    """The page's "still owed" and the API's overpayment check; 404 for what the actor may not see."""
    kind = _kind(kind)
    tenant = tenant_of(actor)
    if kind is PaymentKind.INVOICE:
        invoice = billing.invoice_summary(tenant, reference_id)
        payer = payer or "patient"
        if payer not in ("patient", "insurer"):
            raise Invalid.field("payer", "An invoice is paid by the patient or the insurer.")
        due = invoice.patient_due if payer == "patient" else invoice.insurer_due
        ceiling = None
        if payer == "insurer":
            # What the insurer paid on claims billing this invoice counts against the same part.
            claimed = sum((_net_paid(PaymentKind.CLAIM, cid) for cid in claims.claim_ids_for_invoice(invoice.id)), ZERO)
            ceiling = money(due - _net_paid(kind, invoice.id, payer) - claimed)
        refusal = None
        if invoice.status == "void":
            refusal = f"Invoice {invoice.number} is void; nothing can be paid on it."
        elif invoice.status == "draft":
            refusal = "This invoice is a draft; issue it before taking payment."
        return Owed(
            "invoice",
            invoice.id,
            payer,
            f"Invoice {invoice.number or 'draft'} ({payer}'s part)",
            due,
            _net_paid(kind, invoice.id, payer),
            invoice.institution_id,
            invoice.company_id if payer == "insurer" else None,
            invoice.currency,
            refusal,
            ceiling,
        )
    if kind is PaymentKind.CLAIM:
        claim = claims.get_claim(tenant, reference_id)
        refusal = None
        if claim.status.value not in ("approved", "partially_approved", "paid"):
            refusal = (
                f"Claim {claim.claim_number} is {claim.status.value.replace('_', ' ')}; only approved claims are paid."
            )
        ceiling = None
        if claim.invoice_id:
            invoice = billing.invoice_summary(Tenant(None, None), claim.invoice_id)
            on_claims = sum(
                (_net_paid(PaymentKind.CLAIM, cid) for cid in claims.claim_ids_for_invoice(claim.invoice_id)), ZERO
            )
            ceiling = money(invoice.insurer_due - _net_paid(PaymentKind.INVOICE, invoice.id, "insurer") - on_claims)
        return Owed(
            "claim",
            claim.id,
            "insurer",
            f"Claim {claim.claim_number}",
            claim.total_approved,
            _net_paid(kind, claim.id),
            claim.institution_id,
            claim.company_id,
            refusal=refusal,
            ceiling=ceiling,
        )
    cover = insurance.get_coverage(tenant, reference_id)
    payer = payer or "member"
    if payer not in ("member", "employer"):
        raise Invalid.field("payer", "A premium is paid by the member or the employer.")
    return Owed(
        "premium",
        cover.id,
        payer,
        f"Premium of coverage {cover.id}",
        None,
        _net_paid(kind, cover.id),
        None,
        cover.company_id,
    )


def _kind(value) -> PaymentKind:
    try:
        return PaymentKind(str(value or "").strip())
    except ValueError:
        raise Invalid.field("kind", "Choose claim, invoice or premium.") from None


def _may_take(actor, target: Owed) -> None:
    tenant = tenant_of(actor)
    if actor.role not in CASHIERS:
        raise Forbidden("Only cashiers, billing clerks and finance officers record payments.")
    if tenant.is_global:
        return
    if target.kind == "invoice" and tenant.institution_id != target.institution_id:
        raise Forbidden("Invoice payments are recorded by the hospital that issued the invoice.")
    if target.kind in ("claim", "premium") and tenant.company_id != target.company_id:
        raise Forbidden("Claim and premium payments are recorded by the insurer.")


# --- payments ------------------------------------------------------------------------------------


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


def record_payment(*, actor, values: PaymentInput, settlement_id: int | None = None) -> Payment:
    """Take one payment: checked against what is owed under a lock on the paid thing, confirmed by the
    method's gateway adapter, numbered, audited, announced."""
    kind = _kind(values.kind)
    reference_id = fields.whole(values.reference_id, "reference_id", 1, 2**31 - 1)
    amount = fields.amount(values.amount, "amount", positive=True)
    method = _method(values.method)
    reference = _reference(method, values.reference)
    details = _details(method, values.details)
    paid_on = _paid_on(values.paid_on)
    note = fields.text(values.note, "note", 300, required=False) or None
    locks.hold(f"payment:{kind.value}:{reference_id}")
    target = owed(actor, kind.value, reference_id, values.payer)
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
        _accrue_commission(payment)
    _audit(
        actor, "create", "payment", payment, after={"number": payment.number, "amount": str(amount), "kind": kind.value}
    )
    publish("payment.recorded", _recorded_payload(payment))
    _thank(payment, target)
    return payment


def _recorded_payload(payment: Payment) -> dict:
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
        claim = claims.get_claim(Tenant(None, None), payment.reference_id)
        if claim.invoice_id:
            payload["invoice_id"] = claim.invoice_id
    else:
        payload["coverage_id"] = payment.reference_id
    return payload


def _thank(payment: Payment, target: Owed) -> None:
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
    original = _locked_payment(actor, payment_id)
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
        _accrue_commission(reversal)
    db.session.flush()
    _audit(actor, "reverse", "payment", original, after={"reversal": reversal.number, "reason": reason})
    publish("refund.recorded", _refund_payload(original, f"reversal-{reversal.id}", original.amount, reversal.paid_on))
    return reversal


def _refund_payload(payment: Payment, refund_key: str, amount: Decimal, day: date) -> dict:
    payload = _recorded_payload(payment)
    payload.update({"refund_id": refund_key, "amount": str(amount), "refunded_on": day.isoformat()})
    return payload


def _locked_payment(actor, payment_id: int) -> Payment:
    payment = (
        db.session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update()) if payment_id else None
    )
    ensure_owned(tenant_of(actor), payment)
    if actor.role not in CASHIERS:
        raise Forbidden("Only cashiers, billing clerks and finance officers move money.")
    return payment


# --- refunds -------------------------------------------------------------------------------------


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
    payment = _locked_payment(actor, payment_id)
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
    _audit(
        actor,
        "create",
        "refund",
        refund,
        after={"payment": payment.number, "amount": str(amount), "status": refund.status.value},
    )
    if not needs_approval:
        publish("refund.recorded", _refund_payload(payment, str(refund.id), amount, clock.today()))
    return refund


def decide_refund(*, actor, refund_id: int, approve: bool, note: str = "") -> Refund:
    """A finance officer (not the one who asked) approves or rejects a refund waiting for approval."""
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update()) if refund_id else None
    ensure_owned(tenant_of(actor), refund)
    if actor.role not in APPROVERS:
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
    _audit(actor, "approve" if approve else "reject", "refund", refund, after={"status": refund.status.value})
    if approve:
        payment = db.session.get(Payment, refund.payment_id)
        publish("refund.recorded", _refund_payload(payment, str(refund.id), refund.amount, clock.today()))
    return refund


# --- settlements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettlementLine:
    claim_id: int
    claim_number: str
    member_number: str
    service_date: date
    approved: Decimal
    paid_before: Decimal
    payable: Decimal


def _paying_company(tenant: Tenant, company_id: int | None) -> int:
    """The insurer a settlement is for: the officer's own; a platform admin names one."""
    if tenant.company_id is not None:
        return tenant.company_id
    if not tenant.is_global:
        raise Forbidden("Settlements are made by the insurer.")
    if not company_id:
        raise Invalid.field("company_id", "Choose the insurer that pays.")
    return int(company_id)


def settlement_preview(
    *, actor, institution_id: int, period_start, period_end, company_id: int | None = None
) -> list[SettlementLine]:
    """The approved claims of a provider in a period with what is left to pay on each, for one insurer."""
    tenant = tenant_of(actor)
    company_id = _paying_company(tenant, company_id)
    start, end = fields.day(period_start, "period_start"), fields.day(period_end, "period_end")
    if end < start:
        raise Invalid.field("period_end", "The period ends before it starts.")
    rows = [
        c
        for c in claims.approved_claims(tenant, institution_id=institution_id, start=start, end=end)
        if c.company_id == company_id
    ]
    paid = _net_paid_many(PaymentKind.CLAIM, [c.id for c in rows])
    lines = []
    for claim in rows:
        payable = money(claim.total_approved - paid.get(claim.id, ZERO))
        if payable > 0 and claim.invoice_id:
            # The invoice's insurer part may be partly paid through the invoice itself: never pay it twice.
            payable = min(payable, owed(actor, "claim", claim.id).outstanding or ZERO)
        if payable > 0:
            lines.append(
                SettlementLine(
                    claim.id,
                    claim.claim_number,
                    claim.member_number,
                    claim.service_date,
                    claim.total_approved,
                    paid.get(claim.id, ZERO),
                    payable,
                )
            )
    return lines


def _net_paid_many(kind: PaymentKind, ids: list[int]) -> dict[int, Decimal]:
    if not ids:
        return {}
    paid = dict(
        db.session.execute(
            select(Payment.reference_id, func.sum(Payment.amount))
            .where(Payment.kind == kind, Payment.reference_id.in_(ids))
            .group_by(Payment.reference_id)
        ).all()
    )
    refunded = dict(
        db.session.execute(
            select(Payment.reference_id, func.sum(Refund.amount))
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Payment.kind == kind, Payment.reference_id.in_(ids), Refund.status != RefundStatus.REJECTED)
            .group_by(Payment.reference_id)
        ).all()
    )
    return {i: money(str(paid.get(i, 0))) - money(str(refunded.get(i, 0))) for i in ids}


def settle(
    *,
    actor,
    institution_id: int,
    period_start,
    period_end,
    method: str,
    reference: str | None,
    paid_on=None,
    company_id: int | None = None,
) -> FinancialSettlement:
    """Pay a provider every approved claim of the period in one batch: one payment per claim, which marks
    each claim paid; the settlement advice lists them."""
    tenant = tenant_of(actor)
    if actor.role not in APPROVERS:
        raise Forbidden("Settlements are made by the insurer's finance officers.")
    company_id = _paying_company(tenant, company_id)
    method_kind = _method(method)
    reference = _reference(method_kind, reference)
    day = _paid_on(paid_on)
    locks.hold(f"settlement:{company_id}:{institution_id}")
    lines = settlement_preview(
        actor=actor,
        institution_id=institution_id,
        period_start=period_start,
        period_end=period_end,
        company_id=company_id,
    )
    if not lines:
        raise Conflict("No approved claims are waiting for payment from this provider in that period.")
    settlement = FinancialSettlement(
        company_id=company_id,
        institution_id=institution_id,
        period_start=fields.day(period_start, "period_start"),
        period_end=fields.day(period_end, "period_end"),
        claims=len(lines),
        total=money(sum((line.payable for line in lines), ZERO)),
        method=method_kind,
        reference=reference,
        paid_on=day,
        created_by_id=actor.id,
    )
    db.session.add(settlement)
    db.session.flush()
    settlement.number = f"STL-{day.year}-{settlement.id:06d}"
    payments = []
    for line in lines:
        payment = Payment(
            kind=PaymentKind.CLAIM,
            reference_id=line.claim_id,
            payer="insurer",
            institution_id=institution_id,
            company_id=company_id,
            amount=line.payable,
            method=method_kind,
            method_details={},
            reference=reference,
            gateway="manual",
            paid_on=day,
            settlement_id=settlement.id,
            recorded_by_id=actor.id,
        )
        payments.append(payment)
    db.session.add_all(payments)
    db.session.flush()
    for payment in payments:
        payment.number = f"PAY-{day.year}-{payment.id:06d}"
    db.session.flush()
    publish_many("payment.recorded", [_recorded_payload(p) for p in payments])
    _audit(
        actor,
        "create",
        "settlement",
        settlement,
        after={"number": settlement.number, "claims": len(lines), "total": str(settlement.total)},
    )
    return settlement


def settlement_payments(settlement_id: int) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.settlement_id == settlement_id).order_by(Payment.id)))


def get_settlement(tenant: Tenant, settlement_id: int) -> FinancialSettlement:
    row = db.session.get(FinancialSettlement, settlement_id) if settlement_id else None
    ensure_owned(tenant, row)
    return row


def settlements_query(tenant: Tenant):
    return scope(select(FinancialSettlement), FinancialSettlement, tenant).order_by(FinancialSettlement.id.desc())


# --- payment methods -----------------------------------------------------------------------------


def add_method(*, actor, kind: str, label: str, settings: dict | None = None) -> PaymentMethod:
    tenant = tenant_of(actor)
    if actor.role not in APPROVERS or tenant.is_global:
        raise Forbidden("A hospital's or insurer's finance officer sets up its payment methods.")
    method = PaymentMethod(
        institution_id=tenant.institution_id,
        company_id=tenant.company_id if tenant.institution_id is None else None,
        kind=_method(kind),
        label=fields.text(label, "label", 80),
        gateway="manual",
        settings={
            k: fields.text(v, "settings", 120)
            for k, v in (settings or {}).items()
            if k in ("account", "paybill", "bank", "instructions")
        },
        active=True,
    )
    if db.session.scalar(
        select(PaymentMethod.id).where(
            PaymentMethod.institution_id.is_(method.institution_id)
            if method.institution_id is None
            else PaymentMethod.institution_id == method.institution_id,
            PaymentMethod.company_id.is_(None)
            if method.company_id is None
            else PaymentMethod.company_id == method.company_id,
            PaymentMethod.kind == method.kind,
            PaymentMethod.label == method.label,
        )
    ):
        raise Conflict("A payment method with that name exists.", {"label": ["Choose another name."]})
    db.session.add(method)
    db.session.flush()
    _audit(actor, "create", "payment_method", method, after={"kind": method.kind.value, "label": method.label})
    return method


def set_method_active(*, actor, method_id: int, active: bool) -> PaymentMethod:
    method = db.session.get(PaymentMethod, method_id) if method_id else None
    ensure_owned(tenant_of(actor), method)
    if actor.role not in APPROVERS:
        raise Forbidden("A finance officer changes payment methods.")
    before = method.active
    method.active = bool(active)
    db.session.flush()
    _audit(actor, "update", "payment_method", method, before={"active": before}, after={"active": method.active})
    return method


def methods_query(tenant: Tenant, *, active_only: bool = False):
    stmt = scope(select(PaymentMethod), PaymentMethod, tenant).order_by(PaymentMethod.kind, PaymentMethod.label)
    return stmt.where(PaymentMethod.active.is_(True)) if active_only else stmt


# --- agents and commissions ----------------------------------------------------------------------


def _insurer_writer(actor) -> int:
    tenant = tenant_of(actor)
    if actor.role not in APPROVERS or tenant.company_id is None:
        raise Forbidden("An insurer's finance officer manages its agents and commissions.")
    return tenant.company_id


def create_agent(*, actor, code: str, name: str, email: str | None = None, phone: str | None = None) -> Agent:
    company_id = _insurer_writer(actor)
    code = fields.code(code, "code")
    if db.session.scalar(select(Agent.id).where(Agent.company_id == company_id, Agent.code == code)):
        raise Conflict("That agent code is taken.", {"code": ["Another agent has this code."]})
    agent = Agent(
        company_id=company_id,
        code=code,
        name=fields.text(name, "name", 120),
        email=fields.text(email, "email", 254, required=False) or None,
        phone=fields.text(phone, "phone", 20, required=False) or None,
        active=True,
    )
    db.session.add(agent)
    db.session.flush()
    _audit(actor, "create", "agent", agent, after={"code": code, "name": agent.name})
    return agent


def set_commission_rate(*, actor, scheme_id: int, rate_percent, effective_from) -> CommissionRate:
    company_id = _insurer_writer(actor)
    scheme = insurance.get_scheme(tenant_of(actor), scheme_id)
    rate = fields.amount(rate_percent, "rate_percent")
    if rate > 100:
        raise Invalid.field("rate_percent", "Use a percentage from 0 to 100.")
    day = fields.day(effective_from, "effective_from")
    if db.session.scalar(
        select(CommissionRate.id).where(CommissionRate.scheme_id == scheme.id, CommissionRate.effective_from == day)
    ):
        raise Conflict("A rate from that day exists.", {"effective_from": ["Choose another day."]})
    row = CommissionRate(company_id=company_id, scheme_id=scheme.id, rate_percent=rate, effective_from=day)
    db.session.add(row)
    db.session.flush()
    _audit(
        actor,
        "create",
        "commission_rate",
        row,
        after={"scheme_id": scheme.id, "rate_percent": str(rate), "from": str(day)},
    )
    return row


def assign_agent(*, actor, coverage_id: int, agent_id: int) -> AgentAssignment:
    company_id = _insurer_writer(actor)
    cover = insurance.get_coverage(tenant_of(actor), coverage_id)
    agent = db.session.get(Agent, agent_id) if agent_id else None
    if agent is None or agent.company_id != company_id:
        raise Invalid.field("agent_id", "Choose one of your agents.")
    row = db.session.get(AgentAssignment, cover.id)
    before = row.agent_id if row else None
    if row is None:
        row = AgentAssignment(coverage_id=cover.id, agent_id=agent.id, company_id=company_id, assigned_at=clock.now())
        db.session.add(row)
    else:
        row.agent_id = agent.id
    db.session.flush()
    _audit(actor, "update", "agent_assignment", row, before={"agent_id": before}, after={"agent_id": agent.id})
    return row


def _accrue_commission(payment: Payment) -> None:
    """Commission on a premium payment (or its reversal) for the agent who sold the coverage."""
    assignment = db.session.get(AgentAssignment, payment.reference_id)
    if assignment is None:
        return
    cover = insurance.get_coverage(Tenant(None, None), payment.reference_id)
    rate = db.session.scalar(
        select(CommissionRate.rate_percent)
        .where(CommissionRate.scheme_id == cover.scheme_id, CommissionRate.effective_from <= payment.paid_on)
        .order_by(CommissionRate.effective_from.desc())
        .limit(1)
    )
    if rate is None:
        return
    db.session.add(
        Commission(
            agent_id=assignment.agent_id,
            company_id=payment.company_id,
            payment_id=payment.id,
            scheme_id=cover.scheme_id,
            premium=payment.amount,
            rate_percent=rate,
            amount=percent_of(payment.amount, rate) if payment.amount > 0 else -percent_of(-payment.amount, rate),
            accrued_on=payment.paid_on,
        )
    )
    db.session.flush()


def pay_commissions(*, actor, agent_id: int, method: str, reference: str | None, paid_on=None) -> CommissionPayment:
    """Pay an agent everything accrued and not yet paid, as one batch."""
    company_id = _insurer_writer(actor)
    agent = db.session.get(Agent, agent_id) if agent_id else None
    if agent is None or agent.company_id != company_id:
        raise NotFound("No such agent.")
    method_kind = _method(method)
    reference = _reference(method_kind, reference)
    locks.hold(f"commissions:{agent.id}")
    open_rows = list(
        db.session.scalars(
            select(Commission)
            .where(Commission.agent_id == agent.id, Commission.commission_payment_id.is_(None))
            .with_for_update()
        )
    )
    total = money(sum((row.amount for row in open_rows), ZERO))
    if total <= 0:
        raise Conflict(f"Nothing is owed to {agent.name} now.")
    batch = CommissionPayment(
        agent_id=agent.id,
        company_id=company_id,
        amount=total,
        commissions=len(open_rows),
        method=method_kind,
        reference=reference,
        paid_on=_paid_on(paid_on),
        created_by_id=actor.id,
    )
    db.session.add(batch)
    db.session.flush()
    for row in open_rows:
        row.commission_payment_id = batch.id
    db.session.flush()
    _audit(
        actor,
        "create",
        "commission_payment",
        batch,
        after={"agent": agent.code, "amount": str(total), "commissions": len(open_rows)},
    )
    return batch


@dataclass(frozen=True)
class Statement:
    agent: Agent
    accrued: list[Commission]
    payments: list[CommissionPayment]
    total_accrued: Decimal
    total_paid: Decimal

    @property
    def balance(self) -> Decimal:
        return money(self.total_accrued - self.total_paid)


def agent_statement(tenant: Tenant, agent_id: int, start: date | None = None, end: date | None = None) -> Statement:
    agent = db.session.get(Agent, agent_id) if agent_id else None
    ensure_owned(tenant, agent)
    accrued_stmt = (
        select(Commission).where(Commission.agent_id == agent.id).order_by(Commission.accrued_on, Commission.id)
    )
    paid_stmt = (
        select(CommissionPayment).where(CommissionPayment.agent_id == agent.id).order_by(CommissionPayment.paid_on)
    )
    if start:
        accrued_stmt = accrued_stmt.where(Commission.accrued_on >= start)
        paid_stmt = paid_stmt.where(CommissionPayment.paid_on >= start)
    if end:
        accrued_stmt = accrued_stmt.where(Commission.accrued_on <= end)
        paid_stmt = paid_stmt.where(CommissionPayment.paid_on <= end)
    accrued = list(db.session.scalars(accrued_stmt))
    payments = list(db.session.scalars(paid_stmt))
    return Statement(
        agent,
        accrued,
        payments,
        money(sum((c.amount for c in accrued), ZERO)),
        money(sum((p.amount for p in payments), ZERO)),
    )


def agents_query(tenant: Tenant):
    return scope(select(Agent), Agent, tenant).order_by(Agent.name)


def commissions_query(tenant: Tenant, *, agent_id: int | None = None, unpaid: bool = False):
    stmt = scope(select(Commission), Commission, tenant).order_by(Commission.accrued_on.desc(), Commission.id.desc())
    if agent_id:
        stmt = stmt.where(Commission.agent_id == agent_id)
    if unpaid:
        stmt = stmt.where(Commission.commission_payment_id.is_(None))
    return stmt


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


def _audit(actor, action: str, entity: str, row, *, before=None, after=None) -> None:
    core.record_audit(
        actor,
        action,
        entity,
        getattr(row, "id", None) or getattr(row, "coverage_id", None),
        before=before,
        after=after,
        institution_id=getattr(row, "institution_id", None),
        company_id=getattr(row, "company_id", None),
    )
