"""``POST /fhir/CoverageEligibilityRequest`` -> ``CoverageEligibilityResponse`` (FHIR.md): is the member
covered on the service day, what each benefit allows and has used, which services need a pre-authorisation.

The answer is the insurance domain's coverage verification, the one ``POST /api/v1/coverage/verify`` gives:
``inforce`` its ``eligible`` as to the cover, R01 (no such member) and R02 (no active cover that day) in
``error[]``; per benefit an ``item`` with ``allowedMoney`` = the benefit's annual limit and ``usedMoney`` = what
was approved in the benefit period; per requested service an ``item`` with its benefit and
``authorizationRequired`` (R10 not covered and R11 in the waiting period join ``error[]``). Nothing is
written. Who may call: every role but the auditor, as on /api/v1; an insurer's staff asking about another
insurer's member get R01, as for an unknown number.
"""

from __future__ import annotations

from datetime import date, datetime

from fhir.resources.R4B.coverageeligibilityrequest import CoverageEligibilityRequest
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse

from blueprints.billing import services as billing
from blueprints.fhir import systems
from blueprints.fhir.gateway import (
    FhirError,
    bp,
    money,
    parse_resource,
    reference_id,
    reference_identifier,
    register_capability,
    respond,
)
from blueprints.fhir.refs import coverage_ref, insurer_ref, member_ref
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.api import tenant
from medcover.errors import NotFound
from medcover.rbac import ALL_ROLES, Role, Tenant, allow

VERIFIERS = ALL_ROLES - {Role.AUDITOR}
REQUEST = "CoverageEligibilityRequest"
#: the reasons in words (R01, R02, R10, R11), as the verification gives them
REASONS = insurance.Verification.REASONS

# a POST answered with a CoverageEligibilityResponse (nothing is stored)
register_capability("CoverageEligibilityRequest", interactions=("create",))


def _member_number(request: CoverageEligibilityRequest) -> str:
    """The patient by member number, or a hospital's Patient/<id> with a member number."""
    number = reference_identifier(request.patient, systems.MEMBER_NUMBER)
    if number is None:
        patient_id = reference_id(request.patient, "Patient")
        if patient_id and patient_id.isdigit() and len(patient_id) < 10:
            try:
                number = hospital.get_patient(tenant(), int(patient_id)).member_number
            except NotFound:
                number = None
    if not number:
        raise FhirError(
            400,
            f"Give the patient by member number: patient.identifier with system {systems.MEMBER_NUMBER}.",
            code="required",
            expression=[f"{REQUEST}.patient"],
        )
    return number.upper()[:30]


def _service_day(request: CoverageEligibilityRequest) -> date:
    if request.servicedDate is not None:
        return request.servicedDate
    start = request.servicedPeriod.start if request.servicedPeriod is not None else None
    if isinstance(start, datetime):
        return clock.local_date(start) if start.tzinfo else start.date()
    if isinstance(start, date):
        return start
    return clock.today()


def _institution_id(request: CoverageEligibilityRequest) -> int | None:
    """Where the services are priced: the caller's institution, else the ``provider`` or ``facility``."""
    own = tenant().institution_id
    if own is not None:
        return own
    for ref in (request.provider, request.facility):
        code = reference_identifier(ref, systems.INSTITUTION_CODE)
        if code:
            return hospital.institution_id_for_code(code)
    return None


def _requested_benefits(request: CoverageEligibilityRequest, day: date) -> list[tuple[int, str, str | None]]:
    """(index, benefit code, service code) of each requested item: its ``category`` in the benefit system,
    or its ``productOrService`` service code priced at the institution on the day."""
    found = []
    institution_id = None
    for index, item in enumerate(request.item or ()):
        path = f"{REQUEST}.item[{index}]"
        benefit = _code(item.category, systems.BENEFIT)
        service = _code(item.productOrService, systems.SERVICE_CODE)
        if service and not benefit:
            institution_id = institution_id or _institution_id(request)
            if institution_id is None:
                raise FhirError(
                    400,
                    "Say which institution prices the service: provider.identifier (institution code).",
                    code="required",
                    expression=[f"{REQUEST}.provider"],
                )
            price = billing.tariff_price(institution_id, service, day)
            if price is None:
                raise FhirError(
                    422,
                    f"The institution has no price for service code {service} on {day.isoformat()}.",
                    expression=[f"{path}.productOrService"],
                )
            benefit = price.benefit_code
        if not benefit:
            raise FhirError(
                400,
                f"Give the item's productOrService ({systems.SERVICE_CODE}) or category ({systems.BENEFIT}).",
                code="required",
                expression=[f"{path}.productOrService"],
            )
        found.append((index, benefit, service))
    return found


