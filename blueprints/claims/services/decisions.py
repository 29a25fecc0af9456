"""Keeping decisions: a decision stored on the claim and its lines (the engine's, an adjudicator's, a dispute's),
kept whole in the audit trail, and announced as ``claim.decided``; a stored proposal read back as the
engine's value."""

from __future__ import annotations

from blueprints.claims import engine
from blueprints.claims.models import Claim, ClaimAuditTrail, ClaimItem, ClaimStatus
from blueprints.claims.services.transitions import move_claim
from blueprints.core import services as core
from medcover import clock
from medcover.events import publish_many
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Role, Tenant

#: who the audit log says decided a claim the engine decided
ENGINE_ACTOR = "Adjudication engine"


def store(
    claim: Claim, items: list[ClaimItem], decision: engine.Decision, *, source: str, by_id, note=None, scheme_id=None
) -> None:
    by_line = {line.line_no: line for line in decision.lines}
    for item in items:
        line = by_line[item.line_no]
        item.benefit_code = line.benefit_code
        item.billed = line.billed
        item.allowed = line.allowed
        item.deductible = line.deductible
        item.copay = line.copay
        item.approved = line.approved
        item.member_responsibility = line.member_responsibility
        item.decision = line.decision.value
        item.reason_codes = list(line.reason_codes)
        item.note = line.note
        item.waivable = line.waivable.as_dict() if line.waivable else None
    target = ClaimStatus(decision.status.value)
    period = decision.period or (None, None)
    values = {
        "total_billed": decision.total_billed,
        "total_approved": decision.total_approved,
        "review": decision.review,
        "reason_codes": list(decision.reason_codes),
        "coverage_id": decision.coverage_id,
        "period_start": period[0],
        "period_end": period[1],
        "decided_at": clock.now(),
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
    if claim.status is target and target is ClaimStatus.PENDING_REVIEW:
        # Re-running a pending claim refreshes the proposal; it stays pending.
        for name, value in values.items():
            setattr(claim, name, value)
        claim.version += 1
    else:
        move_claim(claim, target, by_id=by_id, note=note, **values)
    db.session.add(
        ClaimAuditTrail(
            claim_id=claim.id,
            source=source,
            by_id=by_id,
            at=clock.now(),
            status=target.value,
            total_approved=decision.total_approved,
            reason_codes=list(decision.reason_codes),
            lines=[
                {
                    "line_no": line.line_no,
                    "service_code": line.service_code,
                    "benefit_code": line.benefit_code,
                    "billed": str(line.billed),
                    "allowed": str(line.allowed),
                    "deductible": str(line.deductible),
                    "copay": str(line.copay),
                    "approved": str(line.approved),
                    "member_responsibility": str(line.member_responsibility),
                    "decision": line.decision.value,
                    "reason_codes": list(line.reason_codes),
                    "note": line.note,
                    "waivable": line.waivable.as_dict() if line.waivable else None,
                }
                for line in decision.lines
            ],
            note=note,
        )
    )
    if source == "engine":
        # the engine's decision in the audit log too, with the engine as the actor (people's decisions are audited
        # by the review and dispute services)
        core.record_audit(
            None,
            "adjudicate",
            "claim",
            claim.id,
            after={
                "status": target.value,
                "total_approved": str(decision.total_approved),
                "reason_codes": list(decision.reason_codes),
            },
            institution_id=claim.institution_id,
            company_id=claim.company_id,
            actor_label=ENGINE_ACTOR,
        )


def announce(claims: list[Claim], decisions: dict[int, engine.Decision]) -> None:
    """``claim.decided`` for each: the provider's billing clerks are told in-app (the notification domain's
    payload contract)."""
    payloads = []
    clerks: dict[int, list[int]] = {}
    for claim in claims:
        if claim.status is ClaimStatus.PENDING_REVIEW:
            continue
        if claim.institution_id not in clerks:
            clerks[claim.institution_id] = core.user_ids_with_role(
                Role.BILLING_CLERK, Tenant(claim.institution_id, None)
            )
        payload = _decided_payload(claim, clerks[claim.institution_id])
        decision = decisions.get(claim.id)
        payload["reason_codes"] = sorted(decision.reason_codes) if decision is not None else []  # for the metrics
        payloads.append(payload)
    publish_many("claim.decided", payloads)


def _decided_payload(claim: Claim, user_ids: list[int]) -> dict:
    return {
        "claim_id": claim.id,
        "institution_id": claim.institution_id,
        "company_id": claim.company_id,
        "status": claim.status.value,
        "recipients": [{"user_id": uid} for uid in user_ids],
        "context": {
            "claim_number": claim.claim_number,
            "status": claim.status.value.replace("_", " "),
            "total_billed": f"{claim.total_billed:,.2f}",
            "total_approved": f"{claim.total_approved:,.2f}",
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
