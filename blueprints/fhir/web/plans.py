"""``InsurancePlan`` read and search (FHIR.md): an insurer's schemes with their benefit terms.

Mapping: the scheme code is the ``identifier`` (``urn:medcover:scheme-code``), its status the plan's, the
insurer ``ownedBy``. Per benefit, ``coverage[0].benefit[]``: ``type`` the benefit code, ``requirement`` says
when a pre-authorisation is needed, ``limit[]`` the annual limit and per-visit limit (money), the number of
visits and the waiting period (days). ``plan[0].generalCost[]``: the scheme's deductible and annual limit;
``plan[0].specificCost[]``: per benefit its copay percent and fixed copay. A benefit the scheme excludes
says so in its ``requirement``.

Who may call: the insurance API's readers; an insurer's staff see their company's schemes only.
"""

from __future__ import annotations

from decimal import Decimal

from fhir.resources.R4B.insuranceplan import InsurancePlan

from blueprints.fhir import systems
from blueprints.fhir.gateway import (
    FhirError,
    bp,
    identifier,
    money,
    page_args,
    refuse_unknown_params,
    register_capability,
    respond,
    search_param,
    searchset,
    token_param,
)
from blueprints.fhir.refs import INSURER, insurer_ref, parse_org_id
from blueprints.fhir.web.coverages import READERS
from blueprints.insurance import services as insurance
from medcover.api import tenant
from medcover.rbac import allow

ISO_4217 = "urn:iso:std:iso:4217"
UCUM = "http://unitsofmeasure.org"

register_capability(
    "InsurancePlan",
    interactions=("read", "search-type"),
    search_params={"identifier": "token", "owned-by": "reference"},
)


def _amount(value: Decimal, currency: str) -> dict:
    return {"value": value, "unit": currency, "system": ISO_4217, "code": currency}


def _limit(code: str, text: str, value: dict) -> dict:
    return {"value": value, "code": {"coding": [{"system": systems.BENEFIT, "code": code}], "text": text}}


def _benefit_type(term) -> dict:
    return {"coding": [{"system": systems.BENEFIT, "code": term.benefit_code, "display": term.benefit_name}]}


def _benefit(term, currency: str) -> dict:
    limits = []
    if term.annual_limit is not None:
        limits.append(_limit("annual-limit", "Annual limit", _amount(term.annual_limit, currency)))
    if term.per_visit_limit is not None:
        limits.append(_limit("per-visit-limit", "Per-visit limit", _amount(term.per_visit_limit, currency)))
    if term.max_visits is not None:
        limits.append(_limit("max-visits", "Visits per benefit period", {"value": term.max_visits, "unit": "visits"}))
    if term.waiting_period_days:
        waiting = {"value": term.waiting_period_days, "unit": "days", "system": UCUM, "code": "d"}
        limits.append(_limit("waiting-period", "Waiting period from the cover's start", waiting))
    if not term.covered:
        requirement = "Not covered by this scheme"
    elif term.requires_preauth:
        requirement = "Pre-authorisation required"
    else:
        requirement = None
    return {"type": _benefit_type(term), "requirement": requirement, "limit": limits or None}


def _costs(term, currency: str) -> dict:
    percent = {"value": term.copay_percent, "unit": "%", "system": UCUM, "code": "%"}
    copay_percent = {"type": {"coding": [{"system": systems.BENEFIT_TYPE, "code": "copay-percent"}]}}
    copay_percent["cost"] = [{"type": {"text": "Copay percent"}, "value": percent}]
    copay = {"type": {"coding": [{"system": systems.BENEFIT_TYPE, "code": "copay"}]}}
    copay["cost"] = [{"type": {"text": "Fixed copay"}, "value": _amount(term.copay_fixed, currency)}]
    return {"category": _benefit_type(term), "benefit": [copay_percent, copay]}


def plan_resource(scheme, company_name: str | None = None) -> InsurancePlan:
    """A scheme with its benefit terms (``SchemeDetails``) as a FHIR InsurancePlan."""
    currency = scheme.currency
    general = [{"type": {"text": "Deductible"}, "cost": money(scheme.deductible, currency)}]
    if scheme.annual_limit is not None:
        general.append({"type": {"text": "Annual limit"}, "cost": money(scheme.annual_limit, currency)})
    period = {"start": scheme.effective_from, "end": scheme.effective_to}
    return InsurancePlan.model_validate(
        {
            "resourceType": "InsurancePlan",
            "id": str(scheme.id),
            "identifier": [identifier(systems.SCHEME_CODE, scheme.code)],
            "status": scheme.status if scheme.status in ("draft", "active", "retired") else "unknown",
            "name": scheme.name,
            "period": period if scheme.effective_from or scheme.effective_to else None,
            "ownedBy": insurer_ref(scheme.company_id, name=company_name),
            "coverage": [
                {
                    "type": {"text": "Health"},
                    "benefit": [_benefit(t, currency) for t in scheme.benefits]
                    or [{"type": {"text": "No benefits yet"}}],
                }
            ],
            "plan": [
                {
                    "identifier": [identifier(systems.SCHEME_CODE, scheme.code)],
                    "generalCost": general,
                    "specificCost": [_costs(t, currency) for t in scheme.benefits] or None,
                }
            ],
        }
    )


@bp.get("/InsurancePlan/<id:scheme_id>")
@allow(READERS)
def read_plan(scheme_id: int):
    scheme = insurance.scheme_details(tenant(), scheme_id)
    return respond(plan_resource(scheme, insurance.company_name(scheme.company_id)))


def _owner() -> int | None:
    """``owned-by``: ``Organization/insurer-<id>`` (or ``insurer-<id>``); anything else is a 400."""
    raw = search_param("owned-by")
    if raw is None:
        return None
    found = parse_org_id(raw.removeprefix("Organization/"))
    if found is None or found[0] != INSURER:
        raise FhirError(400, "owned-by: give Organization/insurer-<id>.", code="value", expression=["owned-by"])
    return found[1]


@bp.get("/InsurancePlan")
@allow(READERS)
def search_plans():
    refuse_unknown_params({"identifier", "owned-by"})
    company_id = _owner()
    code = token_param("identifier", systems.SCHEME_CODE) if search_param("identifier") is not None else None
    page, count = page_args()
    rows, total = insurance.schemes_page(tenant(), page, count, company_id=company_id, code=code)
    names = insurance.company_names() if rows else {}
    return respond(searchset([plan_resource(row, names.get(row.company_id)) for row in rows], total=total))
