"""Insurance JSON endpoints: schemes and each benefit's terms in a scheme."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from flask import request
from pydantic import BeforeValidator, Field, StrictBool, WithJsonSchema

from blueprints.insurance import api_bp, services
from blueprints.insurance.models import SchemeStatus
from blueprints.insurance.services.schemes import scheme_row
from blueprints.insurance.web.api import (
    ID,
    PAGING,
    READERS,
    TAG,
    WRITERS,
    Code,
    MoneyIn,
    Name,
    PercentIn,
    Reason,
    ReasonIn,
    Whole,
)
from medcover.api import (
    CurrencyIn,
    Day,
    Id,
    Money,
    Out,
    Schema,
    actor,
    choice_arg,
    created,
    documented,
    int_arg,
    jsonify_model,
    optional_body,
    page_model,
    page_response,
    parse,
    referenced,
    saved,
    tenant,
)
from medcover.errors import NotFound
from medcover.extensions import db
from medcover.rbac import allow

#: the audit's reason for a benefit added to an active scheme that nobody is covered by yet
SET_UP_REASON = "Scheme set-up: no member is covered by it yet."
#: fields an update may clear with null (no limit, no threshold, no date)
SCHEME_NULLABLE = {"annual_limit", "review_threshold", "variance_factor", "effective_from", "effective_to"}


#: a factor as text: above zero, up to three whole digits and two decimals (ASCII digits only)
FACTOR_PATTERN = r"[ \t\r\n]*(?=[0-9.]*[1-9])[0-9]{1,3}(\.[0-9]{1,2})?[ \t\r\n]*"


def _factor(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError('Enter a factor as a string such as "3.00".')
    if isinstance(value, str) and not re.fullmatch(FACTOR_PATTERN, value):
        raise ValueError('Enter a factor above 0 and below 1000 with at most two decimals, such as "3.00".')
    try:
        factor = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError('Enter a factor such as "3.00".') from None
    if not factor.is_finite():
        raise ValueError('Enter a factor such as "3.00".')
    return factor


#: V03's multiplier: above 0, below 1000, two decimals at most
FactorIn = Annotated[
    Decimal,
    BeforeValidator(_factor),
    Field(gt=0, lt=1000, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": f"^{FACTOR_PATTERN}$"},
                {"type": "integer", "minimum": 1, "maximum": 999},
            ],
            "examples": ["3.00"],
        }
    ),
]
SamplePercent = Annotated[Whole, Field(ge=0, le=100)]
WindowDays = Annotated[Whole, Field(ge=0, le=365)]
ScoreThreshold = Annotated[Whole, Field(ge=1, le=100)]
TERM_NULLABLE = {"annual_limit", "per_visit_limit", "max_visits"}


class SchemeIn(Schema):
    company_id: Id
    code: Code
    name: Name
    currency: CurrencyIn = "KES"
    annual_limit: MoneyIn | None = None
    deductible: MoneyIn = Decimal("0.00")
    timely_filing_days: Whole = Field(180, ge=1, le=3650)
    review_threshold: MoneyIn | None = None
    #: V01: the share of claims (0-100) drawn for review, reproducibly from the claim number
    review_sample_percent: SamplePercent = 0
    #: S01: the member's claims this many days either side are compared
    duplicate_window_days: WindowDays = 3
    #: S01: the score (of 100) at which a claim is a suspect duplicate
    duplicate_score_threshold: ScoreThreshold = 60
    #: V03: an outlier bills more than this many times the provider's mean; null: never
    variance_factor: FactorIn | None = None
    status: SchemeStatus = SchemeStatus.ACTIVE
    effective_from: Day | None = None
    effective_to: Day | None = None


class SchemeUpdateIn(Schema):
    """Fields left out (or null, where the field cannot be empty) keep their values. ``reason`` is required
    when an active scheme's terms change."""

    code: Code | None = None
    name: Name | None = None
    currency: CurrencyIn | None = None
    annual_limit: MoneyIn | None = None
    deductible: MoneyIn | None = None
    timely_filing_days: Whole | None = Field(None, ge=1, le=3650)
    review_threshold: MoneyIn | None = None
    review_sample_percent: SamplePercent | None = None
    duplicate_window_days: WindowDays | None = None
    duplicate_score_threshold: ScoreThreshold | None = None
    variance_factor: FactorIn | None = None
    status: SchemeStatus | None = None
    effective_from: Day | None = None
    effective_to: Day | None = None
    reason: Reason = ""


class CloneIn(Schema):
    code: Code
    name: Name
    effective_from: Day | None = None
    effective_to: Day | None = None


