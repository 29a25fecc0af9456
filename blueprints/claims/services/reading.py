"""Reading claims as the claims domain's own code does: a claim's row the tenant may see, its lines, its status
history and decisions, the tenant's claims filtered and sorted, the next one waiting for review."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from blueprints.claims.models import Claim, ClaimAuditTrail, ClaimItem, ClaimStatus, ClaimStatusChange
from medcover import clock
from medcover.bulk import among
from medcover.errors import NotFound
from medcover.extensions import db
from medcover.rbac import Tenant, ensure_owned, scope

#: a provider's claims the insurer does not see: not yet submitted (a draft, or one voided before it was sent;
#: a claim voided after submission stays on the insurer's books, marked void)
UNSENT = (ClaimStatus.DRAFT, ClaimStatus.VOID)


def _unsent_clause():
    return (Claim.status == ClaimStatus.DRAFT) | ((Claim.status == ClaimStatus.VOID) & Claim.submitted_at.is_(None))


def unsent(claim: Claim) -> bool:
    return claim.status is ClaimStatus.DRAFT or (claim.status is ClaimStatus.VOID and claim.submitted_at is None)


#: the statuses waiting for the insurer's payment, in the order the payment page offers them
PAYABLE = (ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED)
#: not a status of its own: the list's filter for claims approved (in full or in part) and not yet paid
TO_PAY = "to_pay"

#: the list's status filters, a status or "to pay": the statuses each lets through
_STATUSES = {**{s.value: (s,) for s in ClaimStatus}, TO_PAY: PAYABLE}

#: work-queue sort keys, allowlisted
SORTS = {
    "age": (Claim.submitted_at, Claim.id),
    "-age": (Claim.submitted_at.desc(), Claim.id.desc()),
    "amount": (Claim.total_billed, Claim.id),
    "-amount": (Claim.total_billed.desc(), Claim.id.desc()),
}


#: what the claims list shows of a claim and names its claimant by: a page reads these, not the decision details
LIST_COLUMNS = (
    Claim.id,
    Claim.claim_number,
    Claim.status,
    Claim.void_reason,
    Claim.voided_at,
    Claim.member_number,
    Claim.member_id,
    Claim.patient_id,
    Claim.institution_id,
    Claim.service_date,
    Claim.total_billed,
    Claim.total_approved,
    Claim.total_paid,
)
#: what the adjudicators' work queue shows of a claim waiting for review
QUEUE_COLUMNS = (
    Claim.id,
    Claim.claim_number,
    Claim.review,
    Claim.review_codes,
    Claim.member_number,
    Claim.member_id,
    Claim.patient_id,
    Claim.institution_id,
    Claim.scheme_id,
    Claim.service_date,
    Claim.submitted_at,
    Claim.total_billed,
    Claim.total_approved,
)


def insurer_only(tenant: Tenant) -> bool:
    return tenant.company_id is not None and tenant.institution_id is None


def claim_row(tenant: Tenant, claim_id: int) -> Claim:
    """The claim the tenant may see, as the domain's own code works on it; another tenant's (and, for an
    insurer, a provider's draft) is ``NotFound``."""
    claim = db.session.get(Claim, claim_id) if claim_id else None
    ensure_owned(tenant, claim)
    if insurer_only(tenant) and unsent(claim):
        raise NotFound("No such record.")
    return claim


def items_by_claim(claim_ids) -> dict[int, list[ClaimItem]]:
    """The lines of many claims in one query, in line order."""
    found: dict[int, list[ClaimItem]] = {}
    for item in db.session.scalars(
        select(ClaimItem).where(ClaimItem.claim_id.in_(list(claim_ids))).order_by(ClaimItem.claim_id, ClaimItem.line_no)
    ):
        found.setdefault(item.claim_id, []).append(item)
    return found


#: a line as the batch decides it (``line_rows``)
LINE_COLUMNS = tuple(
    ClaimItem.__table__.c[name]
    for name in ("id", "claim_id", "line_no", "service_code", "quantity", "unit_price", "preauth_code")
)


def line_rows(claim_ids) -> dict:
    """``items_by_claim`` as plain rows of what the engine reads (``LINE_COLUMNS``), for the batch."""
    found: dict = {}
    for row in db.session.execute(
        select(*LINE_COLUMNS)
        .where(among(ClaimItem.claim_id, claim_ids))
        .order_by(ClaimItem.claim_id, ClaimItem.line_no)
    ).all():  # one fetch of every row, not one call per row
        found.setdefault(row.claim_id, []).append(row)
    return found


def items_of(claim_id: int) -> list[ClaimItem]:
    return items_by_claim([claim_id]).get(claim_id, [])


def history_of(claim_id: int) -> list[ClaimStatusChange]:
    return list(
        db.session.scalars(
            select(ClaimStatusChange).where(ClaimStatusChange.claim_id == claim_id).order_by(ClaimStatusChange.id)
        )
    )


def decisions_of(claim_id: int) -> list[ClaimAuditTrail]:
    return list(
        db.session.scalars(
            select(ClaimAuditTrail).where(ClaimAuditTrail.claim_id == claim_id).order_by(ClaimAuditTrail.id)
        )
    )


def claims_query(
    tenant: Tenant,
    *,
    status: str = "",
    institution_id: int | None = None,
    scheme_id: int | None = None,
    member_number: str = "",
    min_amount: Decimal | None = None,
    max_amount: Decimal | None = None,
    submitted_before: date | None = None,
    sort: str = "-age",
    columns: tuple = (),
):
    """The tenant's claims, filtered and sorted: whole claims, or rows of just ``columns`` (LIST_COLUMNS ...)."""
    stmt = scope(select(*columns) if columns else select(Claim), Claim, tenant)
    statuses = _STATUSES.get(status, ())
    # An insurer's filter on a status a claim has only once sent (the work queue's, "to pay") leaves the unsent out
    # by itself; said again, the database would test it on every claim it counts (a third of the queue's count).
    if insurer_only(tenant) and (not statuses or any(s in UNSENT for s in statuses)):
        stmt = stmt.where(~_unsent_clause())
    if statuses:
        stmt = stmt.where(Claim.status == statuses[0] if len(statuses) == 1 else Claim.status.in_(statuses))
    if institution_id:
        stmt = stmt.where(Claim.institution_id == institution_id)
    if scheme_id:
        stmt = stmt.where(Claim.scheme_id == scheme_id)
    if member_number:
        stmt = stmt.where(Claim.member_number == member_number.strip().upper())
    if min_amount is not None:
        stmt = stmt.where(Claim.total_billed >= min_amount)
    if max_amount is not None:
        stmt = stmt.where(Claim.total_billed <= max_amount)
    if submitted_before is not None and submitted_before < date.max:
        # "on or before" the site's calendar day, not the UTC one
        stmt = stmt.where(Claim.submitted_at < clock.day_start(submitted_before + timedelta(days=1)))
    return stmt.order_by(*SORTS.get(sort, SORTS["-age"]))


def claim_numbers(tenant: Tenant, claim_ids) -> dict[int, str]:
    """The numbers of the tenant's claims among these ids, in one query (a page of disputes, refused claims)."""
    ids = {int(i) for i in claim_ids if i}
    if not ids:
        return {}
    stmt = claims_query(tenant).where(Claim.id.in_(ids)).with_only_columns(Claim.id, Claim.claim_number)
    return dict(db.session.execute(stmt).all())


def claims_numbered(tenant: Tenant, number: str) -> list[Claim]:
    """The global search's read: the tenant's claim with exactly this number, in any case (an insurer: once
    submitted). One query on the unique number."""
    number = (number or "").strip().upper()
    if not number or len(number) > 30:
        return []
    stmt = scope(select(Claim), Claim, tenant).where(Claim.claim_number == number)
    if insurer_only(tenant):
        stmt = stmt.where(~_unsent_clause())
    return list(db.session.scalars(stmt))


def next_pending(tenant: Tenant, after_id: int) -> int | None:
    """The next claim waiting for review after this one (oldest first), for "next claim" in the queue."""
    current = db.session.get(Claim, after_id)
    stmt = claims_query(tenant, status="pending_review", sort="age").where(Claim.id != after_id)
    if current is not None and current.submitted_at is not None:
        stmt = stmt.where(
            (Claim.submitted_at > current.submitted_at)
            | ((Claim.submitted_at == current.submitted_at) & (Claim.id > current.id))
        )
    return db.session.scalar(stmt.with_only_columns(Claim.id).limit(1))
