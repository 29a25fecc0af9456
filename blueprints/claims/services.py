"""Claims' public face: intake (by hand, from an invoice, from integrations), submission, deciding with the
engine (one claim or a batch, set-based), adjudicators' approve / reject / override, payments seen on
claims, reading, and the usage insurance shows on cover checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from blueprints.billing import services as billing
from blueprints.claims import engine
from blueprints.claims.facts import claim_in, gather
from blueprints.claims.models import (
    CLAIM_TRANSITIONS,
    FINALISED,
    Claim,
    ClaimAuditTrail,
    ClaimItem,
    ClaimPayment,
    ClaimStatus,
    ClaimStatusChange,
)
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock, fields, jobs
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import publish_many
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Role, Tenant, ensure_owned, scope, tenant_of

MAX_ITEMS = 100
MAX_QUANTITY = 10_000
#: provider roles that file claims; insurer roles that decide them
PROVIDER_WRITERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.INTEGRATION})
DECIDERS = frozenset({Role.ADMIN, Role.ADJUDICATOR})
BATCH = 500


# --- intake --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemInput:
    service_code: str
    quantity: int | str
    unit_price: Decimal | str
    preauth_code: str | None = None


@dataclass(frozen=True)
class ClaimInput:
    member_number: str
    institution_id: int
    service_date: date | str
    items: list[ItemInput]
    diagnosis_codes: list[str] = field(default_factory=list)
    invoice_id: int | None = None
    patient_id: int | None = None


def _provider_check(actor, institution_id: int) -> None:
    tenant = tenant_of(actor)
    hospital.get_institution(tenant, institution_id)  # 404 for another tenant's
    if actor.role not in PROVIDER_WRITERS or not (tenant.is_global or tenant.institution_id == institution_id):
        raise Forbidden("Claims are filed by the provider's billing staff.")


def _diagnoses(values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise Invalid.field("diagnosis_codes", "Give the diagnoses as a list of ICD-10 codes.")
    codes: list[str] = []
    for value in values:
        code = str(value or "").strip().upper()
        if code and not hospital.ICD10.fullmatch(code):
            raise Invalid.field("diagnosis_codes", f"{code[:20]} is not an ICD-10 code (like J06.9 or A09).")
        if code and code not in codes:
            codes.append(code)
    if len(codes) > 20:
        raise Invalid.field("diagnosis_codes", "Give at most 20 diagnoses.")
    return codes


def _items(values: list[ItemInput]) -> list[dict]:
    if not values:
        raise Invalid.field("items", "Add at least one line.")
    if len(values) > MAX_ITEMS:
        raise Invalid.field("items", f"A claim has at most {MAX_ITEMS} lines.")
    rows = []
    for n, item in enumerate(values):
        prefix = f"items.{n}."
        quantity = fields.whole(item.quantity, prefix + "quantity", 1, MAX_QUANTITY)
        price = fields.amount(item.unit_price, prefix + "unit_price")
        preauth = fields.text(item.preauth_code, prefix + "preauth_code", 20, required=False).upper() or None
        rows.append(
            {
                "line_no": n + 1,
                "service_code": fields.code(item.service_code, prefix + "service_code"),
                "quantity": quantity,
                "unit_price": price,
                "preauth_code": preauth,
                "billed": money(price * quantity),
            }
        )
    return rows


def _claim_number(claim: Claim) -> str:
    return f"CL-{claim.created_at.year if claim.created_at else clock.today().year}-{claim.id:06d}"


def create_claim(*, actor, values: ClaimInput) -> Claim:
    """A draft claim; the insurer is the member's (a number no member has stays the provider's only)."""
    _provider_check(actor, values.institution_id)
    number = fields.text(values.member_number, "member_number", 30).upper()
    service_date = fields.day(values.service_date, "service_date")
    if service_date > clock.today():
        raise Invalid.field("service_date", "The service date cannot be in the future.")
    items = _items(values.items)
    cover = insurance.member_covers([number]).get(number)
    if values.invoice_id:
        invoice = billing.invoice_summary(tenant_of(actor), values.invoice_id)
        if invoice.institution_id != values.institution_id:
            raise Invalid.field("invoice_id", "That invoice belongs to another provider.")
    claim = Claim(
        institution_id=values.institution_id,
        company_id=cover.company_id if cover else None,
        member_number=number,
        member_id=cover.member_id if cover else None,
        patient_id=values.patient_id,
        invoice_id=values.invoice_id,
        service_date=service_date,
        diagnosis_codes=_diagnoses(values.diagnosis_codes),
        status=ClaimStatus.DRAFT,
        total_billed=money(sum((i["billed"] for i in items), ZERO)),
        total_approved=ZERO,
        total_paid=ZERO,
        created_by_id=actor.id,
        created_at=clock.now(),
        version=1,
    )
    db.session.add(claim)
    db.session.flush()
    claim.claim_number = _claim_number(claim)
    db.session.add_all([ClaimItem(claim_id=claim.id, **item) for item in items])
    db.session.add(
        ClaimStatusChange(claim_id=claim.id, from_status=None, to_status="draft", by_id=actor.id, at=clock.now())
    )
    db.session.flush()
    _audit(actor, "create", claim, after={"claim_number": claim.claim_number, "total_billed": str(claim.total_billed)})
    return claim


def claim_from_invoice(*, actor, invoice_id: int) -> Claim:
    """The insurer's part of an issued invoice as a draft claim, one click: its insured lines at their price."""
    invoice = billing.invoice_summary(tenant_of(actor), invoice_id)
    _provider_check(actor, invoice.institution_id)
    if invoice.status not in ("issued", "partially_paid", "paid"):
        raise Conflict(f"Invoice {invoice.number or 'draft'} is {invoice.status}; claim issued invoices only.")
    if not invoice.member_number or invoice.insurer_part <= 0:
        raise Conflict("This invoice has no insurer part to claim.")
    existing = db.session.scalar(
        select(Claim.claim_number).where(Claim.invoice_id == invoice.id, Claim.status != ClaimStatus.VOID)
    )
    if existing:
        raise Conflict(f"Invoice {invoice.number} is already claimed as {existing}.")
    lines = [line for line in invoice.lines if line.insurer_amount > 0]
    return create_claim(
        actor=actor,
        values=ClaimInput(
            member_number=invoice.member_number,
            institution_id=invoice.institution_id,
            service_date=invoice.service_date or clock.today(),
            items=[ItemInput(line.service_code, line.quantity, line.unit_price) for line in lines],
            invoice_id=invoice.id,
            patient_id=invoice.patient_id,
        ),
    )


