"""Insurance JSON endpoints: members (principals and dependants) and their coverages (suspend, reinstate,
cancel, renew)."""

from __future__ import annotations

from datetime import date

from flask import request
from pydantic import Field

from blueprints.insurance import api_bp, services
from blueprints.insurance.models import CoverageStatus
from blueprints.insurance.services.members import audit_member_read, member_row
from blueprints.insurance.web.api import (
    ID,
    PAGING,
    READERS,
    TAG,
    WRITERS,
    MemberNumber,
    PersonName,
    ReasonIn,
)
from medcover.api import (
    Day,
    Id,
    Out,
    Schema,
    actor,
    any_case,
    choice_arg,
    created,
    documented,
    jsonify_model,
    optional_body,
    page_model,
    page_response,
    parse,
    referenced,
    saved,
    tenant,
)
from medcover.errors import Forbidden, Invalid
from medcover.rbac import allow


class MemberIn(Schema):
    """``company_id``: platform admins name the insurer; insurer staff enrol into their own company."""

    member_number: MemberNumber
    first_name: PersonName
    last_name: PersonName
    date_of_birth: Day
    gender: str = Field(pattern=any_case(services.GENDERS))
    principal_member_number: MemberNumber | None = None
    company_id: Id | None = None


class CoverageIn(Schema):
    member_number: MemberNumber
    scheme_id: Id
    start_date: Day
    end_date: Day
    status: CoverageStatus = CoverageStatus.ACTIVE


class RenewIn(Schema):
    """The next period starts the day after the coverage ends; on ``scheme_id`` (e.g. next year's) if given."""

    scheme_id: Id | None = None


class MemberOut(Out):
    id: int
    member_number: str
    company_id: int
    first_name: str
    last_name: str
    date_of_birth: date
    gender: str
    principal_member_number: str | None


class CoverageOut(Out):
    id: int
    member_id: int
    member_number: str
    scheme_id: int
    company_id: int
    start_date: date
    end_date: date
    status: CoverageStatus
    renewed_from_id: int | None


class MemberDetailOut(MemberOut):
    dependants: list[MemberOut]
    coverages: list[CoverageOut]


MemberPage = page_model(MemberOut)
CoveragePage = page_model(CoverageOut)


def _members_out(members) -> list[MemberOut]:
    principals = services.member_numbers_by_id(m.principal_id for m in members)
    return [
        MemberOut(
            id=m.id,
            member_number=m.member_number,
            company_id=m.company_id,
            first_name=m.first_name,
            last_name=m.last_name,
            date_of_birth=m.date_of_birth,
            gender=m.gender,
            principal_member_number=principals.get(m.principal_id),
        )
        for m in members
    ]


def _coverages_out(rows) -> list[CoverageOut]:
    numbers = services.member_numbers_by_id(c.member_id for c in rows)
    return [
        CoverageOut(
            id=c.id,
            member_id=c.member_id,
            member_number=numbers[c.member_id],
            scheme_id=c.scheme_id,
            company_id=c.company_id,
            start_date=c.start_date,
            end_date=c.end_date,
            status=c.status,
            renewed_from_id=c.renewed_from_id,
        )
        for c in rows
    ]


def _member_detail(member) -> MemberDetailOut:
    (head,) = _members_out([member])
    return MemberDetailOut(
        **head.model_dump(),
        dependants=_members_out(services.dependants_of(member.id)),
        coverages=_coverages_out(services.coverages_of(member.id)),
    )


def _enrolling_company(requested: int | None) -> int:
    caller = tenant()
    if caller.institution_id is not None:
        raise Forbidden("Members are enrolled by their insurer.")
    if caller.company_id is not None:
        if requested not in (None, caller.company_id):
            raise Invalid.field("company_id", "No such insurance company.")
        return caller.company_id
    if requested is None:
        raise Invalid.field("company_id", "Name the insurance company the member is enrolled with.")
    return referenced("company_id", services.get_company, caller, requested).id


@api_bp.post("/members")
@allow(WRITERS)
@documented(
    "Enrol a member (a dependant names its principal's member number)",
    tag=TAG,
    body=MemberIn,
    responses={201: MemberDetailOut, 409: None},
    description="company_id: required for platform administrators; insurer staff enrol into their own company.",
)
def create_member():
    data = parse(MemberIn)
    company_id = _enrolling_company(data.company_id)
    details = services.MemberDetails(
        **data.model_dump(include={"member_number", "first_name", "last_name", "date_of_birth", "gender"})
    )
    member = services.create_member(
        actor=actor(), company_id=company_id, details=details, principal_number=data.principal_member_number
    )
    return created(_member_detail(member))


