"""The hospital's personnel: clinicians and staff, their departments, and who counts as clinical staff (the
rule medical records and orders follow). Weekly hours are changed through ``schedules``."""

from __future__ import annotations

import re
from datetime import time

from sqlalchemy import bindparam, select

from blueprints.core import services as core
from blueprints.hospital.models import MedicalPersonnel, PersonnelKind
from blueprints.hospital.services import fields, institutions
from medcover.errors import Conflict, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.memo import per_process
from medcover.rbac import Tenant, scope

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLINICAL = frozenset(PersonnelKind) - {PersonnelKind.STAFF}


def _schedule(value) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise Invalid.field("schedule", 'Give hours per weekday, e.g. {"mon": ["08:00", "16:00"]}.')
    clean = {}
    for day, hours in value.items():
        if day not in WEEKDAYS or not isinstance(hours, list | tuple) or len(hours) != 2:
            raise Invalid.field("schedule", 'Give hours per weekday, e.g. {"mon": ["08:00", "16:00"]}.')
        try:
            start, end = (time.fromisoformat(str(h)) for h in hours)
        except ValueError:
            raise Invalid.field("schedule", "Times are HH:MM.") from None
        if end <= start:
            raise Invalid.field("schedule", f"On {day} the shift ends before it starts.")
        clean[day] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
    return clean


def create_personnel(
    *,
    actor,
    institution_id: int,
    full_name: str,
    kind: str,
    department: str,
    specialty: str | None = None,
    licence_number: str | None = None,
    schedule=None,
    user_id: int | None = None,
) -> MedicalPersonnel:
    institution = institutions.institution_for_write(actor, institution_id)
    try:
        kind = PersonnelKind(kind)
    except ValueError:
        raise Invalid.field(
            "kind", "Choose clinician, nurse, pharmacist, lab technician, radiographer or staff."
        ) from None
    licence = (licence_number or "").strip() or None
    if licence and (len(licence) > 40 or not re.fullmatch(r"[A-Za-z0-9/_.-]+", licence)):
        raise Invalid.field("licence_number", "Use letters, digits, / . _ or -.")
    if kind in (PersonnelKind.CLINICIAN, PersonnelKind.PHARMACIST) and not licence:
        raise Invalid.field("licence_number", "Clinicians and pharmacists need their licence number.")
    if licence and db.session.scalar(
        select(MedicalPersonnel.id).where(
            MedicalPersonnel.institution_id == institution.id, MedicalPersonnel.licence_number == licence
        )
    ):
        raise Conflict("That licence number is already on staff.", {"licence_number": ["Already registered here."]})
    row = MedicalPersonnel(
        institution_id=institution.id,
        full_name=fields.name(full_name, "full_name", 120),
        kind=kind,
        department=fields.name(department, "department"),
        specialty=fields.name(specialty, "specialty") if specialty else None,
        licence_number=licence,
        schedule=_schedule(schedule),
        user_id=user_id,
        active=True,
    )
    db.session.add(row)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "personnel",
        row.id,
        after={"full_name": row.full_name, "kind": kind.value},
        institution_id=institution.id,
    )
    return row


def personnel_query(tenant: Tenant, department: str = "", kind: str = ""):
    stmt = scope(select(MedicalPersonnel), MedicalPersonnel, tenant).order_by(MedicalPersonnel.full_name)
    if department:
        stmt = stmt.where(MedicalPersonnel.department == department[:80])
    if kind in {k.value for k in PersonnelKind}:
        stmt = stmt.where(MedicalPersonnel.kind == PersonnelKind(kind))
    return stmt


def get_personnel(tenant: Tenant, personnel_id: int) -> MedicalPersonnel:
    row = db.session.get(MedicalPersonnel, personnel_id) if personnel_id else None
    if row is None:
        raise NotFound("No such staff member.")
    if not tenant.owns(row.institution_id, None):
        raise Hidden("No such staff member.", record=f"staff member {row.id}")
    return row


def personnel_by_id(ids) -> dict[int, MedicalPersonnel]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(MedicalPersonnel).where(MedicalPersonnel.id.in_(ids)))}


def departments(tenant: Tenant) -> list[str]:
    stmt = scope(select(MedicalPersonnel.department).distinct(), MedicalPersonnel, tenant)
    return sorted(db.session.scalars(stmt))


#: made once: the hospital side's navigation asks it on every page (a new statement object costs its cache key)
_CLINICAL_RECORD = (
    select(MedicalPersonnel.id)
    .where(
        MedicalPersonnel.user_id == bindparam("user_id"),
        MedicalPersonnel.institution_id == bindparam("institution_id"),
        MedicalPersonnel.active.is_(True),
        MedicalPersonnel.kind.in_(sorted(CLINICAL)),
    )
    .limit(1)
)


def is_clinical(user, institution_id: int) -> bool:
    """Clinical staff of that institution: a user linked to an active clinical personnel record there."""
    found = db.session.scalar(_CLINICAL_RECORD, {"user_id": user.id, "institution_id": institution_id})
    return found is not None


#: made once, as the side navigation reads the directory on every page
_CLINICAL_STAFF = select(MedicalPersonnel.user_id, MedicalPersonnel.institution_id).where(
    MedicalPersonnel.user_id.is_not(None),
    MedicalPersonnel.active.is_(True),
    MedicalPersonnel.kind.in_(sorted(CLINICAL)),
)


@per_process(MedicalPersonnel, shows=("user_id", "institution_id", "active", "kind"), read_missing=False)
def _clinical_staff() -> dict[int, frozenset[int]]:
    found: dict[int, set[int]] = {}
    for user_id, institution_id in db.session.execute(_CLINICAL_STAFF):
        found.setdefault(user_id, set()).add(institution_id)
    return {user_id: frozenset(ids) for user_id, ids in found.items()}


def listed_as_clinical(user, institution_id: int) -> bool:
    """``is_clinical`` for what a page only shows (the side navigation's clinical links), from a directory the
    process keeps (``medcover.memo.per_process``): a change made here shows at once, one made by another process
    within ``DIRECTORY_SECONDS``. What the user may open is still decided by ``is_clinical``, read every time."""
    return institution_id in _clinical_staff().get(user.id, ())
