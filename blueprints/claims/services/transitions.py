"""A claim's status changes: the one table of allowed transitions (ADJUDICATION.md, "Statuses"), the one
guarded move every status change goes through, and the audit line of each claim action."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from blueprints.claims.models import Claim, ClaimStatus, ClaimStatusChange
from blueprints.core import services as core
from medcover import clock
from medcover.errors import Conflict
from medcover.events import publish
from medcover.extensions import db

_DECIDED = {ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED, ClaimStatus.REJECTED}

#: ADJUDICATION.md's "Statuses", line by line. ``draft -> submitted``; ``submitted -> approved |
#: partially_approved | rejected | pending_review``; ``pending_review -> approved | partially_approved | rejected``;
#: ``approved | partially_approved -> paid``; ``rejected | partially_approved -> disputed``; a dispute ends upheld
#: (decided again) or dismissed (the decision stands): ``disputed -> approved | partially_approved | rejected``;
#: ``draft | submitted | pending_review | approved | partially_approved | rejected -> void`` (no payment standing);
#: and "a refund of its payment comes first" reopens a paid claim for payment: ``paid -> approved |
#: partially_approved``.
CLAIM_TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    ClaimStatus.DRAFT: frozenset({ClaimStatus.SUBMITTED, ClaimStatus.VOID}),
    ClaimStatus.SUBMITTED: frozenset({*_DECIDED, ClaimStatus.PENDING_REVIEW, ClaimStatus.VOID}),
    ClaimStatus.PENDING_REVIEW: frozenset({*_DECIDED, ClaimStatus.VOID}),
    ClaimStatus.APPROVED: frozenset({ClaimStatus.PAID, ClaimStatus.VOID}),
    ClaimStatus.PARTIALLY_APPROVED: frozenset({ClaimStatus.PAID, ClaimStatus.DISPUTED, ClaimStatus.VOID}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.DISPUTED, ClaimStatus.VOID}),
    ClaimStatus.DISPUTED: frozenset(_DECIDED),
    ClaimStatus.PAID: frozenset({ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED}),
    ClaimStatus.VOID: frozenset(),
}
#: what a provider may void, and what may be disputed: read from the table, so they cannot disagree with it
VOIDABLE = frozenset(s for s, targets in CLAIM_TRANSITIONS.items() if ClaimStatus.VOID in targets)
DISPUTABLE = frozenset(s for s, targets in CLAIM_TRANSITIONS.items() if ClaimStatus.DISPUTED in targets)


def may_move(current: ClaimStatus, target: ClaimStatus) -> bool:
    return target in CLAIM_TRANSITIONS[current]


def move_claim(claim: Claim, target: ClaimStatus, *, by_id: int | None, note: str | None = None, **values) -> None:
    """One guarded transition: the UPDATE names the status and version it read, so of two people acting
    on the same claim at once one wins and the other gets a 409."""
    check_move(claim, target)
    before = claim.status
    result = db.session.execute(
        update(Claim)
        .where(Claim.id == claim.id, Claim.status == before, Claim.version == claim.version)
        .values(status=target, version=claim.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(claim)
        raise Conflict(f"Someone else changed claim {claim.claim_number} a moment ago; it is now {claim.status.value}.")
    # The row now holds these values; tell the session so without reading it back (batches decide thousands).
    for name, value in {"status": target, "version": claim.version + 1, **values}.items():
        set_committed_value(claim, name, value)
    db.session.add(ClaimStatusChange(**status_change(claim, before, target, by_id=by_id, note=note, at=clock.now())))
    if (payload := changed_payload(claim, target)) is not None:
        publish("claim.changed", payload)
    db.session.flush()


def check_move(claim: Claim, target: ClaimStatus) -> None:
    """A 409 unless the table allows the claim's move to ``target``."""
    if not may_move(claim.status, target):
        raise Conflict(
            f"Claim {claim.claim_number} is {_words(claim.status)}; it cannot become {_words(target)}.",
            {"status": [f"A {_words(claim.status)} claim cannot become {_words(target)}."]},
        )


def status_change(claim: Claim, before: ClaimStatus, target: ClaimStatus, *, by_id, note, at) -> dict:
    """The history row of a move (``claim_statuses``)."""
    return {
        "claim_id": claim.id,
        "from_status": before.value,
        "to_status": target.value,
        "by_id": by_id,
        "note": note,
        "at": at,
    }


def changed_payload(claim: Claim, target: ClaimStatus) -> dict | None:
    """``claim.changed`` for a move of an invoiced claim: the invoice's payer split follows its claim (billing's
    ``refresh_split``)."""
    if not claim.invoice_id:
        return None
    return {"claim_id": claim.id, "invoice_id": claim.invoice_id, "status": target.value}


def _words(status: ClaimStatus) -> str:
    return status.value.replace("_", " ")


def audit(actor, action: str, claim: Claim, *, before=None, after=None) -> None:
    core.record_audit(
        actor,
        action,
        "claim",
        claim.id,
        before=before,
        after=after,
        institution_id=claim.institution_id,
        company_id=claim.company_id,
    )
