"""Coverage verification: is this member covered on this day (for this benefit), and if not, why.

Reason codes are ADJUDICATION.md's: R01 no such member, R02 no active cover that day, R10 the benefit
is not covered by the scheme, R11 the benefit's waiting period has not ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from blueprints.insurance.models import Benefit, Coverage, CoverageStatus, Member, Scheme, SchemeBenefit
from blueprints.insurance.services.periods import benefit_period
from medcover.extensions import db
from medcover.money import ZERO, money

#: (member_id, period_start, period_end) -> {benefit_id: amount approved in the period}; the claims
#: domain registers it (it sits above insurance), until then nothing has been used.
_usage_providers: list[Callable[[int, date, date], dict[int, Decimal]]] = []


def register_usage_provider(fn: Callable[[int, date, date], dict[int, Decimal]]) -> None:
    if fn not in _usage_providers:
        _usage_providers.append(fn)


def usage(member_id: int, period_start: date, period_end: date) -> dict[int, Decimal]:
    if not _usage_providers:
        return {}
    return _usage_providers[0](member_id, period_start, period_end)


@dataclass(frozen=True)
class BenefitStatus:
    benefit_code: str
    benefit_name: str
    covered: bool
    annual_limit: Decimal | None
    used: Decimal
    remaining_limit: Decimal | None
    copay_percent: Decimal
    requires_preauth: bool
    waiting_until: date | None


@dataclass(frozen=True)
class CoverOnDay:
    """The coverage that applies on the service date, with the benefit period the date falls in."""

    id: int
    scheme_id: int
    scheme_code: str
    scheme_name: str
    company_id: int
    start_date: date
    end_date: date
    status: str
    period_start: date
    period_end: date
    #: the scheme's currency: the limits' and amounts'
    currency: str = "KES"


@dataclass(frozen=True)
class Verification:
    member_number: str
    service_date: date
    eligible: bool
    reason_codes: list[str]
    member_name: str | None = None
    coverage: CoverOnDay | None = None
    benefits: list[BenefitStatus] = field(default_factory=list)

    REASONS = {
        "R01": "No member has this number.",
        "R02": "No active cover on this date.",
        "R10": "The scheme does not cover this benefit.",
        "R11": "The benefit's waiting period has not ended.",
    }

    @property
    def reasons(self) -> list[str]:
        return [self.REASONS.get(code, code) for code in self.reason_codes]


def _cover_on(member_id: int, day: date) -> tuple[Coverage, Scheme] | None:
    row = db.session.execute(
        select(Coverage, Scheme)
        .join(Scheme, Scheme.id == Coverage.scheme_id)
        .where(
            Coverage.member_id == member_id,
            Coverage.status == CoverageStatus.ACTIVE,
            Coverage.start_date <= day,
            Coverage.end_date >= day,
        )
        .order_by(Coverage.start_date.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def verify(member_number: str, service_date: date, benefit_code: str | None = None) -> Verification:
    """Eligibility in a fixed number of queries: member, cover, the scheme's benefits, usage."""
    number = (member_number or "").strip().upper()
    member = db.session.scalar(select(Member).where(Member.member_number == number)) if number else None
    if member is None:
        return Verification(number, service_date, False, ["R01"])
    name = f"{member.first_name} {member.last_name}"
    found = _cover_on(member.id, service_date)
    if found is None:
        return Verification(number, service_date, False, ["R02"], name)
    coverage, scheme = found
    period_start, period_end = benefit_period(coverage.start_date, service_date)
    summary = CoverOnDay(
        coverage.id,
        scheme.id,
        scheme.code,
        scheme.name,
        scheme.company_id,
        coverage.start_date,
        coverage.end_date,
        coverage.status.value,
        period_start,
        period_end,
        scheme.currency,
    )
    terms = db.session.execute(
        select(SchemeBenefit, Benefit)
        .join(Benefit, Benefit.id == SchemeBenefit.benefit_id)
        .where(SchemeBenefit.scheme_id == scheme.id)
        .order_by(Benefit.code)
    ).all()
    used = usage(member.id, period_start, period_end)
    statuses = []
    for term, benefit in terms:
        waiting_until = (
            coverage.start_date + timedelta(days=term.waiting_period_days) if term.waiting_period_days else None
        )
        spent = money(used.get(benefit.id, ZERO))
        remaining = None if term.annual_limit is None else max(ZERO, money(term.annual_limit - spent))
        statuses.append(
            BenefitStatus(
                benefit.code,
                benefit.name,
                term.covered,
                term.annual_limit,
                spent,
                remaining,
                term.copay_percent,
                term.requires_preauth,
                waiting_until,
            )
        )
    reasons: list[str] = []
    if benefit_code:
        wanted = [s for s in statuses if s.benefit_code == benefit_code.strip()]
        if not wanted or not wanted[0].covered:
            reasons.append("R10")
        elif wanted[0].waiting_until and service_date < wanted[0].waiting_until:
            reasons.append("R11")
        statuses = wanted
    return Verification(number, service_date, not reasons, reasons, name, summary, statuses)
