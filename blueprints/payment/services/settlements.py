"""Settlements: an insurer pays a provider every approved claim of a period in one batch, one payment per claim
(each marks its claim paid); the settlement advice (``printing``) lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from blueprints.claims import services as claims
from blueprints.payment.models import FinancialSettlement, Payment, PaymentKind
from blueprints.payment.services import balances, methods, payments, rules
from medcover import fields, locks
from medcover.errors import Conflict, Forbidden, Invalid
from medcover.events import publish_many
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Tenant, ensure_owned, scope, tenant_of


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
    paid = balances.net_paid_many(PaymentKind.CLAIM, [c.id for c in rows])
    lines = []
    for claim in rows:
        payable = money(claim.total_approved - paid.get(claim.id, ZERO))
        if payable > 0 and claim.invoice_id:
            # The invoice's insurer part may be partly paid through the invoice itself: never pay it twice.
            payable = min(payable, balances.owed(actor, "claim", claim.id).outstanding or ZERO)
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
    claim_ids=None,
) -> FinancialSettlement:
    """Pay a provider the approved claims of the period in one batch: one payment per claim, which marks
    each claim paid; the settlement advice lists them. ``claim_ids`` (when given) are the claims kept: any other
    claim of the period is left out, to be paid later; a claim not waiting for payment is a conflict."""
    tenant = tenant_of(actor)
    if actor.role not in rules.APPROVERS:
        raise Forbidden("Settlements are made by the insurer's finance officers.")
    company_id = _paying_company(tenant, company_id)
    method_kind = methods.method_kind(method)
    reference = methods.method_reference(method_kind, reference)
    day = rules.paid_day(paid_on)
    locks.hold(f"settlement:{company_id}:{institution_id}")
    lines = settlement_preview(
        actor=actor,
        institution_id=institution_id,
        period_start=period_start,
        period_end=period_end,
        company_id=company_id,
    )
    if claim_ids is not None:
        kept = {int(i) for i in claim_ids}
        unknown = kept - {line.claim_id for line in lines}
        if unknown:
            raise Conflict("Some of the claims chosen are no longer waiting for payment. Check the list again.")
        lines = [line for line in lines if line.claim_id in kept]
        if not lines:
            raise Invalid.field("claim_ids", "Tick at least one claim to pay.")
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
    paid = []
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
        paid.append(payment)
    db.session.add_all(paid)
    db.session.flush()
    for payment in paid:
        payment.number = f"PAY-{day.year}-{payment.id:06d}"
    db.session.flush()
    publish_many("payment.recorded", [payments.recorded_payload(p) for p in paid])
    rules.audit(
        actor,
        "create",
        "settlement",
        settlement,
        after={"number": settlement.number, "claims": len(lines), "total": str(settlement.total)},
    )
    return settlement


# --- reading -------------------------------------------------------------------------------------


def settlement_payments(settlement_id: int) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.settlement_id == settlement_id).order_by(Payment.id)))


def payments_of_settlements(settlement_ids) -> dict[int, list[Payment]]:
    """The payments of many settlements, by settlement id, in one query (a page of settlements)."""
    ids = [int(i) for i in settlement_ids]
    found: dict[int, list[Payment]] = {i: [] for i in ids}
    if ids:
        stmt = select(Payment).where(Payment.settlement_id.in_(ids)).order_by(Payment.id)
        for payment in db.session.scalars(stmt):
            found[payment.settlement_id].append(payment)
    return found


def paid_claims(settlement: FinancialSettlement, claim_ids) -> dict[int, claims.ClaimSummary]:
    """The claims a settlement paid, by id, in one query. Read as the settlement's insurer: whoever may see the
    settlement (its provider too) sees the claims it paid."""
    return claims.claim_summaries(Tenant(None, settlement.company_id), claim_ids)


def get_settlement(tenant: Tenant, settlement_id: int) -> FinancialSettlement:
    row = db.session.get(FinancialSettlement, settlement_id) if settlement_id else None
    ensure_owned(tenant, row)
    return row


def settlements_query(tenant: Tenant):
    return scope(select(FinancialSettlement), FinancialSettlement, tenant).order_by(FinancialSettlement.id.desc())


def find_settlements(
    tenant: Tenant,
    *,
    institution_id: int | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[FinancialSettlement], int]:
    """One page of the tenant's settlements, newest first, by provider and time made; and how many match."""
    stmt = settlements_query(tenant)
    if institution_id is not None:
        stmt = stmt.where(FinancialSettlement.institution_id == institution_id)
    if created_from is not None:
        stmt = stmt.where(FinancialSettlement.created_at >= created_from)
    if created_before is not None:
        stmt = stmt.where(FinancialSettlement.created_at < created_before)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return list(db.session.scalars(stmt.offset(offset).limit(limit))), total or 0
