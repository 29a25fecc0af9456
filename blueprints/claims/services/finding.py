"""Finding claims by what an integrator knows of them (the FHIR interface's searches): the claim number, the
member, decided or still waiting, one page at a time; the day each claim was last paid and the adjudicators' notes,
for a page of claims in one query each."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from blueprints.claims.engine import REASONS
from blueprints.claims.models import Claim, ClaimAuditTrail, ClaimPayment, ClaimStatus
from blueprints.claims.services.reading import claims_query
from medcover.extensions import db
from medcover.rbac import Tenant

#: claims still waiting for a decision (FHIR's ``queued``); every other status has one (``complete``)
UNDECIDED = (ClaimStatus.DRAFT, ClaimStatus.SUBMITTED, ClaimStatus.PENDING_REVIEW)


def reason_words(codes) -> dict[str, str]:
    """The reason codes (R.., A.., M.., S01, V..) in words, as the claim pages and letters show them."""
    return {code: REASONS.get(code, code) for code in codes or ()}


def find_claims(
    tenant: Tenant,
    *,
    claim_ids=None,
    claim_number: str = "",
    member_number: str = "",
    decided: bool | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Claim], int]:
    """One page of the tenant's claims (an insurer: once submitted), newest first, and how many match in all."""
    stmt = claims_query(tenant, member_number=member_number)
    if claim_ids is not None:
        stmt = stmt.where(Claim.id.in_([int(i) for i in claim_ids]))
    if claim_number:
        stmt = stmt.where(Claim.claim_number == claim_number.strip().upper())
    if decided is True:
        stmt = stmt.where(Claim.status.not_in(UNDECIDED))
    elif decided is False:
        stmt = stmt.where(Claim.status.in_(UNDECIDED))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = list(db.session.scalars(stmt.order_by(None).order_by(Claim.id.desc()).offset(offset).limit(limit)))
    return rows, total or 0


def last_paid_on(claim_ids) -> dict[int, date]:
    """The day of the last payment seen on each of these claims, in one query."""
    ids = [int(i) for i in claim_ids]
    if not ids:
        return {}
    rows = db.session.execute(
        select(ClaimPayment.claim_id, func.max(ClaimPayment.paid_on))
        .where(ClaimPayment.claim_id.in_(ids), ClaimPayment.amount > 0)
        .group_by(ClaimPayment.claim_id)
    )
    return dict(rows.all())


def adjudicators_notes(claim_ids) -> dict[int, list[str]]:
    """The notes of the manual decisions (an adjudicator's, a dispute's) on each of these claims, oldest first."""
    ids = [int(i) for i in claim_ids]
    if not ids:
        return {}
    found: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(ClaimAuditTrail.claim_id, ClaimAuditTrail.note)
        .where(
            ClaimAuditTrail.claim_id.in_(ids),
            ClaimAuditTrail.source.in_(("adjudicator", "dispute")),
            ClaimAuditTrail.note.is_not(None),
        )
        .order_by(ClaimAuditTrail.id)
    )
    for claim_id, note in rows:
        found.setdefault(claim_id, []).append(note)
    return found
