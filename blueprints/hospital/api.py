"""Hospital JSON endpoints: institutions, personnel, patients (intake, search, merge) and appointments
(API.md's fixed shapes for ``POST /institutions`` and ``POST /patients``).

Who may call what. Tenancy is the services': hospital staff see and change only their institution's
rows, and another institution's row answers 404 as if it did not exist. Callers bound to an insurance
company get 403 on every hospital endpoint: insurer staff never see a hospital's patients.

| resource                                   | read                         | write                                 |
|--------------------------------------------|------------------------------|---------------------------------------|
| institutions                               | READERS                      | ADMIN, platform admins only (global)  |
| personnel                                  | READERS                      | ADMIN, INTEGRATION                    |
| patients (+ merge)                         | READERS                      | WRITERS                               |
| appointments (+ reschedule ... complete)   | READERS                      | WRITERS                               |
| medical records (+ attachments)            | WRITERS + records.py's rules | WRITERS + records.py's clinical rules |

WRITERS = ADMIN, RECEPTIONIST, BILLING_CLERK, INTEGRATION (bound to an institution, or a platform admin).
READERS = WRITERS + AUDITOR. ADJUDICATOR and FINANCE_OFFICER are insurer roles: 403.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from flask import request, send_file
from flask_login import current_user
from pydantic import BeforeValidator, Field, Strict
from sqlalchemy import select

from blueprints.hospital import api_bp, records, schedules, services
from blueprints.hospital.models import Appointment, AppointmentStatus, Patient, PersonnelKind
from medcover import uploads
from medcover.api import (
    Day,
    Id,
    Out,
    Schema,
    choice_arg,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    optional_body,
    page_model,
    page_params,
    paginate,
    parse,
    referenced,
)
from medcover.errors import Forbidden, Invalid
from medcover.extensions import db
from medcover.rbac import Role, allow, scope, tenant_of

TAG = "Hospital"
WRITERS = frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.BILLING_CLERK, Role.INTEGRATION})
READERS = WRITERS | {Role.AUDITOR}
STAFF_WRITERS = frozenset({Role.ADMIN, Role.INTEGRATION})
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- input types: strict, so `true`, `"7"` or a timestamp are not taken for a number or a date ---------


def _moment(value: Any) -> datetime:
    """An ISO 8601 date and time with its zone (``2026-05-04T09:00:00Z``), kept in UTC."""
    if isinstance(value, str) and 16 <= len(value) <= 40 and _DAY.match(value[:10]) and value[10:11] in "Tt":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                raise ValueError("Give the time with its zone, e.g. 2026-05-04T09:00:00Z.")
            return moment.astimezone(UTC)
    raise ValueError("Enter a date and time in ISO 8601 with its zone, e.g. 2026-05-04T09:00:00Z.")


Moment = Annotated[datetime, BeforeValidator(_moment)]
Whole = Annotated[int, Strict()]
Code = Annotated[str, Field(min_length=1, max_length=20)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
PersonName = Annotated[str, Field(min_length=1, max_length=80)]
Short = Annotated[str, Field(max_length=80)]
Phone = Annotated[str, Field(max_length=20)]
Email = Annotated[str, Field(max_length=254)]
NationalId = Annotated[str, Field(max_length=30)]
MemberNumber = Annotated[str, Field(max_length=30)]
Room = Annotated[str, Field(max_length=40)]
Reason = Annotated[str, Field(max_length=300)]


# --- request bodies ---------------------------------------------------------------------------------


class InstitutionIn(Schema):
    code: Code
    name: Name
    kind: Literal["hospital", "clinic", "pharmacy", "laboratory"] = "hospital"
    phone: Phone | None = None
    address: Annotated[str, Field(max_length=300)] | None = None


class PersonnelIn(Schema):
    """``institution_id``: platform admins name the institution; hospital staff add to their own."""

    full_name: Name
    kind: PersonnelKind
    department: Short
    specialty: Short | None = None
    licence_number: Annotated[str, Field(max_length=40)] | None = None
    schedule: dict[str, list[str]] | None = Field(None, max_length=7)
    institution_id: Id | None = None
    user_id: Id | None = None


class ScheduleIn(Schema):
    """Weekly hours: for each weekday a list of [start, end] intervals, HH:MM; days left out are off."""

    schedule: dict[str, Any]


class PatientIn(Schema):
    first_name: PersonName
    last_name: PersonName
    date_of_birth: Day
    gender: Annotated[str, Field(min_length=1, max_length=10)]
    phone: Phone | None = None
    email: Email | None = None
    national_id: NationalId | None = None
    member_number: MemberNumber | None = None
    institution_id: Id


class PatientUpdateIn(Schema):
    """Fields left out keep their values; null clears phone, email, national id or member number."""

    first_name: PersonName | None = None
    last_name: PersonName | None = None
    date_of_birth: Day | None = None
    gender: Annotated[str, Field(min_length=1, max_length=10)] | None = None
    phone: Phone | None = None
    email: Email | None = None
    national_id: NationalId | None = None
    member_number: MemberNumber | None = None


class MergeIn(Schema):
    duplicate_id: Id


class AppointmentIn(Schema):
    patient_id: Id
    personnel_id: Id
    starts_at: Moment
    duration_minutes: Whole = Field(20, ge=5, le=480)
    room: Room | None = None
    reason: Reason | None = None


class RescheduleIn(Schema):
    """``duration_minutes`` and ``room`` default to the appointment's."""

    starts_at: Moment
    duration_minutes: Whole | None = Field(None, ge=5, le=480)
    room: Room | None = None


