"""Hospital JSON endpoints for patients: intake, search, corrections and merging a duplicate registration.
Who may call what: ``web.api``'s table."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from flask import request
from pydantic import Field

from blueprints.hospital import api_bp, services
from blueprints.hospital.services.patients import patient_row, patients_query
from blueprints.hospital.web.api import (
    ID,
    PAGING,
    READERS,
    TAG,
    WRITERS,
    Email,
    Gender,
    MemberNumber,
    NationalId,
    PersonName,
    Phone,
    hospital_tenant,
)
from medcover.api import (
    Day,
    Id,
    Out,
    Schema,
    Text,
    actor,
    created,
    documented,
    jsonify_model,
    page_model,
    page_params,
    page_response,
    parse,
    referenced,
    saved,
)
from medcover.rbac import allow


class PatientIn(Schema):
    first_name: PersonName
    last_name: PersonName
    date_of_birth: Day
    gender: Gender
    phone: Phone | None = None
    email: Email | None = None
    national_id: NationalId | None = None
    member_number: MemberNumber | None = None
    institution_id: Id
    #: registers a lookalike (same name and date of birth as a patient of the hospital): why it is another person
    different_person_reason: Annotated[Text, Field(max_length=500)] | None = None


class PatientUpdateIn(Schema):
    """Fields left out keep their values; null clears phone, email, national id or member number (the name,
    date of birth and gender may be left out, not cleared: their None is "not sent")."""

    first_name: PersonName = None
    last_name: PersonName = None
    date_of_birth: Day = None
    gender: Gender = None
    phone: Phone | None = None
    email: Email | None = None
    national_id: NationalId | None = None
    member_number: MemberNumber | None = None


class MergeIn(Schema):
    duplicate_id: Id


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


PatientPage = page_model(PatientOut)


def _details(values: dict) -> services.PatientDetails:
    return services.PatientDetails(**{key: values.get(key) for key in services.PatientDetails.__dataclass_fields__})


def _patient_detail(patient) -> PatientDetailOut:
    verdict = services.cover_for(patient)
    cover = CoverOut(eligible=verdict.eligible, reason_codes=list(verdict.reason_codes)) if verdict else None
    return PatientDetailOut(**PatientOut.model_validate(patient).model_dump(), cover=cover)


@api_bp.post("/patients")
@allow(WRITERS)
@documented(
    "Register a patient at an institution (hospital staff: their own)",
    tag=TAG,
    body=PatientIn,
    responses={201: PatientDetailOut, 409: None},
    description=(
        "The answer's cover is the insurance verdict for today when a member number is given. A national id or "
        "member number already registered at the institution: 409 with existing_patient {id, patient_number}. "
        "The same name and date of birth as a patient there: 409 with lookalikes, unless different_person_reason "
        "says why this is another person (audited)."
    ),
)
def create_patient():
    data = parse(PatientIn)
    referenced("institution_id", services.get_institution, hospital_tenant(), data.institution_id)
    patient = services.register_patient(
        actor=actor(),
        institution_id=data.institution_id,
        details=_details(data.model_dump()),
        different_person_reason=data.different_person_reason,
    )
    return created(_patient_detail(patient))


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
    tenant = hospital_tenant()
    query = request.args.get("q", "").strip()
    if query:
        _page_number, per_page = page_params()
        found = services.search_patients(tenant, query[:100], limit=per_page)
        services.audit_patient_read(actor(), found, "API patient search")
        items = [PatientOut.model_validate(p) for p in found]
        return jsonify_model(PatientPage(items=items, page=1, per_page=per_page, total=len(items)))
    return page_response(patients_query(tenant), PatientOut, PatientPage, batch=_listed)


def _listed(rows: list) -> list[PatientOut]:
    services.audit_patient_read(actor(), rows, "API patient list")
    return [PatientOut.model_validate(row) for row in rows]


@api_bp.get(f"/patients/<{ID}:patient_id>")
@allow(READERS)
@documented("One patient with today's insurance cover verdict", tag=TAG, responses={200: PatientDetailOut, 404: None})
def get_patient(patient_id: int):
    patient = patient_row(hospital_tenant(), patient_id)
    services.audit_patient_read(actor(), patient, "API patient")
    return jsonify_model(_patient_detail(patient))


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
    patient = patient_row(hospital_tenant(), patient_id)
    current = {field: getattr(patient, field) for field in services.PatientDetails.__dataclass_fields__}
    given = data.model_dump(exclude_unset=True)
    patient = services.update_patient(actor=actor(), patient_id=patient.id, details=_details(current | given))
    return saved(_patient_detail(patient))


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
    tenant = hospital_tenant()
    services.get_patient(tenant, patient_id)
    referenced("duplicate_id", services.get_patient, tenant, data.duplicate_id)
    kept = services.merge_patients(actor=actor(), keep_id=patient_id, duplicate_id=data.duplicate_id)
    return saved(_patient_detail(kept))
