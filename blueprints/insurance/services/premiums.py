"""Premium rates by scheme, member type and age band, and premium quotes with instalments."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import or_, select

from blueprints.core import services as core
from blueprints.insurance.models import MemberType, PremiumRate, Scheme, SchemeStatus
from blueprints.insurance.services.checks import check_writer, valid_amount, valid_whole
from blueprints.insurance.services.periods import add_months, age_on, anniversary
from blueprints.insurance.services.schemes import scheme_row
from medcover.audit import snapshot
from medcover.errors import Conflict, Invalid
from medcover.extensions import db
from medcover.money import money
from medcover.rbac import scope, tenant_of

FREQUENCIES = {"monthly": 1, "quarterly": 3, "annual": 12}
RATE_FIELDS = ("scheme_id", "member_type", "age_from", "age_to", "annual_amount", "effective_from", "effective_to")


def add_rate(
    *,
    actor,
    scheme_id: int,
    member_type: str,
    age_from,
    age_to,
    annual_amount,
    effective_from: date,
    effective_to: date | None = None,
) -> PremiumRate:
    scheme = scheme_row(tenant_of(actor), scheme_id)
    check_writer(actor, scheme.company_id)
    try:
        kind = MemberType(member_type)
    except ValueError:
        raise Invalid.field("member_type", "Choose principal or dependant.") from None
    low = valid_whole(age_from, "age_from", high=130)
    high = valid_whole(age_to, "age_to", high=130)
    if high < low:
        raise Invalid.field("age_to", "The band ends before it starts.")
    amount = valid_amount(annual_amount, "annual_amount", optional=False)
    if not isinstance(effective_from, date):
        raise Invalid.field("effective_from", "Enter a date (YYYY-MM-DD).")
    if effective_to is not None and effective_to < effective_from:
        raise Invalid.field("effective_to", "The end comes before the start.")
    clash = db.session.scalar(
        select(PremiumRate.id).where(
            PremiumRate.scheme_id == scheme.id,
            PremiumRate.member_type == kind,
            PremiumRate.age_from <= high,
            PremiumRate.age_to >= low,
            or_(PremiumRate.effective_to.is_(None), PremiumRate.effective_to >= effective_from),
            *([PremiumRate.effective_from <= effective_to] if effective_to else []),
        )
    )
    if clash:
        raise Conflict(
            "That age band overlaps an existing rate for the same member type and dates.",
            {"age_from": ["Overlaps another band of this scheme and member type."]},
        )
    rate = PremiumRate(
        scheme_id=scheme.id,
        member_type=kind,
        age_from=low,
        age_to=high,
        annual_amount=amount,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    db.session.add(rate)
    db.session.flush()
    core.record_audit(
        actor, "create", "premium_rate", rate.id, after=snapshot(rate, RATE_FIELDS), company_id=scheme.company_id
    )
    return rate


def rates_query(tenant, scheme_id: int | None = None):
    stmt = scope(select(PremiumRate).join(Scheme, Scheme.id == PremiumRate.scheme_id), Scheme, tenant)
    if scheme_id:
        stmt = stmt.where(PremiumRate.scheme_id == scheme_id)
    return stmt.order_by(PremiumRate.scheme_id, PremiumRate.member_type, PremiumRate.age_from)


@dataclass(frozen=True)
class QuoteLine:
    member_type: str
    date_of_birth: date
    age: int
    annual_amount: Decimal


@dataclass(frozen=True)
class Instalment:
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    scheme_id: int
    start_date: date
    end_date: date
    frequency: str
    annual_premium: Decimal
    #: the premium for the period quoted: the annual premium pro rata by days for a part year
    total: Decimal
    lines: list[QuoteLine]
    instalments: list[Instalment]

    @property
    def instalment_amount(self) -> Decimal:
        return self.instalments[0].amount


def quote(
    *,
    tenant,
    scheme_id: int,
    principal_date_of_birth: date,
    dependant_dates_of_birth: list[date],
    start_date: date,
    frequency: str = "annual",
    end_date: date | None = None,
) -> Quote:
    scheme = scheme_row(tenant, scheme_id)
    if scheme.status is SchemeStatus.RETIRED:
        raise Invalid.field("scheme_id", "That scheme is retired.")
    if frequency not in FREQUENCIES:
        raise Invalid.field("frequency", "Choose monthly, quarterly or annual.")
    if not isinstance(start_date, date):
        raise Invalid.field("start_date", "Enter a date (YYYY-MM-DD).")
    year_end = anniversary(start_date, 1) - timedelta(days=1)
    end_date = end_date or year_end
    if not isinstance(end_date, date):
        raise Invalid.field("end_date", "Enter a date (YYYY-MM-DD).")
    if end_date < start_date:
        raise Invalid.field("end_date", "The end comes before the start.")
    if end_date > year_end:
        raise Invalid.field("end_date", "A quote covers at most one year.")
    if len(dependant_dates_of_birth) > 20:
        raise Invalid.field("dependant_dates_of_birth", "At most 20 dependants.")
    people = [(MemberType.PRINCIPAL, principal_date_of_birth, "principal_date_of_birth")] + [
        (MemberType.DEPENDANT, dob, f"dependant_dates_of_birth.{i}") for i, dob in enumerate(dependant_dates_of_birth)
    ]
    rates = list(
        db.session.scalars(
            select(PremiumRate).where(
                PremiumRate.scheme_id == scheme.id,
                PremiumRate.effective_from <= start_date,
                or_(PremiumRate.effective_to.is_(None), PremiumRate.effective_to >= start_date),
            )
        )
    )
    lines = []
    for kind, dob, field in people:
        if not isinstance(dob, date) or dob > start_date:
            raise Invalid.field(field, "Enter a date of birth before the start date.")
        age = age_on(dob, start_date)
        rate = next((r for r in rates if r.member_type is kind and r.age_from <= age <= r.age_to), None)
        if rate is None:
            raise Invalid.field(field, f"The scheme has no {kind.value} rate for age {age}.")
        lines.append(QuoteLine(kind.value, dob, age, rate.annual_amount))
    annual = money(sum((line.annual_amount for line in lines), Decimal(0)))
    covered_days = (end_date - start_date).days + 1
    year_days = (year_end - start_date).days + 1
    total = annual if covered_days == year_days else money(annual * covered_days / year_days)
    step = FREQUENCIES[frequency]
    months = 1
    while add_months(start_date, months) <= end_date:
        months += 1
    count = math.ceil(months / step)
    each = money(total / count)
    due = [add_months(start_date, i * step) for i in range(count)]
    amounts = [each] * (count - 1) + [total - each * (count - 1)]  # the last one absorbs the rounding
    return Quote(
        scheme.id,
        start_date,
        end_date,
        frequency,
        annual,
        total,
        lines,
        [Instalment(d, a) for d, a in zip(due, amounts, strict=True)],
    )