class TermsIn(Schema):
    covered: StrictBool = True
    annual_limit: MoneyIn | None = None
    per_visit_limit: MoneyIn | None = None
    copay_percent: PercentIn = Decimal("0")
    copay_fixed: MoneyIn = Decimal("0.00")
    waiting_period_days: Whole = Field(0, ge=0, le=3650)
    requires_preauth: StrictBool = False
    max_visits: Whole | None = Field(None, ge=1, le=10_000)


class SchemeBenefitIn(TermsIn):
    """``reason`` (an addition to API.md) is required once members are covered by an active scheme."""

    benefit_id: Id
    reason: Reason = ""


class SchemeBenefitUpdateIn(Schema):
    """Fields left out (or null, where the field cannot be empty) keep their values; ``reason`` is required
    when the scheme is active."""

    covered: StrictBool | None = None
    annual_limit: MoneyIn | None = None
    per_visit_limit: MoneyIn | None = None
    copay_percent: PercentIn | None = None
    copay_fixed: MoneyIn | None = None
    waiting_period_days: Whole | None = Field(None, ge=0, le=3650)
    requires_preauth: StrictBool | None = None
    max_visits: Whole | None = Field(None, ge=1, le=10_000)
    reason: Reason = ""


class SchemeOut(Out):
    id: int
    company_id: int
    code: str
    name: str
    currency: str
    annual_limit: Money | None
    deductible: Money
    timely_filing_days: int
    review_threshold: Money | None
    review_sample_percent: int
    duplicate_window_days: int
    duplicate_score_threshold: int
    variance_factor: Money | None
    status: SchemeStatus
    effective_from: date | None
    effective_to: date | None
    previous_id: int | None


class SchemeBenefitOut(Out):
    id: int
    scheme_id: int
    benefit_id: int
    benefit_code: str
    benefit_name: str
    covered: bool
    annual_limit: Money | None
    per_visit_limit: Money | None
    copay_percent: Money
    copay_fixed: Money
    waiting_period_days: int
    requires_preauth: bool
    max_visits: int | None


class SchemeDetailOut(SchemeOut):
    benefits: list[SchemeBenefitOut]


SchemePage = page_model(SchemeOut)


def _changes(data, nullable: set[str]) -> dict:
    """The fields an update names; null clears a field that may be empty and keeps any other."""
    given = data.model_dump(exclude_unset=True, exclude={"reason"})
    return {key: value for key, value in given.items() if value is not None or key in nullable}


def _terms_out(rows) -> list[SchemeBenefitOut]:
    benefits = services.benefits_by_id(r.benefit_id for r in rows)
    return [
        SchemeBenefitOut(
            id=r.id,
            scheme_id=r.scheme_id,
            benefit_id=r.benefit_id,
            benefit_code=benefits[r.benefit_id].code,
            benefit_name=benefits[r.benefit_id].name,
            **{field: getattr(r, field) for field in services.TERM_FIELDS},
        )
        for r in rows
    ]


def _scheme_detail(scheme) -> SchemeDetailOut:
    return SchemeDetailOut(
        **SchemeOut.model_validate(scheme).model_dump(), benefits=_terms_out(services.scheme_benefits(scheme.id))
    )


@api_bp.post("/schemes")
@allow(WRITERS)
@documented("Create a scheme for a company", tag=TAG, body=SchemeIn, responses={201: SchemeDetailOut, 409: None})
def create_scheme():
    data = parse(SchemeIn)
    referenced("company_id", services.get_company, tenant(), data.company_id)
    terms = services.SchemeTerms(**data.model_dump(exclude={"company_id"}))
    scheme = services.create_scheme(actor=actor(), company_id=data.company_id, terms=terms)
    return created(_scheme_detail(scheme))


@api_bp.get("/schemes")
@allow(READERS)
@documented(
    "Schemes (insurer staff: their company's)",
    tag=TAG,
    responses={200: SchemePage},
    query={"company_id": "one company", "status": "draft, active or retired", "q": "code or name contains", **PAGING},
)
def list_schemes():
    stmt = services.schemes_query(
        tenant(),
        company_id=int_arg("company_id"),
        status=choice_arg("status", SchemeStatus),
        search=request.args.get("q", "")[:60],
    )
    return page_response(stmt, SchemeOut, SchemePage)


@api_bp.get(f"/schemes/<{ID}:scheme_id>")
@allow(READERS)
@documented("One scheme with its benefits' terms", tag=TAG, responses={200: SchemeDetailOut, 404: None})
def get_scheme(scheme_id: int):
    return jsonify_model(_scheme_detail(scheme_row(tenant(), scheme_id)))


