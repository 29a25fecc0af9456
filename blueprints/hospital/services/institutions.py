"""Medical institutions: adding one (platform administrators), and the reads other domains and the tenant
registry make of them. Other domains get frozen dataclasses, never the rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from blueprints.core import services as core
from blueprints.hospital.models import MedicalInstitution
from blueprints.hospital.services import fields
from medcover.errors import Conflict, Forbidden, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.memo import per_process
from medcover.rbac import Tenant, tenant_of

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$")
KINDS = ("hospital", "clinic", "pharmacy", "laboratory")


@dataclass(frozen=True)
class InstitutionSummary:
    """An institution as a list or a chooser shows it."""

    id: int
    code: str
    name: str


@dataclass(frozen=True)
class InstitutionDetails(InstitutionSummary):
    """An institution with what a letterhead or an invoice prints of it."""

    kind: str
    phone: str | None
    address: str | None
    active: bool


def _details(row: MedicalInstitution) -> InstitutionDetails:
    return InstitutionDetails(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        phone=row.phone,
        address=row.address,
        active=row.active,
    )


def institution_for_write(actor, institution_id: int) -> MedicalInstitution:
    """The institution's row, for a change to its records by someone of that institution (or a platform admin)."""
    institution = db.session.get(MedicalInstitution, institution_id) if institution_id else None
    tenant = tenant_of(actor)
    if institution is None:
        raise NotFound("No such institution.")
    if not tenant.owns(institution.id, None):
        raise Hidden("No such institution.", record=f"institution {institution.id}")
    if not tenant.is_global and tenant.institution_id != institution.id:
        raise Forbidden("You can change your own institution's records only.")
    return institution


def create_institution(
    *, actor, code: str, name: str, kind: str = "hospital", phone: str | None = None, address: str | None = None
) -> MedicalInstitution:
    if not tenant_of(actor).is_global:
        raise Forbidden("Only platform administrators add institutions.")
    code = (code or "").strip()
    if not CODE.match(code):
        raise Invalid.field("code", "Use 1 to 20 letters, digits, dots, dashes or underscores.")
    if kind not in KINDS:
        raise Invalid.field("kind", "Choose hospital, clinic, pharmacy or laboratory.")
    if db.session.scalar(select(MedicalInstitution.id).where(func.lower(MedicalInstitution.code) == code.lower())):
        raise Conflict("That code is taken.", {"code": ["Another institution uses this code."]})
    institution = MedicalInstitution(
        code=code,
        name=fields.name(name, "name", 120),
        kind=kind,
        phone=fields.phone(phone),
        address=fields.free_text(address, "address", 300),
        active=True,
    )
    db.session.add(institution)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "institution",
        institution.id,
        after={"code": code, "name": institution.name},
        institution_id=institution.id,
    )
    return institution


#: made once: every page reads it (a new statement object costs its cache key again)
_NAMES = select(MedicalInstitution.id, MedicalInstitution.name)


@per_process(MedicalInstitution)
def institution_names() -> dict[int, str]:
    return dict(db.session.execute(_NAMES).all())


def institution_id_for_code(code: str) -> int | None:
    return db.session.scalar(select(MedicalInstitution.id).where(MedicalInstitution.code == code))


def institutions_query(tenant: Tenant):
    """The tenant's institutions by name, as a statement for the hospital API's paging."""
    stmt = select(MedicalInstitution).order_by(MedicalInstitution.name)
    return stmt if tenant.is_global else stmt.where(MedicalInstitution.id == tenant.institution_id)


def institutions_of(tenant: Tenant) -> list[InstitutionSummary]:
    """The institutions the tenant may see, by name: a platform admin's all, a hospital's own one, an
    insurer's none (its staff are bound to a company, not an institution)."""
    stmt = select(MedicalInstitution.id, MedicalInstitution.code, MedicalInstitution.name).order_by(
        MedicalInstitution.name
    )
    if not tenant.is_global:
        stmt = stmt.where(MedicalInstitution.id == tenant.institution_id)
    return [InstitutionSummary(id=i, code=code, name=name) for i, code, name in db.session.execute(stmt)]


def institution_directory(tenant: Tenant) -> list[InstitutionDetails]:
    """The institutions the tenant may see, with their details, by name (one query)."""
    return [_details(row) for row in db.session.scalars(institutions_query(tenant))]


def get_institution(tenant: Tenant, institution_id: int) -> InstitutionDetails:
    row = db.session.get(MedicalInstitution, institution_id) if institution_id else None
    if row is None:
        raise NotFound("No such institution.")
    if not tenant.owns(row.id, None):
        raise Hidden("No such institution.", record=f"institution {row.id}")
    return _details(row)
