"""Hospital JSON endpoints for institutions and their personnel (with each staff member's weekly hours).
Who may call what: ``web.api``'s table."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from blueprints.hospital import api_bp, services
from blueprints.hospital.models import PersonnelKind
from blueprints.hospital.services import schedules
from blueprints.hospital.web.api import (
    ID,
    PAGING,
    READERS,
    STAFF_WRITERS,
    TAG,
    Code,
    Name,
    Phone,
    Short,
    hospital_tenant,
)
from medcover.api import (
    Id,
    Out,
    Schema,
    actor,
    choice_arg,
    created,
    documented,
    jsonify_model,
    named_by_platform_admins,
    page_model,
    page_response,
    parse,
    referenced,
    saved,
    text_arg,
)
from medcover.errors import Invalid
from medcover.rbac import Role, allow


class InstitutionIn(Schema):
    code: Code
    name: Name
    kind: Literal["hospital", "clinic", "pharmacy", "laboratory"] = "hospital"
    phone: Phone | None = None
    address: Annotated[str, Field(max_length=300)] | None = None


#: a licence number as the services take it (trimmed): letters, digits, / . _ or -
LICENCE = r"^\s*[A-Za-z0-9/_.-]+\s*$"


class PersonnelIn(Schema):
    """``institution_id``: platform admins name the institution; hospital staff add to their own. Clinicians and
    pharmacists give their licence number."""

    model_config = ConfigDict(
        json_schema_extra={
            **named_by_platform_admins("institution_id"),
            "if": {"properties": {"kind": {"enum": ["clinician", "pharmacist"]}}, "required": ["kind"]},
            "then": {
                "required": ["licence_number"],
                "properties": {"licence_number": {"type": "string", "pattern": LICENCE}},
            },
        }
    )

    full_name: Name
    kind: PersonnelKind
    department: Short
    specialty: Short | None = None
    licence_number: Annotated[str, Field(max_length=40, pattern=r"^\s*[A-Za-z0-9/_.-]*\s*$")] | None = None
    schedule: dict[str, list[str]] | None = Field(None, max_length=7)
    institution_id: Id | None = None
    user_id: Id | None = None


class ScheduleIn(Schema):
    """Weekly hours: for each weekday a list of [start, end] intervals, HH:MM; days left out are off."""

    schedule: dict[str, Any]


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


InstitutionPage = page_model(InstitutionOut)
PersonnelPage = page_model(PersonnelOut)


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
    hospital_tenant()
    row = services.create_institution(actor=actor(), **data.model_dump())
    return created(InstitutionOut.model_validate(row))


@api_bp.get("/institutions")
@allow(READERS)
@documented("Medical institutions (hospital staff: their own)", tag=TAG, responses={200: InstitutionPage}, query=PAGING)
def list_institutions():
    return page_response(services.institutions_query(hospital_tenant()), InstitutionOut, InstitutionPage)


@api_bp.get(f"/institutions/<{ID}:institution_id>")
@allow(READERS)
@documented("One medical institution", tag=TAG, responses={200: InstitutionOut, 404: None})
def get_institution(institution_id: int):
    return jsonify_model(InstitutionOut.model_validate(services.get_institution(hospital_tenant(), institution_id)))


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
    tenant = hospital_tenant()
    if tenant.institution_id is not None:
        if data.institution_id not in (None, tenant.institution_id):
            raise Invalid.field("institution_id", "No such institution.")
        institution_id = tenant.institution_id
    elif data.institution_id is None:
        raise Invalid.field("institution_id", "Name the institution the staff member works at.")
    else:
        institution_id = referenced("institution_id", services.get_institution, tenant, data.institution_id).id
    row = services.create_personnel(
        actor=actor(),
        **data.model_dump(exclude={"institution_id", "kind"}),
        kind=data.kind.value,
        institution_id=institution_id,
    )
    return created(PersonnelOut.model_validate(row))


@api_bp.get("/personnel")
@allow(READERS)
@documented(
    "Clinicians and staff (hospital staff: their institution's)",
    tag=TAG,
    responses={200: PersonnelPage},
    query={"department": "one department", "kind": "clinician, nurse, pharmacist, ...", **PAGING},
)
def list_personnel():
    stmt = services.personnel_query(hospital_tenant(), text_arg("department", 80), choice_arg("kind", PersonnelKind))
    return page_response(stmt, PersonnelOut, PersonnelPage)


@api_bp.get(f"/personnel/<{ID}:personnel_id>")
@allow(READERS)
@documented("One clinician or staff member", tag=TAG, responses={200: PersonnelOut, 404: None})
def get_personnel(personnel_id: int):
    return jsonify_model(PersonnelOut.model_validate(services.get_personnel(hospital_tenant(), personnel_id)))


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
    services.get_personnel(hospital_tenant(), personnel_id)
    row = services.set_schedule(actor=actor(), personnel_id=personnel_id, schedule=data.schedule)
    return saved(PersonnelOut.model_validate(row))