def _code(concept, system: str) -> str | None:
    for coding in (concept.coding if concept is not None else None) or ():
        if coding.system == system and coding.code:
            return coding.code.strip()
    return None


def _verify(number: str, day: date):
    caller = tenant()
    if caller.company_id is not None:
        try:
            insurance.member_by_number(caller, number)
        except NotFound:
            return insurance.Verification(number, day, False, ["R01"])
    return insurance.verify(number, day)


def _latest_coverage(number: str):
    """The member's latest coverage (not in force on the day): what R02 is about."""
    try:
        member = insurance.member_by_number(Tenant(None, None), number)
    except NotFound:
        return None
    found = insurance.coverages_of(member.id)
    return found[0] if found else None


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _benefit_item(status, currency: str, service: str | None = None) -> dict:
    amounts = [{"type": _coding(systems.BENEFIT_TYPE, "benefit"), "usedMoney": money(status.used, currency)}]
    if status.annual_limit is not None:
        amounts[0]["allowedMoney"] = money(status.annual_limit, currency)
    return {
        "category": _coding(systems.BENEFIT, status.benefit_code, status.benefit_name),
        "productOrService": _coding(systems.SERVICE_CODE, service) if service else None,
        "excluded": not status.covered,
        "name": status.benefit_name,
        "benefit": amounts,
        "authorizationRequired": status.requires_preauth,
    }


PURPOSES = ("auth-requirements", "benefits", "discovery", "validation")


def _check_purpose(request: CoverageEligibilityRequest) -> None:
    for index, purpose in enumerate(request.purpose):
        if purpose not in PURPOSES:
            raise FhirError(
                400, f"purpose: one of {', '.join(PURPOSES)}.", code="value", expression=[f"{REQUEST}.purpose[{index}]"]
            )


def eligibility_response(request: CoverageEligibilityRequest) -> CoverageEligibilityResponse:
    _check_purpose(request)
    number = _member_number(request)
    day = _service_day(request)
    requested = _requested_benefits(request, day)
    verdict = _verify(number, day)
    cover = verdict.coverage
    reasons = list(verdict.reason_codes)
    items = []
    if cover is not None:
        by_code = {status.benefit_code: status for status in verdict.benefits}
        if "benefits" in request.purpose or not requested:
            items += [_benefit_item(status, cover.currency) for status in verdict.benefits]
        for _index, benefit, service in requested:
            status = by_code.get(benefit)
            if status is None or not status.covered:
                reasons.append("R10")
            elif status.waiting_until and day < status.waiting_until:
                reasons.append("R11")
            if status is not None:
                items.append(_benefit_item(status, cover.currency, service))
    insurer = {"display": "Unknown insurer"}
    if cover is not None:
        insurer = insurer_ref(cover.company_id, name=insurance.company_name(cover.company_id))
    elif tenant().company_id is not None:
        insurer = insurer_ref(tenant().company_id, name=insurance.company_name(tenant().company_id))
    asked = {"identifier": request.identifier[0]} if request.identifier else {"display": "Eligibility request"}
    insurance_entry = None
    if cover is not None:
        insurance_entry = [
            {
                "coverage": coverage_ref(cover.id, number),
                "inforce": True,
                "benefitPeriod": {"start": cover.period_start, "end": cover.period_end},
                "item": items or None,
            }
        ]
    elif "R02" in reasons:
        latest = _latest_coverage(number)
        if latest is not None:
            insurance_entry = [{"coverage": coverage_ref(latest.id, number), "inforce": False}]
            if tenant().company_id is None:
                insurer = insurer_ref(latest.company_id, name=insurance.company_name(latest.company_id))
    unique = list(dict.fromkeys(reasons))
    return CoverageEligibilityResponse.model_validate(
        {
            "resourceType": "CoverageEligibilityResponse",
            "identifier": request.identifier,
            "status": "active",
            "purpose": request.purpose,
            "patient": member_ref(number, verdict.member_name),
            "servicedDate": day,
            "created": clock.now().isoformat(timespec="seconds"),
            "request": asked,
            "outcome": "complete",
            "disposition": "Covered" if not unique else " ".join(REASONS.get(code, code) for code in unique),
            "insurer": insurer,
            "insurance": insurance_entry,
            "error": [{"code": _coding(systems.ADJUDICATION_REASON, code, REASONS.get(code))} for code in unique]
            or None,
        }
    )


@bp.post("/CoverageEligibilityRequest")
@allow(VERIFIERS)
def check_eligibility():
    request = parse_resource(CoverageEligibilityRequest)
    return respond(eligibility_response(request))
