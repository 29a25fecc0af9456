"""The front desk's work waiting for the home page: today's appointments and those still to arrive, counted for
the reader's hospital on the site's business day; the appointments page's status filter they link to."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from blueprints.hospital import services
from medcover import clock
from medcover.extensions import db
from medcover.rbac import Role, Tenant
from tests import bulk
from tests.factories import make_patient, make_personnel

HX = {"HX-Request": "true"}
KEYS = frozenset({"appointments_today", "still_to_arrive"})


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def desk(hospital, other_hospital, clinician):
    """Hospital A's patient and clinician, and Hospital B's."""
    return {
        "patient": make_patient(hospital, first_name="Wanjiru", last_name="Kamau"),
        "clinician": clinician,
        "other_patient": make_patient(other_hospital, first_name="Zawadi", last_name="Njeri"),
        "other_clinician": make_personnel(other_hospital, full_name="Dr Baraka Mutua"),
    }


def own(hospital) -> Tenant:
    return Tenant(institution_id=hospital.id, company_id=None)


def test_today_counts_every_appointment_of_the_day_and_those_still_booked(hospital, desk):
    bulk.appointments(3, patient=desk["patient"], personnel=desk["clinician"])
    bulk.appointments(2, patient=desk["patient"], personnel=desk["clinician"], status="checked_in")
    bulk.appointments(1, patient=desk["patient"], personnel=desk["clinician"], status="cancelled")
    bulk.appointments(4, patient=desk["patient"], personnel=desk["clinician"], day=clock.today() + timedelta(days=1))
    bulk.appointments(5, patient=desk["patient"], personnel=desk["clinician"], day=clock.today() - timedelta(days=1))
    bulk.appointments(7, patient=desk["other_patient"], personnel=desk["other_clinician"])
    assert services.work_waiting(own(hospital), KEYS) == {"appointments_today": 6, "still_to_arrive": 3}
    assert len(services.day_view(own(hospital), clock.today())) == 6  # what the page lists


def test_another_hospitals_appointments_are_not_counted(hospital, other_hospital, desk):
    bulk.appointments(7, patient=desk["other_patient"], personnel=desk["other_clinician"])
    assert services.work_waiting(own(hospital), KEYS) == {"appointments_today": 0, "still_to_arrive": 0}
    assert services.work_waiting(own(other_hospital), KEYS) == {"appointments_today": 7, "still_to_arrive": 7}


def test_the_day_runs_from_midnight_to_midnight_of_the_business_day(hospital, desk):
    from blueprints.hospital.models import Appointment, AppointmentStatus

    midnight = datetime.combine(clock.today(), time.min, UTC)
    for starts in (midnight - timedelta(minutes=1), midnight, midnight + timedelta(hours=23, minutes=59)):
        db.session.add(
            Appointment(
                institution_id=hospital.id,
                patient_id=desk["patient"].id,
                personnel_id=desk["clinician"].id,
                department="Outpatient",
                starts_at=starts,
                ends_at=starts + timedelta(minutes=20),
                status=AppointmentStatus.BOOKED,
            )
        )
    db.session.flush()
    assert services.work_waiting(own(hospital), {"appointments_today"}) == {"appointments_today": 2}


def test_the_counts_are_one_query_and_only_those_asked_for(hospital, desk, count_queries):
    bulk.appointments(3, patient=desk["patient"], personnel=desk["clinician"])
    with count_queries() as counted:
        assert services.work_waiting(own(hospital), {"still_to_arrive"}) == {"still_to_arrive": 3}
    assert counted.count == 1


# --- the appointments page's status filter -------------------------------------------------------


@pytest.fixture
def receptionist(login_as, hospital):
    return login_as(Role.RECEPTIONIST, institution_id=hospital.id)


def test_the_day_view_shows_only_the_status_asked_for_and_keeps_it_from_day_to_day(client, desk, receptionist):
    bulk.appointments(2, patient=desk["patient"], personnel=desk["clinician"])
    bulk.appointments(3, patient=desk["patient"], personnel=desk["clinician"], status="checked_in")
    db.session.commit()
    page = html(client.get("/hospital/appointments?status=booked"))
    assert page.count('<tr id="appointment-') == 2 and "· 2 appointments" in page
    assert '<option value="booked" selected>Booked</option>' in page
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    assert f"day={tomorrow}" in page and "status=booked" in page.split('aria-label="Days"', 1)[1].split("</nav>")[0]
    every = html(client.get("/hospital/appointments"))
    assert every.count('<tr id="appointment-') == 5 and "· 5 appointments" in every


def test_an_empty_filtered_day_says_the_filter_hides_it(client, desk, receptionist):
    bulk.appointments(2, patient=desk["patient"], personnel=desk["clinician"])
    db.session.commit()
    page = html(client.get("/hospital/appointments?status=no_show", headers=HX))
    assert "No appointments on this day for this filter." in page


@pytest.mark.parametrize("status", ["BOOKED", "booked' OR 1=1--", "z" * 4000, "<b>x</b>", "checked in"])
def test_an_unknown_appointment_status_shows_the_whole_day(client, desk, receptionist, status):
    bulk.appointments(2, patient=desk["patient"], personnel=desk["clinician"])
    bulk.appointments(1, patient=desk["patient"], personnel=desk["clinician"], status="completed")
    db.session.commit()
    page = html(client.get("/hospital/appointments", query_string={"status": status}))
    assert page.count('<tr id="appointment-') == 3
    assert "<b>x</b>" not in page