def _draft_for_write(actor, claim_id: int) -> Claim:
    claim = get_claim(tenant_of(actor), claim_id)
    _provider_check(actor, claim.institution_id)
    if claim.status is not ClaimStatus.DRAFT:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only drafts change.")
    return claim


def update_draft(*, actor, claim_id: int, values: ClaimInput) -> Claim:
    claim = _draft_for_write(actor, claim_id)
    if values.institution_id != claim.institution_id:
        raise Invalid.field("institution_id", "A claim stays with its provider.")
    items = _items(values.items)
    number = fields.text(values.member_number, "member_number", 30).upper()
    service_date = fields.day(values.service_date, "service_date")
    cover = insurance.member_covers([number]).get(number)
    before = {"member_number": claim.member_number, "total_billed": str(claim.total_billed)}
    db.session.execute(ClaimItem.__table__.delete().where(ClaimItem.claim_id == claim.id))
    db.session.add_all([ClaimItem(claim_id=claim.id, **item) for item in items])
    claim.member_number = number
    claim.member_id = cover.member_id if cover else None
    claim.company_id = cover.company_id if cover else None
    claim.service_date = service_date
    claim.diagnosis_codes = _diagnoses(values.diagnosis_codes)
    claim.total_billed = money(sum((i["billed"] for i in items), ZERO))
    claim.version += 1
    db.session.flush()
    _audit(
        actor, "update", claim, before=before, after={"member_number": number, "total_billed": str(claim.total_billed)}
    )
    return claim


def void_claim(*, actor, claim_id: int, reason: str = "") -> Claim:
    claim = _draft_for_write(actor, claim_id)
    _move(claim, ClaimStatus.VOID, by_id=actor.id, note=fields.text(reason, "reason", 300, required=False) or None)
    _audit(actor, "void", claim, before={"status": "draft"}, after={"status": "void"})
    return claim


# --- transitions ---------------------------------------------------------------------------------


def _move(claim: Claim, target: ClaimStatus, *, by_id: int | None, note: str | None = None, **values) -> None:
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
    db.session.flush()


def decides_in_background() -> bool:
    return bool(current_app.config.get("REDIS_URL")) and current_app.config.get("CLAIMS_DECIDE_INLINE") is not True


