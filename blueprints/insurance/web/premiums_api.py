"""Insurance JSON endpoints: premium rates by age band, and premium quotes with their instalments."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from blueprints.insurance import api_bp, services
from blueprints.insurance.models import MemberType
from blueprints.insurance.services.schemes import scheme_row
from blueprints.insurance.web.api import PAGING, QUOTERS, READERS, TAG, WRITERS, MoneyIn, Whole
from medcover import clock
from medcover.api import (
    Day,
    Id,
    Money,
    Out,
    Schema,
    actor,
    created,
    documented,
    int_arg,
    jsonify_model,
    page_model,
    page_response,
    parse,
    referenced,
    tenant,
)
from medcover.rbac import allow


class RateIn(Schema):
    """``effective_from`` defaults to the scheme's ``effective_from``, or today when the scheme has none."""

    scheme_id: Id
    member_type: MemberType
    age_from: Whole = Field(ge=0, le=130)
    age_to: Whole = Field(ge=0, le=130)
    annual_amount: MoneyIn
    effective_from: Day | None = None
    effective_to: Day | None = None


class QuoteIn(Schema):
    scheme_id: Id
    principal_date_of_birth: Day
    dependant_dates_of_birth: list[Day] = Field(default_factory=list, max_length=20)
    start_date: Day
    frequency: Literal["annual", "quarterly", "monthly"] = "annual"
    end_date: Day | None = None


class RateOut(Out):
    id: int
    scheme_id: int
    member_type: MemberType
    age_from: int
    age_to: int
    annual_amount: Money
    effective_from: date
    effective_to: date | None


class QuoteLineOut(Out):
    member_type: str
    date_of_birth: date
    age: int
    annual_amount: Money


class InstalmentOut(Out):
    due_date: date
    amount: Money


class QuoteOut(Out):
    scheme_id: int
    start_date: date
    end_date: date
    frequency: str
    annual_premium: Money
    total: Money
    lines: list[QuoteLineOut]
    instalments: list[InstalmentOut]


RatePage = page_model(RateOut)


@api_bp.post("/premium-rates")
@allow(WRITERS)
@documented(
    "Add a premium rate for an age band (overlapping bands of the same scheme and member type: 409)",
    tag=TAG,
    body=RateIn,
    responses={201: RateOut, 409: None},
    description="effective_from defaults to the scheme's effective_from, or today if the scheme has none.",
)
def create_rate():
    data = parse(RateIn)
    scheme = referenced("scheme_id", scheme_row, tenant(), data.scheme_id)
    rate = services.add_rate(
        actor=actor(),
        scheme_id=scheme.id,
        member_type=data.member_type.value,
        age_from=data.age_from,
        age_to=data.age_to,
        annual_amount=data.annual_amount,
        effective_from=data.effective_from or scheme.effective_from or clock.today(),
        effective_to=data.effective_to,
    )
    return created(RateOut.model_validate(rate))


@api_bp.get("/premium-rates")
@allow(READERS)
@documented("Premium rates", tag=TAG, responses={200: RatePage}, query={"scheme_id": "one scheme", **PAGING})
def list_rates():
    return page_response(services.rates_query(tenant(), int_arg("scheme_id")), RateOut, RatePage)


@api_bp.post("/premium-rates/quote")
@allow(QUOTERS)
@documented(
    "A premium quote: the annual premium, the amount for the period (pro rata by days) and the instalments",
    tag=TAG,
    body=QuoteIn,
    responses={200: QuoteOut},
    description="end_date defaults to the day before the start's anniversary; the last instalment absorbs "
    "the rounding.",
)
def quote():
    data = parse(QuoteIn)
    referenced("scheme_id", services.get_scheme, tenant(), data.scheme_id)
    result = services.quote(tenant=tenant(), **data.model_dump())
    return jsonify_model(QuoteOut.model_validate(result))
