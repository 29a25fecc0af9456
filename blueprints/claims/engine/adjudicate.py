"""``decide``: the claim checks, then each line's checks and amounts in line order; and the decision that sums
the lines up (the claim's outcome, its codes, the review triggers, the benefit period)."""

from __future__ import annotations

from collections.abc import Iterable

from blueprints.claims.engine.amounts import OnClaim, first_steps, priced_line, rejected_line
from blueprints.claims.engine.inputs import BenefitTerms, ClaimIn, CoverageTerms, Facts, LineIn
from blueprints.claims.engine.outcomes import WAIVABLE, ClaimOutcome, Decision, LineDecision, LineOutcome
from blueprints.claims.engine.rules import applicable_coverage, filed_out_of_time, line_check
from blueprints.claims.engine.triggers import review_triggers
from blueprints.insurance.services import benefit_period
from medcover.money import ZERO, money


def decide(claim: ClaimIn, facts: Facts) -> Decision:
    """Decide ``claim`` as ADJUDICATION.md says: claim checks, line checks in line order, then amounts."""
    lines = sorted(claim.lines, key=lambda line: line.line_no)
    if not facts.member_found:
        return _rejected_claim(claim, facts, lines, "R01", None)
    coverage = applicable_coverage(facts.coverages, claim.service_date)
    if coverage is None:
        return _rejected_claim(claim, facts, lines, "R02", None)
    if filed_out_of_time(claim, coverage.scheme):
        return _rejected_claim(claim, facts, lines, "R03", coverage)

    on_claim = OnClaim()
    decided: list[LineDecision] = []
    for line in lines:
        tariff = facts.tariffs.get(line.service_code)
        code = line_check(claim, facts, coverage, line, tariff)
        waivable = None
        if code in WAIVABLE:
            # M02: the amounts as if the rule had not fired, against the usage this line saw (a benefit outside
            # the scheme has no copay terms: none is charged).
            terms = coverage.scheme.benefits.get(tariff.benefit_code) or BenefitTerms()
            waivable = first_steps(line, tariff, terms, coverage.scheme, facts.usage, on_claim)
        if code:
            decided.append(rejected_line(line, tariff.benefit_code if tariff else None, code, waivable))
            continue
        terms = coverage.scheme.benefits[tariff.benefit_code]
        decided.append(priced_line(line, tariff, terms, coverage.scheme, facts.usage, on_claim))
    return _decision(claim, decided, coverage, claim_code=None, facts=facts)


def _rejected_claim(
    claim: ClaimIn, facts: Facts, lines: list[LineIn], code: str, coverage: CoverageTerms | None
) -> Decision:
    decided = []
    for line in lines:
        tariff = facts.tariffs.get(line.service_code)
        decided.append(rejected_line(line, tariff.benefit_code if tariff else None, code))
    return _decision(claim, decided, coverage, claim_code=code)


def outcome_of(lines: Iterable[LineDecision]) -> ClaimOutcome:
    decisions = [line.decision for line in lines]
    rejected = decisions.count(LineOutcome.REJECTED)
    if rejected == 0:
        return ClaimOutcome.APPROVED
    if rejected == len(decisions):
        return ClaimOutcome.REJECTED
    return ClaimOutcome.PARTIALLY_APPROVED


def line_codes(lines: Iterable[LineDecision]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code for line in lines for code in line.reason_codes))


def _decision(
    claim: ClaimIn,
    lines: list[LineDecision],
    coverage: CoverageTerms | None,
    claim_code: str | None,
    facts: Facts | None = None,
) -> Decision:
    total_billed = money(sum((line.billed for line in lines), ZERO))
    outcome = outcome_of(lines)
    codes, duplicate, details = (), None, None
    if claim_code is None and coverage is not None and facts is not None:
        # A claim that R01-R03 rejected is never sent to review.
        codes, duplicate, details = review_triggers(claim, tuple(lines), total_billed, facts, coverage)
    review = bool(codes)
    return Decision(
        claim_id=claim.claim_id,
        status=ClaimOutcome.PENDING_REVIEW if review else outcome,
        outcome=outcome,
        total_billed=total_billed,
        total_approved=money(sum((line.approved for line in lines), ZERO)),
        review=review,
        lines=tuple(lines),
        reason_codes=(claim_code,) if claim_code else (*line_codes(lines), *codes),
        coverage_id=coverage.coverage_id if coverage else None,
        period=benefit_period(coverage.start_date, claim.service_date) if coverage else None,
        review_codes=codes,
        duplicate=duplicate,
        review_details=details or None,
    )
