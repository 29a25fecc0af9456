"""The checks of ADJUDICATION.md: which coverage applies, the claim checks' time limit (R03) and the line
checks (R07, R04, R10, R11, R12, R13) in its order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from blueprints.claims.engine.inputs import (
    DEFAULT_TIMELY_FILING_DAYS,
    ClaimIn,
    CoverageTerms,
    Facts,
    LineIn,
    PreAuth,
    SchemeTerms,
    Tariff,
)


def applicable_coverage(coverages: Iterable[CoverageTerms], service_date: date) -> CoverageTerms | None:
    """The ``active`` coverage covering the service date; the latest start should several (R02 if none)."""
    covering = [
        cover for cover in coverages if cover.status == "active" and cover.start_date <= service_date <= cover.end_date
    ]
    return max(covering, key=lambda cover: cover.start_date, default=None)


def filed_out_of_time(claim: ClaimIn, scheme: SchemeTerms) -> bool:
    days = scheme.timely_filing_days if scheme.timely_filing_days is not None else DEFAULT_TIMELY_FILING_DAYS
    # Exactly ``days`` before the submission is still in time: "more than" is what rejects.
    return claim.service_date > claim.submitted_on or claim.service_date < claim.submitted_on - timedelta(days=days)


def line_check(
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
    # Finalised claims only: this claim is the visit asked for (the package docstring).
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
