"""A claim's status changes: one guarded transition (ADJUDICATION.md's table, ``CLAIM_TRANSITIONS``) and the
audit line of each claim action."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from blueprints.claims.models import CLAIM_TRANSITIONS, Claim, ClaimStatus, ClaimStatusChange
from blueprints.core import services as core
from medcover import clock
from medcover.errors import Conflict
from medcover.events import publish
from medcover.extensions import db


def move_claim(claim: Claim, target: ClaimStatus, *, by_id: int | None, note: str | None = None, **values) -> None:
    """One guarded transition: the UPDATE names the status and version it read, so of two people acting
    on the same claim at once one wins and the other gets a 409."""
    if target not in CLAIM_TRANSITIONS[claim.status]:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; it cannot become {target.value}.")
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
    db.session.add(
        ClaimStatusChange(
            claim_id=claim.id, from_status=before.value, to_status=target.value, by_id=by_id, note=note, at=clock.now()
        )
    )
    if claim.invoice_id:
        # The invoice's payer split follows its claim (billing's ``refresh_split``).
        publish(
            "claim.changed",
            {"claim_id": claim.id, "invoice_id": claim.invoice_id, "status": target.value},
        )
    db.session.flush()


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
