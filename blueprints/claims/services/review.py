"""Review: an adjudicator approves a claim pending review as proposed or with lines decided by hand (M01 amount,
M02 waiver, M03 rejection), rejects it with a reason (M03), or approves many at once, each on its own."""

from __future__ import annotations

from dataclasses import dataclass, field

from blueprints.claims import engine
from blueprints.claims.models import Claim, ClaimItem, ClaimStatus
from blueprints.claims.services.access import for_decider
from blueprints.claims.services.decisions import announce, decision_of, store
from blueprints.claims.services.reading import items_by_claim
from blueprints.claims.services.transitions import audit
from medcover import fields
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.extensions import db


def approve_claim(
    *,
    actor,
    claim_id: int,
    overrides: dict[int, tuple] | None = None,
    version: int | None = None,
    note: str | None = None,
) -> Claim:
    """An adjudicator accepts the proposal of a pending claim, deciding lines by hand with a note each: an amount
    (M01), a rejected line's rule waived (M02), a line rejected (M03). ``note``: the decision's own (a suspect
    duplicate found to be none)."""
    claim = for_decider(actor, claim_id)
    if claim.status is not ClaimStatus.PENDING_REVIEW:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only claims pending review are approved.")
    if version is not None and version != claim.version:
        raise Conflict(f"Claim {claim.claim_number} changed since you opened it; reload to see it.")
    items = items_by_claim([claim.id]).get(claim.id, [])
    clean = manual_lines(overrides or {}, items)
    try:
        decision = engine.apply_overrides(decision_of(claim, items), clean)
    except engine.OverrideRefused as exc:
        raise Invalid.field("overrides", _sentence(str(exc))) from None
    notes = [note] if note else []
    note = "; ".join(notes + [f"line {n}: {choice.note}" for n, choice in sorted(clean.items())]) or None
    store(claim, items, decision, source="adjudicator", by_id=actor.id, note=note)
    audit(
        actor,
        "approve",
        claim,
        before={"status": "pending_review"},
        after={"status": claim.status.value, "total_approved": str(claim.total_approved)}
        | ({"note": notes[0]} if notes else {}),
    )
    announce([claim], {claim.id: decision})
    return claim


def manual_lines(overrides: dict, items: list[ClaimItem]) -> dict[int, engine.ManualLine]:
    """``{line_no: (amount, note) | (amount, note, reject)}`` checked as field input; the engine then checks each
    against its line (M01 up to allowed, M02 up to the waivable payable, M03 with a reason)."""
    lines = {i.line_no: i for i in items}
    clean: dict[int, engine.ManualLine] = {}
    for raw_line, value in overrides.items():
        try:
            line_no = int(raw_line)
        except (TypeError, ValueError):
            raise Invalid.field("overrides", f"{raw_line!r} is not a line number.") from None
        if line_no not in lines:
            raise Invalid.field("overrides", f"The claim has no line {line_no}.")
        amount, note, reject = (*value, False)[:3] if isinstance(value, tuple | list) else (None, "", False)
        note = fields.text(note, "overrides", 500, required=False)
        if not note:
            raise Invalid.field("overrides", f"Line {line_no}: enter a note saying why it is decided by hand.")
        if reject:
            clean[line_no] = engine.ManualLine(note=note, reject=True)
            continue
        amount = fields.amount(amount, "overrides")
        clean[line_no] = engine.ManualLine(note=note, approved=amount)
    return clean


def reject_claim(*, actor, claim_id: int, reason: str, version: int | None = None) -> Claim:
    """An adjudicator rejects a pending claim as a whole, with a reason (M03 on each line)."""
    claim = for_decider(actor, claim_id)
    if claim.status is not ClaimStatus.PENDING_REVIEW:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only claims pending review are rejected.")
    if version is not None and version != claim.version:
        raise Conflict(f"Claim {claim.claim_number} changed since you opened it; reload to see it.")
    reason = fields.text(reason, "reason", 500)
    items = items_by_claim([claim.id]).get(claim.id, [])
    decision = engine.reject_all(decision_of(claim, items), reason)
    store(claim, items, decision, source="adjudicator", by_id=actor.id, note=reason)
    audit(actor, "reject", claim, before={"status": "pending_review"}, after={"status": "rejected", "reason": reason})
    announce([claim], {claim.id: decision})
    return claim


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


@dataclass
class BulkResult:
    approved: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def bulk_approve(*, actor, claim_ids) -> BulkResult:
    """Approve many pending claims as proposed; each in its own savepoint, so one refusal spoils none."""
    result = BulkResult()
    for claim_id in sorted({int(i) for i in claim_ids})[:200]:
        savepoint = db.session.begin_nested()
        try:
            claim = approve_claim(actor=actor, claim_id=claim_id)
            savepoint.commit()
            result.approved.append(claim.claim_number)
        except (Conflict, Forbidden, NotFound, Invalid) as exc:
            savepoint.rollback()
            result.refused[str(claim_id)] = exc.detail
    return result
