"""Review: an adjudicator approves a claim pending review as proposed or with lines overridden (M01), rejects it
with a reason, or approves many at once, each on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from blueprints.claims import engine
from blueprints.claims.models import Claim, ClaimItem, ClaimStatus
from blueprints.claims.services.access import for_decider
from blueprints.claims.services.decisions import announce, decision_of, store
from blueprints.claims.services.reading import items_by_claim
from blueprints.claims.services.transitions import audit
from medcover import fields
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.money import ZERO


def approve_claim(
    *, actor, claim_id: int, overrides: dict[int, tuple] | None = None, version: int | None = None
) -> Claim:
    """An adjudicator accepts the proposal of a pending claim, overriding lines (M01) with a note each."""
    claim = for_decider(actor, claim_id)
    if claim.status is not ClaimStatus.PENDING_REVIEW:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only claims pending review are approved.")
    if version is not None and version != claim.version:
        raise Conflict(f"Claim {claim.claim_number} changed since you opened it; reload to see it.")
    items = items_by_claim([claim.id]).get(claim.id, [])
    clean = _overrides(overrides or {}, items)
    try:
        decision = engine.apply_overrides(decision_of(claim, items), clean)
    except engine.OverrideRefused as exc:
        raise Invalid.field("overrides", str(exc)) from None
    note = "; ".join(f"line {n}: {text}" for n, (_amount, text) in sorted(clean.items())) or None
    store(claim, items, decision, source="adjudicator", by_id=actor.id, note=note)
    audit(
        actor,
        "approve",
        claim,
        before={"status": "pending_review"},
        after={"status": claim.status.value, "total_approved": str(claim.total_approved)},
    )
    announce([claim], {claim.id: decision})
    return claim


def _overrides(overrides: dict, items: list[ClaimItem]) -> dict[int, tuple[Decimal, str]]:
    lines = {i.line_no: i for i in items}
    clean: dict[int, tuple[Decimal, str]] = {}
    for raw_line, value in overrides.items():
        try:
            line_no = int(raw_line)
        except (TypeError, ValueError):
            raise Invalid.field("overrides", f"{raw_line!r} is not a line number.") from None
        if line_no not in lines:
            raise Invalid.field("overrides", f"The claim has no line {line_no}.")
        amount, note = value
        amount = fields.amount(amount, "overrides")
        note = fields.text(note, "overrides", 500)
        if amount > lines[line_no].allowed:
            raise Invalid.field(
                "overrides", f"Line {line_no}: at most the allowed {lines[line_no].allowed:,.2f} can be approved."
            )
        clean[line_no] = (amount, note)
    return clean


def reject_claim(*, actor, claim_id: int, reason: str, version: int | None = None) -> Claim:
    """An adjudicator rejects a pending claim as a whole, with a reason (kept as M01 on each line)."""
    claim = for_decider(actor, claim_id)
    if claim.status is not ClaimStatus.PENDING_REVIEW:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only claims pending review are rejected.")
    if version is not None and version != claim.version:
        raise Conflict(f"Claim {claim.claim_number} changed since you opened it; reload to see it.")
    reason = fields.text(reason, "reason", 500)
    items = items_by_claim([claim.id]).get(claim.id, [])
    proposal = decision_of(claim, items)
    lines = tuple(
        engine.LineDecision(
            **{
                **line.__dict__,
                "deductible": ZERO,
                "copay": ZERO,
                "approved": ZERO,
                "member_responsibility": line.billed,
                "decision": engine.LineOutcome.REJECTED,
                "reason_codes": (*line.reason_codes, "M01") if "M01" not in line.reason_codes else line.reason_codes,
                "note": reason,
            }
        )
        for line in proposal.lines
    )
    decision = engine.Decision(
        **{**proposal.__dict__, "status": engine.ClaimOutcome.REJECTED, "lines": lines, "total_approved": ZERO}
    )
    store(claim, items, decision, source="adjudicator", by_id=actor.id, note=reason)
    audit(actor, "reject", claim, before={"status": "pending_review"}, after={"status": "rejected", "reason": reason})
    announce([claim], {claim.id: decision})
    return claim


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
