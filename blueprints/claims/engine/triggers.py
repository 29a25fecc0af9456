"""The review triggers of ADJUDICATION.md, checked after the amounts in their order: V02 review threshold,
S01 suspect duplicate, V01 random sample, V03 outlier. Each that fires adds its claim-level code; any one sends
the claim to ``pending_review`` with the engine's amounts unchanged.

Readings of the contract where its words leave a choice:

- S01 compares with the member's claims submitted before this one (``Facts.nearby``), as R04 does: of two
  claims for one service the later one is the suspect, and the batch decides them in submission order.
- "Lines already rejected R04 against that claim do not count for its score": when scoring another claim, this
  claim's lines rejected R04 that it duplicates (same provider, same service date, a code it bills) are left
  out of the service codes and of the total billed compared; if no line is left, the claim is not scored (R04
  already caught all there was).
- V01: the draw is ``int(sha256(claim_number as UTF-8).hexdigest()[:8], 16) % 100``; a claim without a
  number (a preview) is never drawn.
- V03: ``total billed x claims > variance_factor x their total billed``, the mean compared without rounding.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from blueprints.claims.engine.inputs import ClaimIn, CoverageTerms, Facts, NearbyClaim
from blueprints.claims.engine.outcomes import DUPLICATE_PARTS, DuplicateMatch, LineDecision, LineOutcome
from medcover.money import ZERO, money

#: statuses whose claims S01 passes over
NOT_COMPARED = ("draft", "rejected", "void")
#: V03 compares only with a history of at least this many claims
MIN_HISTORY = 10


def sample_draw(claim_number: str) -> int:
    """The claim's reproducible draw, 0-99 (V01)."""
    return int(hashlib.sha256(claim_number.encode("utf-8")).hexdigest()[:8], 16) % 100


def main_category(diagnosis_codes) -> str | None:
    """The first three characters of the first diagnosis code (V03), upper case; None without a diagnosis."""
    first = next((str(code).strip() for code in diagnosis_codes or () if str(code).strip()), "")
    return first[:3].upper() or None


def duplicate_score(
    claim: ClaimIn, lines: tuple[LineDecision, ...], other: NearbyClaim
) -> tuple[int, tuple[str, ...]] | None:
    """S01's score of ``other`` against this claim and the parts that made it; None when no line counts."""
    counting = [
        line
        for line in lines
        if not (
            line.decision == LineOutcome.REJECTED
            and "R04" in line.reason_codes
            and other.institution_id == claim.institution_id
            and other.service_date == claim.service_date
            and line.service_code in other.service_codes
        )
    ]
    if not counting:
        return None
    diagnoses = {str(code).strip().upper() for code in claim.diagnosis_codes if str(code).strip()}
    other_diagnoses = {str(code).strip().upper() for code in other.diagnosis_codes}
    met = {
        "same_provider": other.institution_id == claim.institution_id,
        "same_service_date": other.service_date == claim.service_date,
        "service_code_in_common": any(line.service_code in other.service_codes for line in counting),
        "diagnosis_code_in_common": bool(diagnoses & other_diagnoses),
        "equal_total_billed": money(sum((line.billed for line in counting), ZERO)) == money(other.total_billed),
    }
    parts = tuple(name for name in DUPLICATE_PARTS if met[name])
    return sum(DUPLICATE_PARTS[name] for name in parts), parts


def best_duplicate(
    claim: ClaimIn, lines: tuple[LineDecision, ...], facts: Facts, coverage: CoverageTerms
) -> DuplicateMatch | None:
    """The best match at or above the scheme's threshold: highest score, then the earliest submitted."""
    scheme = coverage.scheme
    found: list[tuple[int, tuple, DuplicateMatch]] = []
    for other in facts.nearby:
        if other.claim_id == claim.claim_id or other.status in NOT_COMPARED:
            continue
        if abs((other.service_date - claim.service_date).days) > scheme.duplicate_window_days:
            continue
        scored = duplicate_score(claim, lines, other)
        if scored is None or scored[0] < scheme.duplicate_score_threshold:
            continue
        found.append((-scored[0], other.order, DuplicateMatch(other.claim_id, other.claim_number, *scored)))
    return min(found, key=lambda row: row[:2])[2] if found else None


def review_triggers(
    claim: ClaimIn, lines: tuple[LineDecision, ...], total_billed: Decimal, facts: Facts, coverage: CoverageTerms
) -> tuple[tuple[str, ...], DuplicateMatch | None, dict]:
    """The triggers that fire, in order (V02, S01, V01, V03), S01's best match and what each trigger saw."""
    scheme = coverage.scheme
    codes: list[str] = []
    details: dict = {}
    if scheme.review_threshold is not None and total_billed >= money(scheme.review_threshold):
        codes.append("V02")
        details["V02"] = {"threshold": str(money(scheme.review_threshold))}
    duplicate = best_duplicate(claim, lines, facts, coverage)
    if duplicate is not None:
        codes.append("S01")
        details["S01"] = duplicate.as_dict()
    if claim.claim_number and scheme.review_sample_percent:
        draw = sample_draw(claim.claim_number)
        if scheme.review_sample_percent > draw:
            codes.append("V01")
            details["V01"] = {"draw": draw, "percent": scheme.review_sample_percent}
    history = facts.provider_mean
    outlier = (
        scheme.variance_factor is not None
        and history is not None
        and history.claims >= MIN_HISTORY
        and total_billed * history.claims > Decimal(scheme.variance_factor) * history.total_billed
    )
    if outlier:
        codes.append("V03")
        details["V03"] = {
            "mean": str(money(history.total_billed / history.claims)),
            "claims": history.claims,
            "factor": f"{Decimal(scheme.variance_factor):.2f}",
        }
    return tuple(codes), duplicate, details
