"""Raising a dispute: a provider (or the member, through the insurer's staff) contests a rejected or partly
approved claim, some of its lines or all; the claim becomes ``disputed`` and the insurer's adjudicators are
told. Also who may raise one, reading disputes, and the events and audit lines both ends of a dispute share."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select

from blueprints.claims.models import Claim, ClaimItem, ClaimStatus, Dispute, DisputeStatus
from blueprints.claims.services.reading import claim_row, items_of
from blueprints.claims.services.transitions import DISPUTABLE, move_claim
from blueprints.core import services as core
from medcover import clock, fields
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import publish
from medcover.extensions import db
from medcover.rbac import Role, Tenant, ensure_owned, scope, tenant_of

REASON_CHARS = 2000
#: the claim statuses a dispute may contest (ADJUDICATION.md: ``rejected | partially_approved -> disputed``)
#: the line decisions a dispute may name
DISPUTABLE_LINES = ("rejected", "adjusted")
#: the provider's staff who raise disputes on their claims
PROVIDER_RAISERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.INTEGRATION})
#: the insurer's staff who raise one on the member's behalf (the member has no account)
MEMBER_AGENTS = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.INTEGRATION})
OPENERS = PROVIDER_RAISERS | MEMBER_AGENTS
RESOLVERS = frozenset({Role.ADMIN, Role.ADJUDICATOR})
#: who reads disputes (each sees only those of the claims they may see)
READERS = frozenset(
    {Role.ADMIN, Role.BILLING_CLERK, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION}
)


# --- checks --------------------------------------------------------------------------------------


def paragraph(value, field: str, limit: int = REASON_CHARS) -> str:
    """Free text over several lines: trimmed, required, bounded, no control characters but line breaks."""
    text = str(value or "").replace("\r\n", "\n").strip()
    if not text:
        raise Invalid.field(field, "This field is required.")
    if len(text) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise Invalid.field(field, "Remove the control characters.")
    return text


def raised_by_kind(actor, tenant: Tenant) -> str:
    """``provider`` for the claim's institution (or a platform admin), ``member`` for the insurer's staff."""
    if tenant.institution_id is not None and actor.role in PROVIDER_RAISERS:
        return "provider"
    if tenant.company_id is not None and actor.role in MEMBER_AGENTS:
        return "member"
    if tenant.is_global and actor.role is Role.ADMIN:
        return "provider"
    raise Forbidden("Disputes are raised by the provider's billing staff or, for the member, the insurer's staff.")


def _line_nos(values, items: list[ClaimItem]) -> list[int]:
    """The disputed lines: each on the claim and rejected or adjusted; none given: the whole claim."""
    if values is None or values == []:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, list | tuple | set):
        raise Invalid.field("line_nos", "Give the disputed lines as a list of line numbers.")
    by_no = {item.line_no: item for item in items}
    chosen: set[int] = set()
    for value in values:
        number = fields.whole(value, "line_nos", 1, 10_000)
        item = by_no.get(number)
        if item is None:
            raise Invalid.field("line_nos", f"The claim has no line {number}.")
        if item.decision not in DISPUTABLE_LINES:
            raise Invalid.field(
                "line_nos", f"Line {number} was {item.decision or 'not decided'}; dispute rejected or adjusted lines."
            )
        chosen.add(number)
    return sorted(chosen)


# --- opening -------------------------------------------------------------------------------------


def open_dispute(*, actor, claim_id: int, reason: str, line_nos=None) -> Dispute:
    """Contest a rejected or partly approved claim (some of its lines, or all): the claim becomes ``disputed``
    and the insurer's adjudicators are told. One open dispute per claim."""
    tenant = tenant_of(actor)
    claim = claim_row(tenant, claim_id)  # another tenant's: 404
    kind = raised_by_kind(actor, tenant)
    reason = paragraph(reason, "reason")
    if claim.company_id is None:
        raise Conflict(
            f"Claim {claim.claim_number} has no insurer (no member has its number); there is no one to dispute it with."
        )
    if claim.status is ClaimStatus.DISPUTED or open_dispute_id(claim.id) is not None:
        raise Conflict(f"Claim {claim.claim_number} already has an open dispute.")
    if claim.status not in DISPUTABLE:
        raise Conflict(
            f"Claim {claim.claim_number} is {claim.status.value.replace('_', ' ')}; only rejected or partially "
            "approved claims can be disputed."
        )
    lines = _line_nos(line_nos, items_of(claim.id))
    before = claim.status
    dispute = Dispute(
        claim_id=claim.id,
        institution_id=claim.institution_id,
        company_id=claim.company_id,
        raised_by_kind=kind,
        raised_by_id=actor.id,
        reason=reason,
        line_nos=lines,
        status=DisputeStatus.OPEN,
        claim_status_before=before.value,
        created_at=clock.now(),
    )
    db.session.add(dispute)
    db.session.flush()
    # The claim's guarded transition: of two disputes opened at once, the second finds the claim moved (409).
    move_claim(claim, ClaimStatus.DISPUTED, by_id=actor.id, note="dispute opened")
    audit_dispute(
        actor,
        "open",
        dispute,
        after={"claim_id": claim.id, "claim_status_before": before.value, "line_nos": lines, "raised_by": kind},
    )
    adjudicators = core.user_ids_with_role(Role.ADJUDICATOR, Tenant(None, claim.company_id))
    publish("dispute.opened", dispute_payload(dispute, claim, adjudicators))
    return dispute


