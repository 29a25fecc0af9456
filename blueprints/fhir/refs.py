"""Resource ids and references to MedCover's organisations and people, shared by every FHIR resource.

Institutions and insurers are both ``Organization``s; their ids say which (``institution-3``, ``insurer-2``),
so the two tables' ids never collide.
"""

from __future__ import annotations

from fhir.resources.R4B.reference import Reference

from blueprints.fhir import systems
from blueprints.fhir.types import identifier

INSTITUTION = "institution"
INSURER = "insurer"


def institution_org_id(institution_id: int) -> str:
    return f"{INSTITUTION}-{institution_id}"


def insurer_org_id(company_id: int) -> str:
    return f"{INSURER}-{company_id}"


def parse_org_id(resource_id: str) -> tuple[str, int] | None:
    """``"insurer-2"`` -> ``("insurer", 2)``; anything else None."""
    kind, _, number = (resource_id or "").partition("-")
    if kind not in (INSTITUTION, INSURER) or not number.isascii() or not number.isdigit() or len(number) > 10:
        return None
    value = int(number)
    return (kind, value) if 1 <= value <= 2**31 - 1 else None


def institution_ref(institution_id: int, code: str | None = None, name: str | None = None) -> Reference:
    """``Organization/institution-<id>`` with its institution code as identifier."""
    return Reference(
        reference=f"Organization/{institution_org_id(institution_id)}",
        identifier=identifier(systems.INSTITUTION_CODE, code) if code else None,
        display=name,
    )


def insurer_ref(company_id: int, code: str | None = None, name: str | None = None) -> Reference:
    """``Organization/insurer-<id>`` with its insurer code as identifier."""
    return Reference(
        reference=f"Organization/{insurer_org_id(company_id)}",
        identifier=identifier(systems.INSURER_CODE, code) if code else None,
        display=name,
    )


def member_ref(member_number: str, name: str | None = None) -> Reference:
    """A member, by member number (a logical reference: members are not this server's Patients)."""
    return Reference(identifier=identifier(systems.MEMBER_NUMBER, member_number), display=name)


def coverage_ref(coverage_id: int, member_number: str | None = None) -> Reference:
    return Reference(
        reference=f"Coverage/{coverage_id}",
        identifier=identifier(systems.MEMBER_NUMBER, member_number) if member_number else None,
    )
