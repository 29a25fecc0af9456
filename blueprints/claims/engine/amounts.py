"""The amounts of a line, steps 1 to 8 of ADJUDICATION.md: allowed, deductible, copay, payable, the per-visit,
benefit and scheme limits, approved; and the amounts of a rejected line. Two-place ``Decimal``, rounded half
up after every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from blueprints.claims.engine.inputs import BenefitTerms, LineIn, SchemeTerms, Tariff, Usage
from blueprints.claims.engine.outcomes import WAIVABLE, LineDecision, LineOutcome, Waivable
from medcover.money import ZERO, money, percent_of


@dataclass
class OnClaim:
    """What the earlier lines of this claim consumed; a rejected line adds nothing."""

    deductible: Decimal = ZERO
    approved: Decimal = ZERO
    approved_by_benefit: dict[str, Decimal] = field(default_factory=dict)


def first_steps(
    line: LineIn, tariff: Tariff, terms: BenefitTerms, scheme: SchemeTerms, usage: Usage, on_claim: OnClaim
) -> Waivable:
    """Steps 1-4: allowed, deductible, copay and payable, against the usage so far (``on_claim`` unchanged)."""
    # 1. allowed
    allowed = money(min(money(line.unit_price), money(tariff.unit_price)) * line.quantity)
    # 2. deductible
    deductible_left = left_of(scheme.deductible, usage.deductible_applied, on_claim.deductible)
    deductible = min(allowed, deductible_left)
    # 3. copay
    after_deductible = money(allowed - deductible)
    copay = min(after_deductible, money(percent_of(after_deductible, terms.copay_percent) + money(terms.copay_fixed)))
    # 4. payable
    return Waivable(allowed, deductible, copay, money(allowed - deductible - copay))


def priced_line(
    line: LineIn, tariff: Tariff, terms: BenefitTerms, scheme: SchemeTerms, usage: Usage, on_claim: OnClaim
) -> LineDecision:
    """A line that passed its checks, priced; R14/R15 when a limit has nothing left. ``on_claim`` takes what
    the line consumed."""
    billed = billed_of(line)
    benefit_code = tariff.benefit_code
    adjustments: list[str] = []
    steps = first_steps(line, tariff, terms, scheme, usage, on_claim)
    allowed, deductible, copay, payable = steps.allowed, steps.deductible, steps.copay, steps.payable
    if allowed < billed:
        adjustments.append("A01")
    on_claim_for_benefit = on_claim.approved_by_benefit.get(benefit_code, ZERO)
    # 5. per-visit limit: this benefit's lines on this claim
    if terms.per_visit_limit is not None:
        left = left_of(terms.per_visit_limit, on_claim_for_benefit)
        if payable > left:
            payable = left
            adjustments.append("A02")
    # 6. benefit limit
    if terms.annual_limit is not None:
        left = left_of(terms.annual_limit, usage.approved_by_benefit.get(benefit_code, ZERO), on_claim_for_benefit)
        if left <= ZERO:
            return rejected_line(line, benefit_code, "R14", steps)
        if payable > left:
            payable = left
            adjustments.append("A03")
    # 7. scheme limit
    if scheme.annual_limit is not None:
        left = left_of(scheme.annual_limit, usage.approved_total, on_claim.approved)
        if left <= ZERO:
            return rejected_line(line, benefit_code, "R15", steps)
        if payable > left:
            payable = left
            adjustments.append("A04")
    # 8. approved
    approved = payable
    on_claim.deductible = money(on_claim.deductible + deductible)
    on_claim.approved = money(on_claim.approved + approved)
    on_claim.approved_by_benefit[benefit_code] = money(on_claim_for_benefit + approved)
    return LineDecision(
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


def rejected_line(line: LineIn, benefit_code: str | None, code: str, waivable: Waivable | None = None) -> LineDecision:
    """Nothing allowed: the member is responsible for all that was billed. ``waivable``: what steps 1-4 give it
    as if the rule had not fired (M02), for the codes that may be waived."""
    billed = billed_of(line)
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
        waivable=waivable if code in WAIVABLE else None,
    )


def left_of(limit: Decimal, *used: Decimal) -> Decimal:
    """What is left of ``limit`` after ``used``, never below zero."""
    left = money(limit)
    for amount in used:
        left = money(left - amount)
    return max(left, ZERO)


def billed_of(line: LineIn) -> Decimal:
    return money(money(line.unit_price) * line.quantity)
