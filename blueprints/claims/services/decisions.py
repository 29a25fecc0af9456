"""Keeping decisions: a decision stored on the claim and its lines (the engine's, an adjudicator's, a dispute's),
kept whole in the audit trail, and announced as ``claim.decided``; a stored proposal read back as the
engine's value."""

from __future__ import annotations

from dataclasses import dataclass

from blueprints.claims import engine
from blueprints.claims.models import Claim, ClaimAuditTrail, ClaimItem, ClaimStatus
from blueprints.claims.services.transitions import changed_payload, check_move, move_claim, status_change
from blueprints.core import services as core
from medcover import clock
from medcover.events import publish_many
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Role

#: who the audit log says decided a claim the engine decided
ENGINE_ACTOR = "Adjudication engine"
#: a line's decided amounts
AMOUNTS = ("billed", "allowed", "deductible", "copay", "approved", "member_responsibility")


@dataclass
class DecisionWrites:
    """Everything one decision writes, worked out once: ``store`` sends it statement by statement (one claim at a
    time), ``decision_batch.send`` a whole chunk's set-based. Both send exactly these rows and values."""

    #: an entity claim by claim, a plain row of ``submission.BATCH_COLUMNS`` in the batch (the same for both)
    claim: Claim
    target: ClaimStatus
    #: the claim's decided columns (its status and version apart)
    values: dict
    #: (line, its decided columns); the line an entity or a plain row, as the claim
    lines: list[tuple[ClaimItem, dict]]
    #: the ``claim_statuses`` row; None when a pending claim re-run stays pending (no move)
    history: dict | None
    #: the ``claim_audit_trails`` row: the decision kept whole
    trail: dict
    #: the engine's audit entry (``record_audit``'s arguments); people's decisions are audited by their services
    audit: dict | None
    #: ``claim.changed`` when an invoiced claim moves
    changed: dict | None


def decision_writes(
    claim: Claim, items: list[ClaimItem], decision: engine.Decision, *, source: str, by_id, note=None, scheme_id=None
) -> DecisionWrites:
    """What storing ``decision`` writes (a 409 if the claim may not move to its status)."""
    now = clock.now()
    target = ClaimStatus(decision.status.value)
    moves = not (claim.status is target and target is ClaimStatus.PENDING_REVIEW)
    if moves:
        check_move(claim, target)
    by_line = {line.line_no: line for line in decision.lines}
    period = decision.period or (None, None)
    values = {
        "total_billed": decision.total_billed,
        "total_approved": decision.total_approved,
        "review": decision.review,
        "reason_codes": list(decision.reason_codes),
        "coverage_id": decision.coverage_id,
        "period_start": period[0],
        "period_end": period[1],
        "decided_at": now,
        "decided_by_id": by_id,
    }
    if scheme_id is not None:
        values["scheme_id"] = scheme_id
    if source == "engine":
        # what sent the claim to review stays on it once a person decides (the dashboard asks what came of it)
        values["review_codes"] = list(decision.review_codes)
        values["review_details"] = decision.review_details
        values["proposed_approved"] = decision.total_approved
        values["diagnosis_category"] = engine.main_category(claim.diagnosis_codes)
    trail = {
        "claim_id": claim.id,
        "source": source,
        "by_id": by_id,
        "at": now,
        "status": target.value,
        "total_approved": decision.total_approved,
        "reason_codes": list(decision.reason_codes),
        "lines": [_line_values(line, service_code=True) for line in decision.lines],
        "note": note,
    }
    audit = None
    if source == "engine":
        # the engine's decision in the audit log too, with the engine as the actor
        audit = {
            "actor": None,
            "action": "adjudicate",
            "entity_type": "claim",
            "entity_id": claim.id,
            "after": {
                "status": target.value,
                "total_approved": str(decision.total_approved),
                "reason_codes": list(decision.reason_codes),
            },
            "institution_id": claim.institution_id,
            "company_id": claim.company_id,
            "actor_label": ENGINE_ACTOR,
        }
    return DecisionWrites(
        claim=claim,
        target=target,
        values=values,
        lines=[(item, _line_values(by_line[item.line_no])) for item in items],
        history=status_change(claim, claim.status, target, by_id=by_id, note=note, at=now) if moves else None,
        trail=trail,
        audit=audit,
        changed=changed_payload(claim, target) if moves else None,
    )


def _line_values(line: engine.LineDecision, *, service_code: bool = False) -> dict:
    """A line's decided columns; with ``service_code``, as the audit trail keeps them (amounts as text)."""
    if service_code:
        head = {"line_no": line.line_no, "service_code": line.service_code, "benefit_code": line.benefit_code}
        amounts = {name: str(getattr(line, name)) for name in AMOUNTS}
    else:
        head, amounts = {"benefit_code": line.benefit_code}, {name: getattr(line, name) for name in AMOUNTS}
    return (
        head
        | amounts
        | {
            "decision": line.decision.value,
            "reason_codes": list(line.reason_codes),
            "note": line.note,
            "waivable": line.waivable.as_dict() if line.waivable else None,
        }
    )


