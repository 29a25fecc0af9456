"""Hospital pages: the intake page (search as you type, duplicates and cover while registering), the patient
page, booking and the day view's row actions, staff; tenant isolation, roles, and bad input that answers 422
and writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from blueprints.hospital.models import Appointment, AppointmentStatus, MedicalPersonnel, Patient
from medcover import clock
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import make_patient, make_personnel

HX = {"HX-Request": "true"}


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def toast(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]


def html(response) -> str:
    return response.get_data(as_text=True)


def patient_form(**changes) -> dict:
    values = {
        "first_name": "Amani",
        "last_name": "Njoroge",
        "date_of_birth": "1990-03-14",
        "gender": "female",
        "phone": "0722 000 111",
        "email": "amani@example.com",
        "national_id": "12345678",
        "member_number": "",
    } | changes
    return {k: v for k, v in values.items() if v is not None}


def slot(days: int = 1, hour: int = 9, minute: int = 0) -> str:
    """A time on the booking form: ``days`` from today, on the site's clock, as a datetime-local input sends it."""
    return f"{clock.today() + timedelta(days=days)}T{hour:02d}:{minute:02d}"


def booking(clinician, **changes) -> dict:
    return {"personnel_id": str(clinician.id), "starts_at": slot(), "duration_minutes": "20", "room": "R1"} | changes