class CancelIn(Schema):
    reason: Reason = ""


class EmptyIn(Schema):
    """No fields: the body may be left out or be ``{}``."""


# --- answers ----------------------------------------------------------------------------------------


class InstitutionOut(Out):
    id: int
    code: str
    name: str
    kind: str
    phone: str | None
    address: str | None
    active: bool


class PersonnelOut(Out):
    id: int
    institution_id: int
    user_id: int | None
    full_name: str
    kind: PersonnelKind
    specialty: str | None
    licence_number: str | None
    department: str
    schedule: dict
    active: bool


class PatientOut(Out):
    id: int
    institution_id: int
    patient_number: str
    first_name: str
    last_name: str
    date_of_birth: date
    gender: str
    phone: str | None
    email: str | None
    national_id: str | None
    member_number: str | None
    merged_into_id: int | None
    created_at: datetime


class CoverOut(Out):
    eligible: bool
    reason_codes: list[str]


class PatientDetailOut(PatientOut):
    #: the insurance verdict for today when the patient has a member number, else null
    cover: CoverOut | None


class AppointmentOut(Out):
    id: int
    institution_id: int
    patient_id: int
    personnel_id: int
    department: str
    room: str | None
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    status: AppointmentStatus
    reason: str | None
    cancel_reason: str | None
    coverage_checked_at: datetime | None
    coverage_eligible: bool | None
    coverage_reasons: list[str] | None
    created_at: datetime


InstitutionPage = page_model(InstitutionOut)
PersonnelPage = page_model(PersonnelOut)
PatientPage = page_model(PatientOut)
AppointmentPage = page_model(AppointmentOut)


# --- helpers ----------------------------------------------------------------------------------------


def _actor():
    return current_user._get_current_object()


def _tenant():
    """The caller's rows; insurer-side callers have none here and are refused outright."""
    tenant = tenant_of(current_user)
    if tenant.company_id is not None and tenant.institution_id is None:
        raise Forbidden("Hospital records are for hospital staff.")
    return tenant


def _text_arg(name: str, limit: int = 80) -> str:
    return request.args.get(name, "").strip()[:limit]


