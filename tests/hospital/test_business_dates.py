"""Appointments live on the site's clock (Africa/Nairobi in the tests): a day's list is that local calendar day,
a time typed on the page is the local wall time, and "today's" cover check uses the local date."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from blueprints.hospital import services
from medcover import clock
from medcover.rbac import Role, tenant_of
from tests.factories import make_institution, make_patient, make_personnel, make_user


@pytest.fixture
def desk():
    hospital = make_institution("HA", "Hospital A")
    return make_user(Role.RECEPTIONIST, institution_id=hospital.id), hospital


@pytest.mark.parametrize(("wall", "slot"), [(time(0, 30), time(0, 45)), (time(23, 30), time(23, 45))])
def test_an_appointment_booked_now_is_in_the_day_view_of_the_sites_day(desk, wall, slot):
    user, hospital = desk
    day = clock.today() + timedelta(days=1)
    with clock.frozen(datetime.combine(day, wall)):
        row = services.book_appointment(
            actor=user,
            patient_id=make_patient(hospital).id,
            personnel_id=make_personnel(hospital).id,
            starts_at=clock.from_local(datetime.combine(day, slot)),
            duration_minutes=10,
            room=None,
        )
        assert [a.id for a in services.day_view(tenant_of(user), clock.today())] == [row.id]
    assert services.day_view(tenant_of(user), day - timedelta(days=1)) == []
    assert services.day_view(tenant_of(user), day + timedelta(days=1)) == []


def test_a_time_typed_on_the_sites_clock_is_stored_as_the_utc_instant():
    stored = clock.from_local(datetime(2026, 12, 4, 0, 30))
    assert stored == datetime(2026, 12, 3, 21, 30, tzinfo=UTC)
    assert clock.format_datetime(stored) == "4 Dec 2026 00:30"
    assert clock.format_input(stored) == "2026-12-04T00:30"
    assert clock.local_date(stored).isoformat() == "2026-12-04"