def book(patient, clinician, *, days: int = 1, hour: int = 9, room: str | None = "R1") -> Appointment:
    start = clock.from_local(
        datetime.combine(clock.today() + timedelta(days=days), datetime.min.time()).replace(hour=hour)
    )
    row = Appointment(
        institution_id=patient.institution_id,
        patient_id=patient.id,
        personnel_id=clinician.id,
        department=clinician.department,
        room=room,
        starts_at=start,
        ends_at=start + timedelta(minutes=20),
        status=AppointmentStatus.BOOKED,
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def desk(login_as, hospital):
    """A receptionist of hospital A, signed in."""
    return login_as(Role.RECEPTIONIST, institution_id=hospital.id)


# --- intake: find ---------------------------------------------------------------------------------


def test_intake_page_has_the_search_and_the_register_form(client, desk, hospital):
    page = client.get("/hospital/patients")
    assert page.status_code == 200
    text = html(page)
    assert 'id="patient-results"' in text and 'id="register-panel"' in text and 'id="intake-check"' in text
    assert "Register a new patient" in text and 'name="csrf_token"' in text
    assert 'hx-post="/hospital/patients/check"' in text
    assert 'name="institution_id"' not in text  # hospital staff register at their own hospital
    assert "HX-Request" in page.headers["Vary"]
    assert 'href="/hospital/patients"' in text and 'href="/hospital/appointments"' in text  # the nav


def test_search_as_you_type_answers_the_results_partial(client, desk, hospital, other_hospital):
    make_patient(hospital, first_name="Zawadi", last_name="Kariuki", phone="0711222333")
    make_patient(hospital, first_name="Otieno", last_name="Were")
    make_patient(other_hospital, first_name="Zawadi", last_name="Kariuki-Elsewhere")

    partial = client.get("/hospital/patients?q=kari", headers=HX)
    text = html(partial)
    assert partial.status_code == 200 and "<html" not in text
    assert text.lstrip().startswith('<div id="patient-results"')
    assert "Kariuki" in text and "Were" not in text and "Elsewhere" not in text
    assert "Kariuki" in html(client.get("/hospital/patients?q=0711 222", headers=HX))
    full = client.get("/hospital/patients?q=zawadi")
    assert "<html" in html(full) and "Kariuki" in html(full)


def test_hostile_names_already_stored_are_shown_escaped(client, desk, hospital):
    make_patient(hospital, first_name="<script>alert(1)</script>", last_name="Mallory")
    text = html(client.get("/hospital/patients?q=mallory", headers=HX))
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# --- intake: the check while registering ----------------------------------------------------------


def test_check_suggests_likely_duplicates_by_phone_national_id_or_name_and_birth(client, desk, hospital):
    existing = make_patient(hospital, first_name="Amani", last_name="Njoroge", phone="0722000111")
    by_phone = client.post("/hospital/patients/check", data=patient_form(last_name="Other", national_id=""), headers=HX)
    text = html(by_phone)
    assert by_phone.status_code == 200 and text.lstrip().startswith('<div id="intake-check"')
    assert existing.patient_number in text and "Already registered?" in text
    by_name = client.post("/hospital/patients/check", data=patient_form(phone="", national_id=""), headers=HX)
    assert existing.patient_number in html(by_name)
    nobody = client.post(
        "/hospital/patients/check", data=patient_form(first_name="New", phone="0799", national_id=""), headers=HX
    )
    assert existing.patient_number not in html(nobody) and "Already registered?" not in html(nobody)
    assert count(Patient) == 1  # a check writes nothing


@pytest.mark.parametrize(
    ("number", "verdict", "words"),
    [
        ("ACM-001", "ELIGIBLE", "Covered by GOLD"),
        ("acm-002", "NOT ELIGIBLE", "No active cover on this date."),
        ("NOPE-999", "NOT ELIGIBLE", "No member has this number."),
    ],
)
def test_check_shows_the_cover_verdict_for_the_member_number(client, desk, insured, number, verdict, words):
    response = client.post("/hospital/patients/check", data=patient_form(member_number=number), headers=HX)
    text = html(response)
    assert response.status_code == 200
    assert f">{verdict}<" in text and words in text
    if verdict == "ELIGIBLE":
        assert "NOT ELIGIBLE" not in text


def test_check_without_a_member_number_shows_no_verdict(client, desk):
    text = html(client.post("/hospital/patients/check", data=patient_form(), headers=HX))
    assert "ELIGIBLE" not in text


# --- intake: register -----------------------------------------------------------------------------


def test_register_answers_303_to_the_patient_page(client, desk, hospital, insured):
    response = client.post("/hospital/patients", data=patient_form(member_number="ACM-001"))
    assert response.status_code == 303
    patient = db.session.scalar(select(Patient).where(Patient.last_name == "Njoroge"))
    assert patient.institution_id == hospital.id and patient.member_number == "ACM-001"
    assert response.headers["Location"].endswith(f"/hospital/patients/{patient.id}")
    page = html(client.get(response.headers["Location"]))
    assert patient.patient_number in page and "is registered as" in page and ">ELIGIBLE<" in page


def test_register_by_htmx_swaps_in_the_registered_panel_with_the_booking_form(client, desk, clinician, insured):
    response = client.post("/hospital/patients", data=patient_form(member_number="ACM-002"), headers=HX)
    text = html(response)
    patient = db.session.scalar(select(Patient))
    assert response.status_code == 200 and "<html" not in text
    assert text.lstrip().startswith('<section id="register-panel"')
    assert patient.patient_number in text and "NOT ELIGIBLE" in text and "No active cover" in text
    assert 'id="patient-appointments"' in text and "Dr Achieng Odhiambo" in text
    assert f'hx-post="/hospital/patients/{patient.id}/appointments"' in text
    assert toast(response) == f"Registered {patient.patient_number}."


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"first_name": "<script>alert(1)</script>"}, "no &lt; or &gt;"),
        ({"last_name": "x" * 81}, "must be 80 characters or fewer"),
        ({"first_name": ""}, "Enter the first name"),
        ({"date_of_birth": "14/03/1990"}, "as a date, like 2026-12-04"),
        ({"date_of_birth": "2999-01-01"}, "Enter a real date of birth."),
        ({"gender": "robot"}, "from the list"),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"phone": "call me"}, "Use 7 to 15 digits"),
        ({"national_id": "ab"}, "Use 4 to 30 letters"),
        ({"member_number": "M" * 31}, "must be 30 characters or fewer"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_bad_registration_is_refused_with_field_errors_and_writes_nothing(client, desk, changes, message, htmx):
    response = client.post("/hospital/patients", data=patient_form(**changes), headers=HX if htmx else {})
    text = html(response)
    assert response.status_code == 422
    assert message in text and 'class="errors"' in text
    assert "<script>alert(1)</script>" not in text
    if htmx:
        assert text.lstrip().startswith('<section id="register-panel"')
    assert count(Patient) == 0


def test_register_without_the_csrf_token_is_refused(client, desk):
    response = client.post("/hospital/patients", data=patient_form(), csrf=False)
    assert response.status_code in (400, 403)
    assert count(Patient) == 0


def test_platform_admin_chooses_the_hospital(client, login_as, hospital, other_hospital):
    login_as(Role.ADMIN)
    assert "Hospital B" in html(client.get("/hospital/patients"))
    assert "Choose a hospital." in html(client.post("/hospital/patients", data=patient_form()))
    assert client.post("/hospital/patients", data=patient_form(institution_id=other_hospital.id)).status_code == 303
    assert count(Patient, Patient.institution_id == other_hospital.id) == 1


# --- the patient page -----------------------------------------------------------------------------


def test_patient_page_shows_demographics_cover_appointments_and_placeholders(
    client, desk, hospital, clinician, insured
):
    patient = make_patient(hospital, first_name="Wanjiru", last_name="Kamau", member_number="ACM-001")
    book(patient, clinician)
    text = html(client.get(f"/hospital/patients/{patient.id}"))
    assert "Wanjiru Kamau" in text and patient.patient_number in text
    assert ">ELIGIBLE<" in text and "Covered by GOLD" in text
    assert 'id="patient-appointments"' in text and "Dr Achieng Odhiambo" in text and "Check in" in text
    assert "Medical records are open to the clinical staff" in text
    # billing registers its panel for this page, for its own staff; the desk sees where billing is instead
    assert "Charges and invoices are open to the billing staff." in text and "/billing/patients/" not in text
    assert 'id="merge"' in text


def test_demographics_are_saved_and_bad_edits_are_refused(client, desk, hospital):
    patient = make_patient(hospital, first_name="Amani", last_name="Njoroge")
    saved = client.post(f"/hospital/patients/{patient.id}", data=patient_form(phone="0733 444 555"))
    assert saved.status_code == 303
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).phone == "0733444555"
    refused = client.post(f"/hospital/patients/{patient.id}", data=patient_form(last_name="<b>x</b>"))
    assert refused.status_code == 422 and "&lt;b&gt;x&lt;/b&gt;" in html(refused)
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).last_name == "Njoroge"