def store(
    claim: Claim, items: list[ClaimItem], decision: engine.Decision, *, source: str, by_id, note=None, scheme_id=None
) -> None:
    """Store one decision, statement by statement (the guarded move, its history, the trail, the audit entry)."""
    writes = decision_writes(claim, items, decision, source=source, by_id=by_id, note=note, scheme_id=scheme_id)
    for item, values in writes.lines:
        for name, value in values.items():
            setattr(item, name, value)
    if writes.history is None:
        # Re-running a pending claim refreshes the proposal; it stays pending.
        for name, value in writes.values.items():
            setattr(claim, name, value)
        claim.version += 1
    else:
        move_claim(claim, writes.target, by_id=by_id, note=note, **writes.values)
    db.session.add(ClaimAuditTrail(**writes.trail))
    if writes.audit is not None:
        core.record_audit(**writes.audit)


def announce(claims: list[Claim], decisions: dict[int, engine.Decision]) -> None:
    """``claim.decided`` for each: the provider's billing clerks are told in-app (the notification domain's
    payload contract)."""
    publish_many("claim.decided", decided_payloads(claims, decisions))


def decided_payloads(claims, decisions: dict[int, engine.Decision]) -> list[dict]:
    """The ``claim.decided`` payloads of those claims decided (one pending review is not yet). The claims may be
    plain rows read before the decision was written: its status and totals are the decision's, as stored."""
    decided = []
    for claim in claims:
        decision = decisions.get(claim.id)
        status = ClaimStatus(decision.status.value) if decision is not None else claim.status
        if status is not ClaimStatus.PENDING_REVIEW:
            decided.append((claim, decision, status))
    # every hospital's billing clerks in one read, however many hospitals the claims come from
    clerks = core.user_ids_by_institution(Role.BILLING_CLERK, {claim.institution_id for claim, *_ in decided})
    payloads = []
    for claim, decision, status in decided:
        payload = _decided_payload(claim, status, decision, clerks[claim.institution_id])
        payload["reason_codes"] = sorted(decision.reason_codes) if decision is not None else []  # for the metrics
        payloads.append(payload)
    return payloads


def _decided_payload(claim, status: ClaimStatus, decision: engine.Decision | None, user_ids: list[int]) -> dict:
    billed, approved = (
        (decision.total_billed, decision.total_approved)
        if decision is not None
        else (claim.total_billed, claim.total_approved)
    )
    return {
        "claim_id": claim.id,
        "institution_id": claim.institution_id,
        "company_id": claim.company_id,
        "status": status.value,
        "recipients": [{"user_id": uid} for uid in user_ids],
        "context": {
            "claim_number": claim.claim_number,
            "status": status.value.replace("_", " "),
            "total_billed": f"{billed:,.2f}",
            "total_approved": f"{approved:,.2f}",
            "member_number": claim.member_number,
            "service_date": claim.service_date.isoformat(),
        },
    }


def record_decision(
    claim: Claim, items: list[ClaimItem], decision: engine.Decision, *, source: str, by_id, note=None, scheme_id=None
) -> None:
    """Store a decision made outside the engine's run (a dispute upheld) and announce it."""
    store(claim, items, decision, source=source, by_id=by_id, note=note, scheme_id=scheme_id)
    announce([claim], {claim.id: decision})


def decision_of(claim: Claim, items: list[ClaimItem]) -> engine.Decision:
    """The stored proposal as the engine's value, for an adjudicator's overrides."""
    lines = tuple(
        engine.LineDecision(
            line_no=i.line_no,
            service_code=i.service_code,
            benefit_code=i.benefit_code,
            quantity=i.quantity,
            unit_price=i.unit_price,
            billed=i.billed,
            allowed=i.allowed,
            deductible=i.deductible,
            copay=i.copay,
            approved=i.approved,
            member_responsibility=i.member_responsibility,
            decision=engine.LineOutcome(i.decision),
            reason_codes=tuple(i.reason_codes or ()),
            note=i.note,
            waivable=engine.Waivable.from_dict(i.waivable),
        )
        for i in items
    )
    outcome = (
        engine.ClaimOutcome(claim.status.value)
        if claim.status.value in engine.ClaimOutcome._value2member_map_
        else engine.ClaimOutcome.PENDING_REVIEW
    )
    proposal = _outcome_of(lines)
    return engine.Decision(
        claim_id=claim.id,
        status=outcome,
        outcome=proposal,
        total_billed=claim.total_billed,
        total_approved=money(sum((line.approved for line in lines), ZERO)),
        review=claim.review,
        lines=lines,
        reason_codes=tuple(claim.reason_codes or ()),
        coverage_id=claim.coverage_id,
        period=(claim.period_start, claim.period_end) if claim.period_start else None,
    )


def _outcome_of(lines) -> engine.ClaimOutcome:
    kept = [line for line in lines if line.decision is not engine.LineOutcome.REJECTED]
    if len(kept) == len(lines):
        return engine.ClaimOutcome.APPROVED
    return engine.ClaimOutcome.PARTIALLY_APPROVED if kept else engine.ClaimOutcome.REJECTED
