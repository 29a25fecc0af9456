"""What the payment domain reads about claims, as plain values: claims by id, the claims waiting for payment,
a provider's approved claims of a period (settlements), what is left to pay on one, the claims of an invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from blueprints.claims.models import Claim, ClaimStatus
from blueprints.claims.services.reading import PAYABLE, claim_row, claims_query
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Tenant


@dataclass(frozen=True)
class ClaimSummary:
    """A claim as another domain sees it."""

    id: int
    claim_number: str
    member_number: str
    #: the claim's status: draft, submitted, pending_review, approved, partially_approved, rejected, ...
    status: str
    institution_id: int
    company_id: int | None
    invoice_id: int | None
    service_date: date
    total_billed: Decimal
    total_approved: Decimal
    total_paid: Decimal


_SUMMARY_COLUMNS = (
    Claim.id,
    Claim.claim_number,
    Claim.member_number,
    Claim.status,
    Claim.institution_id,
    Claim.company_id,
    Claim.invoice_id,
    Claim.service_date,
    Claim.total_billed,
    Claim.total_approved,
    Claim.total_paid,
)


def _summaries(stmt) -> list[ClaimSummary]:
    rows = db.session.execute(stmt.with_only_columns(*_SUMMARY_COLUMNS)).all()
    return [ClaimSummary(row[0], row[1], row[2], ClaimStatus(row[3]).value, *row[4:]) for row in rows]


def claim_summaries(tenant: Tenant, ids) -> dict[int, ClaimSummary]:
    """The tenant's claims among these ids (one query; another tenant's, or for an insurer a provider's draft,
    are left out)."""
    wanted = {int(i) for i in ids if i}
    if not wanted:
        return {}
    return {c.id: c for c in _summaries(claims_query(tenant).where(Claim.id.in_(wanted)))}


def claim_summary(tenant: Tenant, claim_id: int) -> ClaimSummary:
    """One claim the tenant may see; another tenant's is ``NotFound``."""
    claim = claim_row(tenant, claim_id)
    return ClaimSummary(
        claim.id,
        claim.claim_number,
        claim.member_number,
        claim.status.value,
        claim.institution_id,
        claim.company_id,
        claim.invoice_id,
        claim.service_date,
        claim.total_billed,
        claim.total_approved,
        claim.total_paid,
    )


def payable_claims(tenant: Tenant, *, search: str = "", limit: int) -> list[ClaimSummary]:
    """Approved claims, then partially approved ones, each oldest submission first, at most ``limit`` in all;
    ``search`` narrows them to a claim-number prefix or one member number."""
    text = search.strip().upper()
    found: list[ClaimSummary] = []
    for status in PAYABLE:
        stmt = claims_query(tenant, status=status.value, sort="age")
        if text:
            stmt = stmt.where(Claim.claim_number.startswith(text, autoescape=True) | (Claim.member_number == text))
        found += _summaries(stmt.limit(limit))
    return found[:limit]


def payable(tenant: Tenant, claim_id: int) -> Decimal:
    """What is still to pay on an approved claim (the payment domain refuses more)."""
    claim = claim_row(tenant, claim_id)
    if claim.status not in PAYABLE:
        return ZERO
    return max(ZERO, money(claim.total_approved - claim.total_paid))


def claim_ids_for_invoice(invoice_id: int) -> list[int]:
    """The claims (not void) billing an invoice's insurer part."""
    return list(
        db.session.scalars(select(Claim.id).where(Claim.invoice_id == invoice_id, Claim.status != ClaimStatus.VOID))
    )


@dataclass(frozen=True)
class PayableClaim:
    id: int
    claim_number: str
    company_id: int | None
    institution_id: int
    member_number: str
    service_date: date
    total_approved: Decimal
    invoice_id: int | None


def approved_claims(tenant: Tenant, *, institution_id: int, start: date, end: date) -> list[PayableClaim]:
    """A provider's approved and partly approved claims with service dates in a period (settlements)."""
    rows = db.session.scalars(
        claims_query(tenant, institution_id=institution_id, sort="age").where(
            Claim.status.in_(PAYABLE),
            Claim.service_date.between(start, end),
        )
    )
    return [
        PayableClaim(
            c.id,
            c.claim_number,
            c.company_id,
            c.institution_id,
            c.member_number,
            c.service_date,
            c.total_approved,
            c.invoice_id,
        )
        for c in rows
    ]