def test_merge_folds_the_duplicate_in_after_confirmation(client, desk, hospital, clinician):
    keep = make_patient(hospital, first_name="Amani", last_name="Njoroge", phone="0722000111")
    duplicate = make_patient(hospital, first_name="Amani", last_name="Njoroge", phone="0722000111")
    moved = book(duplicate, clinician)
    page = html(client.get(f"/hospital/patients/{keep.id}"))
    assert duplicate.patient_number in page  # offered as a likely duplicate
    unconfirmed = client.post(
        f"/hospital/patients/{keep.id}/merge", data={"duplicate_number": duplicate.patient_number}
    )
    assert unconfirmed.status_code == 422 and "Tick to confirm." in html(unconfirmed)
    unknown = client.post(f"/hospital/patients/{keep.id}/merge", data={"duplicate_number": "HA-404", "confirm": "y"})
    assert unknown.status_code == 422 and "No patient of this hospital has that number." in html(unknown)
    done = client.post(
        f"/hospital/patients/{keep.id}/merge",
        data={"duplicate_number": duplicate.patient_number.lower(), "confirm": "y"},
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Patient, duplicate.id).merged_into_id == keep.id
    assert db.session.get(Appointment, moved.id).patient_id == keep.id
    assert "was merged into" in html(client.get(f"/hospital/patients/{keep.id}"))


# --- booking ---------------------------------------------------------------------------------------


