"""An adjudicator's decision on the engine's proposal: a line's amount set by hand (M01), a rejected line's rule
waived (M02), a line rejected (M03); and the whole claim rejected with a reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from blueprints.claims.engine.adjudicate import line_codes, outcome_of
from blueprints.claims.engine.outcomes import (
    ClaimOutcome,
    Decision,
    LineDecision,
    LineOutcome,
    ManualLine,
    OverrideRefused,
)
from medcover.money import ZERO, money


def manual(value: ManualLine | tuple) -> ManualLine:
    """``(amount, note)`` (the older form) or a :class:`ManualLine`."""
    if isinstance(value, ManualLine):
        return value
    amount, note = value
    return ManualLine(note=note, approved=amount)


def _with_code(codes: tuple[str, ...], code: str) -> tuple[str, ...]:
    return codes if code in codes else (*codes, code)


def _decided_line(line: LineDecision, choice: ManualLine) -> LineDecision:
    note = (choice.note or "").strip()
    if not note:
        raise OverrideRefused(f"line {line.line_no}: a manual decision needs a note")
    if choice.reject:
        return replace(
            line,
            allowed=ZERO,
            deductible=ZERO,
            copay=ZERO,
            approved=ZERO,
            member_responsibility=line.billed,
            decision=LineOutcome.REJECTED,
            reason_codes=_with_code(line.reason_codes, "M03"),
            note=note,
            waivable=None,
        )
    if choice.approved is None:
        raise OverrideRefused(f"line {line.line_no}: give the amount to approve")
    amount = money(choice.approved)
    if amount < ZERO:
        raise OverrideRefused(f"line {line.line_no}: the approved amount cannot be negative")
    if line.decision == LineOutcome.REJECTED:
        # M02: waive the rule, at most what steps 1-4 give the line; the limits are what is waived.
        if line.waivable is None:
            raise OverrideRefused(
                f"line {line.line_no} was rejected ({', '.join(line.reason_codes)}) and cannot be waived"
            )
        if amount > line.waivable.payable:
            raise OverrideRefused(
                f"line {line.line_no}: at most {line.waivable.payable:,.2f} can be approved, what it would be paid "
                "without the rule"
            )
        return replace(
            line,
            allowed=line.waivable.allowed,
            deductible=line.waivable.deductible,
            copay=line.waivable.copay,
            approved=amount,
            member_responsibility=money(line.waivable.allowed - amount),
            decision=LineOutcome.ADJUSTED,
            reason_codes=_with_code(line.reason_codes, "M02"),
            note=note,
        )
    # M01 on an approved or adjusted line: anything from 0.00 to allowed.
    if amount > line.allowed:
        raise OverrideRefused(f"line {line.line_no}: at most the allowed {line.allowed:,.2f} can be approved")
    changed = amount != line.approved
    return replace(
        line,
        approved=amount,
        member_responsibility=money(line.allowed - amount),
        decision=LineOutcome.ADJUSTED if changed else line.decision,
        reason_codes=_with_code(line.reason_codes, "M01"),
        note=note,
    )


def apply_overrides(decision: Decision, overrides: Mapping[int, ManualLine | tuple[Decimal, str]]) -> Decision:
    """The adjudicator's decision: ``{line_no: ManualLine | (approved amount, note)}``; none accepts the proposal.

    - M01: an approved or adjusted line's amount, from 0.00 to its ``allowed``; ``adjusted`` when it changed.
    - M02: a line rejected R04 or R10-R15 approved at most its ``waivable.payable``; it becomes ``adjusted``,
      keeps its R-code, adds M02 and records the waivable deductible and copay. R01-R03 and R07 are refused.
    - M03: ``reject=True`` rejects the line with the note as its reason.

    Amounts on other lines are not recomputed. The status is the outcome of the lines again (never
    ``pending_review``); ``review`` still says the threshold was reached.
    """
    known = {line.line_no for line in decision.lines}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise OverrideRefused(f"no line {', '.join(map(str, unknown))} on this claim")
    lines = [
        _decided_line(line, manual(overrides[line.line_no])) if line.line_no in overrides else line
        for line in decision.lines
    ]
    outcome = outcome_of(lines)
    return replace(
        decision,
        status=outcome,
        outcome=outcome,
        total_approved=money(sum((line.approved for line in lines), ZERO)),
        lines=tuple(lines),
        # A claim-level rejection has its code on every line, and its lines cannot be waived.
        reason_codes=line_codes(lines),
    )


def reject_all(decision: Decision, reason: str) -> Decision:
    """M03 on the whole claim: every line rejected with the reason."""
    lines = tuple(_decided_line(line, ManualLine(note=reason, reject=True)) for line in decision.lines)
    return replace(
        decision,
        status=ClaimOutcome.REJECTED,
        outcome=ClaimOutcome.REJECTED,
        total_approved=ZERO,
        lines=lines,
        reason_codes=line_codes(lines),
    )


def earlier_manual(earlier: Decision) -> dict[int, ManualLine]:
    """The adjudicator's decisions (M01, M02, M03) on the lines of an earlier decision, as they would be given
    again: a rejection for M03, the approved amount otherwise."""
    kept: dict[int, ManualLine] = {}
    for line in earlier.lines:
        if "M03" in line.reason_codes and line.decision == LineOutcome.REJECTED:
            kept[line.line_no] = ManualLine(note=line.note or "Rejected by an adjudicator", reject=True)
        elif "M01" in line.reason_codes or "M02" in line.reason_codes:
            kept[line.line_no] = ManualLine(note=line.note or "Set by an adjudicator", approved=line.approved)
    return kept


def redecide(
    proposal: Decision, earlier: Decision, changes: Mapping[int, ManualLine | tuple[Decimal, str]]
) -> Decision:
    """A dispute upheld: the engine's new ``proposal`` with the adjudicator's earlier manual decisions kept,
    except on the lines ``changes`` decides anew."""
    on_claim = {line.line_no for line in proposal.lines}
    merged = {no: choice for no, choice in earlier_manual(earlier).items() if no in on_claim}
    merged.update({no: manual(choice) for no, choice in changes.items()})
    return apply_overrides(proposal, merged)


def changed_lines(before: Decision, after: Decision) -> list[int]:
    """The lines whose decision or approved amount differ: none means nothing changed (a dismissal)."""
    old = {line.line_no: (line.decision, line.approved) for line in before.lines}
    return [line.line_no for line in after.lines if old.get(line.line_no) != (line.decision, line.approved)]