@api_bp.get("/members")
@allow(READERS)
@documented(
    "Members (insurer staff: their company's)",
    tag=TAG,
    responses={200: MemberPage},
    query={"q": "member number, first or last name starts with", **PAGING},
)
def list_members():
    return page_response(
        services.members_query(tenant(), request.args.get("q", "")), MemberOut, MemberPage, _members_out
    )


@api_bp.get(f"/members/<{ID}:member_id>")
@allow(READERS)
@documented("One member with dependants and coverages", tag=TAG, responses={200: MemberDetailOut, 404: None})
def get_member(member_id: int):
    member = member_row(tenant(), member_id)
    audit_member_read(actor(), member, "API member")
    return jsonify_model(_member_detail(member))


@api_bp.post("/coverages")
@allow(WRITERS)
@documented(
    "Cover a member by a scheme from start to end date (inclusive)",
    tag=TAG,
    body=CoverageIn,
    responses={201: CoverageOut, 409: None},
)
def create_coverage():
    data = parse(CoverageIn)
    referenced("member_number", services.member_by_number, tenant(), data.member_number)
    referenced("scheme_id", services.get_scheme, tenant(), data.scheme_id)
    row = services.create_coverage(
        actor=actor(),
        member_number=data.member_number,
        scheme_id=data.scheme_id,
        start_date=data.start_date,
        end_date=data.end_date,
        status=data.status.value,
    )
    return created(_coverages_out([row])[0])


@api_bp.get("/coverages")
@allow(READERS)
@documented(
    "Coverages (insurer staff: their company's)",
    tag=TAG,
    responses={200: CoveragePage},
    query={"member_number": "one member", "status": "active, suspended, lapsed or cancelled", **PAGING},
)
def list_coverages():
    stmt = services.coverages_query(
        tenant(), request.args.get("member_number", "")[:30], choice_arg("status", CoverageStatus)
    )
    return page_response(stmt, CoverageOut, CoveragePage, _coverages_out)


@api_bp.get(f"/coverages/<{ID}:coverage_id>")
@allow(READERS)
@documented("One coverage", tag=TAG, responses={200: CoverageOut, 404: None})
def get_coverage(coverage_id: int):
    return jsonify_model(_coverages_out([services.get_coverage(tenant(), coverage_id)])[0])


def _coverage_action(coverage_id: int, status: CoverageStatus):
    data = optional_body(ReasonIn)
    row = services.change_coverage_status(
        actor=actor(), coverage_id=coverage_id, status=status.value, reason=data.reason
    )
    return saved(_coverages_out([row])[0])


@api_bp.post(f"/coverages/<{ID}:coverage_id>/suspend")
@allow(WRITERS)
@documented("Suspend an active coverage", tag=TAG, body=ReasonIn, responses={200: CoverageOut, 404: None, 409: None})
def suspend_coverage(coverage_id: int):
    return _coverage_action(coverage_id, CoverageStatus.SUSPENDED)


@api_bp.post(f"/coverages/<{ID}:coverage_id>/reinstate")
@allow(WRITERS)
@documented(
    "Reinstate a suspended coverage", tag=TAG, body=ReasonIn, responses={200: CoverageOut, 404: None, 409: None}
)
def reinstate_coverage(coverage_id: int):
    return _coverage_action(coverage_id, CoverageStatus.ACTIVE)


@api_bp.post(f"/coverages/<{ID}:coverage_id>/cancel")
@allow(WRITERS)
@documented("Cancel a coverage", tag=TAG, body=ReasonIn, responses={200: CoverageOut, 404: None, 409: None})
def cancel_coverage(coverage_id: int):
    return _coverage_action(coverage_id, CoverageStatus.CANCELLED)


@api_bp.post(f"/coverages/<{ID}:coverage_id>/renew")
@allow(WRITERS)
@documented(
    "The next period's coverage, from the day after this one ends",
    tag=TAG,
    body=RenewIn,
    responses={201: CoverageOut, 404: None, 409: None},
)
def renew_coverage(coverage_id: int):
    data = optional_body(RenewIn)
    services.get_coverage(tenant(), coverage_id)
    if data.scheme_id is not None:
        referenced("scheme_id", services.get_scheme, tenant(), data.scheme_id)
    row = services.renew_coverage(actor=actor(), coverage_id=coverage_id, scheme_id=data.scheme_id)
    return created(_coverages_out([row])[0])
