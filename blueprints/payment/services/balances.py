"""What is still owed on an invoice, a claim or a premium, computed from this domain's own rows (authoritative
and synchronous): payments less reversals less refunds (approved or waiting)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.insurance import services as insurance
from blueprints.payment.models import Payment, PaymentKind, Refund, RefundStatus
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Tenant, tenant_of


def payment_kind(value) -> PaymentKind:
    try:
        return PaymentKind(str(value or "").strip())
    except ValueError:
        raise Invalid.field("kind", "Choose claim, invoice or premium.") from None


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


def net_paid_many(kind: PaymentKind, ids: list[int]) -> dict[int, Decimal]:
    """``_net_paid`` of many things of one kind, in two queries."""
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
    kind = payment_kind(kind)
    tenant = tenant_of(actor)
    if kind is PaymentKind.INVOICE:
        return _owed_on_invoice(tenant, reference_id, payer or "patient")
    if kind is PaymentKind.CLAIM:
        return _owed_on_claim(tenant, reference_id)
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


def _paid_on_claims_of(invoice_id: int) -> Decimal:
    """What the insurer paid on the claims billing an invoice: it counts against the invoice's insurer part."""
    return sum((_net_paid(PaymentKind.CLAIM, cid) for cid in claims.claim_ids_for_invoice(invoice_id)), ZERO)


def _owed_on_invoice(tenant: Tenant, invoice_id: int, payer: str) -> Owed:
    kind = PaymentKind.INVOICE
    invoice = billing.invoice_summary(tenant, invoice_id)
    if payer not in ("patient", "insurer"):
        raise Invalid.field("payer", "An invoice is paid by the patient or the insurer.")
    due = invoice.patient_due if payer == "patient" else invoice.insurer_due
    ceiling = None
    if payer == "insurer":
        ceiling = money(due - _net_paid(kind, invoice.id, payer) - _paid_on_claims_of(invoice.id))
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


def _owed_on_claim(tenant: Tenant, claim_id: int) -> Owed:
    claim = claims.claim_summary(tenant, claim_id)
    refusal = None
    if claim.status not in ("approved", "partially_approved", "paid"):
        refusal = f"Claim {claim.claim_number} is {claim.status.replace('_', ' ')}; only approved claims are paid."
    ceiling = None
    if claim.invoice_id:
        invoice = billing.invoice_summary(Tenant(None, None), claim.invoice_id)
        ceiling = money(
            invoice.insurer_due
            - _net_paid(PaymentKind.INVOICE, invoice.id, "insurer")
            - _paid_on_claims_of(claim.invoice_id)
        )
    return Owed(
        "claim",
        claim.id,
        "insurer",
        f"Claim {claim.claim_number}",
        claim.total_approved,
        _net_paid(PaymentKind.CLAIM, claim.id),
        claim.institution_id,
        claim.company_id,
        refusal=refusal,
        ceiling=ceiling,
    )