def open_dispute_id(claim_id: int) -> int | None:
    return db.session.scalar(
        select(Dispute.id).where(Dispute.claim_id == claim_id, Dispute.status == DisputeStatus.OPEN).limit(1)
    )


# --- reading -------------------------------------------------------------------------------------


def get_dispute(tenant: Tenant, dispute_id: int) -> Dispute:
    dispute = db.session.get(Dispute, dispute_id) if dispute_id else None
    if dispute is None:
        raise NotFound("No such dispute.")
    ensure_owned(tenant, dispute)
    return dispute


def disputes_of(claim_id: int) -> list[Dispute]:
    return list(db.session.scalars(select(Dispute).where(Dispute.claim_id == claim_id).order_by(Dispute.id)))


def disputes_query(
    tenant: Tenant,
    *,
    status: str = "",
    claim_id: int | None = None,
    institution_id: int | None = None,
    raised_by_kind: str = "",
):
    """Newest first, the tenant's own (the provider's, or the insurer's); filters are allowlisted values."""
    stmt = scope(select(Dispute), Dispute, tenant)
    if status in {s.value for s in DisputeStatus}:
        stmt = stmt.where(Dispute.status == DisputeStatus(status))
    if claim_id:
        stmt = stmt.where(Dispute.claim_id == claim_id)
    if institution_id:
        stmt = stmt.where(Dispute.institution_id == institution_id)
    if raised_by_kind in ("provider", "member"):
        stmt = stmt.where(Dispute.raised_by_kind == raised_by_kind)
    return stmt.order_by(Dispute.created_at.desc(), Dispute.id.desc())


def may_attach(actor, dispute: Dispute) -> bool:
    tenant = tenant_of(actor)
    if dispute.status is not DisputeStatus.OPEN or not tenant.owns(dispute.institution_id, dispute.company_id):
        return False
    try:
        raised_by_kind(actor, tenant)
    except Forbidden:
        return False
    return True


def may_open(actor, claim: Claim) -> bool:
    """For the claim page: whether to offer "Dispute this claim"."""
    try:
        raised_by_kind(actor, tenant_of(actor))
    except Forbidden:
        return False
    return claim.status in DISPUTABLE and claim.company_id is not None and open_dispute_id(claim.id) is None


# --- events and audit ----------------------------------------------------------------------------


def dispute_payload(dispute: Dispute, claim: Claim, user_ids: list[int]) -> dict:
    """The notification domain's contract: recipients, the template context, the tenant."""
    return {
        "dispute_id": dispute.id,
        "claim_id": claim.id,
        "institution_id": dispute.institution_id,
        "company_id": dispute.company_id,
        "status": dispute.status.value,
        "recipients": [{"user_id": uid} for uid in user_ids],
        "context": {
            "dispute_id": dispute.id,
            "claim_number": claim.claim_number,
            "status": dispute.status.value,
            "reason": dispute.reason[:500],
            "resolution": (dispute.resolution or "")[:500],
            "claim_status": claim.status.value.replace("_", " "),
            "total_approved": f"{claim.total_approved:,.2f}",
            "raised_by": dispute.raised_by_kind,
        },
    }


def audit_dispute(actor, action: str, dispute: Dispute, *, before=None, after=None) -> None:
    core.record_audit(
        actor,
        action,
        "dispute",
        dispute.id,
        before=before,
        after=after,
        institution_id=dispute.institution_id,
        company_id=dispute.company_id,
    )
