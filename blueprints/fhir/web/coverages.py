"""``Coverage`` read and search (FHIR.md): a member's cover under a scheme, identified by member number.

Who may call: the insurance API's readers (ADMIN, ADJUDICATOR, FINANCE_OFFICER, AUDITOR, INTEGRATION); an
insurer's staff see their company's coverages only, another insurer's is a 404. Hospitals ask for
eligibility instead (CoverageEligibilityRequest).

MedCover's statuses map to FHIR's: active -> ``active``; suspended, lapsed and cancelled -> ``cancelled``
(the MedCover status in words is in the extension ``urn:medcover:coverage-status``).
"""

from __future__ import annotations

from fhir.resources.R4B.coverage import Coverage

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
from blueprints.fhir.refs import insurer_ref, member_ref
from blueprints.insurance import services as insurance
from medcover.api import tenant
from medcover.rbac import Role, allow

READERS = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION})

STATUS_EXTENSION = "urn:medcover:coverage-status"
#: FHIR status -> the MedCover statuses it stands for
FHIR_STATUSES = {
    "active": ("active",),
    "cancelled": ("suspended", "lapsed", "cancelled"),
    "draft": (),
    "entered-in-error": (),
}

register_capability(
    "Coverage",
    interactions=("read", "search-type"),
    search_params={"identifier": "token", "beneficiary": "reference", "status": "token"},
)


def fhir_status(status: str) -> str:
    return "active" if str(status) == "active" else "cancelled"


def coverage_resource(summary, scheme, company_name: str | None) -> Coverage:
    """A ``CoverageSummary`` with its scheme (``SchemeSummary``) as a FHIR Coverage."""
    status = str(getattr(summary.status, "value", summary.status))
    return Coverage.model_validate(
        {
            "resourceType": "Coverage",
            "id": str(summary.id),
            "extension": [{"url": STATUS_EXTENSION, "valueCode": status}],
            "identifier": [identifier(systems.MEMBER_NUMBER, summary.member_number)],
            "status": fhir_status(status),
            "subscriberId": summary.member_number,
            "beneficiary": member_ref(summary.member_number, summary.member_name),
            "period": {"start": summary.start_date, "end": summary.end_date},
            "payor": [insurer_ref(summary.company_id, name=company_name)],
            "class": [
                {
                    "type": {"coding": [{"system": systems.COVERAGE_CLASS, "code": "plan"}]},
                    "value": scheme.code,
                    "name": scheme.name,
                }
            ],
        }
    )


def _resources(summaries) -> list[Coverage]:
    """Coverages with their schemes and insurers' names, read once per scheme and once for the names."""
    caller = tenant()
    schemes = {sid: insurance.get_scheme(caller, sid) for sid in {c.scheme_id for c in summaries}}
    names = insurance.company_names() if summaries else {}
    return [coverage_resource(c, schemes[c.scheme_id], names.get(c.company_id)) for c in summaries]


@bp.get("/Coverage/<id:coverage_id>")
@allow(READERS)
def read_coverage(coverage_id: int):
    from blueprints.insurance.services.coverages import coverage_row

    coverage_row(tenant(), coverage_id)  # another insurer's coverage: a 404 (and an audited refusal)
    return respond(_resources([insurance.get_coverage(tenant(), coverage_id)])[0])


def _member_number(name: str) -> str | None:
    """``beneficiary``: a member number, as ``urn:medcover:member-number|<n>`` or alone."""
    value = token_param(name, systems.MEMBER_NUMBER)
    return value.upper() if value else None


@bp.get("/Coverage")
@allow(READERS)
def search_coverages():
    refuse_unknown_params({"identifier", "beneficiary", "beneficiary:identifier", "status"})
    numbers = {n for n in (_member_number(p) for p in ("identifier", "beneficiary", "beneficiary:identifier")) if n}
    if len(numbers) > 1:
        return respond(searchset([], total=0))  # two different members: nothing matches both
    status = search_param("status")
    statuses: str | tuple[str, ...] = ""
    if status is not None:
        if status not in FHIR_STATUSES:
            raise FhirError(400, f"status: one of {', '.join(FHIR_STATUSES)}.", code="value", expression=["status"])
        statuses = FHIR_STATUSES[status]
    page, count = page_args()
    found, total = insurance.coverages_page(tenant(), page, count, next(iter(numbers), ""), statuses)
    return respond(searchset(_resources(found), total=total))
