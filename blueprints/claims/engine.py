"""The adjudication engine: decides a claim exactly as ADJUDICATION.md says, as a pure function.

No Flask, no database, no clock: the caller gathers everything the rules read from the other domains
into :class:`Facts`, calls :func:`decide`, and keeps the :class:`Decision` with who decided and when.
Same inputs, same result, every time. Money is two-place ``Decimal``, rounded half up after every step.

Readings of the contract where its words leave a choice (each one is also said where it is applied):

- Which coverage: the ``active`` one with ``start_date <= service_date <= end_date``; should several
  qualify, the latest start wins (as insurance's coverage verification does).
- R03: ``submitted_on - service_date`` may be exactly ``timely_filing_days``; one day more is late.
- R04 compares with *other* claims only (``Facts.duplicates``); the same code twice on one claim is not
  a duplicate.
- R12: the line's code must name a pre-authorisation of ``Facts.preauths`` (the member's) that is
  ``approved``, for the line's benefit, with ``valid_from <= service_date <= valid_to``.
- R13 counts finalised claims only (``Usage.visits_by_benefit``): the claim being decided is the visit
  being asked for, so its own earlier lines never count as a visit against its later lines; otherwise a
  second line of the same visit could be refused for the visit the first line is part of.
- Copay: ``copay_fixed`` is charged per line, as step 3 is written per line; the percentage is one step
  (``medcover.money.percent_of``: ``amount x percent / 100``, rounded once).
- R14/R15 fire when the limit has nothing left before the line (``<= 0``), whatever the line's payable;
  A02/A03/A04 are added only when the cut actually lowered the payable. The per-visit limit has no
  R-code: with nothing left a line is cut to 0.00 and is ``adjusted`` (A02).
- A rejected line shows ``allowed``, ``deductible``, ``copay`` and ``approved`` as 0.00 and
  ``member_responsibility = billed``.
- Review threshold: any claim whose scheme is known (so past R01 and R02) and whose total billed is
  ``>=`` the threshold goes to ``pending_review``, an R03-rejected one too; ``outcome`` carries what the
  rules alone decided.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from blueprints.insurance.services import benefit_period
from medcover.money import ZERO, money, percent_of

__all__ = [
    "REASONS",
    "BenefitTerms",
    "ClaimIn",
    "ClaimOutcome",
    "CoverageTerms",
    "Decision",
    "Facts",
    "LineDecision",
    "LineIn",
    "LineOutcome",
    "OverrideRefused",
    "PreAuth",
    "SchemeTerms",
    "Tariff",
    "Usage",
    "applicable_coverage",
    "apply_overrides",
    "benefit_period",
    "decide",
]

DEFAULT_TIMELY_FILING_DAYS = 180

#: Every code the engine (R, A) or an adjudicator (M) puts on a decision, in words for adjudicators and
#: claim letters.
REASONS: dict[str, str] = {
    "R01": "No member has this member number.",
    "R02": "The member had no active cover on the service date.",
    "R03": "The claim was submitted before the service date or after the scheme's time limit for filing.",
    "R04": "This service for this member, provider and date is already on another claim.",
    "R07": "The provider has no tariff price for this service on the service date.",
    "R10": "The member's scheme does not cover this benefit.",
    "R11": "The benefit's waiting period had not ended on the service date.",
    "R12": "The benefit needs a pre-authorisation, and the line has no approved one valid on the service date.",
    "R13": "The member has used all visits this scheme allows for this benefit in the period.",
    "R14": "The member has used the whole annual limit of this benefit for the period.",
    "R15": "The member has used the whole annual limit of the scheme for the period.",
    "A01": "The billed price is above the provider's tariff; the tariff price is allowed.",
    "A02": "The amount was cut to the benefit's limit per visit.",
    "A03": "The amount was cut to what is left of the benefit's annual limit.",
    "A04": "The amount was cut to what is left of the scheme's annual limit.",
    "M01": "An adjudicator set the approved amount by hand, with a note.",
}

_FINALISED_LINE = ("approved", "adjusted")


class LineOutcome(enum.StrEnum):
    APPROVED = "approved"
    ADJUSTED = "adjusted"
    REJECTED = "rejected"


class ClaimOutcome(enum.StrEnum):
    """The claim statuses the engine can reach; the values are the claim statuses' own."""

    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    REJECTED = "rejected"
    PENDING_REVIEW = "pending_review"


