"""Cover and benefit periods turn over at midnight on the site's calendar (Africa/Nairobi in the tests), not at
midnight UTC: "today's" check at 00:30 in Nairobi is for the new day."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from blueprints.insurance import services
from blueprints.insurance.services.periods import anniversary
from medcover import clock
from tests.factories import make_company, make_coverage, make_member, make_scheme


@pytest.fixture
def member(db_session):
    company = make_company(code="ACME", name="Acme Insurance")
    return make_member(company, member_number="ACM-001"), make_scheme(company, code="GOLD", name="Gold")


@pytest.mark.parametrize("wall", [time(0, 30), time(23, 30)], ids=["00:30", "23:30"])
def test_todays_check_on_an_anniversary_is_in_the_new_benefit_period(member, wall):
    person, scheme = member
    day = clock.today() + timedelta(days=1)
    start = anniversary(day, -1)
    make_coverage(person, scheme, start, anniversary(day, 1))
    with clock.frozen(datetime.combine(day, wall)):
        verdict = services.verify("ACM-001", clock.today())
    assert verdict.eligible
    assert (verdict.coverage.period_start, verdict.coverage.period_end) == (
        day,
        anniversary(day, 1) - timedelta(days=1),
    )


@pytest.mark.parametrize("wall", [time(0, 30), time(23, 30)], ids=["00:30", "23:30"])
def test_cover_starting_today_counts_from_local_midnight(member, wall):
    person, scheme = member
    day = clock.today() + timedelta(days=1)
    make_coverage(person, scheme, day, day + timedelta(days=30))
    with clock.frozen(datetime.combine(day, wall)):
        assert services.verify("ACM-001", clock.today()).eligible
    with clock.frozen(datetime.combine(day - timedelta(days=1), time(23, 30))):
        assert services.verify("ACM-001", clock.today()).reason_codes == ["R02"]
