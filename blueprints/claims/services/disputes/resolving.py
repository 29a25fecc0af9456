"""Resolving a dispute: an adjudicator of the member's insurer upholds it (the claim is decided again by the
engine on today's facts, with overrides) or dismisses it (the decision under dispute stands)."""

from __future__ import annotations

from sqlalchemy import update

from blueprints.claims import engine
from blueprints.claims.models import ClaimStatus, Dispute, DisputeStatus
from blueprints.claims.services.access import refuse_own
from blueprints.claims.services.decisions import record_decision
from blueprints.claims.services.disputes.raising import (
    RESOLVERS,
    audit_dispute,
    dispute_payload,
    get_dispute,
    paragraph,
)
from blueprints.claims.services.reading import claim_row
from blueprints.claims.services.submission import proposal_again, redecision
from blueprints.claims.services.transitions import move_claim
from blueprints.core import services as core
from medcover import clock, fields
from medcover.errors import Conflict, Forbidden, Invalid
from medcover.events import publish
from medcover.extensions import db
from medcover.labels import label
from medcover.rbac import Role, Tenant, tenant_of

MAX_OVERRIDES = 100


def _clean_overrides(overrides) -> dict[int, tuple]:
    """``{line_no: (amount, note) | (amount, note, reject)}`` bounded; the engine checks each against the line it
    decides again (M01, M02, M03)."""
    clean: dict[int, tuple] = {}
    if not overrides:
        return clean
    if len(overrides) > MAX_OVERRIDES:
        raise Invalid.field("overrides", f"Give at most {MAX_OVERRIDES} overrides.")
    for raw_line, value in overrides.items():
        line_no = fields.whole(raw_line, "overrides", 1, 10_000)
        if not isinstance(value, tuple | list) or len(value) not in (2, 3):
            raise Invalid.field("overrides", f"Line {line_no}: give an amount and a note.")
        clean[line_no] = tuple(value)
    return clean


# --- resolving -----------------------------------------------------------------------------------


def resolve_dispute(*, actor, dispute_id: int, status: str, resolution: str, overrides=None) -> Dispute:
    """An adjudicator of the member's insurer ends an open dispute: ``upheld`` decides the claim again with the
    engine as of its original submission (seeing the same earlier claims, never this one), keeping the earlier
    manual decisions unless ``overrides`` changes them, so it ends approved, partially approved or rejected, never
    pending review; upheld with no line changed is refused (that is a dismissal). ``dismissed`` restores the
    status the claim had. The resolution text is required either way."""
    tenant = tenant_of(actor)
    dispute = get_dispute(tenant, dispute_id)  # another insurer's: 404
    if actor.role not in RESOLVERS or tenant.institution_id is not None:
        raise Forbidden("Disputes are resolved by the insurer's adjudicators.")
    try:
        target = DisputeStatus(str(status or "").strip())
    except ValueError:
        target = None
    if target not in (DisputeStatus.UPHELD, DisputeStatus.DISMISSED):
        raise Invalid.field("status", "Choose upheld or dismissed.")
    resolution = paragraph(resolution, "resolution")
    clean = _clean_overrides(overrides)
    if target is DisputeStatus.DISMISSED and clean:
        raise Invalid.field(
            "overrides", "Overrides apply when a dispute is upheld; a dismissed dispute changes no amount."
        )
    if dispute.status is not DisputeStatus.OPEN:
        raise Conflict(f"This dispute is already {label(dispute.status).lower()}.")
    claim = claim_row(tenant, dispute.claim_id)
    refuse_own(actor, claim)
    if claim.status is not ClaimStatus.DISPUTED:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}, not disputed.")
    note = f"dispute {label(target).lower()}: {' '.join(resolution.split())}"[:500]
    # Everything is checked before anything is written: the new decision is worked out first.
    redecided = redecision(claim, clean) if target is DisputeStatus.UPHELD else None
    if redecided is not None and not redecided.changed:
        raise Invalid.field(
            "overrides",
            "Decided again, no line changes: that is a dismissal. Change a line's decision, or dismiss the dispute.",
        )
    now = clock.now()
    moved = db.session.execute(
        update(Dispute)
        .where(Dispute.id == dispute.id, Dispute.status == DisputeStatus.OPEN)
        .values(status=target, resolution=resolution, resolved_by_id=actor.id, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        db.session.refresh(dispute)
        raise Conflict(f"Someone else resolved this dispute a moment ago; it is {label(dispute.status).lower()}.")
    db.session.refresh(dispute)
    if redecided is not None:
        record_decision(
            claim,
            redecided.items,
            redecided.decision,
            source="dispute",
            by_id=actor.id,
            note=note,
            scheme_id=redecided.scheme_id,
        )
    else:
        move_claim(claim, ClaimStatus(dispute.claim_status_before), by_id=actor.id, note=note)
    audit_dispute(
        actor,
        "resolve",
        dispute,
        before={"status": "open", "claim_status": "disputed"},
        after={
            "status": target.value,
            "claim_status": claim.status.value,
            "total_approved": str(claim.total_approved),
            "overrides": {
                str(n): "rejected" if len(value) > 2 and value[2] else str(value[0])
                for n, value in sorted(clean.items())
            },
        },
    )
    clerks = core.user_ids_with_role(Role.BILLING_CLERK, Tenant(claim.institution_id, None))
    recipients = list(dict.fromkeys([*([dispute.raised_by_id] if dispute.raised_by_id else []), *clerks]))
    publish("dispute.resolved", dispute_payload(dispute, claim, recipients))
    return dispute


def may_resolve(actor, dispute: Dispute) -> bool:
    """For pages: whether to show the resolve form."""
    return (
        dispute.status is DisputeStatus.OPEN
        and actor.role in RESOLVERS
        and tenant_of(actor).institution_id is None
        and tenant_of(actor).owns(dispute.institution_id, dispute.company_id)
    )


def new_proposal(actor, dispute: Dispute) -> dict[int, engine.LineDecision]:
    """For the resolve form: the engine's new proposal per line, to show beside the decision in force (empty
    for someone who may not resolve the dispute)."""
    if not may_resolve(actor, dispute):
        return {}
    proposal, _facts = proposal_again(claim_row(tenant_of(actor), dispute.claim_id))
    return {line.line_no: line for line in proposal.lines}