class OverrideRefused(ValueError):
    """An adjudicator's override breaks a rule (above allowed, negative, unknown or rejected line, no note)."""


# --- What the engine reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineIn:
    line_no: int
    service_code: str
    quantity: int
    #: the price the provider billed for one unit
    unit_price: Decimal
    preauth_code: str | None = None

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError(f"line {self.line_no}: quantity must be 1 or more")
        if money(self.unit_price) < ZERO:
            raise ValueError(f"line {self.line_no}: unit price must not be negative")


@dataclass(frozen=True)
class ClaimIn:
    claim_id: int | None
    member_number: str
    institution_id: int
    service_date: date
    submitted_on: date
    lines: tuple[LineIn, ...]

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("a claim has one or more lines")
        numbers = [line.line_no for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line numbers must be unique on a claim")


@dataclass(frozen=True)
class BenefitTerms:
    """A benefit's terms in a scheme; a null limit means no limit."""

    covered: bool = True
    annual_limit: Decimal | None = None
    per_visit_limit: Decimal | None = None
    copay_percent: Decimal = Decimal("0")
    copay_fixed: Decimal = ZERO
    waiting_period_days: int = 0
    requires_preauth: bool = False
    max_visits: int | None = None


@dataclass(frozen=True)
class SchemeTerms:
    scheme_id: int
    deductible: Decimal = ZERO
    #: across all benefits, per member per benefit period; null: no limit
    annual_limit: Decimal | None = None
    timely_filing_days: int = DEFAULT_TIMELY_FILING_DAYS
    #: claims billing this much or more go to an adjudicator; null: never
    review_threshold: Decimal | None = None
    #: benefit code -> terms; a benefit missing here is not in the scheme
    benefits: Mapping[str, BenefitTerms] = field(default_factory=dict)


@dataclass(frozen=True)
class CoverageTerms:
    start_date: date
    #: inclusive
    end_date: date
    status: str
    scheme: SchemeTerms
    coverage_id: int | None = None


@dataclass(frozen=True)
class Tariff:
    """The provider's price for a service on the service date, and the benefit it maps the service to."""

    unit_price: Decimal
    benefit_code: str | None


@dataclass(frozen=True)
class Usage:
    """What the member's finalised claims consumed in the benefit period of the applicable coverage."""

    deductible_applied: Decimal = ZERO
    approved_by_benefit: Mapping[str, Decimal] = field(default_factory=dict)
    approved_total: Decimal = ZERO
    #: finalised claims with an approved or adjusted line of the benefit
    visits_by_benefit: Mapping[str, int] = field(default_factory=dict)

    def plus(self, decision: Decision) -> Usage:
        """The usage once ``decision`` is finalised, as the caller would read it back from the database.

        For tests and previews; a decision still pending review consumes nothing until it is decided.
        """
        if decision.status == ClaimOutcome.PENDING_REVIEW:
            raise ValueError("a claim pending review is not finalised; apply the adjudicator's decision first")
        approved = dict(self.approved_by_benefit)
        visits = dict(self.visits_by_benefit)
        visited: set[str] = set()
        for line in decision.lines:
            if line.decision not in _FINALISED_LINE or line.benefit_code is None:
                continue
            approved[line.benefit_code] = money(approved.get(line.benefit_code, ZERO) + line.approved)
            visited.add(line.benefit_code)
        for code in visited:
            visits[code] = visits.get(code, 0) + 1
        return Usage(
            deductible_applied=money(self.deductible_applied + sum((ln.deductible for ln in decision.lines), ZERO)),
            approved_by_benefit=approved,
            approved_total=money(self.approved_total + decision.total_approved),
            visits_by_benefit=visits,
        )


@dataclass(frozen=True)
class PreAuth:
    code: str
    benefit_code: str
    status: str
    valid_from: date
    #: inclusive
    valid_to: date


@dataclass(frozen=True)
class Facts:
    """Everything the rules read from other domains, gathered by the caller for this claim."""

    member_found: bool
    #: the member's coverages, any status
    coverages: tuple[CoverageTerms, ...] = ()
    #: service code -> the provider's tariff on the service date; missing: R07
    tariffs: Mapping[str, Tariff] = field(default_factory=dict)
    #: for the benefit period (see :func:`benefit_period`) of :func:`applicable_coverage`
    usage: Usage = field(default_factory=Usage)
    #: the member's pre-authorisations
    preauths: tuple[PreAuth, ...] = ()
    #: service codes of this member, provider and service date on other claims not rejected, void or draft
    duplicates: frozenset[str] = frozenset()


# --- What the engine answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class LineDecision:
    line_no: int
    service_code: str
    benefit_code: str | None
    quantity: int
    unit_price: Decimal
    billed: Decimal
    allowed: Decimal
    deductible: Decimal
    copay: Decimal
    approved: Decimal
    #: allowed - approved; billed for a rejected line
    member_responsibility: Decimal
    decision: LineOutcome
    reason_codes: tuple[str, ...]
    #: the adjudicator's note with an M01 override
    note: str | None = None

    @property
    def write_off(self) -> Decimal:
        """What the provider billed above the allowed amount and cannot charge anyone."""
        return ZERO if self.decision == LineOutcome.REJECTED else money(self.billed - self.allowed)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(REASONS[code] for code in self.reason_codes)


@dataclass(frozen=True)
class Decision:
    claim_id: int | None
    #: the claim's next status: ``outcome``, or ``pending_review`` when the review threshold is reached
    status: ClaimOutcome
    #: what the rules decided (approved, partially_approved or rejected): the proposal under review
    outcome: ClaimOutcome
    total_billed: Decimal
    total_approved: Decimal
    #: the total billed reached the scheme's review threshold
    review: bool
    lines: tuple[LineDecision, ...]
    #: the claim-level code alone when one fired, else the lines' codes in order of first appearance
    reason_codes: tuple[str, ...]
    coverage_id: int | None = None
    #: the benefit period the usage was read for (None when no coverage applied)
    period: tuple[date, date] | None = None

    @property
    def total_member_responsibility(self) -> Decimal:
        return money(sum((line.member_responsibility for line in self.lines), ZERO))

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(REASONS[code] for code in self.reason_codes)


# --- The rules ---------------------------------------------------------------------------------------


def applicable_coverage(coverages: Iterable[CoverageTerms], service_date: date) -> CoverageTerms | None:
    """The ``active`` coverage covering the service date; the latest start should several (R02 if none)."""
    covering = [
        cover for cover in coverages if cover.status == "active" and cover.start_date <= service_date <= cover.end_date
    ]
    return max(covering, key=lambda cover: cover.start_date, default=None)


def decide(claim: ClaimIn, facts: Facts) -> Decision:
    """Decide ``claim`` as ADJUDICATION.md says: claim checks, line checks in line order, then amounts."""
    lines = sorted(claim.lines, key=lambda line: line.line_no)
    if not facts.member_found:
        return _rejected_claim(claim, facts, lines, "R01", None)
    coverage = applicable_coverage(facts.coverages, claim.service_date)
    if coverage is None:
        return _rejected_claim(claim, facts, lines, "R02", None)
    if _filed_out_of_time(claim, coverage.scheme):
        return _rejected_claim(claim, facts, lines, "R03", coverage)

    scheme = coverage.scheme
    usage = facts.usage
    # What the earlier lines of this claim consumed; a rejected line adds nothing.
    deductible_on_claim = ZERO
    approved_on_claim = ZERO
    approved_on_claim_by_benefit: dict[str, Decimal] = {}

    decided: list[LineDecision] = []
    for line in lines:
        billed = _billed(line)
        tariff = facts.tariffs.get(line.service_code)
        benefit_code = tariff.benefit_code if tariff else None
        code = _line_check(claim, facts, coverage, line, tariff)
        if code:
            decided.append(_rejected_line(line, benefit_code, code))
            continue
        terms = scheme.benefits[benefit_code]
        adjustments: list[str] = []

        # 1. allowed
        allowed = money(min(money(line.unit_price), money(tariff.unit_price)) * line.quantity)
        if allowed < billed:
            adjustments.append("A01")
        # 2. deductible
        deductible_left = _left(scheme.deductible, usage.deductible_applied, deductible_on_claim)
        deductible = min(allowed, deductible_left)
        # 3. copay
        after_deductible = money(allowed - deductible)
        copay = min(
            after_deductible, money(percent_of(after_deductible, terms.copay_percent) + money(terms.copay_fixed))
        )
        # 4. payable
        payable = money(allowed - deductible - copay)
        on_claim_for_benefit = approved_on_claim_by_benefit.get(benefit_code, ZERO)
        # 5. per-visit limit: this benefit's lines on this claim
        if terms.per_visit_limit is not None:
            left = _left(terms.per_visit_limit, on_claim_for_benefit)
            if payable > left:
                payable = left
                adjustments.append("A02")
        # 6. benefit limit
        if terms.annual_limit is not None:
            left = _left(terms.annual_limit, usage.approved_by_benefit.get(benefit_code, ZERO), on_claim_for_benefit)
            if left <= ZERO:
                decided.append(_rejected_line(line, benefit_code, "R14"))
                continue
            if payable > left:
                payable = left
                adjustments.append("A03")
        # 7. scheme limit
        if scheme.annual_limit is not None:
            left = _left(scheme.annual_limit, usage.approved_total, approved_on_claim)
            if left <= ZERO:
                decided.append(_rejected_line(line, benefit_code, "R15"))
                continue
            if payable > left:
                payable = left
                adjustments.append("A04")
        # 8. approved
        approved = payable
        decided.append(
            LineDecision(
                line_no=line.line_no,
                service_code=line.service_code,
                benefit_code=benefit_code,
                quantity=line.quantity,
                unit_price=money(line.unit_price),
                billed=billed,
                allowed=allowed,
                deductible=deductible,
                copay=copay,
                approved=approved,
                member_responsibility=money(allowed - approved),
                decision=LineOutcome.ADJUSTED if adjustments else LineOutcome.APPROVED,
                reason_codes=tuple(adjustments),
            )
        )
        deductible_on_claim = money(deductible_on_claim + deductible)
        approved_on_claim = money(approved_on_claim + approved)
        approved_on_claim_by_benefit[benefit_code] = money(on_claim_for_benefit + approved)

    return _decision(claim, decided, coverage, claim_code=None)


def apply_overrides(decision: Decision, overrides: Mapping[int, tuple[Decimal, str]]) -> Decision:
    """The adjudicator's decision (M01): ``{line_no: (approved amount, note)}``; no overrides accepts the proposal.

    An amount may be anything from 0.00 to the line's ``allowed``; a rejected line cannot be overridden
    (its allowed is 0.00: decide the claim again with the missing facts instead). Every overridden line
    gets M01 and the note, and becomes ``adjusted`` when its amount changed. The status is the outcome
    of the lines again (never ``pending_review``); ``review`` still says the threshold was reached.
    """
    known = {line.line_no for line in decision.lines}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise OverrideRefused(f"no line {', '.join(map(str, unknown))} on this claim")
    lines = []
    for line in decision.lines:
        if line.line_no not in overrides:
            lines.append(line)
            continue
        amount, note = overrides[line.line_no]
        amount = money(amount)
        note = (note or "").strip()
        if line.decision == LineOutcome.REJECTED:
            raise OverrideRefused(f"line {line.line_no} was rejected ({', '.join(line.reason_codes)})")
        if not note:
            raise OverrideRefused(f"line {line.line_no}: an override needs a note")
        if amount < ZERO:
            raise OverrideRefused(f"line {line.line_no}: the approved amount cannot be negative")
        if amount > line.allowed:
            raise OverrideRefused(f"line {line.line_no}: {amount} is above the allowed {line.allowed}")
        changed = amount != line.approved
        lines.append(
            replace(
                line,
                approved=amount,
                member_responsibility=money(line.allowed - amount),
                decision=LineOutcome.ADJUSTED if changed else line.decision,
                reason_codes=line.reason_codes if "M01" in line.reason_codes else (*line.reason_codes, "M01"),
                note=note,
            )
        )
    outcome = _outcome(lines)
    return replace(
        decision,
        status=outcome,
        outcome=outcome,
        total_approved=money(sum((line.approved for line in lines), ZERO)),
        lines=tuple(lines),
        # A claim-level rejection has its code on every line, and its lines cannot be overridden.
        reason_codes=_line_codes(lines),
    )


# --- Pieces ------------------------------------------------------------------------------------------


def _filed_out_of_time(claim: ClaimIn, scheme: SchemeTerms) -> bool:
    days = scheme.timely_filing_days if scheme.timely_filing_days is not None else DEFAULT_TIMELY_FILING_DAYS
    # Exactly ``days`` before the submission is still in time: "more than" is what rejects.
    return claim.service_date > claim.submitted_on or claim.service_date < claim.submitted_on - timedelta(days=days)


def _line_check(
    claim: ClaimIn, facts: Facts, coverage: CoverageTerms, line: LineIn, tariff: Tariff | None
) -> str | None:
    """The first line check that fires, in ADJUDICATION.md's order: R07, R04, R10, R11, R12, R13."""
    if tariff is None:
        return "R07"
    if line.service_code in facts.duplicates:
        return "R04"
    terms = coverage.scheme.benefits.get(tariff.benefit_code) if tariff.benefit_code else None
    if terms is None or not terms.covered:
        return "R10"
    if claim.service_date < coverage.start_date + timedelta(days=terms.waiting_period_days):
        return "R11"
    if terms.requires_preauth and not _preauthorised(line, tariff.benefit_code, facts.preauths, claim.service_date):
        return "R12"
    # Finalised claims only: this claim is the visit asked for (module docstring).
    if terms.max_visits is not None and facts.usage.visits_by_benefit.get(tariff.benefit_code, 0) >= terms.max_visits:
        return "R13"
    return None


def _preauthorised(line: LineIn, benefit_code: str, preauths: Iterable[PreAuth], day: date) -> bool:
    code = (line.preauth_code or "").strip()
    return bool(code) and any(
        auth.code == code
        and auth.status == "approved"
        and auth.benefit_code == benefit_code
        and auth.valid_from <= day <= auth.valid_to
        for auth in preauths
    )


def _left(limit: Decimal, *used: Decimal) -> Decimal:
    """What is left of ``limit`` after ``used``, never below zero."""
    left = money(limit)
    for amount in used:
        left = money(left - amount)
    return max(left, ZERO)


def _billed(line: LineIn) -> Decimal:
    return money(money(line.unit_price) * line.quantity)


def _rejected_line(line: LineIn, benefit_code: str | None, code: str) -> LineDecision:
    billed = _billed(line)
    return LineDecision(
        line_no=line.line_no,
        service_code=line.service_code,
        benefit_code=benefit_code,
        quantity=line.quantity,
        unit_price=money(line.unit_price),
        billed=billed,
        allowed=ZERO,
        deductible=ZERO,
        copay=ZERO,
        approved=ZERO,
        member_responsibility=billed,
        decision=LineOutcome.REJECTED,
        reason_codes=(code,),
    )


def _rejected_claim(
    claim: ClaimIn, facts: Facts, lines: list[LineIn], code: str, coverage: CoverageTerms | None
) -> Decision:
    decided = []
    for line in lines:
        tariff = facts.tariffs.get(line.service_code)
        decided.append(_rejected_line(line, tariff.benefit_code if tariff else None, code))
    return _decision(claim, decided, coverage, claim_code=code)


def _outcome(lines: Iterable[LineDecision]) -> ClaimOutcome:
    decisions = [line.decision for line in lines]
    rejected = decisions.count(LineOutcome.REJECTED)
    if rejected == 0:
        return ClaimOutcome.APPROVED
    if rejected == len(decisions):
        return ClaimOutcome.REJECTED
    return ClaimOutcome.PARTIALLY_APPROVED


def _line_codes(lines: Iterable[LineDecision]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code for line in lines for code in line.reason_codes))


def _decision(
    claim: ClaimIn, lines: list[LineDecision], coverage: CoverageTerms | None, claim_code: str | None
) -> Decision:
    total_billed = money(sum((line.billed for line in lines), ZERO))
    outcome = _outcome(lines)
    threshold = coverage.scheme.review_threshold if coverage else None
    review = threshold is not None and total_billed >= money(threshold)
    return Decision(
        claim_id=claim.claim_id,
        status=ClaimOutcome.PENDING_REVIEW if review else outcome,
        outcome=outcome,
        total_billed=total_billed,
        total_approved=money(sum((line.approved for line in lines), ZERO)),
        review=review,
        lines=tuple(lines),
        reason_codes=(claim_code,) if claim_code else _line_codes(lines),
        coverage_id=coverage.coverage_id if coverage else None,
        period=benefit_period(coverage.start_date, claim.service_date) if coverage else None,
    )