def submit_claim(*, actor, claim_id: int) -> Claim:
    """Lock the draft and have it decided: here and now on the embedded default, on a worker with Redis."""
    claim = _draft_for_write(actor, claim_id)
    now = clock.now()
    _move(claim, ClaimStatus.SUBMITTED, by_id=actor.id, submitted_at=now, submitted_on=now.date())
    _audit(actor, "submit", claim, before={"status": "draft"}, after={"status": "submitted"})
    if decides_in_background():
        jobs.enqueue(decide_submitted, [claim.id], queue="default")
    else:
        decide_claims([claim.id])
        db.session.refresh(claim)
    return claim


def process_claim(*, actor, claim_id: int) -> Claim:
    """Run the engine again on a submitted or pending-review claim (new facts: a pre-auth approved ...)."""
    claim = get_claim(tenant_of(actor), claim_id)
    if actor.role not in DECIDERS | PROVIDER_WRITERS:
        raise Forbidden("You may not re-run claims.")
    if claim.status not in (ClaimStatus.SUBMITTED, ClaimStatus.PENDING_REVIEW):
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only submitted or pending claims re-run.")
    decide_claims([claim.id])
    db.session.refresh(claim)
    return claim


def decide_submitted(claim_ids: list[int]) -> int:
    """The job: decide those claims still waiting (idempotent: a decided claim is skipped)."""
    return len(decide_claims(claim_ids))


# --- deciding ------------------------------------------------------------------------------------


def _items_of(claim_ids) -> dict[int, list[ClaimItem]]:
    found: dict[int, list[ClaimItem]] = {}
    for item in db.session.scalars(
        select(ClaimItem).where(ClaimItem.claim_id.in_(list(claim_ids))).order_by(ClaimItem.claim_id, ClaimItem.line_no)
    ):
        found.setdefault(item.claim_id, []).append(item)
    return found


def decide_claims(
    claim_ids, *, statuses=(ClaimStatus.SUBMITTED, ClaimStatus.PENDING_REVIEW)
) -> dict[int, engine.Decision]:
    """The batch form: decide many claims with a fixed number of reads per chunk of ``BATCH`` claims, in
    submission order, each seeing the usage and duplicates of those decided before it."""
    ids = sorted({int(i) for i in claim_ids})
    decisions: dict[int, engine.Decision] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        claims = list(
            db.session.scalars(
                select(Claim)
                .where(Claim.id.in_(chunk), Claim.status.in_(statuses))
                .order_by(Claim.submitted_at, Claim.id)
                .with_for_update(skip_locked=True)
            )
        )
        if not claims:
            continue
        items = _items_of(c.id for c in claims)
        book = gather(claims, items)
        for claim in claims:
            lines = items.get(claim.id, [])
            facts = book.facts_for(claim, lines)
            decision = engine.decide(claim_in(claim, lines), facts)
            cover = engine.applicable_coverage(facts.coverages, claim.service_date)
            _store(
                claim, lines, decision, source="engine", by_id=None, scheme_id=cover.scheme.scheme_id if cover else None
            )
            book.record(claim, decision)
            decisions[claim.id] = decision
        db.session.flush()
        _announce([c for c in claims if c.id in decisions], decisions)
    return decisions


def _store(
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
    if claim.status is target and target is ClaimStatus.PENDING_REVIEW:
        # Re-running a pending claim refreshes the proposal; it stays pending.
        for name, value in values.items():
            setattr(claim, name, value)
        claim.version += 1
    else:
        _move(claim, target, by_id=by_id, note=note, **values)
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
                }
                for line in decision.lines
            ],
            note=note,
        )
    )


def _announce(claims: list[Claim], decisions: dict[int, engine.Decision]) -> None:
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
        payloads.append(_decided_payload(claim, clerks[claim.institution_id]))
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


def move_claim(claim: Claim, target: ClaimStatus, *, by_id: int | None, note: str | None = None) -> None:
    """One guarded status change for the claims domain's other modules (disputes)."""
    _move(claim, target, by_id=by_id, note=note)


def redecision(claim: Claim, overrides: dict[int, tuple[Decimal, str]]):
    """The engine's decision on the claim as it stands today with an adjudicator's overrides applied (a
    proposal that reached the review threshold becomes the adjudicator's decision). Nothing is written;
    returns (items, decision, scheme id) for ``record_decision``."""
    items = items_of(claim.id)
    facts = gather([claim], {claim.id: items}).facts_for(claim, items)
    proposal = engine.decide(claim_in(claim, items), facts)
    try:
        decision = engine.apply_overrides(proposal, overrides)
    except engine.OverrideRefused as exc:
        raise Invalid.field("overrides", f"Decided again, {exc}.") from None
    cover = engine.applicable_coverage(facts.coverages, claim.service_date)
    return items, decision, cover.scheme.scheme_id if cover else None


