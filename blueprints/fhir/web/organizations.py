"""``Organization`` read and search (FHIR.md): medical institutions (``institution-<id>``) and insurers
(``insurer-<id>``), identified by their institution or insurer code.

Open to every role; tenancy as /api/v1: a hospital's staff see their institution, an insurer's staff their
company, platform users (admin, auditor) all; anything else is a 404.
"""

from __future__ import annotations

from fhir.resources.R4B.organization import Organization

from blueprints.fhir import systems
from blueprints.fhir.gateway import (
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
from blueprints.fhir.refs import INSTITUTION, INSURER, institution_org_id, insurer_org_id, parse_org_id
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover.api import tenant
from medcover.errors import NotFound
from medcover.rbac import ALL_ROLES, allow

register_capability("Organization", interactions=("read", "search-type"), search_params={"identifier": "token"})


def institution_resource(details) -> Organization:
    """A medical institution (``InstitutionDetails``) as an Organization of type ``prov``."""
    return Organization.model_validate(
        {
            "resourceType": "Organization",
            "id": institution_org_id(details.id),
            "identifier": [identifier(systems.INSTITUTION_CODE, details.code)],
            "active": details.active,
            "type": [
                {
                    "coding": [{"system": systems.ORGANIZATION_TYPE, "code": "prov", "display": "Healthcare Provider"}],
                    "text": (details.kind or "hospital").replace("_", " ").capitalize(),
                }
            ],
            "name": details.name,
            "telecom": [{"system": "phone", "value": details.phone}] if details.phone else None,
            "address": [{"text": details.address}] if details.address else None,
        }
    )


def insurer_resource(company) -> Organization:
    """An insurance company (``CompanySummary``) as an Organization of type ``ins``."""
    return Organization.model_validate(
        {
            "resourceType": "Organization",
            "id": insurer_org_id(company.id),
            "identifier": [identifier(systems.INSURER_CODE, company.code)],
            "active": company.active,
            "type": [
                {
                    "coding": [{"system": systems.ORGANIZATION_TYPE, "code": "ins", "display": "Insurance Company"}],
                    "text": "Insurance company",
                }
            ],
            "name": company.name,
        }
    )


@bp.get("/Organization/<string(maxlength=40):org_id>")
@allow(ALL_ROLES)
def read_organization(org_id: str):
    found = parse_org_id(org_id)
    if found is None:
        raise NotFound("No such organization.")
    kind, number = found
    if kind == INSTITUTION:
        return respond(institution_resource(hospital.get_institution(tenant(), number)))
    return respond(insurer_resource(insurance.get_company(tenant(), number)))


def _organizations(code: str | None, kinds: set[str]) -> list[Organization]:
    """The tenant's institutions and insurers (with ``code``, any case, when given): both lists are short."""
    caller = tenant()
    found = []
    if INSTITUTION in kinds:
        for institution in hospital.institution_directory(caller):
            if code is None or institution.code.lower() == code:
                found.append(institution_resource(institution))
    if INSURER in kinds:
        for company in insurance.companies_of(caller):
            if code is None or company.code.lower() == code:
                found.append(insurer_resource(company))
    return found


@bp.get("/Organization")
@allow(ALL_ROLES)
def search_organizations():
    refuse_unknown_params({"identifier"})
    kinds = {INSTITUTION, INSURER}
    code = None
    raw = search_param("identifier")
    if raw is not None:
        code = token_param("identifier", (systems.INSTITUTION_CODE, systems.INSURER_CODE)).lower()
        system = raw.partition("|")[0] if "|" in raw else ""
        if system == systems.INSTITUTION_CODE:
            kinds = {INSTITUTION}
        elif system == systems.INSURER_CODE:
            kinds = {INSURER}
    page, count = page_args()
    found = _organizations(code, kinds)
    return respond(searchset(found[(page - 1) * count : page * count], total=len(found)))
