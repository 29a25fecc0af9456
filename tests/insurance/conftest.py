"""Insurance test fixtures: the per-request client of tests/core (each request in its own app context and
session, so a test sees exactly what a request committed) and ``ins``, factories for the insurance world."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

import pytest

from blueprints.insurance.models import (
    Benefit,
    BenefitCategory,
    Company,
    Coverage,
    CoverageStatus,
    Member,
    PremiumRate,
    Scheme,
    SchemeBenefit,
    SchemeStatus,
)
from medcover.extensions import db
from tests.core.conftest import RequestScopedClient

_seq = itertools.count(1)


@pytest.fixture
def new_client(app):
    """``new_client()`` -> another browser, with its own cookies."""
    return lambda: RequestScopedClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def client(new_client):
    return new_client()


class Factories:
    """Rows straight into the database, flushed: the world a test needs, in a line or two."""

    def _add(self, row):
        db.session.add(row)
        db.session.flush()
        return row

    def company(self, code: str | None = None, name: str | None = None) -> Company:
        n = next(_seq)
        return self._add(Company(code=code or f"INS{n}", name=name or f"Insurer {n}", active=True))

    def category(self, code: str | None = None) -> BenefitCategory:
        n = next(_seq)
        return self._add(BenefitCategory(code=code or f"CAT{n}", name=f"Category {n}"))

    def benefit(self, code: str | None = None, name: str | None = None, category=None) -> Benefit:
        n = next(_seq)
        category = category or self.category()
        return self._add(Benefit(code=code or f"BEN{n}", name=name or f"Benefit {n}", category_id=category.id))

    def scheme(self, company=None, *, status: str = "draft", code: str | None = None, **terms) -> Scheme:
        n = next(_seq)
        company = company or self.company()
        values = {
            "name": f"Scheme {n}",
            "currency": "KES",
            "effective_from": date(2026, 1, 1),
            "deductible": Decimal("0.00"),
            "timely_filing_days": 180,
        } | terms
        return self._add(Scheme(company_id=company.id, code=code or f"SCH{n}", status=SchemeStatus(status), **values))

    def term(self, scheme, benefit=None, **terms) -> SchemeBenefit:
        benefit = benefit or self.benefit()
        return self._add(SchemeBenefit(scheme_id=scheme.id, benefit_id=benefit.id, **terms))

    def member(self, company, *, number: str | None = None, principal=None, born=date(1985, 4, 2)) -> Member:
        n = next(_seq)
        return self._add(
            Member(
                member_number=number or f"M{n:05d}",
                company_id=company.id,
                first_name=f"Wanjiru{n}",
                last_name="Kamau",
                date_of_birth=born,
                gender="female",
                principal_id=principal.id if principal else None,
            )
        )

    def coverage(self, member, scheme, *, start=date(2026, 1, 1), end=date(2026, 12, 31), status="active") -> Coverage:
        return self._add(
            Coverage(
                member_id=member.id,
                scheme_id=scheme.id,
                company_id=member.company_id,
                start_date=start,
                end_date=end,
                status=CoverageStatus(status),
            )
        )

    def rate(self, scheme, *, member_type="principal", ages=(0, 130), amount="12000.00", start=date(2026, 1, 1)):
        from blueprints.insurance.models import MemberType

        return self._add(
            PremiumRate(
                scheme_id=scheme.id,
                member_type=MemberType(member_type),
                age_from=ages[0],
                age_to=ages[1],
                annual_amount=Decimal(amount),
                effective_from=start,
            )
        )


@pytest.fixture
def ins():
    return Factories()
