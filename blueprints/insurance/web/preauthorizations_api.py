"""Insurance JSON endpoints: pre-authorisations (a hospital asks, the member's insurer decides)."""

from __future__ import annotations

from datetime import date

from blueprints.insurance import api_bp, services
from blueprints.insurance.models import PreauthStatus
from blueprints.insurance.web.api import (
    DECIDERS,
    ID,
    PAGING,
    PREAUTH_READERS,
    REQUESTERS,
    TAG,
    Code,
    MemberNumber,
    Notes,
)
from medcover.api import (
    Day,
    Out,
    Schema,
    actor,
    choice_arg,
    created,
    documented,
    jsonify_model,
    optional_body,
    page_model,
    page_response,
    parse,
    saved,
    tenant,
)
from medcover.rbac import allow


class PreauthIn(Schema):
    member_number: MemberNumber
    benefit_code: Code
    valid_from: Day
    valid_to: Day


class DecisionIn(Schema):
    notes: Notes = ""


class PreauthOut(Out):
    id: int
    code: str
    status: PreauthStatus
    member_number: str
    benefit_code: str
    company_id: int
    valid_from: date
    valid_to: date
    notes: str | None


PreauthPage = page_model(PreauthOut)


def _preauths_out(rows) -> list[PreauthOut]:
    numbers = services.member_numbers_by_id(r.member_id for r in rows)
    benefits = services.benefits_by_id(r.benefit_id for r in rows)
    return [
        PreauthOut(
            id=r.id,
            code=r.code,
            status=r.status,
            member_number=numbers[r.member_id],
            benefit_code=benefits[r.benefit_id].code,
            company_id=r.company_id,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            notes=r.notes,
        )
        for r in rows
    ]


@api_bp.post("/preauthorizations")
@allow(REQUESTERS)
@documented(
    "Pre-authorise a benefit for a member: approved at once for insurer staff, requested for hospital staff",
    tag=TAG,
    body=PreauthIn,
    responses={201: PreauthOut},
)
def create_preauthorization():
    data = parse(PreauthIn)
    # API.md's shape: the insurer's recording is approved at once; a hospital's request waits for the insurer.
    row = services.request_preauthorization(actor=actor(), **data.model_dump(), approve=tenant().institution_id is None)
    return created(_preauths_out([row])[0])


@api_bp.get("/preauthorizations")
@allow(PREAUTH_READERS)
@documented(
    "Pre-authorisations (insurer staff: their company's; hospital staff: the ones they asked for), newest first",
    tag=TAG,
    responses={200: PreauthPage},
    query={"status": "requested, approved or declined", **PAGING},
)
def list_preauthorizations():
    stmt = services.preauthorizations_query(tenant(), choice_arg("status", PreauthStatus))
    return page_response(stmt, PreauthOut, PreauthPage, _preauths_out)


@api_bp.get(f"/preauthorizations/<{ID}:preauth_id>")
@allow(PREAUTH_READERS)
@documented("One pre-authorisation", tag=TAG, responses={200: PreauthOut, 404: None})
def get_preauthorization(preauth_id: int):
    return jsonify_model(_preauths_out([services.get_preauthorization(tenant(), preauth_id)])[0])


def _decide(preauth_id: int, approve: bool):
    data = optional_body(DecisionIn)
    row = services.decide_preauthorization(
        actor=actor(), preauthorization_id=preauth_id, approve=approve, notes=data.notes
    )
    return saved(_preauths_out([row])[0])


@api_bp.post(f"/preauthorizations/<{ID}:preauth_id>/approve")
@allow(DECIDERS)
@documented(
    "Approve a requested pre-authorisation",
    tag=TAG,
    body=DecisionIn,
    responses={200: PreauthOut, 404: None, 409: None},
)
def approve_preauthorization(preauth_id: int):
    return _decide(preauth_id, True)


@api_bp.post(f"/preauthorizations/<{ID}:preauth_id>/decline")
@allow(DECIDERS)
@documented(
    "Decline a requested pre-authorisation",
    tag=TAG,
    body=DecisionIn,
    responses={200: PreauthOut, 404: None, 409: None},
)
def decline_preauthorization(preauth_id: int):
    return _decide(preauth_id, False)