def test_booking_by_htmx_swaps_the_appointments_with_a_toast(client, desk, hospital, clinician):
    patient = make_patient(hospital)
    response = client.post(f"/hospital/patients/{patient.id}/appointments", data=booking(clinician), headers=HX)
    text = html(response)
    assert response.status_code == 200 and text.lstrip().startswith('<div id="patient-appointments"')
    row = db.session.scalar(select(Appointment))
    assert row.personnel_id == clinician.id and row.room == "R1"
    # typed on the site's wall clock (09:00 in Nairobi), stored as the UTC instant (06:00Z)
    assert row.starts_at == datetime.fromisoformat(slot()).replace(hour=6, tzinfo=UTC)
    assert "<strong>09:00</strong>" in text and "UTC" not in text  # shown back on the site's clock, unlabelled
    assert f'id="appointment-{row.id}"' in text and "Check in" in text
    assert toast(response).startswith("Booked ")


def test_booking_without_htmx_answers_303(client, desk, hospital, clinician):
    patient = make_patient(hospital)
    response = client.post(f"/hospital/patients/{patient.id}/appointments", data=booking(clinician))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/hospital/patients/{patient.id}")
    assert count(Appointment) == 1


@pytest.mark.parametrize(("htmx", "status"), [(True, 422), (False, 409)])
def test_double_booking_shows_a_field_error(client, desk, hospital, clinician, htmx, status):
    first, second = make_patient(hospital), make_patient(hospital)
    book(first, clinician, hour=9)
    response = client.post(
        f"/hospital/patients/{second.id}/appointments",
        data=booking(clinician, starts_at=slot(hour=9, minute=10), room="R9"),
        headers=HX if htmx else {},
    )
    assert response.status_code == status
    assert "Double booking: the clinician or the room is busy then." in html(response)
    assert count(Appointment) == 1


def test_double_booking_a_room_names_the_room(client, desk, hospital, clinician):
    other_doctor = make_personnel(hospital, full_name="Dr Other")
    book(make_patient(hospital), other_doctor, hour=9, room="Theatre 2")
    response = client.post(
        f"/hospital/patients/{make_patient(hospital).id}/appointments",
        data=booking(clinician, starts_at=slot(hour=9), room="Theatre 2"),
        headers=HX,
    )
    assert response.status_code == 422 and 'id="room-errors"' in html(response)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"personnel_id": "0"}, "Choose the clinician"),
        ({"starts_at": "tomorrow"}, "as a date, like 2026-12-04"),
        ({"starts_at": "2001-01-01T09:00"}, "That time has passed."),
        ({"duration_minutes": "2"}, "Number must be between 5 and 480."),
        ({"room": "R" * 41}, "must be 40 characters or fewer"),
    ],
)
def test_bad_booking_is_a_field_error_and_writes_nothing(client, desk, hospital, clinician, changes, message):
    patient = make_patient(hospital)
    response = client.post(
        f"/hospital/patients/{patient.id}/appointments", data=booking(clinician, **changes), headers=HX
    )
    assert response.status_code == 422 and message in html(response)
    assert count(Appointment) == 0


def test_booking_another_hospitals_clinician_is_refused(client, desk, hospital, other_hospital):
    stranger = make_personnel(other_hospital)
    response = client.post(
        f"/hospital/patients/{make_patient(hospital).id}/appointments", data=booking(stranger), headers=HX
    )
    assert response.status_code == 422 and "Choose a clinician of this hospital." in html(response)
    assert count(Appointment) == 0


# --- row actions -----------------------------------------------------------------------------------


def test_check_in_records_the_cover_verdict_and_swaps_the_row(client, desk, hospital, clinician, insured):
    row = book(make_patient(hospital, member_number="ACM-001"), clinician, days=0, hour=23)
    response = client.post(f"/hospital/appointments/{row.id}/check-in", headers=HX)
    text = html(response)
    assert response.status_code == 200 and text.lstrip().startswith(f'<tr id="appointment-{row.id}"')
    assert "Checked in" in text and ">Covered<" in text and "Complete" in text
    assert toast(response) == "Checked in; cover recorded."
    db.session.expire_all()
    saved = db.session.get(Appointment, row.id)
    assert saved.status is AppointmentStatus.CHECKED_IN and saved.coverage_eligible is True


def test_check_in_of_a_lapsed_member_shows_why_not_covered(client, desk, hospital, clinician, insured):
    row = book(make_patient(hospital, member_number="ACM-002"), clinician, days=0, hour=23)
    text = html(client.post(f"/hospital/appointments/{row.id}/check-in", headers=HX))
    assert ">Not covered<" in text and "No active cover on this date." in text
    db.session.expire_all()
    assert db.session.get(Appointment, row.id).coverage_reasons == ["R02"]