def record_decision(
    claim: Claim, items: list[ClaimItem], decision: engine.Decision, *, source: str, by_id, note=None, scheme_id=None
) -> None:
    """Store a decision made outside the engine's run (a dispute upheld) and announce it."""
    _store(claim, items, decision, source=source, by_id=by_id, note=note, scheme_id=scheme_id)
    _announce([claim], {claim.id: decision})


def _decision_of(claim: Claim, items: list[ClaimItem]) -> engine.Decision:
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


def _for_decider(actor, claim_id: int) -> Claim:
    claim = get_claim(tenant_of(actor), claim_id)
    tenant = tenant_of(actor)
    if actor.role not in DECIDERS or tenant.institution_id is not None:
        raise Forbidden("Claims are decided by the insurer's adjudicators.")
    return claim


def approve_claim(
    *, actor, claim_id: int, overrides: dict[int, tuple] | None = None, version: int | None = None
) -> Claim:
    """An adjudicator accepts the proposal of a pending claim, overriding lines (M01) with a note each."""
    claim = _for_decider(actor, claim_id)
    if claim.status is not ClaimStatus.PENDING_REVIEW:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only claims pending review are approved.")
    if version is not None and version != claim.version:
        raise Conflict(f"Claim {claim.claim_number} changed since you opened it; reload to see it.")
    items = _items_of([claim.id]).get(claim.id, [])
    clean = _overrides(overrides or {}, items)
    try:
        decision = engine.apply_overrides(_decision_of(claim, items), clean)
    except engine.OverrideRefused as exc:
        raise Invalid.field("overrides", str(exc)) from None
    note = "; ".join(f"line {n}: {text}" for n, (_amount, text) in sorted(clean.items())) or None
    _store(claim, items, decision, source="adjudicator", by_id=actor.id, note=note)
    _audit(
        actor,
        "approve",
        claim,
        before={"status": "pending_review"},
        after={"status": claim.status.value, "total_approved": str(claim.total_approved)},
    )
    _announce([claim], {claim.id: decision})
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
    claim = _for_decider(actor, claim_id)
    if claim.status is not ClaimStatus.PENDING_REVIEW:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only claims pending review are rejected.")
    if version is not None and version != claim.version:
        raise Conflict(f"Claim {claim.claim_number} changed since you opened it; reload to see it.")
    reason = fields.text(reason, "reason", 500)
    items = _items_of([claim.id]).get(claim.id, [])
    proposal = _decision_of(claim, items)
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
    _store(claim, items, decision, source="adjudicator", by_id=actor.id, note=reason)
    _audit(actor, "reject", claim, before={"status": "pending_review"}, after={"status": "rejected", "reason": reason})
    _announce([claim], {claim.id: decision})
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


# --- payments seen on claims ---------------------------------------------------------------------


def record_payment_event(event_id: int, payload: dict) -> None:
    """Subscriber of ``payment.recorded`` for claim payments: the claim is paid once its approved total is."""
    if payload.get("kind") != "claim" or not payload.get("claim_id"):
        return
    _apply_payment(
        int(payload["claim_id"]),
        money(str(payload["amount"])),
        f"payment:{payload.get('payment_id') or event_id}",
        payload.get("paid_on"),
    )


def record_refund_event(event_id: int, payload: dict) -> None:
    if not payload.get("claim_id"):
        return
    _apply_payment(
        int(payload["claim_id"]),
        -money(str(payload["amount"])),
        f"refund:{payload.get('refund_id') or event_id}",
        payload.get("refunded_on"),
    )


def _apply_payment(claim_id: int, amount: Decimal, source: str, day) -> None:
    if db.session.scalar(select(ClaimPayment.id).where(ClaimPayment.source == source)):
        return
    claim = db.session.scalar(select(Claim).where(Claim.id == claim_id).with_for_update())
    if claim is None:
        return
    db.session.add(
        ClaimPayment(
            claim_id=claim.id,
            institution_id=claim.institution_id,
            company_id=claim.company_id,
            amount=amount,
            source=source,
            paid_on=date.fromisoformat(day) if day else clock.today(),
        )
    )
    claim.total_paid = money(claim.total_paid + amount)
    claim.version += 1
    db.session.flush()
    if (
        claim.status in (ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED)
        and claim.total_paid >= claim.total_approved
    ):
        _move(claim, ClaimStatus.PAID, by_id=None, note=f"paid {claim.total_paid:,.2f}")
    elif claim.status is ClaimStatus.PAID and claim.total_paid < claim.total_approved:
        decided = [item.decision for item in items_of(claim.id)]
        target = ClaimStatus.PARTIALLY_APPROVED if "rejected" in decided else ClaimStatus.APPROVED
        _move(claim, target, by_id=None, note=f"payment refunded: {claim.total_paid:,.2f} paid of the approved total")


