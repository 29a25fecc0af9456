"""Duplicate patients stopped at the door: the same national id or member number at the same hospital is refused,
naming the patient who has it (page: a link; API: 409 problem+json); a lookalike (same name and date of birth)
needs "This is a different person" with a reason, which is audited; what was typed is kept throughout."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from blueprints.hospital import services
from blueprints.hospital.models import Patient
from blueprints.hospital.services import PatientDetails
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_institution, make_patient, make_user
from tests.hospital.test_views import HX, html, patient_form


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Patient))


def _details(**changes) -> PatientDetails:
    values = {"first_name": "Amani", "last_name": "Njoroge", "date_of_birth": date(1990, 3, 14), "gender": "female"}
    return PatientDetails(**(values | changes))


@pytest.fixture
def existing(hospital):
    return make_patient(
        hospital,
        first_name="Amani",
        last_name="Njoroge",
        date_of_birth=date(1990, 3, 14),
        national_id="12345678",
        member_number="ACM-001",
    )


# --- service --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "changes"),
    [("national_id", {"national_id": "1234 5678"}), ("member_number", {"member_number": "acm-001"})],
)
def test_the_same_national_id_or_member_number_at_the_hospital_is_refused_naming_the_patient(
    hospital, existing, field, changes
):
    desk = make_user(Role.RECEPTIONIST, institution_id=hospital.id)
    with pytest.raises(services.DuplicatePatient) as caught:
        services.register_patient(
            actor=desk,
            institution_id=hospital.id,
            details=_details(first_name="Baraka", **changes),
            different_person_reason="Not the same person at all",
        )
    assert caught.value.status == 409 and caught.value.existing.id == existing.id
    assert existing.patient_number in caught.value.errors[field][0]
    assert _count() == 1


def test_another_hospital_may_register_the_same_person(existing):
    other = make_institution(code="HB", name="Hospital B")
    desk = make_user(Role.RECEPTIONIST, institution_id=other.id)
    made = services.register_patient(
        actor=desk, institution_id=other.id, details=_details(national_id="12345678", member_number="ACM-001")
    )
    assert made.institution_id == other.id and _count() == 2


def test_a_correction_cannot_take_another_patients_national_id(hospital, existing):
    desk = make_user(Role.RECEPTIONIST, institution_id=hospital.id)
    other = make_patient(hospital, first_name="Baraka", last_name="Mutua", national_id="87654321")
    with pytest.raises(services.DuplicatePatient):
        services.update_patient(
            actor=desk,
            patient_id=other.id,
            details=_details(first_name="Baraka", last_name="Mutua", national_id="12345678"),
        )


def test_a_lookalike_needs_a_reason_and_the_reason_is_audited(hospital, existing):
    desk = make_user(Role.RECEPTIONIST, institution_id=hospital.id)
    with pytest.raises(services.LikelyDuplicate) as caught:
        services.register_patient(actor=desk, institution_id=hospital.id, details=_details(first_name="AMANI "))
    assert [p.id for p in caught.value.lookalikes] == [existing.id]
    for reason, message in (("", "Say why"), ("twin", "at least 5")):
        with pytest.raises(Invalid, match=message):
            services.register_patient(
                actor=desk, institution_id=hospital.id, details=_details(), different_person_reason=reason
            )
    assert _count() == 1
    made = services.register_patient(
        actor=desk, institution_id=hospital.id, details=_details(), different_person_reason="Twin sister, same name"
    )
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity_id == str(made.id), AuditLog.action == "create"))
    assert entry.after["different_person_from"] == [existing.patient_number]
    assert entry.after["reason"] == "Twin sister, same name"


def test_merging_hands_the_national_id_to_the_kept_record(hospital, existing):
    desk = make_user(Role.RECEPTIONIST, institution_id=hospital.id)
    keep = make_patient(hospital, first_name="Amani", last_name="Njoroge-Kamau", national_id=None)
    services.merge_patients(actor=desk, keep_id=keep.id, duplicate_id=existing.id)
    assert keep.national_id == "12345678" and keep.member_number == "ACM-001"


# --- pages ----------------------------------------------------------------------------------------


@pytest.fixture
def desk(login_as, hospital):
    return login_as(Role.RECEPTIONIST, institution_id=hospital.id)


@pytest.mark.parametrize("htmx", [False, True])
def test_the_page_refuses_a_duplicate_with_a_link_to_the_patient_and_keeps_what_was_typed(client, desk, existing, htmx):
    response = client.post(
        "/hospital/patients",
        data=patient_form(first_name="Baraka", email="baraka@example.com"),
        headers=HX if htmx else {},
    )
    text = html(response)
    assert response.status_code == (422 if htmx else 409)
    assert 'id="already-registered"' in text
    assert f'href="/hospital/patients/{existing.id}">{existing.patient_number}</a>' in text
    assert 'value="Baraka"' in text and 'value="baraka@example.com"' in text
    assert _count() == 1


def test_the_page_asks_to_confirm_a_lookalike_then_registers_it_with_the_reason(client, desk, existing):
    typed = patient_form(national_id="99990000", phone="0711 222 333", email="amani2@example.com")
    first = client.post("/hospital/patients", data=typed)
    text = html(first)
    assert first.status_code == 409 and 'id="different-person"' in text
    assert f'href="/hospital/patients/{existing.id}">{existing.patient_number}</a>' in text
    assert 'value="99990000"' in text and 'value="amani2@example.com"' in text  # nothing typed is lost
    no_reason = client.post("/hospital/patients", data=typed | {"different_person": "y"})
    assert no_reason.status_code == 422 and "Say why this is a different person." in html(no_reason)
    assert _count() == 1
    done = client.post(
        "/hospital/patients", data=typed | {"different_person": "y", "different_person_reason": "Cousin, same name"}
    )
    assert done.status_code == 303 and _count() == 2


# --- API ------------------------------------------------------------------------------------------


@pytest.fixture
def api(client, api_token, hospital):
    headers = api_token(make_user(Role.RECEPTIONIST, institution_id=hospital.id))
    return lambda body: client.post("/api/v1/patients", json=body, headers=headers)


def _body(hospital, **changes) -> dict:
    return {
        "first_name": "Amani",
        "last_name": "Njoroge",
        "date_of_birth": "1990-03-14",
        "gender": "female",
        "institution_id": hospital.id,
    } | changes


def test_the_api_answers_409_naming_the_existing_patient(api, hospital, existing):
    body = assert_problem(api(_body(hospital, first_name="Baraka", national_id="12345678")), 409, {"existing_patient"})
    assert body["existing_patient"] == {"id": existing.id, "patient_number": existing.patient_number}
    assert existing.patient_number in body["detail"] and "national_id" in body["errors"]


def test_the_api_needs_different_person_reason_for_a_lookalike(api, hospital, existing):
    body = assert_problem(api(_body(hospital)), 409, {"lookalikes"})
    assert body["lookalikes"] == [{"id": existing.id, "patient_number": existing.patient_number}]
    assert "different_person_reason" in body["errors"]
    assert_problem(api(_body(hospital, different_person_reason="  ")), 422)
    assert_problem(api(_body(hospital, different_person_reason=7)), 422)
    assert _count() == 1
    made = api(_body(hospital, different_person_reason="Twin sister, same name"))
    assert made.status_code == 201 and _count() == 2
    assert "different_person_reason" not in made.get_json()