def test_no_show_complete_cancel_and_reschedule_swap_the_row(client, desk, hospital, clinician):
    patient = make_patient(hospital)
    a, b, c = (book(patient, clinician, hour=h) for h in (9, 10, 11))
    no_show = client.post(f"/hospital/appointments/{a.id}/no-show", headers=HX)
    assert no_show.status_code == 200 and "No show" in html(no_show) and toast(no_show) == "Marked as no-show."
    cancelled = client.post(f"/hospital/appointments/{b.id}/cancel", data={"reason": "Travelling"}, headers=HX)
    assert "Cancelled" in html(cancelled) and "Travelling" in html(cancelled)
    moved = client.post(
        f"/hospital/appointments/{c.id}/reschedule", data={"starts_at": slot(days=2, hour=14), "room": "R2"}, headers=HX
    )
    assert moved.status_code == 200 and toast(moved) == "Appointment moved." and "14:00" in html(moved)
    client.post(f"/hospital/appointments/{c.id}/check-in", headers=HX)
    completed = client.post(f"/hospital/appointments/{c.id}/complete", headers=HX)
    assert "Completed" in html(completed)
    db.session.expire_all()
    statuses = [db.session.get(Appointment, x.id).status for x in (a, b, c)]
    assert statuses == [AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED]
    assert db.session.get(Appointment, b.id).cancel_reason == "Travelling"


def test_a_refused_row_action_comes_back_as_the_row_with_the_reason(client, desk, hospital, clinician):
    row = book(make_patient(hospital), clinician)
    client.post(f"/hospital/appointments/{row.id}/cancel", headers=HX)
    refused = client.post(f"/hospital/appointments/{row.id}/check-in", headers=HX)
    assert refused.status_code == 422
    assert "A cancelled appointment cannot be checked in." in html(refused)
    assert toast(refused) == "A cancelled appointment cannot be checked in."
    clash = book(make_patient(hospital), clinician, hour=15)
    other = book(make_patient(hospital), clinician, hour=16)
    moved = client.post(f"/hospital/appointments/{other.id}/reschedule", data={"starts_at": slot(hour=15)}, headers=HX)
    assert moved.status_code == 422 and "Double booking" in html(moved) and " open" in html(moved)
    db.session.expire_all()
    assert clock.local(db.session.get(Appointment, other.id).starts_at).hour == 16 and clash.id


