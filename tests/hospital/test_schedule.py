"""Personnel weekly hours: the list-of-intervals shape, its checks (HH:MM, start before end, no overlaps, a
few intervals a day), the audit with before and after, the staff member's hours page and the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from blueprints.core.models import AuditLog
from blueprints.hospital.models import MedicalPersonnel
from blueprints.hospital.services import schedules
from medcover.api import PREFIX
from medcover.errors import Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_personnel, make_user

LEGACY = {"mon": ["08:00", "16:00"]}


def stored(person) -> dict:
    db.session.expire_all()
    return db.session.get(MedicalPersonnel, person.id).schedule


def test_set_schedule_stores_the_list_form_and_audits_before_and_after(hospital):
    admin = make_user(Role.ADMIN, institution_id=hospital.id)
    person = make_personnel(hospital, schedule=LEGACY)
    row = schedules.set_schedule(
        actor=admin,
        personnel_id=person.id,
        schedule={"sat": [["09:00", "12:00"]], "mon": [["14:00", "17:00"], ["08:00", "13:00"]], "tue": []},
    )
    assert row.schedule == {"mon": [["08:00", "13:00"], ["14:00", "17:00"]], "sat": [["09:00", "12:00"]]}
    [entry] = db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "personnel", AuditLog.entity_id == str(person.id))
    )
    assert entry.before == {"schedule": LEGACY}
    assert entry.after == {"schedule": row.schedule}


def test_the_older_one_shift_pair_is_read_and_accepted():
    assert schedules.weekly_schedule(LEGACY) == {"mon": [["08:00", "16:00"]]}
    week = schedules.shifts(LEGACY)
    assert week["mon"] == [("08:00", "16:00")] and week["sun"] == [] and list(week) == list(schedules.WEEKDAYS)
    assert schedules.shifts({"tue": [["13:00", "17:00"], ["08:00", "12:00"]]})["tue"] == [
        ("08:00", "12:00"),
        ("13:00", "17:00"),
    ]


@pytest.mark.parametrize(
    ("schedule", "field", "words"),
    [
        ({"monday": [["08:00", "16:00"]]}, "schedule", "not a weekday"),
        ({"mon": [["16:00", "08:00"]]}, "schedule.mon", "ends before it starts"),
        ({"mon": [["08:00", "08:00"]]}, "schedule.mon", "ends before it starts"),
        ({"mon": [["8am", "4pm"]]}, "schedule.mon", "HH:MM"),
        ({"mon": [["24:00", "25:00"]]}, "schedule.mon", "HH:MM"),
        ({"mon": [["08:00", "13:00"], ["12:30", "17:00"]]}, "schedule.mon", "overlaps"),
        ({"mon": [["08:00"]]}, "schedule.mon", "a start and an end"),
        ({"mon": "08:00-16:00"}, "schedule.mon", "list of [start, end]"),
        ({"mon": [[f"0{h}:00", f"0{h}:30"] for h in range(5)]}, "schedule.mon", "at most 4"),
        (["mon", "08:00", "16:00"], "schedule", "Give hours per weekday"),
    ],
)
def test_bad_schedules_are_refused_with_the_day_named(schedule, field, words):
    with pytest.raises(Invalid) as caught:
        schedules.weekly_schedule(schedule)
    assert field in caught.value.errors and words in " ".join(caught.value.errors[field])


def test_another_hospitals_staff_cannot_be_changed(hospital, other_hospital):
    theirs = make_personnel(other_hospital)
    with pytest.raises(NotFound):
        schedules.set_schedule(
            actor=make_user(Role.ADMIN, institution_id=hospital.id), personnel_id=theirs.id, schedule={}
        )


# --- the page --------------------------------------------------------------------------------------


def test_the_hours_page_shows_the_week_and_an_admin_changes_it(client, login_as, hospital):
    person = make_personnel(hospital, full_name="Dr Hours", schedule=LEGACY)
    login_as(Role.ADMIN, institution_id=hospital.id)
    assert f'href="/hospital/staff/{person.id}/schedule"' in client.get("/hospital/staff").get_data(as_text=True)
    page = client.get(f"/hospital/staff/{person.id}/schedule").get_data(as_text=True)
    assert 'id="hours-mon"' in page and "08:00–16:00" in page and 'value="08:00-16:00"' in page
    response = client.post(
        f"/hospital/staff/{person.id}/schedule", data={"mon": "08:00-13:00, 14:00-17:00", "sat": "09:00 - 12:00"}
    )
    assert response.status_code == 303
    assert stored(person) == {"mon": [["08:00", "13:00"], ["14:00", "17:00"]], "sat": [["09:00", "12:00"]]}
    page = client.get(f"/hospital/staff/{person.id}/schedule").get_data(as_text=True)
    assert "08:00–13:00, 14:00–17:00" in page and "09:00–12:00" in page


def test_a_bad_week_is_shown_on_its_day_and_nothing_saved(client, login_as, hospital):
    person = make_personnel(hospital, schedule=LEGACY)
    login_as(Role.ADMIN, institution_id=hospital.id)
    response = client.post(f"/hospital/staff/{person.id}/schedule", data={"mon": "08:00-13:00, 12:00-15:00"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="mon-errors"' in text and "overlaps" in text
    assert 'value="08:00-13:00, 12:00-15:00"' in text
    assert stored(person) == LEGACY


def test_reception_reads_the_hours_but_cannot_change_them(client, login_as, hospital):
    person = make_personnel(hospital, schedule=LEGACY)
    login_as(Role.RECEPTIONIST, institution_id=hospital.id)
    page = client.get(f"/hospital/staff/{person.id}/schedule")
    assert page.status_code == 200 and "Change the hours" not in page.get_data(as_text=True)
    assert client.post(f"/hospital/staff/{person.id}/schedule", data={"mon": ""}).status_code == 403
    assert stored(person) == LEGACY


# --- the API ---------------------------------------------------------------------------------------


def test_put_schedule_and_read_it_in_the_personnel_json(client, api_token, hospital, other_hospital):
    person = make_personnel(hospital, schedule=LEGACY)
    admin = api_token(make_user(Role.ADMIN, institution_id=hospital.id))
    body = {"schedule": {"mon": [["08:00", "13:00"], ["14:00", "17:00"]]}}
    response = client.put(f"{PREFIX}/personnel/{person.id}/schedule", json=body, headers=admin)
    assert response.status_code == 200 and response.get_json()["schedule"] == body["schedule"]
    read = client.get(f"{PREFIX}/personnel/{person.id}", headers=admin).get_json()
    assert read["schedule"] == body["schedule"]

    bad = client.put(
        f"{PREFIX}/personnel/{person.id}/schedule", json={"schedule": {"mon": [["13:00", "09:00"]]}}, headers=admin
    )
    assert_problem(bad, 422)
    assert "schedule.mon" in bad.get_json()["errors"]
    assert_problem(client.put(f"{PREFIX}/personnel/{person.id}/schedule", json={**body, "x": 1}, headers=admin), 422)
    theirs = make_personnel(other_hospital)
    assert_problem(client.put(f"{PREFIX}/personnel/{theirs.id}/schedule", json=body, headers=admin), 404)
    desk = api_token(make_user(Role.RECEPTIONIST, institution_id=hospital.id))
    assert_problem(client.put(f"{PREFIX}/personnel/{person.id}/schedule", json=body, headers=desk), 403)
    assert_problem(client.put(f"{PREFIX}/personnel/{person.id}/schedule", json=body), 401)
    assert stored(person) == body["schedule"]
