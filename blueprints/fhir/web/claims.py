"""``POST /fhir/Claim`` (a claim, submitted and decided as /api/v1 does; or a pre-authorisation request) answered
with its ClaimResponse, idempotent on the provider's Claim identifier; ``Claim`` read; ``ClaimResponse`` read and
search. Who may call what is /api/v1's (``claims.web.claim_api``): the provider's billing staff and integration
accounts file, READERS read; tenancy as there (another tenant's claim is a 404).

| call                                           | roles                                              |
|------------------------------------------------|----------------------------------------------------|
| POST /fhir/Claim                               | FILERS: ADMIN, BILLING_CLERK, INTEGRATION          |
| GET /fhir/Claim/{id}, /fhir/ClaimResponse[...] | READERS: ADMIN, BILLING_CLERK, ADJUDICATOR,        |
|                                                | FINANCE_OFFICER, AUDITOR, INTEGRATION              |
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fhir.resources.R4B.claim import Claim

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.fhir import claim_ids, claim_reads, systems
from blueprints.fhir.claim_ids import SentAs
from blueprints.fhir.claim_mapping import ClaimRefused, ClaimRequest, expression_for, read_claim
from blueprints.fhir.claim_response import claim_resource, claim_response
from blueprints.fhir.gateway import (
    FhirError,
    bp,
    page_args,
    parse_resource,
    refuse_unknown_params,
    register_capability,
    respond,
    search_param,
    searchset,
    token_param,
)
from blueprints.fhir.preauth_response import parse_preauth_id, preauth_claim, preauth_response
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover.api import actor, tenant
from medcover.errors import Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Role, allow

FILERS = claims.PROVIDER_WRITERS
READERS = frozenset(
    {Role.ADMIN, Role.BILLING_CLERK, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION}
)
#: how long a pre-authorisation asked for without ``billablePeriod.end`` is wanted
PREAUTH_DAYS = 30
OUTCOMES = {"complete": True, "queued": False}
RESPONSE_SEARCH = {"request": "reference", "identifier": "token", "patient": "token", "outcome": "token"}

register_capability(
    "Claim",
    interactions=("read", "create"),
    operations=(),
)
register_capability("ClaimResponse", interactions=("read", "search-type"), search_params=RESPONSE_SEARCH)


# --- filing -------------------------------------------------------------------------------------------


def _provider(asked: ClaimRequest) -> int:
    """The institution the Claim is filed for: the one named by code, or the caller's own hospital."""
    where = tenant()
    if where.company_id is not None:
        raise FhirError(403, "Claims are filed by the provider's billing staff.")
    if asked.institution_code is None:
        if where.institution_id is None:
            raise FhirError(422, "Name the provider by institution code.", expression=["Claim.provider"])
        return where.institution_id
    institution_id = hospital.institution_id_for_code(asked.institution_code)
    if institution_id is None or not where.owns(institution_id, None):
        raise FhirError(422, "No provider you file for has that institution code.", expression=["Claim.provider"])
    return institution_id


def _refused(exc: Invalid) -> FhirError:
    return FhirError.from_domain(exc, {name: expression_for(name) for name in exc.errors or {}})


def _known_member(asked: ClaimRequest) -> None:
    if not insurance.member_covers([asked.member_number]):
        raise FhirError(422, "No member with that member number.", expression=["Claim.patient.identifier"])


def _file_claim(who, asked: ClaimRequest, institution_id: int) -> int:
    values = claims.ClaimInput(
        member_number=asked.member_number,
        institution_id=institution_id,
        service_date=asked.service_date,
        items=[
            claims.ItemInput(line.service_code, line.quantity, line.unit_price, asked.preauth_code)
            for line in asked.lines
        ],
        diagnosis_codes=asked.diagnosis_codes,
    )
    claim = claims.create_claim(actor=who, values=values)
    claims.submit_claim(actor=who, claim_id=claim.id)
    return claim.id


def _benefit_asked(asked: ClaimRequest, institution_id: int) -> str:
    """The one benefit a pre-authorisation asks for: what the provider's price list maps the items to."""
    benefit = None
    for n, line in enumerate(asked.lines):
        price = billing.tariff_price(institution_id, line.service_code, line.serviced_date)
        path = f"Claim.item[{n}].productOrService"
        if price is None:
            raise FhirError(422, f"{line.service_code} has no price at this provider on that day.", expression=[path])
        if benefit not in (None, price.benefit_code):
            raise FhirError(
                422, "A pre-authorisation asks for one benefit: send a Claim per benefit.", expression=[path]
            )
        benefit = price.benefit_code
    return benefit


