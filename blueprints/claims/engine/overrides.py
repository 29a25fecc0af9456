"""An adjudicator's decision on the engine's proposal (M01): lines approved at another amount, with a note."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from blueprints.claims.engine.adjudicate import line_codes, outcome_of
from blueprints.claims.engine.outcomes import Decision, LineOutcome, OverrideRefused
from medcover.money import ZERO, money


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
    outcome = outcome_of(lines)
    return replace(
        decision,
        status=outcome,
        outcome=outcome,
        total_approved=money(sum((line.approved for line in lines), ZERO)),
        lines=tuple(lines),
        # A claim-level rejection has its code on every line, and its lines cannot be overridden.
        reason_codes=line_codes(lines),
    )