def test_row_actions_without_htmx_redirect_back_with_a_flash(client, desk, hospital, clinician):
    row = book(make_patient(hospital), clinician)
    response = client.post(f"/hospital/appointments/{row.id}/no-show", data={"next": "//evil.example/"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/hospital/appointments")
    assert "Marked as no-show." in html(client.get("/hospital/appointments"))


# --- the day view ---------------------------------------------------------------------------------


def test_day_view_groups_by_clinician_and_filters(client, desk, hospital, clinician):
    surgeon = make_personnel(hospital, full_name="Dr Baraka Surgeon", department="Surgery")
    book(make_patient(hospital, last_name="Outpatient"), clinician, hour=9)
    book(make_patient(hospital, last_name="Cutting"), surgeon, hour=10, room="Theatre")
    day = (clock.today() + timedelta(days=1)).isoformat()
    page = html(client.get(f"/hospital/appointments?day={day}"))
    assert f'id="clinician-{clinician.id}"' in page and f'id="clinician-{surgeon.id}"' in page
    assert "Outpatient" in page and "Cutting" in page
    partial = client.get(f"/hospital/appointments?day={day}&department=Surgery", headers=HX)
    text = html(partial)
    assert text.lstrip().startswith('<div id="day-view"') and "Cutting" in text and "Achieng" not in text
    by_clinician = html(client.get(f"/hospital/appointments?day={day}&personnel_id={clinician.id}", headers=HX))
    assert "Otieno" not in by_clinician or "Cutting" not in by_clinician
    assert "No appointments on this day" in html(client.get("/hospital/appointments?day=2001-01-01", headers=HX))
    assert "That is not a date" in html(client.get("/hospital/appointments?day=garbage"))


# --- tenants and roles ----------------------------------------------------------------------------


def test_receptionist_of_a_never_sees_hospital_b(client, desk, hospital, other_hospital):
    theirs = make_patient(other_hospital, first_name="Secret", last_name="Bpatient", phone="0700999888")
    their_doctor = make_personnel(other_hospital, full_name="Dr Hidden")
    their_row = book(theirs, their_doctor, days=0, hour=23)
    assert client.get(f"/hospital/patients/{theirs.id}").status_code == 404
    assert client.post(f"/hospital/patients/{theirs.id}", data=patient_form()).status_code == 404
    assert client.post(f"/hospital/patients/{theirs.id}/appointments", data=booking(their_doctor)).status_code == 404
    assert client.post(f"/hospital/appointments/{their_row.id}/check-in", headers=HX).status_code == 404
    assert client.post(f"/hospital/appointments/{their_row.id}/cancel").status_code == 404
    assert "Bpatient" not in html(client.get("/hospital/patients?q=bpat", headers=HX))
    assert "Bpatient" not in html(client.get("/hospital/patients?q=0700999", headers=HX))
    check = client.post("/hospital/patients/check", data=patient_form(phone="0700999888"), headers=HX)
    assert theirs.patient_number not in html(check)
    day = html(client.get(f"/hospital/appointments?day={clock.today()}"))
    assert "Secret" not in day and "Dr Hidden" not in day
    assert "Dr Hidden" not in html(client.get("/hospital/staff"))
    merge = client.post(
        f"/hospital/patients/{make_patient(hospital).id}/merge",
        data={"duplicate_number": theirs.patient_number, "confirm": "y"},
    )
    assert merge.status_code == 422
    db.session.expire_all()
    assert db.session.get(Appointment, their_row.id).status is AppointmentStatus.BOOKED
    assert db.session.get(Patient, theirs.id).merged_into_id is None


@pytest.mark.parametrize("role", [Role.ADJUDICATOR, Role.FINANCE_OFFICER])
def test_insurer_roles_get_403(client, login_as, hospital, role):
    login_as(role)
    patient = make_patient(hospital)
    for path in ("/hospital/patients", f"/hospital/patients/{patient.id}", "/hospital/appointments", "/hospital/staff"):
        assert client.get(path).status_code == 403, path
    assert client.post("/hospital/patients", data=patient_form()).status_code == 403
    assert client.post("/hospital/patients/check", data=patient_form()).status_code == 403
    assert count(Patient) == 1


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/hospital/patients")
    assert response.status_code in (302, 303) and "/auth/login" in response.headers["Location"]


# --- staff ----------------------------------------------------------------------------------------


def test_staff_list_and_admin_adds_personnel(client, login_as, hospital, clinician):
    login_as(Role.ADMIN, institution_id=hospital.id)
    page = html(client.get("/hospital/staff"))
    assert "Dr Achieng Odhiambo" in page and "Add staff" in page
    added = client.post(
        "/hospital/staff",
        data={"full_name": "Nurse Jane", "kind": "nurse", "department": "Outpatient", "specialty": ""},
    )
    assert added.status_code == 303
    refused = client.post("/hospital/staff", data={"full_name": "Dr No", "kind": "clinician", "department": "Surgery"})
    assert refused.status_code == 422 and "need their licence number" in html(refused)
    assert count(MedicalPersonnel, MedicalPersonnel.institution_id == hospital.id) == 2
    nurses = html(client.get("/hospital/staff?kind=nurse", headers=HX))
    assert nurses.lstrip().startswith('<div id="staff-results"') and "Nurse Jane" in nurses and "Achieng" not in nurses


def test_receptionist_reads_staff_but_cannot_add(client, desk, clinician):
    page = html(client.get("/hospital/staff"))
    assert "Dr Achieng Odhiambo" in page and "Add staff" not in page
    response = client.post("/hospital/staff", data={"full_name": "X", "kind": "staff", "department": "Desk"})
    assert response.status_code == 403
