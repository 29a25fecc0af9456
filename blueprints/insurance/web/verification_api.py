"""Insurance JSON endpoints: coverage verification (is the member covered on the day, for the benefit)."""

from __future__ import annotations

from datetime import date

from blueprints.insurance import api_bp, services
from blueprints.insurance.web.api import TAG, VERIFIERS, Code, MemberNumber
from medcover import clock
from medcover.api import Day, Money, Out, Schema, documented, jsonify_model, parse, tenant
from medcover.errors import NotFound
from medcover.rbac import ALL_ROLES, allow


class VerifyIn(Schema):
    member_number: MemberNumber
    service_date: Day
    benefit_code: Code | None = None


class CoverageSummaryOut(Out):
    id: int
    scheme_id: int
    scheme_code: str
    scheme_name: str
    company_id: int
    start_date: date
    end_date: date
    status: str
    #: the benefit period the service date falls in (limits count within it)
    period_start: date
    period_end: date


class BenefitStatusOut(Out):
    benefit_code: str
    covered: bool
    remaining_limit: Money | None
    copay_percent: Money
    requires_preauth: bool
    waiting_until: date | None


class VerificationOut(Out):
    eligible: bool
    reason_codes: list[str]
    coverage: CoverageSummaryOut | None
    benefits: list[BenefitStatusOut]


def _verification(member_number: str, day: date, benefit_code: str | None) -> VerificationOut:
    caller = tenant()
    if caller.company_id is not None:
        try:
            services.member_by_number(caller, member_number)
        except NotFound:
            return VerificationOut(eligible=False, reason_codes=["R01"], coverage=None, benefits=[])
    result = services.verify(member_number, day, benefit_code)
    return VerificationOut.model_validate(result)


@api_bp.post("/coverage/verify")
@allow(VERIFIERS)
@documented(
    "Is the member covered on the service date (for the benefit)? Reason codes as ADJUDICATION.md",
    tag=TAG,
    body=VerifyIn,
    responses={200: VerificationOut},
    description="An unknown member is still 200: eligible false with R01.",
)
def verify():
    data = parse(VerifyIn)
    return jsonify_model(_verification(data.member_number, data.service_date, data.benefit_code))


@api_bp.get("/coverage/check/<member_number>")
@allow(ALL_ROLES)
@documented("The coverage verification for today", tag=TAG, responses={200: VerificationOut})
def check(member_number: str):
    return jsonify_model(_verification(member_number[:30], clock.today(), None))
