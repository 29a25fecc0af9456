"""Hospital services: institutions, personnel, patient registration and search, merge, appointments (double
booking, transitions, the cover check at check-in), the day view's query count, tenant isolation and the
appointment events."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from blueprints.hospital import services
from blueprints.hospital.models import Appointment, AppointmentStatus, ClinicalOrder, MedicalRecord, Patient
from blueprints.hospital.services import PatientDetails
from medcover import clock
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import OutboxEvent
from medcover.extensions import db
from medcover.rbac import Role, tenant_of
from tests.factories import (
    add_benefit,
    make_benefit,
    make_company,
    make_coverage,
    make_institution,
    make_member,
    make_patient,
    make_personnel,
    make_scheme,
    make_user,
)


@pytest.fixture
def admin():
    return make_user(Role.ADMIN)


@pytest.fixture
def world():
    """Two hospitals, a receptionist and a clinician at each."""
    a, b = make_institution("HA", "Hospital A"), make_institution("HB", "Hospital B")
    return {
        "A": a,
        "B": b,
        "desk_A": make_user(Role.RECEPTIONIST, institution_id=a.id),
        "desk_B": make_user(Role.RECEPTIONIST, institution_id=b.id),
        "doc_A": make_personnel(a, full_name="Dr Achieng Otieno"),
        "doc_A2": make_personnel(a, full_name="Dr Baraka Kamau"),
        "doc_B": make_personnel(b, full_name="Dr Juma Hassan"),
    }


def at(days: int, hour: int, minute: int = 0) -> datetime:
    """A UTC time ``days`` from today, always in the future for days >= 1."""
    return datetime.combine(clock.today() + timedelta(days=days), time(hour, minute), UTC)


def details(**overrides) -> PatientDetails:
    values = {"first_name": "Amani", "last_name": "Wanjiru", "date_of_birth": date(1990, 3, 14), "gender": "female"}
    return PatientDetails(**(values | overrides))


def register(world, key: str = "A", **overrides) -> Patient:
    return services.register_patient(
        actor=world[f"desk_{key}"], institution_id=world[key].id, details=details(**overrides)
    )


def book(world, patient, *, doc: str = "doc_A", starts_at=None, minutes: int = 20, room=None, desk="desk_A"):
    return services.book_appointment(
        actor=world[desk],
        patient_id=patient.id,
        personnel_id=world[doc].id,
        starts_at=starts_at or at(1, 10),
        duration_minutes=minutes,
        room=room,
    )


def events(name: str) -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == name).order_by(OutboxEvent.id)))


# --- institutions --------------------------------------------------------------------------------


def test_platform_admin_creates_an_institution_and_it_is_audited(admin):
    made = services.create_institution(actor=admin, code="RGH", name="  Riverside   General ", phone="020 123 4567")
    assert (made.code, made.name, made.kind, made.phone) == ("RGH", "Riverside General", "hospital", "0201234567")
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "institution"))
    assert (entry.action, entry.entity_id, entry.institution_id) == ("create", str(made.id), made.id)


def test_receptionist_cannot_create_an_institution(world):
    with pytest.raises(Forbidden):
        services.create_institution(actor=world["desk_A"], code="NEW", name="New Clinic")


def test_duplicate_institution_code_is_a_conflict_whatever_the_case(admin):
    services.create_institution(actor=admin, code="RGH", name="Riverside")
    with pytest.raises(Conflict) as caught:
        services.create_institution(actor=admin, code="rgh", name="Another")
    assert "code" in caught.value.errors


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"code": "bad code!"}, "code"), ({"kind": "spa"}, "kind"), ({"name": "  "}, "name")],
)
def test_invalid_institution_names_the_field(admin, fields, field):
    with pytest.raises(Invalid) as caught:
        services.create_institution(actor=admin, **({"code": "OK1", "name": "Fine"} | fields))
    assert field in caught.value.errors


def test_institutions_of_lists_what_the_tenant_may_see_by_name(world, admin):
    make_institution("AAA", "Aardvark Clinic")
    everyone = services.institutions_of(tenant_of(admin))
    assert [(i.code, i.name) for i in everyone] == [
        ("AAA", "Aardvark Clinic"),
        ("HA", "Hospital A"),
        ("HB", "Hospital B"),
    ]
    assert all(isinstance(i, services.InstitutionSummary) for i in everyone)
    assert services.institutions_of(tenant_of(world["desk_B"])) == [
        services.InstitutionSummary(id=world["B"].id, code="HB", name="Hospital B")
    ]
    insurer = make_user(Role.ADJUDICATOR, company_id=make_company().id, institution_id=None)
    assert services.institutions_of(tenant_of(insurer)) == []


def test_other_domains_get_frozen_summaries_not_rows(world):
    insured = make_patient(world["A"], first_name="Zawadi", email="z@example.com", phone="254700000001")
    make_patient(world["B"])
    tenant_a = tenant_of(world["desk_A"])
    patient = services.get_patient(tenant_a, insured.id)
    assert isinstance(patient, services.PatientSummary)
    assert (patient.id, patient.institution_id, patient.patient_number, patient.first_name, patient.email) == (
        insured.id,
        world["A"].id,
        insured.patient_number,
        "Zawadi",
        "z@example.com",
    )
    assert services.patients_by_id([insured.id, None]) == {insured.id: patient}
    assert services.first_patients(world["A"].id, 5) == [patient]
    institution = services.get_institution(tenant_a, world["A"].id)
    assert isinstance(institution, services.InstitutionDetails)
    assert (institution.code, institution.name, institution.address) == ("HA", "Hospital A", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        patient.first_name = "Changed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        institution.name = "Changed"


# --- personnel -----------------------------------------------------------------------------------


def test_clinician_needs_a_licence_number(world, admin):
    with pytest.raises(Invalid) as caught:
        services.create_personnel(
            actor=admin, institution_id=world["A"].id, full_name="Dr No Licence", kind="clinician", department="OPD"
        )
    assert "licence_number" in caught.value.errors
    nurse = services.create_personnel(
        actor=admin, institution_id=world["A"].id, full_name="Nurse Neema", kind="nurse", department="OPD"
    )
    assert nurse.licence_number is None


def test_duplicate_licence_in_one_institution_is_a_conflict_but_fine_elsewhere(world, admin):
    def add(institution):
        return services.create_personnel(
            actor=admin,
            institution_id=institution.id,
            full_name="Dr Same",
            kind="clinician",
            department="Surgery",
            licence_number="KMPDC-123",
        )

    add(world["A"])
    with pytest.raises(Conflict) as caught:
        add(world["A"])
    assert "licence_number" in caught.value.errors
    assert add(world["B"]).licence_number == "KMPDC-123"


def test_schedule_is_normalised(world, admin):
    row = services.create_personnel(
        actor=admin,
        institution_id=world["A"].id,
        full_name="Dr Hours",
        kind="clinician",
        department="OPD",
        licence_number="L-1",
        schedule={"mon": ["08:00", "16:30"], "sat": ("09:00:00", "12:00")},
    )
    assert row.schedule == {"mon": ["08:00", "16:30"], "sat": ["09:00", "12:00"]}


@pytest.mark.parametrize(
    "schedule",
    [
        {"monday": ["08:00", "16:00"]},
        {"mon": ["16:00", "08:00"]},
        {"mon": ["8 am", "4 pm"]},
        {"mon": ["08:00"]},
        ["mon", "08:00", "16:00"],
    ],
)
def test_bad_schedule_is_refused(world, admin, schedule):
    with pytest.raises(Invalid) as caught:
        services.create_personnel(
            actor=admin,
            institution_id=world["A"].id,
            full_name="Dr Hours",
            kind="clinician",
            department="OPD",
            licence_number="L-2",
            schedule=schedule,
        )
    assert "schedule" in caught.value.errors


def test_receptionist_cannot_add_staff_to_another_hospital(world):
    with pytest.raises(NotFound):
        services.create_personnel(
            actor=world["desk_A"], institution_id=world["B"].id, full_name="Nurse X", kind="nurse", department="OPD"
        )


# --- patient registration ------------------------------------------------------------------------


def test_patients_are_numbered_in_sequence_per_institution(world):
    first, second = register(world), register(world, first_name="Neema")
    other = register(world, "B")
    assert (first.patient_number, second.patient_number, other.patient_number) == (
        "HA-000001",
        "HA-000002",
        "HB-000001",
    )


def test_registration_normalises_names_keys_phone_and_ids(world):
    patient = register(
        world,
        first_name="  Zoë  ",
        last_name=" Ñandú   Wekesa ",
        phone="+254 (722) 000-111",
        email=" Zoe@Example.COM ",
        national_id=" a 1234 567 ",
        member_number=" jhi-000001 ",
    )
    assert (patient.first_name, patient.last_name) == ("Zoë", "Ñandú Wekesa")
    assert (patient.first_name_key, patient.last_name_key) == ("zoe", "nandu wekesa")
    assert patient.phone == "254722000111"
    assert (patient.email, patient.national_id, patient.member_number) == ("zoe@example.com", "A1234567", "JHI-000001")
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "patient"))
    assert entry.after == {"patient_number": "HA-000001"}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"first_name": " "}, "first_name"),
        ({"last_name": "x" * 81}, "last_name"),
        ({"date_of_birth": "1990-01-01"}, "date_of_birth"),
        ({"date_of_birth": date(2999, 1, 1)}, "date_of_birth"),
        ({"gender": "robot"}, "gender"),
        ({"phone": "12"}, "phone"),
        ({"phone": "0722abc111"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"national_id": "ab"}, "national_id"),
        ({"member_number": "JHI 0001 !"}, "member_number"),
    ],
)
def test_invalid_registration_names_the_field_and_writes_nothing(world, fields, field):
    with pytest.raises(Invalid) as caught:
        register(world, **fields)
    assert field in caught.value.errors
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 0


def test_sql_looking_text_is_stored_as_text(world):
    patient = register(world, first_name="Robert'); DROP TABLE patients;--", last_name='O\'Brien "Bobby"')
    db.session.expire_all()
    stored = db.session.get(Patient, patient.id)
    assert (stored.first_name, stored.last_name) == ("Robert'); DROP TABLE patients;--", 'O\'Brien "Bobby"')
    assert db.session.scalar(select(func.count()).select_from(Patient)) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"first_name": "<script>alert(1)</script>"}, "first_name"),
        ({"last_name": "<b>Bold</b>"}, "last_name"),
        ({"email": "a<b>@example.com"}, "email"),
    ],
)
def test_html_in_a_name_or_email_is_refused(world, fields, field):
    with pytest.raises(Invalid) as caught:
        register(world, **fields)
    assert field in caught.value.errors


@pytest.mark.parametrize("field", ["first_name", "last_name", "email"])
def test_nul_characters_are_refused(world, field):
    value = {"first_name": "Ann\x00", "last_name": "Mu\x00tua", "email": "a\x00b@example.com"}[field]
    with pytest.raises(Invalid) as caught:
        register(world, **{field: value})
    assert field in caught.value.errors


def test_update_patient_audits_the_field_names_only(world):
    patient = register(world, phone="0722000111")
    services.update_patient(actor=world["desk_A"], patient_id=patient.id, details=details(phone="0733 000 222"))
    assert patient.phone == "0733000222"
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "patient", AuditLog.action == "update"))
    assert entry.after == {"changed": ["phone"]}


# --- search --------------------------------------------------------------------------------------


@pytest.fixture
def people(world):
    a = world["A"]
    return {
        "zoe": make_patient(a, first_name="Zoë", last_name="Wekesa", phone="254722000111", national_id="12345678"),
        "juma": make_patient(
            a, first_name="Juma", last_name="Otieno", phone="254733444555", member_number="JHI-000007"
        ),
        "grace": make_patient(a, first_name="Grace", last_name="Mwangi", national_id="A7654321"),
        "other": make_patient(world["B"], first_name="Zoë", last_name="Wekesa", phone="254722000111"),
    }


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("wek", "zoe"),
        ("WEKESA", "zoe"),
        ("zo", "zoe"),
        ("Zoe", "zoe"),
        ("zoë", "zoe"),
        ("zoe wek", "zoe"),
        ("wekesa zoe", "zoe"),
        ("otieno juma", "juma"),
        ("0722", None),
        ("254 722 000", "zoe"),
        ("+254-733", "juma"),
        ("1234", "zoe"),
        ("a765", "grace"),
        ("jhi-000007", "juma"),
    ],
)
def test_search_finds_by_name_phone_and_ids(world, people, query, who):
    found = services.search_patients(tenant_of(world["desk_A"]), query)
    assert [p.id for p in found] == ([people[who].id] if who else [])


def test_search_finds_by_patient_number(world):
    patient = register(world, first_name="Neema", last_name="Chebet")
    found = services.search_patients(tenant_of(world["desk_A"]), "ha-000001")
    assert [p.id for p in found] == [patient.id]


def test_search_needs_two_characters_and_does_not_mix_first_and_last(world, people):
    tenant = tenant_of(world["desk_A"])
    assert services.search_patients(tenant, "w") == []
    assert services.search_patients(tenant, "juma wekesa") == []


def test_search_is_limited_to_twenty_and_ordered_by_name(world):
    for n in range(25):
        make_patient(world["A"], first_name=f"Baraka{n:02d}", last_name="Kamau")
    found = services.search_patients(tenant_of(world["desk_A"]), "kamau")
    assert len(found) == 20
    assert [p.first_name for p in found] == [f"Baraka{n:02d}" for n in range(20)]


def test_search_stays_in_the_tenant_and_admin_sees_all(world, people, admin):
    assert [p.id for p in services.search_patients(tenant_of(world["desk_B"]), "zoe")] == [people["other"].id]
    assert {p.id for p in services.search_patients(tenant_of(admin), "zoe")} == {people["zoe"].id, people["other"].id}


def test_merged_patients_are_hidden_from_search(world, people):
    duplicate = make_patient(world["A"], first_name="Zoe", last_name="Wekesa")
    services.merge_patients(actor=world["desk_A"], keep_id=people["zoe"].id, duplicate_id=duplicate.id)
    assert [p.id for p in services.search_patients(tenant_of(world["desk_A"]), "wekesa")] == [people["zoe"].id]


def test_likely_duplicates_by_national_id_phone_or_name_and_birthday(world, people):
    tenant = tenant_of(world["desk_A"])

    def dupes(**fields):
        return [p.id for p in services.likely_duplicates(tenant, details(first_name="X", last_name="Y", **fields))]

    assert dupes(national_id=" 1234 5678") == [people["zoe"].id]
    assert dupes(phone="+254 733 444 555") == [people["juma"].id]
    assert dupes() == []
    grace = services.likely_duplicates(
        tenant, details(first_name="GRACE", last_name="mwangi", date_of_birth=people["grace"].date_of_birth)
    )
    assert [p.id for p in grace] == [people["grace"].id]
    # Hospital B's Zoë shares the phone, but B's records are not A's duplicates.
    assert dupes(phone="254722000111") == [people["zoe"].id]


# --- merge ---------------------------------------------------------------------------------------


def test_merge_moves_appointments_records_and_orders_and_is_audited(world):
    keep = make_patient(world["A"], first_name="Juma", last_name="Otieno", phone=None)
    duplicate = make_patient(world["A"], first_name="Juma", last_name="Otieno", phone="254711000222", email="j@x.org")
    appointment = book(world, duplicate)
    record = MedicalRecord(
        institution_id=world["A"].id, patient_id=duplicate.id, encounter_date=clock.today(), diagnoses=["J06.9"]
    )
    db.session.add(record)
    db.session.flush()
    order = ClinicalOrder(
        institution_id=world["A"].id,
        record_id=record.id,
        patient_id=duplicate.id,
        kind="lab",
        service_code="LAB-FBC",
        description="Full blood count",
    )
    db.session.add(order)
    db.session.flush()

    kept = services.merge_patients(actor=world["desk_A"], keep_id=keep.id, duplicate_id=duplicate.id)

    assert kept.id == keep.id and duplicate.merged_into_id == keep.id
    assert (kept.phone, kept.email) == ("254711000222", "j@x.org")  # gaps filled from the duplicate
    for model, row_id in ((Appointment, appointment.id), (MedicalRecord, record.id), (ClinicalOrder, order.id)):
        assert db.session.scalar(select(model.patient_id).where(model.id == row_id)) == keep.id
    assert (appointment.patient_id, record.patient_id, order.patient_id) == (
        keep.id,
        keep.id,
        keep.id,
    )  # loaded ones too
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "merge"))
    assert entry.entity_id == str(keep.id)
    assert entry.before == {"merged": duplicate.patient_number}
    assert entry.after["appointments"] == 1
    assert entry.after["medical_records"] == 1
    assert entry.after["clinical_orders"] == 1


def test_merge_refuses_across_institutions_twice_and_the_same_record(world, admin):
    a1, a2, b1 = make_patient(world["A"]), make_patient(world["A"]), make_patient(world["B"])
    with pytest.raises(Invalid):
        services.merge_patients(actor=admin, keep_id=a1.id, duplicate_id=b1.id)
    with pytest.raises(NotFound):
        services.merge_patients(actor=world["desk_A"], keep_id=a1.id, duplicate_id=b1.id)
    with pytest.raises(Invalid):
        services.merge_patients(actor=world["desk_A"], keep_id=a1.id, duplicate_id=a1.id)
    services.merge_patients(actor=world["desk_A"], keep_id=a1.id, duplicate_id=a2.id)
    with pytest.raises(Conflict):
        services.merge_patients(actor=world["desk_A"], keep_id=a1.id, duplicate_id=a2.id)
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "merge")) == 1


def test_merged_record_cannot_be_booked(world):
    keep, duplicate = make_patient(world["A"]), make_patient(world["A"])
    services.merge_patients(actor=world["desk_A"], keep_id=keep.id, duplicate_id=duplicate.id)
    with pytest.raises(Invalid) as caught:
        book(world, duplicate)
    assert "patient_id" in caught.value.errors


# --- appointments --------------------------------------------------------------------------------


def test_booking_an_appointment(world):
    patient = make_patient(world["A"])
    row = book(world, patient, starts_at=at(2, 9, 30), minutes=30, room=" Room 4 ")
    assert (row.status, row.department, row.room) == (AppointmentStatus.BOOKED, "Outpatient", "Room 4")
    assert (row.starts_at, row.ends_at) == (at(2, 9, 30), at(2, 10))
    audit = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "appointment"))
    assert (audit.action, audit.entity_id) == ("create", str(row.id))


def test_double_booking_the_clinician_is_refused_on_starts_at(world):
    book(world, make_patient(world["A"]), starts_at=at(1, 10))
    with pytest.raises(Conflict) as caught:
        book(world, make_patient(world["A"]), starts_at=at(1, 10, 10))
    assert "starts_at" in caught.value.errors


def test_same_room_with_another_clinician_is_refused_on_room(world):
    book(world, make_patient(world["A"]), starts_at=at(1, 10), room="Room 1")
    with pytest.raises(Conflict) as caught:
        book(world, make_patient(world["A"]), doc="doc_A2", starts_at=at(1, 10, 5), room="Room 1")
    assert "room" in caught.value.errors
    # another room is fine, and another hospital's "Room 1" is another room
    book(world, make_patient(world["A"]), doc="doc_A2", starts_at=at(1, 10, 5), room="Room 2")
    book(world, make_patient(world["B"]), doc="doc_B", desk="desk_B", starts_at=at(1, 10), room="Room 1")


def test_adjacent_slots_do_not_clash(world):
    book(world, make_patient(world["A"]), starts_at=at(1, 10), room="Room 1")
    after = book(world, make_patient(world["A"]), starts_at=at(1, 10, 20), room="Room 1")
    before = book(world, make_patient(world["A"]), starts_at=at(1, 9, 40), room="Room 1")
    assert (before.ends_at, after.starts_at) == (at(1, 10), at(1, 10, 20))


def test_a_cancelled_appointment_frees_its_slot(world):
    first = book(world, make_patient(world["A"]))
    services.change_appointment_status(actor=world["desk_A"], appointment_id=first.id, status="cancelled")
    assert book(world, make_patient(world["A"])).starts_at == first.starts_at


@pytest.mark.parametrize(
    ("starts_at", "minutes", "field"),
    [
        (datetime.now(UTC) - timedelta(hours=1), 20, "starts_at"),
        (datetime.combine(date.today() + timedelta(days=1), time(10)), 20, "starts_at"),
        ("2030-01-01T10:00", 20, "starts_at"),
        (None, 4, "duration_minutes"),
        (None, 481, "duration_minutes"),
        (None, "twenty", "duration_minutes"),
    ],
    ids=["past", "naive", "string", "too-short", "too-long", "not-a-number"],
)
def test_bad_booking_times_are_refused(world, starts_at, minutes, field):
    with pytest.raises(Invalid) as caught:
        book(world, make_patient(world["A"]), starts_at=starts_at or at(1, 10), minutes=minutes)
    assert field in caught.value.errors
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_bounds_of_the_duration_are_allowed(world):
    assert book(world, make_patient(world["A"]), starts_at=at(1, 8), minutes=5).ends_at == at(1, 8, 5)
    assert book(world, make_patient(world["A"]), starts_at=at(2, 8), minutes=480).ends_at == at(2, 16)


def test_clinician_of_another_hospital_cannot_be_booked(world, admin):
    with pytest.raises(Invalid) as caught:
        services.book_appointment(
            actor=admin, patient_id=make_patient(world["A"]).id, personnel_id=world["doc_B"].id, starts_at=at(1, 10)
        )
    assert "personnel_id" in caught.value.errors


def test_reschedule_moves_the_appointment_and_checks_clashes(world):
    row = book(world, make_patient(world["A"]), starts_at=at(1, 10))
    other = book(world, make_patient(world["A"]), starts_at=at(1, 11))
    moved = services.reschedule_appointment(actor=world["desk_A"], appointment_id=row.id, starts_at=at(1, 10, 10))
    assert (moved.starts_at, moved.ends_at) == (at(1, 10, 10), at(1, 10, 30))  # overlapping itself is fine
    with pytest.raises(Conflict) as caught:
        services.reschedule_appointment(actor=world["desk_A"], appointment_id=row.id, starts_at=at(1, 10, 50))
    assert "starts_at" in caught.value.errors
    with pytest.raises(Invalid):
        services.reschedule_appointment(
            actor=world["desk_A"], appointment_id=row.id, starts_at=clock.now() - timedelta(hours=2)
        )
    services.check_in(actor=world["desk_A"], appointment_id=other.id)
    with pytest.raises(Conflict):
        services.reschedule_appointment(actor=world["desk_A"], appointment_id=other.id, starts_at=at(2, 11))
    audit = db.session.scalar(
        select(AuditLog).where(AuditLog.entity_type == "appointment", AuditLog.action == "update").limit(1)
    )
    assert audit.before["starts_at"] == at(1, 10).isoformat()
    assert audit.after["starts_at"] == at(1, 10, 10).isoformat()


def test_status_transitions(world):
    desk = world["desk_A"]
    visit = book(world, make_patient(world["A"]), starts_at=at(1, 9))
    services.check_in(actor=desk, appointment_id=visit.id)
    done = services.change_appointment_status(actor=desk, appointment_id=visit.id, status="completed")
    assert done.status is AppointmentStatus.COMPLETED
    with pytest.raises(Conflict):
        services.change_appointment_status(actor=desk, appointment_id=visit.id, status="cancelled")
    with pytest.raises(Conflict):
        services.check_in(actor=desk, appointment_id=visit.id)

    cancelled = book(world, make_patient(world["A"]), starts_at=at(1, 10))
    services.change_appointment_status(
        actor=desk, appointment_id=cancelled.id, status="cancelled", reason="  Patient travelled "
    )
    assert (cancelled.status, cancelled.cancel_reason) == (AppointmentStatus.CANCELLED, "Patient travelled")

    missed = book(world, make_patient(world["A"]), starts_at=at(1, 11))
    services.change_appointment_status(actor=desk, appointment_id=missed.id, status="no_show")
    assert missed.status is AppointmentStatus.NO_SHOW
    with pytest.raises(Conflict):
        services.change_appointment_status(actor=desk, appointment_id=missed.id, status="completed")

    booked = book(world, make_patient(world["A"]), starts_at=at(1, 12))
    with pytest.raises(Conflict):
        services.change_appointment_status(actor=desk, appointment_id=booked.id, status="completed")
    with pytest.raises(Invalid):
        services.change_appointment_status(actor=desk, appointment_id=booked.id, status="teleported")
    via_status = services.change_appointment_status(actor=desk, appointment_id=booked.id, status="checked_in")
    assert via_status.status is AppointmentStatus.CHECKED_IN
    statuses = db.session.scalars(
        select(AuditLog.after).where(AuditLog.entity_type == "appointment", AuditLog.action == "update")
    ).all()
    assert [s["status"] for s in statuses] == ["checked_in", "completed", "cancelled", "no_show", "checked_in"]


def test_check_in_records_the_cover_verdict_of_an_insured_patient(world):
    company = make_company()
    scheme = make_scheme(company)
    add_benefit(scheme, make_benefit())
    make_coverage(make_member(company, member_number="JHI-000042"), scheme, clock.today() - timedelta(days=30))
    insured = make_patient(world["A"], member_number="JHI-000042")
    lapsed = make_patient(world["A"], member_number="NOBODY-1")
    plain = make_patient(world["A"])
    rows = [book(world, p, starts_at=at(1, 9 + n)) for n, p in enumerate((insured, lapsed, plain))]

    checked = [services.check_in(actor=world["desk_A"], appointment_id=r.id) for r in rows]

    assert [(r.coverage_eligible, r.coverage_reasons) for r in checked] == [(True, []), (False, ["R01"]), (None, None)]
    assert all(r.status is AppointmentStatus.CHECKED_IN and r.coverage_checked_at for r in checked)
    assert services.cover_for(plain) is None
    assert services.cover_for(insured).eligible is True


def test_day_view_per_clinician_and_department_in_one_query(world, count_queries):
    tenant = tenant_of(world["desk_A"])
    day = clock.today() + timedelta(days=3)
    book(world, make_patient(world["A"]), starts_at=at(3, 8))
    db.session.flush()
    with count_queries() as few:
        one = services.day_view(tenant, day, personnel_id=world["doc_A"].id)
    for n in range(1, 12):
        book(
            world,
            make_patient(world["A"]),
            doc="doc_A" if n % 2 else "doc_A2",
            starts_at=at(3, 8, 0) + timedelta(minutes=20 * n),
        )
    book(world, make_patient(world["B"]), doc="doc_B", desk="desk_B", starts_at=at(3, 9))
    book(world, make_patient(world["A"]), starts_at=at(4, 9))  # another day
    db.session.flush()
    with count_queries() as many:
        mine = services.day_view(tenant, day, personnel_id=world["doc_A"].id)
        department = services.day_view(tenant, day, department="Outpatient")
    assert len(one) == 1 and len(mine) == 7 and len(department) == 12
    assert [a.starts_at for a in department] == sorted(a.starts_at for a in department)
    assert few.count == 1 and many.count == 2


# --- tenant isolation ----------------------------------------------------------------------------


def test_receptionist_of_a_never_reaches_hospital_b(world):
    desk_a, tenant_a = world["desk_A"], tenant_of(world["desk_A"])
    theirs = make_patient(world["B"], first_name="Hidden", last_name="Patient")
    their_visit = book(world, theirs, doc="doc_B", desk="desk_B")
    with pytest.raises(NotFound):
        services.get_patient(tenant_a, theirs.id)
    with pytest.raises(NotFound):
        services.get_appointment(tenant_a, their_visit.id)
    with pytest.raises(NotFound):
        services.get_personnel(tenant_a, world["doc_B"].id)
    with pytest.raises(NotFound):
        services.get_institution(tenant_a, world["B"].id)
    assert services.search_patients(tenant_a, "hidden") == []
    assert services.day_view(tenant_a, their_visit.starts_at.date()) == []
    writes = [
        lambda: services.register_patient(actor=desk_a, institution_id=world["B"].id, details=details()),
        lambda: services.update_patient(actor=desk_a, patient_id=theirs.id, details=details()),
        lambda: book(world, theirs, doc="doc_B"),
        lambda: book(world, make_patient(world["A"]), doc="doc_B"),
        lambda: services.reschedule_appointment(actor=desk_a, appointment_id=their_visit.id, starts_at=at(2, 10)),
        lambda: services.change_appointment_status(actor=desk_a, appointment_id=their_visit.id, status="cancelled"),
        lambda: services.check_in(actor=desk_a, appointment_id=their_visit.id),
        lambda: services.merge_patients(actor=desk_a, keep_id=theirs.id, duplicate_id=make_patient(world["B"]).id),
    ]
    for write in writes:
        with pytest.raises((NotFound, Forbidden)):
            write()
    assert their_visit.status is AppointmentStatus.BOOKED
    assert theirs.first_name == "Hidden"


# --- events --------------------------------------------------------------------------------------


def test_booking_publishes_appointment_booked_with_the_patients_contact(world):
    patient = make_patient(world["A"], first_name="Neema", last_name="Chebet", phone="254722000111", email="n@x.org")
    row = book(world, patient, starts_at=at(2, 10))
    [event] = events("appointment.booked")
    assert event.payload["appointment_id"] == row.id
    assert event.payload["recipients"] == [{"email": "n@x.org", "phone": "+254722000111", "name": "Neema Chebet"}]
    assert event.payload["context"]["clinician"] == "Dr Achieng Otieno"
    assert event.payload["context"]["institution"] == "Hospital A"


def test_no_event_for_a_patient_without_contact(world):
    book(world, make_patient(world["A"]))
    assert events("appointment.booked") == []


def test_send_reminders_publishes_once_a_day_ahead(world):
    soon = book(world, make_patient(world["A"], phone="254722000111"), starts_at=clock.now() + timedelta(hours=3))
    later = book(world, make_patient(world["A"], phone="254722000222"), starts_at=clock.now() + timedelta(days=3))
    cancelled = book(world, make_patient(world["A"], phone="254722000333"), starts_at=clock.now() + timedelta(hours=5))
    services.change_appointment_status(actor=world["desk_A"], appointment_id=cancelled.id, status="cancelled")

    assert services.send_reminders() == 1
    [reminder] = events("appointment.reminder")
    assert reminder.payload["appointment_id"] == soon.id
    assert reminder.payload["recipients"][0]["phone"] == "+254722000111"
    sent_at = soon.reminder_sent_at
    assert sent_at is not None and later.reminder_sent_at is None

    assert services.send_reminders() == 0
    assert len(events("appointment.reminder")) == 1
    assert soon.reminder_sent_at == sent_at


def test_nul_in_a_reason_is_refused_but_line_breaks_are_kept(world):
    with pytest.raises(Invalid) as caught:
        services.book_appointment(
            actor=world["desk_A"],
            patient_id=make_patient(world["A"]).id,
            personnel_id=world["doc_A"].id,
            starts_at=at(1, 10),
            reason="Cough\x00",
        )
    assert "reason" in caught.value.errors
    row = services.book_appointment(
        actor=world["desk_A"],
        patient_id=make_patient(world["A"]).id,
        personnel_id=world["doc_A"].id,
        starts_at=at(1, 10),
        reason=" Cough\nfor two weeks ",
    )
    assert row.reason == "Cough\nfor two weeks"
    with pytest.raises(Invalid):
        services.change_appointment_status(
            actor=world["desk_A"], appointment_id=row.id, status="cancelled", reason="\x00"
        )
    assert row.status is AppointmentStatus.BOOKED


def test_rescheduling_into_a_room_another_clinician_holds_is_refused_on_room(world):
    book(world, make_patient(world["A"]), doc="doc_A2", starts_at=at(1, 11), room="Room 1")
    row = book(world, make_patient(world["A"]), starts_at=at(1, 10), room="Room 1")
    with pytest.raises(Conflict) as caught:
        services.reschedule_appointment(actor=world["desk_A"], appointment_id=row.id, starts_at=at(1, 11, 10))
    assert "room" in caught.value.errors