@api_bp.put(f"/schemes/<{ID}:scheme_id>")
@allow(WRITERS)
@documented(
    "Change a scheme; an active scheme's terms change only with a reason (audited)",
    tag=TAG,
    body=SchemeUpdateIn,
    responses={200: SchemeDetailOut, 404: None, 409: None},
    description="Fields left out keep their values. Status moves draft -> active -> retired only.",
)
def update_scheme(scheme_id: int):
    data = parse(SchemeUpdateIn)
    scheme = scheme_row(tenant(), scheme_id)
    current = {field: getattr(scheme, field) for field in services.SCHEME_FIELDS}
    current["status"] = scheme.status.value
    given = _changes(data, SCHEME_NULLABLE)
    terms = services.SchemeTerms(**(current | given))
    scheme = services.update_scheme(actor=actor(), scheme_id=scheme.id, terms=terms, reason=data.reason)
    return saved(_scheme_detail(scheme))


@api_bp.post(f"/schemes/<{ID}:scheme_id>/clone")
@allow(WRITERS)
@documented(
    "A new version of the scheme (draft) with the same terms and benefits",
    tag=TAG,
    body=CloneIn,
    responses={201: SchemeDetailOut, 404: None, 409: None},
)
def clone_scheme(scheme_id: int):
    data = parse(CloneIn)
    clone = services.clone_scheme(actor=actor(), scheme_id=scheme_id, **data.model_dump())
    return created(_scheme_detail(clone))


@api_bp.post(f"/schemes/<{ID}:scheme_id>/benefits")
@allow(WRITERS)
@documented(
    "Add a benefit to the scheme with its terms",
    tag=TAG,
    body=SchemeBenefitIn,
    responses={201: SchemeBenefitOut, 404: None, 409: None},
    description="reason: required once members are covered by an active scheme (the change is audited); "
    "before that the audit records it as scheme set-up.",
)
def add_scheme_benefit(scheme_id: int):
    data = parse(SchemeBenefitIn)
    scheme = scheme_row(tenant(), scheme_id)
    reason = data.reason
    if not reason and scheme.status is SchemeStatus.ACTIVE and not services.scheme_in_use(scheme.id):
        # API.md's body has no reason and a new scheme is active by default: building it up before anyone
        # is covered changes nobody's cover, so it goes on the audit as set-up instead of being refused.
        reason = SET_UP_REASON
    terms = services.BenefitTerms(**data.model_dump(exclude={"benefit_id", "reason"}))
    row = services.add_scheme_benefit(
        actor=actor(), scheme_id=scheme.id, benefit_id=data.benefit_id, terms=terms, reason=reason
    )
    return created(_terms_out([row])[0])


def _scheme_benefit(scheme_id: int, scheme_benefit_id: int):
    row = services.get_scheme_benefit(tenant(), scheme_benefit_id)
    if row.scheme_id != scheme_id:
        raise NotFound("No such scheme benefit.")
    return row


@api_bp.put(f"/schemes/<{ID}:scheme_id>/benefits/<{ID}:scheme_benefit_id>")
@allow(WRITERS)
@documented(
    "Change a benefit's terms in the scheme (an active scheme needs a reason)",
    tag=TAG,
    body=SchemeBenefitUpdateIn,
    responses={200: SchemeBenefitOut, 404: None, 409: None},
    description="Fields left out keep their values.",
)
def update_scheme_benefit(scheme_id: int, scheme_benefit_id: int):
    data = parse(SchemeBenefitUpdateIn)
    row = _scheme_benefit(scheme_id, scheme_benefit_id)
    current = {field: getattr(row, field) for field in services.TERM_FIELDS}
    terms = services.BenefitTerms(**(current | _changes(data, TERM_NULLABLE)))
    row = services.update_scheme_benefit(actor=actor(), scheme_benefit_id=row.id, terms=terms, reason=data.reason)
    return saved(_terms_out([row])[0])


@api_bp.delete(f"/schemes/<{ID}:scheme_id>/benefits/<{ID}:scheme_benefit_id>")
@allow(WRITERS)
@documented(
    "Remove a benefit from the scheme (a scheme not in draft needs a reason)",
    tag=TAG,
    body=ReasonIn,
    responses={204: None, 404: None},
    query={"reason": "why the benefit goes, if not in the body"},
)
def remove_scheme_benefit(scheme_id: int, scheme_benefit_id: int):
    data = optional_body(ReasonIn)
    row = _scheme_benefit(scheme_id, scheme_benefit_id)
    reason = data.reason or request.args.get("reason", "")[:500].strip()
    services.remove_scheme_benefit(actor=actor(), scheme_benefit_id=row.id, reason=reason)
    db.session.commit()
    return "", 204
