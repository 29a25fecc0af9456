"""Submission and deciding: a draft locked and decided by the engine (here and now on the embedded default, on
a worker with Redis), decided again on new facts, and the batch form deciding many claims set-based."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from blueprints.claims import engine
from blueprints.claims.models import Claim, ClaimStatus
from blueprints.claims.services import decision_batch, voids
from blueprints.claims.services.access import DECIDERS, PROVIDER_WRITERS
from blueprints.claims.services.decisions import announce, decision_of, decision_writes, store
from blueprints.claims.services.facts import claim_in, gather
from blueprints.claims.services.intake import draft_for_write
from blueprints.claims.services.reading import claim_row, items_by_claim, items_of, line_rows
from blueprints.claims.services.review import manual_lines
from blueprints.claims.services.transitions import audit, move_claim
from medcover import clock, requested_work
from medcover.bulk import among, autoflush, collector_paused
from medcover.errors import Conflict, Forbidden, Invalid
from medcover.extensions import db
from medcover.rbac import tenant_of

#: claims decided per chunk of the batch form (a fixed number of writes each)
BATCH = 500
#: claims the batch form reads and gathers the facts of at once (a fixed number of reads each): the bigger, the
#: fewer times a member's earlier claims are read again (at 100,000 claims, one span decides 17 % faster than
#: five); deciding 100,000 claims in one span grew the process by 358-465 MB, the decisions included
SPAN = 100_000


def decides_in_background() -> bool:
    return bool(current_app.config.get("REDIS_URL")) and current_app.config.get("CLAIMS_DECIDE_INLINE") is not True


def submit_claim(*, actor, claim_id: int) -> Claim:
    """Lock the draft and have it decided: here and now on the embedded default, on a worker with Redis. A
    replacement voids its original first, in the same transaction (and takes over its invoice), so it is decided
    as if the original had never existed."""
    claim = draft_for_write(actor, claim_id)
    now = clock.now()
    taken = {}
    if claim.replaces_id:
        original = voids.void_replaced(actor, claim)
        if original.invoice_id and not claim.invoice_id:
            taken["invoice_id"] = original.invoice_id
    move_claim(
        claim, ClaimStatus.SUBMITTED, by_id=actor.id, submitted_at=now, submitted_on=clock.local_date(now), **taken
    )
    audit(actor, "submit", claim, before={"status": "draft"}, after={"status": "submitted"})
    if decides_in_background():
        requested_work.request(decide_submitted, [claim.id], about=("claim", claim.id))
    else:
        decide_claims([claim.id])
        db.session.refresh(claim)
    return claim


def decision_request(claim_id: int) -> requested_work.Requested | None:
    """The request to decide a submitted claim (on a worker): waiting since when, interrupted and retrying."""
    return requested_work.state_of("claim", [claim_id]).get(str(claim_id))


def process_claim(*, actor, claim_id: int) -> Claim:
    """Run the engine again on a submitted or pending-review claim (new facts: a pre-auth approved ...)."""
    claim = claim_row(tenant_of(actor), claim_id)
    if actor.role not in DECIDERS | PROVIDER_WRITERS:
        raise Forbidden("You may not re-run claims.")
    if claim.status not in (ClaimStatus.SUBMITTED, ClaimStatus.PENDING_REVIEW):
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only submitted or pending claims re-run.")
    decide_claims([claim.id])
    db.session.refresh(claim)
    return claim


def decide_submitted(claim_ids: list[int]) -> int:
    """The job: decide those claims still waiting to be decided (idempotent: a claim the engine decided already,
    even one now waiting for a person's review, is skipped; a late or repeated job changes nothing)."""
    return len(decide_claims(claim_ids, statuses=(ClaimStatus.SUBMITTED,)))


def decide_claims(
    claim_ids, *, statuses=(ClaimStatus.SUBMITTED, ClaimStatus.PENDING_REVIEW), one_by_one: bool = False
) -> dict[int, engine.Decision]:
    """The batch form: decide many claims in submission order, each seeing the usage and duplicates of those
    decided before it. The claims are read and their facts gathered a ``SPAN`` at a time (a fixed number of
    reads: a member's earlier claims are read once a span, not once for each chunk that holds one of theirs),
    and the decisions written a chunk of ``BATCH`` at a time (a fixed number of writes). ``one_by_one`` writes
    each claim's decision as it is made (``store``), the claim-by-claim path the batch must equal."""
    ids = sorted({int(i) for i in claim_ids})
    decisions: dict[int, engine.Decision] = {}
    autoflush()  # the reads below are Core
    with collector_paused():
        for start in range(0, len(ids), SPAN):
            _decide_span(ids[start : start + SPAN], statuses, decisions, one_by_one)
    return decisions


def _decide_span(span: list[int], statuses, decisions: dict[int, engine.Decision], one_by_one: bool) -> None:
    """Read the span's claims still in ``statuses`` and their lines, gather their facts once into a book, then
    decide and write them a chunk at a time; the book folds in each decision, so the chunks after see it as a
    read of what was written would have shown them."""
    if one_by_one:
        claims = list(db.session.scalars(_span_query(select(Claim), span, statuses)))
        items = items_by_claim(c.id for c in claims)
    else:
        # plain rows, not entities: the batch writes set-based and never needs the session to track them
        claims = db.session.execute(_span_query(select(*BATCH_COLUMNS), span, statuses)).all()
        items = line_rows(c.id for c in claims)
    if not claims:
        return
    book = gather(claims, items)
    for first in range(0, len(claims), BATCH):
        _decide_chunk(claims[first : first + BATCH], items, book, decisions, one_by_one)


def _decide_chunk(claims, items, book, decisions: dict[int, engine.Decision], one_by_one: bool) -> None:
    """Decide these claims in order, each folded into the span's book for those after it, and write them."""
    writes = []
    for claim in claims:
        lines = items.get(claim.id, [])
        facts = book.facts_for(claim, lines)
        decision = engine.decide(claim_in(claim, lines), facts)
        cover = engine.applicable_coverage(facts.coverages, claim.service_date)
        scheme_id = cover.scheme.scheme_id if cover else None
        if one_by_one:
            store(claim, lines, decision, source="engine", by_id=None, scheme_id=scheme_id)
        else:
            writes.append(decision_writes(claim, lines, decision, source="engine", by_id=None, scheme_id=scheme_id))
        book.record(claim, decision)
        decisions[claim.id] = decision
    if one_by_one:
        db.session.flush()
        announce(claims, decisions)
    else:
        decision_batch.send(writes, decisions)


#: what the batch reads of a claim: what the engine, its facts and the writes use (``decision_writes``,
#: ``decided_payloads``); the claim's earlier decision (its JSON columns) is not read, it is written over
BATCH_COLUMNS = tuple(
    Claim.__table__.c[name]
    for name in (
        "id",
        "claim_number",
        "institution_id",
        "company_id",
        "member_number",
        "service_date",
        "diagnosis_codes",
        "status",
        "submitted_at",
        "submitted_on",
        "invoice_id",
        "scheme_id",
        "version",
    )
)


def _span_query(query, span: list[int], statuses):
    """The span's claims still in one of ``statuses``, in submission order, locked (skipping those another
    worker holds)."""
    return (
        query.where(among(Claim.id, span), Claim.status.in_(statuses))
        .order_by(Claim.submitted_at, Claim.id)
        .with_for_update(skip_locked=True)
    )


@dataclass(frozen=True)
class Redecision:
    """A dispute's new decision worked out, nothing written: the engine's proposal as of the original
    submission, the decision in force before, and the new decision with the manual decisions applied."""

    items: list
    proposal: engine.Decision
    earlier: engine.Decision
    decision: engine.Decision
    scheme_id: int | None

    @property
    def changed(self) -> list[int]:
        return engine.changed_lines(self.earlier, self.decision)


def proposal_again(claim: Claim, items: list | None = None) -> tuple[engine.Decision, engine.Facts]:
    """The engine's proposal for the claim as of its original submission, seeing the claims submitted before it
    (never this one): what a dispute upheld starts from. Nothing is written."""
    items = items_of(claim.id) if items is None else items
    facts = gather([claim], {claim.id: items}).facts_for(claim, items, earlier_only=True)
    return engine.decide(claim_in(claim, items), facts), facts


def redecision(claim: Claim, overrides: dict | None = None) -> Redecision:
    """The engine decides the claim again as of its original submission, seeing the same earlier claims (never
    this one); the adjudicator's earlier M01/M02/M03 decisions are kept unless ``overrides`` changes them."""
    items = items_of(claim.id)
    proposal, facts = proposal_again(claim, items)
    earlier = decision_of(claim, items)
    try:
        decision = engine.redecide(proposal, earlier, manual_lines(overrides or {}, items))
    except engine.OverrideRefused as exc:
        raise Invalid.field("overrides", f"Decided again, {exc}.") from None
    cover = engine.applicable_coverage(facts.coverages, claim.service_date)
    return Redecision(items, proposal, earlier, decision, cover.scheme.scheme_id if cover else None)
