"""What the claims engine reads of insurance, as plain values and in a fixed number of queries for any
number of members: each member's coverages with their scheme's terms, and their pre-authorisations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from blueprints.insurance.models import Benefit, Coverage, Member, Preauthorization, Scheme, SchemeBenefit
from medcover.bulk import among, autoflush
from medcover.extensions import db


@dataclass(frozen=True)
class BenefitTermsOut:
    benefit_code: str
    covered: bool
    annual_limit: Decimal | None
    per_visit_limit: Decimal | None
    copay_percent: Decimal
    copay_fixed: Decimal
    waiting_period_days: int
    requires_preauth: bool
    max_visits: int | None


@dataclass(frozen=True)
class SchemeTermsOut:
    scheme_id: int
    company_id: int
    code: str
    name: str
    deductible: Decimal
    annual_limit: Decimal | None
    timely_filing_days: int
    review_threshold: Decimal | None
    benefits: dict[str, BenefitTermsOut]
    review_sample_percent: int = 0
    duplicate_window_days: int = 3
    duplicate_score_threshold: int = 60
    variance_factor: Decimal | None = None


@dataclass(frozen=True)
class CoverageOut:
    coverage_id: int
    start_date: date
    end_date: date
    status: str
    scheme: SchemeTermsOut


@dataclass(frozen=True)
class PreauthOut:
    code: str
    benefit_code: str
    status: str
    valid_from: date
    valid_to: date


@dataclass(frozen=True)
class MemberCover:
    member_id: int
    member_number: str
    company_id: int
    full_name: str
    email: str | None
    phone: str | None
    coverages: tuple[CoverageOut, ...] = ()
    preauths: tuple[PreauthOut, ...] = field(default=())


def member_covers(member_numbers) -> dict[str, MemberCover]:
    """Members by number with every coverage (any status: the engine decides which applies) and every
    pre-authorisation; five queries however many members."""
    numbers = {str(n).strip().upper() for n in member_numbers if n}
    if not numbers:
        return {}
    # plain rows of table columns, not entities (nor the ORM's loading of them): a batch reads thousands of members
    # and their coverages; what this session changed is flushed first, as reading entities would have done
    autoflush()
    member, coverage, preauth, benefit = (m.__table__.c for m in (Member, Coverage, Preauthorization, Benefit))
    members = db.session.execute(
        select(
            member.id,
            member.member_number,
            member.company_id,
            member.first_name,
            member.last_name,
            member.email,
            member.phone,
        ).where(among(member.member_number, numbers))
    ).all()
    if not members:
        return {}
    ids = [m.id for m in members]
    coverages = db.session.execute(
        select(
            coverage.id, coverage.member_id, coverage.scheme_id, coverage.start_date, coverage.end_date, coverage.status
        ).where(among(coverage.member_id, ids))
    ).all()
    scheme_ids = {c.scheme_id for c in coverages}
    schemes = (
        {s.id: s for s in db.session.execute(select(*Scheme.__table__.c).where(Scheme.id.in_(scheme_ids)))}
        if scheme_ids
        else {}
    )
    terms: dict[int, dict[str, BenefitTermsOut]] = {sid: {} for sid in schemes}
    if scheme_ids:
        for row in db.session.execute(
            select(*SchemeBenefit.__table__.c, benefit.code.label("benefit_code"))
            .join(Benefit.__table__, benefit.id == SchemeBenefit.__table__.c.benefit_id)
            .where(SchemeBenefit.__table__.c.scheme_id.in_(scheme_ids))
        ):
            code = row.benefit_code
            terms[row.scheme_id][code] = BenefitTermsOut(
                code,
                row.covered,
                row.annual_limit,
                row.per_visit_limit,
                row.copay_percent,
                row.copay_fixed,
                row.waiting_period_days,
                row.requires_preauth,
                row.max_visits,
            )
    scheme_out = {
        sid: SchemeTermsOut(
            s.id,
            s.company_id,
            s.code,
            s.name,
            s.deductible,
            s.annual_limit,
            s.timely_filing_days,
            s.review_threshold,
            terms[sid],
            s.review_sample_percent,
            s.duplicate_window_days,
            s.duplicate_score_threshold,
            s.variance_factor,
        )
        for sid, s in schemes.items()
    }
    preauths: dict[int, list[PreauthOut]] = {}
    for row in db.session.execute(
        select(
            preauth.member_id,
            preauth.code,
            benefit.code.label("benefit_code"),
            preauth.status,
            preauth.valid_from,
            preauth.valid_to,
        )
        .join(Benefit.__table__, benefit.id == preauth.benefit_id)
        .where(among(preauth.member_id, ids))
    ):
        preauths.setdefault(row.member_id, []).append(
            PreauthOut(row.code, row.benefit_code, row.status.value, row.valid_from, row.valid_to)
        )
    by_member: dict[int, list[CoverageOut]] = {}
    for c in coverages:
        by_member.setdefault(c.member_id, []).append(
            CoverageOut(c.id, c.start_date, c.end_date, c.status.value, scheme_out[c.scheme_id])
        )
    return {
        m.member_number: MemberCover(
            m.id,
            m.member_number,
            m.company_id,
            f"{m.first_name} {m.last_name}",
            m.email,
            m.phone,
            tuple(sorted(by_member.get(m.id, []), key=lambda c: c.start_date)),
            tuple(preauths.get(m.id, [])),
        )
        for m in members
    }
