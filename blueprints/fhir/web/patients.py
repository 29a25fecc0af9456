"""``Patient`` read and search (FHIR.md): a hospital's registered patients, for its own staff.

Who may call: the hospital API's readers (ADMIN, RECEPTIONIST, BILLING_CLERK, INTEGRATION, AUDITOR); insurer
staff are refused (403) as on /api/v1; a patient of another hospital is a 404. Every answer is audited as a
read of the patients shown (their patient numbers), as /api/v1's are.
"""

from __future__ import annotations

from datetime import date

from fhir.resources.R4B.patient import Patient

from blueprints.fhir import systems
from blueprints.fhir.gateway import (
    FhirError,
    bp,
    identifier,
    page_args,
    refuse_unknown_params,
    register_capability,
    respond,
    search_param,
    searchset,
    token_param,
)
from blueprints.fhir.refs import institution_ref
from blueprints.hospital import services as hospital
from medcover.api import actor, tenant
from medcover.errors import Forbidden
from medcover.rbac import Role, allow

READERS = frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.BILLING_CLERK, Role.INTEGRATION, Role.AUDITOR})
ID = "<id:patient_id>"
_IDENTIFIER_SYSTEMS = (systems.PATIENT_NUMBER, systems.NATIONAL_ID, systems.MEMBER_NUMBER)

register_capability(
    "Patient",
    interactions=("read", "search-type"),
    search_params={"identifier": "token", "name": "string", "birthdate": "date"},
)


def _hospital_tenant():
    caller = tenant()
    if caller.company_id is not None and caller.institution_id is None:
        raise Forbidden("Hospital records are for hospital staff.")
    return caller


def patient_resource(row) -> Patient:
    """A registered patient (``PatientDemographics``) as a FHIR Patient."""
    identifiers = [identifier(systems.PATIENT_NUMBER, row.patient_number)]
    if row.national_id:
        identifiers.append(identifier(systems.NATIONAL_ID, row.national_id))
    if row.member_number:
        identifiers.append(identifier(systems.MEMBER_NUMBER, row.member_number))
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    return Patient.model_validate(
        {
            "resourceType": "Patient",
            "id": str(row.id),
            "identifier": identifiers,
            "active": not row.merged,
            "name": [
                {
                    "use": "official",
                    "text": f"{row.first_name} {row.last_name}",
                    "family": row.last_name,
                    "given": [row.first_name],
                }
            ],
            "telecom": telecom or None,
            "gender": row.gender if row.gender in ("male", "female", "other", "unknown") else "unknown",
            "birthDate": row.date_of_birth,
            "managingOrganization": institution_ref(row.institution_id),
        }
    )


@bp.get(f"/Patient/{ID}")
@allow(READERS)
def read_patient(patient_id: int):
    row = hospital.patient_demographics(_hospital_tenant(), patient_id)
    hospital.audit_patient_read(actor(), row, "FHIR Patient")
    return respond(patient_resource(row))


def _birthdate() -> date | None:
    raw = search_param("birthdate", max_length=12)
    if raw is None:
        return None
    text = raw.removeprefix("eq")
    try:
        return date.fromisoformat(text) if len(text) == 10 else _bad_date()
    except ValueError:
        return _bad_date()


def _bad_date():
    raise FhirError(400, "birthdate: give a day as YYYY-MM-DD (eq only).", code="value", expression=["birthdate"])


@bp.get("/Patient")
@allow(READERS)
def search_patients():
    refuse_unknown_params({"identifier", "name", "birthdate"})
    criteria = {"name": search_param("name"), "birth_date": _birthdate()}
    raw = search_param("identifier")
    if raw is not None:
        system = raw.partition("|")[0] if "|" in raw else systems.PATIENT_NUMBER
        value = token_param("identifier", _IDENTIFIER_SYSTEMS)
        key = {
            systems.PATIENT_NUMBER: "patient_number",
            systems.NATIONAL_ID: "national_id",
            systems.MEMBER_NUMBER: "member_number",
        }[system or systems.PATIENT_NUMBER]
        criteria[key] = value
    page, count = page_args()
    rows, total = hospital.find_patients(_hospital_tenant(), page, count, **criteria)
    hospital.audit_patient_read(actor(), rows, "FHIR Patient search")
    return respond(searchset([patient_resource(row) for row in rows], total=total))