def _page(stmt, item: type[Out], page_model: type[Out], batch=None):
    page = paginate(stmt, (lambda row: row) if batch else item.model_validate)
    if batch:
        page["items"] = batch(page["items"])
    return jsonify_model(page_model.model_validate(page))


def _created(model: Out):
    db.session.commit()
    return jsonify_model(model, status=201)


def _saved(model: Out):
    db.session.commit()
    return jsonify_model(model)


def _details(values: dict) -> services.PatientDetails:
    return services.PatientDetails(**{key: values.get(key) for key in services.PatientDetails.__dataclass_fields__})


def _patient_detail(patient) -> PatientDetailOut:
    verdict = services.cover_for(patient)
    cover = CoverOut(eligible=verdict.eligible, reason_codes=list(verdict.reason_codes)) if verdict else None
    return PatientDetailOut(**PatientOut.model_validate(patient).model_dump(), cover=cover)


def _appointment_out(row) -> AppointmentOut:
    return AppointmentOut(
        id=row.id,
        institution_id=row.institution_id,
        patient_id=row.patient_id,
        personnel_id=row.personnel_id,
        department=row.department,
        room=row.room,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        duration_minutes=int((row.ends_at - row.starts_at).total_seconds() // 60),
        status=row.status,
        reason=row.reason,
        cancel_reason=row.cancel_reason,
        coverage_checked_at=row.coverage_checked_at,
        coverage_eligible=row.coverage_eligible,
        coverage_reasons=row.coverage_reasons,
        created_at=row.created_at,
    )


# --- institutions -----------------------------------------------------------------------------------


@api_bp.post("/institutions")
@allow(Role.ADMIN)
@documented(
    "Add a medical institution (platform administrators only)",
    tag=TAG,
    body=InstitutionIn,
    responses={201: InstitutionOut, 409: None},
)
def create_institution():
    data = parse(InstitutionIn)
    _tenant()
    row = services.create_institution(actor=_actor(), **data.model_dump())
    return _created(InstitutionOut.model_validate(row))


@api_bp.get("/institutions")
@allow(READERS)
@documented("Medical institutions (hospital staff: their own)", tag=TAG, responses={200: InstitutionPage}, query=PAGING)
def list_institutions():
    return _page(services.institutions_query(_tenant()), InstitutionOut, InstitutionPage)


@api_bp.get(f"/institutions/<{ID}:institution_id>")
@allow(READERS)
@documented("One medical institution", tag=TAG, responses={200: InstitutionOut, 404: None})
def get_institution(institution_id: int):
    return jsonify_model(InstitutionOut.model_validate(services.get_institution(_tenant(), institution_id)))


# --- personnel --------------------------------------------------------------------------------------


@api_bp.post("/personnel")
@allow(STAFF_WRITERS)
@documented(
    "Add a clinician or staff member (clinicians and pharmacists need a licence number)",
    tag=TAG,
    body=PersonnelIn,
    responses={201: PersonnelOut, 409: None},
    description="institution_id: required for platform administrators; hospital staff add to their own. "
    'schedule: weekly hours, e.g. {"mon": ["08:00", "16:00"]}.',
)
def create_personnel():
    data = parse(PersonnelIn)
    tenant = _tenant()
    if tenant.institution_id is not None:
        if data.institution_id not in (None, tenant.institution_id):
            raise Invalid.field("institution_id", "No such institution.")
        institution_id = tenant.institution_id
    elif data.institution_id is None:
        raise Invalid.field("institution_id", "Name the institution the staff member works at.")
    else:
        institution_id = referenced("institution_id", services.get_institution, tenant, data.institution_id).id
    row = services.create_personnel(
        actor=_actor(),
        **data.model_dump(exclude={"institution_id", "kind"}),
        kind=data.kind.value,
        institution_id=institution_id,
    )
    return _created(PersonnelOut.model_validate(row))


@api_bp.get("/personnel")
@allow(READERS)
@documented(
    "Clinicians and staff (hospital staff: their institution's)",
    tag=TAG,
    responses={200: PersonnelPage},
    query={"department": "one department", "kind": "clinician, nurse, pharmacist, ...", **PAGING},
)
def list_personnel():
    stmt = services.personnel_query(_tenant(), _text_arg("department"), choice_arg("kind", PersonnelKind))
    return _page(stmt, PersonnelOut, PersonnelPage)


@api_bp.get(f"/personnel/<{ID}:personnel_id>")
@allow(READERS)
@documented("One clinician or staff member", tag=TAG, responses={200: PersonnelOut, 404: None})
def get_personnel(personnel_id: int):
    return jsonify_model(PersonnelOut.model_validate(services.get_personnel(_tenant(), personnel_id)))


@api_bp.put(f"/personnel/<{ID}:personnel_id>/schedule")
@allow(STAFF_WRITERS)
@documented(
    "Replace a staff member's weekly hours (audited)",
    tag=TAG,
    body=ScheduleIn,
    responses={200: PersonnelOut, 404: None},
    description='schedule: {"mon": [["08:00", "13:00"], ["14:00", "17:00"]], "sat": [["09:00", "12:00"]]}; '
    f"times HH:MM (24-hour), each interval ending after it starts, no overlaps, at most "
    f"{schedules.MAX_INTERVALS} a day; a day left out (or given []) is off. A bare pair such as "
    '"mon": ["08:00", "16:00"] (the form personnel creation takes) counts as one interval. The answer\'s '
    "schedule is in the list form; staff never given hours this way may still show the bare pair.",
)
def put_personnel_schedule(personnel_id: int):
    data = parse(ScheduleIn)
    services.get_personnel(_tenant(), personnel_id)
    row = schedules.set_schedule(actor=_actor(), personnel_id=personnel_id, schedule=data.schedule)
    return _saved(PersonnelOut.model_validate(row))


# --- patients ---------------------------------------------------------------------------------------


@api_bp.post("/patients")
@allow(WRITERS)
@documented(
    "Register a patient at an institution (hospital staff: their own)",
    tag=TAG,
    body=PatientIn,
    responses={201: PatientDetailOut},
    description="The answer's cover is the insurance verdict for today when a member number is given.",
)
def create_patient():
    data = parse(PatientIn)
    referenced("institution_id", services.get_institution, _tenant(), data.institution_id)
    patient = services.register_patient(
        actor=_actor(), institution_id=data.institution_id, details=_details(data.model_dump())
    )
    return _created(_patient_detail(patient))


@api_bp.get("/patients")
@allow(READERS)
@documented(
    "Patients (hospital staff: their institution's); with q, the best matches of a search",
    tag=TAG,
    responses={200: PatientPage},
    query={"q": "name, phone, national id, member or patient number starts with (2+ characters)", **PAGING},
    description="With q the answer is one page of the best per_page matches (merged records left out).",
)
def list_patients():
    tenant = _tenant()
    query = request.args.get("q", "").strip()
    if query:
        _page_number, per_page = page_params()
        found = services.search_patients(tenant, query[:100], limit=per_page)
        items = [PatientOut.model_validate(p) for p in found]
        return jsonify_model(PatientPage(items=items, page=1, per_page=per_page, total=len(items)))
    stmt = (
        scope(select(Patient), Patient, tenant)
        .where(Patient.merged_into_id.is_(None))
        .order_by(Patient.last_name_key, Patient.first_name_key, Patient.id)
    )
    return _page(stmt, PatientOut, PatientPage)


@api_bp.get(f"/patients/<{ID}:patient_id>")
@allow(READERS)
@documented("One patient with today's insurance cover verdict", tag=TAG, responses={200: PatientDetailOut, 404: None})
def get_patient(patient_id: int):
    return jsonify_model(_patient_detail(services.get_patient(_tenant(), patient_id)))


@api_bp.put(f"/patients/<{ID}:patient_id>")
@allow(WRITERS)
@documented(
    "Change a patient's details",
    tag=TAG,
    body=PatientUpdateIn,
    responses={200: PatientDetailOut, 404: None},
    description="Fields left out keep their values; null clears phone, email, national_id or member_number.",
)
def update_patient(patient_id: int):
    data = parse(PatientUpdateIn)
    patient = services.get_patient(_tenant(), patient_id)
    current = {field: getattr(patient, field) for field in services.PatientDetails.__dataclass_fields__}
    given = data.model_dump(exclude_unset=True)
    required = ("first_name", "last_name", "date_of_birth", "gender")
    nulled = [key for key in required if key in given and given[key] is None]
    if nulled:
        raise Invalid("The request has invalid fields.", {key: ["This field cannot be empty."] for key in nulled})
    patient = services.update_patient(actor=_actor(), patient_id=patient.id, details=_details(current | given))
    return _saved(_patient_detail(patient))


@api_bp.post(f"/patients/<{ID}:patient_id>/merge")
@allow(WRITERS)
@documented(
    "Fold a duplicate registration into this patient (audited); the duplicate is hidden from search",
    tag=TAG,
    body=MergeIn,
    responses={200: PatientDetailOut, 404: None, 409: None},
)
def merge_patient(patient_id: int):
    data = parse(MergeIn)
    tenant = _tenant()
    services.get_patient(tenant, patient_id)
    referenced("duplicate_id", services.get_patient, tenant, data.duplicate_id)
    kept = services.merge_patients(actor=_actor(), keep_id=patient_id, duplicate_id=data.duplicate_id)
    return _saved(_patient_detail(kept))


# --- appointments -----------------------------------------------------------------------------------


@api_bp.post("/appointments")
@allow(WRITERS)
@documented(
    "Book an appointment with a clinician (double booking of the clinician or the room: 409)",
    tag=TAG,
    body=AppointmentIn,
    responses={201: AppointmentOut, 409: None},
    description="starts_at: ISO 8601 with its zone; answers are in UTC.",
)
def create_appointment():
    data = parse(AppointmentIn)
    tenant = _tenant()
    referenced("patient_id", services.get_patient, tenant, data.patient_id)
    referenced("personnel_id", services.get_personnel, tenant, data.personnel_id)
    row = services.book_appointment(actor=_actor(), **data.model_dump())
    return _created(_appointment_out(row))


@api_bp.get("/appointments")
@allow(READERS)
@documented(
    "Appointments (hospital staff: their institution's); newest first, or a day in time order",
    tag=TAG,
    responses={200: AppointmentPage},
    query={
        "date": "one day (YYYY-MM-DD, UTC)",
        "personnel_id": "one clinician",
        "department": "one department",
        "patient_id": "one patient",
        "status": "booked, checked_in, completed, cancelled or no_show",
        **PAGING,
    },
)
def list_appointments():
    day = day_arg("date")
    stmt = services.appointments_query(_tenant(), int_arg("patient_id"), choice_arg("status", AppointmentStatus), day)
    personnel_id = int_arg("personnel_id")
    if personnel_id:
        stmt = stmt.where(Appointment.personnel_id == personnel_id)
    department = _text_arg("department")
    if department:
        stmt = stmt.where(Appointment.department == department)
    if day:
        stmt = stmt.order_by(None).order_by(Appointment.starts_at, Appointment.id)
    return _page(stmt, AppointmentOut, AppointmentPage, lambda rows: [_appointment_out(r) for r in rows])


@api_bp.get(f"/appointments/<{ID}:appointment_id>")
@allow(READERS)
@documented("One appointment", tag=TAG, responses={200: AppointmentOut, 404: None})
def get_appointment(appointment_id: int):
    return jsonify_model(_appointment_out(services.get_appointment(_tenant(), appointment_id)))


@api_bp.post(f"/appointments/<{ID}:appointment_id>/reschedule")
@allow(WRITERS)
@documented(
    "Move a booked appointment (double booking: 409)",
    tag=TAG,
    body=RescheduleIn,
    responses={200: AppointmentOut, 404: None, 409: None},
)
def reschedule_appointment(appointment_id: int):
    data = parse(RescheduleIn)
    services.get_appointment(_tenant(), appointment_id)
    row = services.reschedule_appointment(actor=_actor(), appointment_id=appointment_id, **data.model_dump())
    return _saved(_appointment_out(row))


@api_bp.post(f"/appointments/<{ID}:appointment_id>/check-in")
@allow(WRITERS)
@documented(
    "The patient has arrived: records today's insurance cover verdict on the appointment",
    tag=TAG,
    body=EmptyIn,
    responses={200: AppointmentOut, 404: None, 409: None},
    description="coverage_eligible is null when the patient has no member number.",
)
def check_in_appointment(appointment_id: int):
    optional_body(EmptyIn)
    services.get_appointment(_tenant(), appointment_id)
    return _saved(_appointment_out(services.check_in(actor=_actor(), appointment_id=appointment_id)))


def _status_change(appointment_id: int, status: AppointmentStatus, reason: str | None = None):
    services.get_appointment(_tenant(), appointment_id)
    row = services.change_appointment_status(
        actor=_actor(), appointment_id=appointment_id, status=status.value, reason=reason
    )
    return _saved(_appointment_out(row))


@api_bp.post(f"/appointments/<{ID}:appointment_id>/cancel")
@allow(WRITERS)
@documented(
    "Cancel a booked or checked-in appointment",
    tag=TAG,
    body=CancelIn,
    responses={200: AppointmentOut, 404: None, 409: None},
)
def cancel_appointment(appointment_id: int):
    data = optional_body(CancelIn)
    return _status_change(appointment_id, AppointmentStatus.CANCELLED, data.reason)


@api_bp.post(f"/appointments/<{ID}:appointment_id>/no-show")
@allow(WRITERS)
@documented(
    "Mark a booked appointment as a no-show",
    tag=TAG,
    body=EmptyIn,
    responses={200: AppointmentOut, 404: None, 409: None},
)
def no_show_appointment(appointment_id: int):
    optional_body(EmptyIn)
    return _status_change(appointment_id, AppointmentStatus.NO_SHOW)


@api_bp.post(f"/appointments/<{ID}:appointment_id>/complete")
@allow(WRITERS)
@documented(
    "Complete a checked-in appointment",
    tag=TAG,
    body=EmptyIn,
    responses={200: AppointmentOut, 404: None, 409: None},
)
def complete_appointment(appointment_id: int):
    optional_body(EmptyIn)
    return _status_change(appointment_id, AppointmentStatus.COMPLETED)


# --- medical records --------------------------------------------------------------------------------
# Roles: the hospital's accounts (WRITERS); a clinician is one of these linked to a clinical personnel
# record. The clinical rule itself is records.py's (non-clinical staff: 403, another tenant's rows: 404).

RECORD_ROLES = WRITERS
Diagnosis = Annotated[str, Field(max_length=40)]
Procedure = Annotated[str, Field(max_length=400)]


class MedicalRecordIn(Schema):
    patient_id: Id
    encounter_date: Day
    diagnoses: list[Diagnosis] = Field(max_length=100)
    procedures: list[Procedure] | None = Field(None, max_length=100)
    notes: Annotated[str, Field(max_length=40_000)] | None = None
    appointment_id: Id | None = None
    personnel_id: Id | None = None


class AttachmentOut(Out):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    uploaded_at: datetime


class MedicalRecordOut(Out):
    id: int
    patient_id: int
    encounter_date: date
    diagnoses: list[str]
    procedures: list[str]
    notes: str | None
    personnel_id: int | None
    appointment_id: int | None
    attachments: list[AttachmentOut]


class MedicalRecordList(Out):
    items: list[MedicalRecordOut]


def _record_outs(rows) -> list[MedicalRecordOut]:
    found = records.attachments_of([r.id for r in rows])
    return [
        MedicalRecordOut(
            id=r.id,
            patient_id=r.patient_id,
            encounter_date=r.encounter_date,
            diagnoses=list(r.diagnoses or []),
            procedures=list(r.procedures or []),
            notes=r.notes,
            personnel_id=r.personnel_id,
            appointment_id=r.appointment_id,
            attachments=[AttachmentOut.model_validate(a) for a in found.get(r.id, [])],
        )
        for r in rows
    ]


@api_bp.get(f"/medical-records/<{ID}:patient_id>")
@allow(RECORD_ROLES)
@documented(
    "A patient's medical records, newest first (clinical staff of the institution and its admins)",
    tag=TAG,
    responses={200: MedicalRecordList, 404: None},
    description="The read is audited (ids and counts only).",
)
def list_medical_records(patient_id: int):
    _tenant()
    rows = records.records_for_patient(actor=_actor(), patient_id=patient_id)
    return _saved(MedicalRecordList(items=_record_outs(rows)))


@api_bp.post("/medical-records")
@allow(RECORD_ROLES)
@documented(
    "Record an encounter: ICD-10 diagnoses, procedures and notes (clinical staff of the institution)",
    tag=TAG,
    body=MedicalRecordIn,
    responses={201: MedicalRecordOut, 404: None},
    description="personnel_id defaults to the author when the author is on the institution's clinical staff.",
)
def create_medical_record():
    data = parse(MedicalRecordIn)
    _tenant()
    values = data.model_dump()
    values["procedures"] = values["procedures"] or []
    row = records.create_record(actor=_actor(), **values)
    return _created(_record_outs([row])[0])


@api_bp.get(f"/medical-records/record/<{ID}:record_id>")
@allow(RECORD_ROLES)
@documented("One medical record with its attachments", tag=TAG, responses={200: MedicalRecordOut, 404: None})
def get_medical_record(record_id: int):
    _tenant()
    row = records.get_record(actor=_actor(), record_id=record_id)
    return _saved(_record_outs([row])[0])


@api_bp.post(f"/medical-records/record/<{ID}:record_id>/attachments")
@allow(RECORD_ROLES)
@documented(
    "Attach a PDF, PNG or JPEG to a record (multipart/form-data, field `file`)",
    tag=TAG,
    responses={201: AttachmentOut, 404: None},
    description="The body is multipart/form-data with one `file` part, not JSON. The content decides the type; "
    "anything but PDF, PNG or JPEG, an empty file or one over the size limit is a 422 with errors.file.",
)
def upload_medical_record_attachment(record_id: int):
    _tenant()
    upload = request.files.get("file")
    stream = upload.stream if upload is not None and upload.filename else None
    row = records.add_attachment(
        actor=_actor(),
        record_id=record_id,
        filename=upload.filename if stream is not None else "",
        stream=stream,
        declared_type=upload.mimetype if stream is not None else None,
    )
    return _created(AttachmentOut.model_validate(row))


def attachment_download(attachment_id: int):
    """The stored file as a download (shared with the pages); the read is audited and committed."""
    path, row = records.open_attachment(actor=_actor(), attachment_id=attachment_id)
    db.session.commit()
    response = send_file(
        path,
        mimetype=row.content_type,
        as_attachment=True,
        download_name=uploads.clean_filename(row.filename),
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@api_bp.get(f"/medical-records/attachments/<{ID}:attachment_id>")
@allow(RECORD_ROLES)
@documented(
    "Download a record's attachment (clinical staff of the institution and its admins)",
    tag=TAG,
    responses={200: None, 404: None},
    description="Answers the file itself as an attachment, with the type found when it was uploaded.",
)
def download_medical_record_attachment(attachment_id: int):
    _tenant()
    return attachment_download(attachment_id)