def payable(tenant: Tenant, claim_id: int) -> Decimal:
    """What is still to pay on an approved claim (the payment domain refuses more)."""
    claim = get_claim(tenant, claim_id)
    if claim.status not in (ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED):
        return ZERO
    return max(ZERO, money(claim.total_approved - claim.total_paid))


def claim_ids_for_invoice(invoice_id: int) -> list[int]:
    """The claims (not void) billing an invoice's insurer part."""
    return list(
        db.session.scalars(select(Claim.id).where(Claim.invoice_id == invoice_id, Claim.status != ClaimStatus.VOID))
    )


@dataclass(frozen=True)
class PayableClaim:
    id: int
    claim_number: str
    company_id: int | None
    institution_id: int
    member_number: str
    service_date: date
    total_approved: Decimal
    invoice_id: int | None


def approved_claims(tenant: Tenant, *, institution_id: int, start: date, end: date) -> list[PayableClaim]:
    """A provider's approved and partly approved claims with service dates in a period (settlements)."""
    rows = db.session.scalars(
        claims_query(tenant, institution_id=institution_id, sort="age").where(
            Claim.status.in_((ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED)),
            Claim.service_date.between(start, end),
        )
    )
    return [
        PayableClaim(
            c.id,
            c.claim_number,
            c.company_id,
            c.institution_id,
            c.member_number,
            c.service_date,
            c.total_approved,
            c.invoice_id,
        )
        for c in rows
    ]


# --- reading -------------------------------------------------------------------------------------


def _insurer_only(tenant: Tenant) -> bool:
    return tenant.company_id is not None and tenant.institution_id is None


#: a provider's claims the insurer does not see: not yet submitted
UNSENT = (ClaimStatus.DRAFT, ClaimStatus.VOID)


def get_claim(tenant: Tenant, claim_id: int) -> Claim:
    claim = db.session.get(Claim, claim_id) if claim_id else None
    ensure_owned(tenant, claim)
    if _insurer_only(tenant) and claim.status in UNSENT:
        raise NotFound("No such record.")
    return claim


def items_of(claim_id: int) -> list[ClaimItem]:
    return _items_of([claim_id]).get(claim_id, [])


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


#: work-queue sort keys, allowlisted
SORTS = {
    "age": (Claim.submitted_at, Claim.id),
    "-age": (Claim.submitted_at.desc(), Claim.id.desc()),
    "amount": (Claim.total_billed, Claim.id),
    "-amount": (Claim.total_billed.desc(), Claim.id.desc()),
}


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
):
    stmt = scope(select(Claim), Claim, tenant)
    if _insurer_only(tenant):
        stmt = stmt.where(Claim.status.not_in(UNSENT))
    if status in {s.value for s in ClaimStatus}:
        stmt = stmt.where(Claim.status == ClaimStatus(status))
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
    if submitted_before is not None:
        stmt = stmt.where(func.date(Claim.submitted_at) <= submitted_before)
    return stmt.order_by(*SORTS.get(sort, SORTS["-age"]))


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


# --- usage for insurance's cover checks ----------------------------------------------------------


def usage_for(member_id: int, period_start: date, period_end: date) -> dict[int, Decimal]:
    """Approved amounts per benefit id of a member's finalised claims in a period."""
    rows = db.session.execute(
        select(ClaimItem.benefit_code, func.sum(ClaimItem.approved))
        .join(Claim, Claim.id == ClaimItem.claim_id)
        .where(
            Claim.member_id == member_id,
            Claim.status.in_(FINALISED),
            Claim.service_date.between(period_start, period_end),
            ClaimItem.decision.in_(("approved", "adjusted")),
        )
        .group_by(ClaimItem.benefit_code)
    ).all()
    ids = insurance.benefit_ids_by_code({code for code, _ in rows if code})
    return {ids[code]: money(str(total)) for code, total in rows if code in ids}


def register() -> None:
    insurance.register_usage_provider(usage_for)


def _audit(actor, action: str, claim: Claim, *, before=None, after=None) -> None:
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
