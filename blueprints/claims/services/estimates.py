"""One source of truth for an invoice's payer split (ADJUDICATION.md "Estimates"), answered for billing: the
engine's estimate on the invoice's lines for the patient's member and the invoice's service date, as of now,
recording and consuming nothing; once the invoice's claim is decided, the decision's amounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from blueprints.billing import services as billing
from blueprints.claims import engine
from blueprints.claims.models import Claim, ClaimItem, ClaimStatus
from blueprints.claims.services.facts import gather
from blueprints.claims.services.reading import items_by_claim
from medcover import clock
from medcover.extensions import db
from medcover.money import ZERO, money

#: a claim whose decision stands (a dispute open on it leaves it standing until resolved)
DECIDED = (
    ClaimStatus.APPROVED,
    ClaimStatus.PARTIALLY_APPROVED,
    ClaimStatus.PAID,
    ClaimStatus.REJECTED,
    ClaimStatus.DISPUTED,
)


@dataclass(frozen=True)
class _Probe:
    """The invoice seen as a claim by the fact gathering (never stored)."""

    id: int
    member_number: str
    institution_id: int
    service_date: object
    submitted_at: datetime | None


@dataclass(frozen=True)
class _Line:
    service_code: str


def invoice_split(request: billing.SplitRequest) -> billing.PayerSplit:
    """The decision's split when the invoice's claim is decided, else the engine's estimate (under review while
    the claim is pending review)."""
    claim = db.session.scalar(
        select(Claim).where(Claim.invoice_id == request.invoice_id, Claim.status != ClaimStatus.VOID)
    )
    if claim is not None and claim.status in DECIDED:
        return _decided(claim, request)
    basis = (
        billing.UNDER_REVIEW if claim is not None and claim.status is ClaimStatus.PENDING_REVIEW else billing.ESTIMATE
    )
    return estimate(request, own_claim=claim, basis=basis)


def estimate(request: billing.SplitRequest, *, own_claim: Claim | None = None, basis: str = "estimate"):
    """The engine on the invoice's lines as of now: claim-level checks and amounts, nothing recorded. The invoice's
    own claim, if any, is neither a duplicate of it nor usage against it."""
    number = request.member_number.strip().upper()
    probe = _Probe(
        id=own_claim.id if own_claim is not None else 0,
        member_number=number,
        institution_id=request.institution_id,
        service_date=request.service_date,
        submitted_at=own_claim.submitted_at if own_claim is not None else None,
    )
    lines = [_Line(line.service_code.strip().upper()) for line in request.lines]
    book = gather([probe], {probe.id: lines})
    facts = book.facts_for(probe, lines)
    claim_in = engine.ClaimIn(
        claim_id=None,
        member_number=number,
        institution_id=request.institution_id,
        service_date=request.service_date,
        submitted_on=max(clock.today(), request.service_date),
        lines=tuple(
            engine.LineIn(
                line.line_no,
                line.service_code.strip().upper(),
                max(line.quantity, 1),
                money(line.unit_price),
                _preauth_for(facts, line.service_code.strip().upper(), request.service_date),
            )
            for line in request.lines
        ),
    )
    decision = engine.decide(claim_in, facts)
    cover = book.covers.get(number)
    return billing.PayerSplit(
        basis=basis,
        company_id=cover.company_id if cover is not None else None,
        insurer_by_line={line.line_no: line.approved for line in decision.lines},
    )


def _preauth_for(facts: engine.Facts, service_code: str, day) -> str | None:
    """An invoice line carries no pre-authorisation code: the member's approved one for the line's benefit, valid
    on the day, stands in for it (a pending one does not: the insurer has not agreed yet)."""
    tariff = facts.tariffs.get(service_code)
    if tariff is None or not tariff.benefit_code:
        return None
    return next(
        (
            auth.code
            for auth in facts.preauths
            if auth.status == "approved"
            and auth.benefit_code == tariff.benefit_code
            and auth.valid_from <= day <= auth.valid_to
        ),
        None,
    )


def _decided(claim: Claim, request: billing.SplitRequest) -> billing.PayerSplit:
    """The decision's approved amounts put on the invoice's lines: each claim line on the first invoice line of
    the same service not yet matched."""
    items = sorted(items_by_claim([claim.id]).get(claim.id, []), key=lambda i: i.line_no)
    unmatched: list[ClaimItem] = list(items)
    by_line = {}
    for line in request.lines:
        code = line.service_code.strip().upper()
        match = next((item for item in unmatched if item.service_code == code), None)
        if match is None:
            by_line[line.line_no] = ZERO
            continue
        unmatched.remove(match)
        by_line[line.line_no] = money(match.approved or ZERO)
    return billing.PayerSplit(basis=billing.DECIDED, company_id=claim.company_id, insurer_by_line=by_line)


def register() -> None:
    billing.register_split_source(invoice_split)