def _day(value) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def _request_preauth(who, asked: ClaimRequest, institution_id: int) -> int:
    benefit = _benefit_asked(asked, institution_id)
    start = asked.service_date
    end = _day(asked.wanted_until) or start + timedelta(days=PREAUTH_DAYS)
    services = ", ".join(f"{line.quantity} x {line.service_code}" for line in asked.lines)
    row = insurance.request_preauthorization(
        actor=who,
        member_number=asked.member_number,
        benefit_code=benefit,
        valid_from=start,
        valid_to=end,
        notes=f"Asked through FHIR for {services}.",
    )
    return row.id


def _answer(sent_as: SentAs, target_id: int, status: int):
    if sent_as is SentAs.PREAUTHORIZATION:
        found = preauth_response(claim_reads.preauth_view(tenant(), target_id))
    else:
        found = claim_response(claim_reads.claim_view(tenant(), target_id))
    return respond(found, status=status, headers={"Location": f"ClaimResponse/{found.id}"})


@bp.post("/Claim")
@allow(FILERS)
def submit_claim():
    resource = parse_resource(Claim)
    try:
        asked = read_claim(resource)
    except ClaimRefused as exc:
        raise FhirError(exc.status, exc.diagnostics, expression=[exc.expression]) from None
    who = actor()
    institution_id = _provider(asked)
    sent_as = SentAs(asked.use)
    held = None
    if asked.identifier is not None:
        before = claim_ids.sent_before(institution_id, *asked.identifier)
        if before is not None:
            return _answer(before.sent_as, before.target_id, 200)
        held = claim_ids.hold(institution_id, *asked.identifier, sent_as)
        if held is None:
            before = claim_ids.sent_before(institution_id, *asked.identifier)
            if before is None:
                raise FhirError(409, "A Claim with this identifier is being filed right now; ask again shortly.")
            return _answer(before.sent_as, before.target_id, 200)
    _known_member(asked)
    try:
        if sent_as is SentAs.CLAIM:
            target_id = _file_claim(who, asked, institution_id)
        else:
            target_id = _request_preauth(who, asked, institution_id)
    except Invalid as exc:
        raise _refused(exc) from None
    if held is not None:
        held.target_id = target_id
    db.session.flush()
    answer = _answer(sent_as, target_id, 201)
    db.session.commit()
    return answer


# --- reading --------------------------------------------------------------------------------------------


#: ids are 1 .. 2**31-1, as /api/v1's paths; anything else names nothing
MAX_ID = 2**31 - 1


def _claim_id(resource_id: str) -> int:
    if not resource_id.isascii() or not resource_id.isdigit() or not 1 <= int(resource_id[:11]) <= MAX_ID:
        raise NotFound("No such record.")
    return int(resource_id)


@bp.get("/Claim/<resource_id>")
@allow(READERS)
def read_claim_resource(resource_id: str):
    preauth = parse_preauth_id(resource_id)
    if preauth is not None:
        return respond(preauth_claim(claim_reads.preauth_view(tenant(), preauth)))
    return respond(claim_resource(claim_reads.claim_view(tenant(), _claim_id(resource_id))))


@bp.get("/ClaimResponse/<resource_id>")
@allow(READERS)
def read_claim_response(resource_id: str):
    preauth = parse_preauth_id(resource_id)
    if preauth is not None:
        return respond(preauth_response(claim_reads.preauth_view(tenant(), preauth)))
    return respond(claim_response(claim_reads.claim_view(tenant(), _claim_id(resource_id))))


def claim_reference(name: str) -> list[int] | None:
    """A reference search parameter naming a claim: ``Claim/12`` or ``12``; None when absent."""
    value = search_param(name)
    if value is None:
        return None
    found = value.rpartition("Claim/")[2] if "/" in value else value
    if not found.isascii() or not found.isdigit() or not 1 <= int(found[:11]) <= MAX_ID:
        raise FhirError(400, f"{name}: give a claim as Claim/<id>.", code="value", expression=[name])
    return [int(found)]


def claims_searched() -> tuple[list, int]:
    """The caller's claims that a ClaimResponse or ExplanationOfBenefit search asks for, one page."""
    page, count = page_args()
    outcome = search_param("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise FhirError(400, "outcome: complete or queued.", code="value", expression=["outcome"])
    return claims.find_claims(
        tenant(),
        claim_ids=claim_reference("request") or claim_reference("claim"),
        claim_number=token_param("identifier", systems.CLAIM_NUMBER) or "",
        member_number=token_param("patient", systems.MEMBER_NUMBER) or "",
        decided=OUTCOMES.get(outcome) if outcome else None,
        offset=(page - 1) * count,
        limit=count,
    )


@bp.get("/ClaimResponse")
@allow(READERS)
def search_claim_responses():
    refuse_unknown_params(set(RESPONSE_SEARCH))
    rows, total = claims_searched()
    return respond(searchset([claim_response(v) for v in claim_reads.claim_views(rows)], total=total))
