"""Member numbers from the insurer's pattern under concurrent enrolment, on PostgreSQL with committed transactions:
staff enrolling at the same moment, each leaving the number blank, never share a number and leave no gap."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from blueprints.core.models import User
from blueprints.insurance import services
from blueprints.insurance.models import Company, Member
from medcover.extensions import db
from medcover.rbac import Role
from tests.billing.test_concurrency import _race
from tests.factories import make_company, make_scheme, make_user
from tests.platform.backing import scratch_app

pytestmark = [pytest.mark.services, pytest.mark.committed]

STAFF = 8


@pytest.fixture
def site():
    with scratch_app("medcover_insurance") as app:
        with app.app_context():
            company = make_company("ACME", "Acme Health")
            scheme = make_scheme(company, code="GOLD", name="Gold")
            staff = [make_user(Role.ADMIN, company_id=company.id) for _ in range(STAFF)]
            db.session.commit()
            ids = {"staff": [s.id for s in staff], "company": company.id, "scheme": scheme.id}
        yield app, ids


def _enrol(user_id: int, company_id: int, scheme_id: int, n: int):
    def job():
        head, _ = services.enrol(
            actor=db.session.get(User, user_id),
            company_id=company_id,
            principal=services.MemberDetails("", "Member", f"Number{n}", date(1980, 1, 1), "female"),
            dependants=[],
            scheme_id=scheme_id,
            start_date=date(2026, 1, 1),
        )
        return head.member_number

    return job


def test_enrolments_at_once_get_distinct_numbers_from_the_pattern_without_gaps(site):
    app, ids = site
    results = _race(app, [_enrol(u, ids["company"], ids["scheme"], n) for n, u in enumerate(ids["staff"])])
    assert all(isinstance(r, str) for r in results), results
    assert sorted(results) == [f"ACME-{n:06d}" for n in range(1, STAFF + 1)], results
    with app.app_context():
        assert sorted(db.session.scalars(select(Member.member_number))) == sorted(results)
        assert db.session.get(Company, ids["company"]).member_sequence == STAFF
