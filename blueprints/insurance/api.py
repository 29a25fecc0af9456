"""Insurance JSON endpoints: companies, the benefit catalogue, schemes and their terms, premium rates and
quotes, members and coverages, pre-authorisations, and coverage verification (API.md's fixed shapes).

Who may call what (tenancy is the services': insurer staff see and change only their company's rows,
and another company's row answers 404 as if it did not exist):

| resource                                   | read                         | write                                 |
|--------------------------------------------|------------------------------|---------------------------------------|
| companies, benefit categories, benefits    | READERS (catalogue: all)     | ADMIN, platform admins only (global)  |
| schemes, scheme benefits, premium rates    | READERS                      | WRITERS (ADMIN, INTEGRATION)          |
| members, coverages (+ suspend ... renew)   | READERS                      | WRITERS                               |
| premium quote (POST, changes nothing)      | READERS except AUDITOR       | -                                     |
| pre-authorisations                         | PREAUTH_READERS              | create: REQUESTERS; approve/decline:  |
|                                            |                              | ADMIN, ADJUDICATOR (insurer side)     |
| coverage verify (POST) / check (GET)       | every role (POST: no AUDITOR)| -                                     |

READERS = ADMIN, ADJUDICATOR, FINANCE_OFFICER, AUDITOR, INTEGRATION. REQUESTERS = ADMIN, ADJUDICATOR,
INTEGRATION, RECEPTIONIST, BILLING_CLERK: insurer staff (and platform admins) create a pre-authorisation
already approved, hospital staff (and integrations bound to a hospital) create a request that the member's
insurer decides. PREAUTH_READERS = READERS + RECEPTIONIST, BILLING_CLERK: a hospital reads the requests it
made, an insurer its members' pre-authorisations, whoever asked. The auditor changes nothing,
so no POST is open to it (not even the read-only verify and quote; ``GET /coverage/check`` is).
Verification is open to hospitals for members of any insurer; a company-bound caller asking about
another insurer's member gets R01, as for an unknown number.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import request
from flask_login import current_user
from pydantic import BeforeValidator, Field, Strict, StrictBool
from sqlalchemy import select

from blueprints.insurance import api_bp, coverage, premiums, services
from blueprints.insurance.models import (
    Benefit,
    BenefitCategory,
    Coverage,
    CoverageStatus,
    Member,
    MemberType,
    PreauthStatus,
    SchemeStatus,
)
from medcover import clock
from medcover.api import (
    Day,
    Id,
    Money,
    Out,
    Schema,
    choice_arg,
    documented,
    int_arg,
    jsonify_model,
    optional_body,
    page_model,
    paginate,
    parse,
    referenced,
)
from medcover.errors import Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import ALL_ROLES, Role, allow, tenant_of

TAG = "Insurance"
WRITERS = frozenset({Role.ADMIN, Role.INTEGRATION})
READERS = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION})
QUOTERS = READERS - {Role.AUDITOR}
REQUESTERS = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.INTEGRATION, Role.RECEPTIONIST, Role.BILLING_CLERK})
DECIDERS = frozenset({Role.ADMIN, Role.ADJUDICATOR})
PREAUTH_READERS = READERS | {Role.RECEPTIONIST, Role.BILLING_CLERK}
VERIFIERS = ALL_ROLES - {Role.AUDITOR}
#: the audit's reason for a benefit added to an active scheme that nobody is covered by yet
SET_UP_REASON = "Scheme set-up: no member is covered by it yet."

#: fields an update may clear with null (no limit, no threshold, no date)
SCHEME_NULLABLE = {"annual_limit", "review_threshold", "effective_from", "effective_to"}
TERM_NULLABLE = {"annual_limit", "per_visit_limit", "max_visits"}
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}


# --- input types: strict, so `true`, `"7"` or a timestamp are not taken for a number or a date ---------


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError('Enter an amount as a string such as "1250.00".')
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError('Enter an amount such as "1250.00".') from None
    if not amount.is_finite():
        raise ValueError('Enter an amount such as "1250.00".')
    return amount


#: money in: a string (or a JSON number) with at most two decimals, not negative, below 10 000 000 000
MoneyIn = Annotated[Decimal, BeforeValidator(_amount), Field(ge=0, max_digits=12, decimal_places=2)]
PercentIn = Annotated[Decimal, BeforeValidator(_amount), Field(ge=0, le=100, decimal_places=2)]
Code = Annotated[str, Field(min_length=1, max_length=30)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
PersonName = Annotated[str, Field(min_length=1, max_length=80)]
MemberNumber = Annotated[str, Field(min_length=1, max_length=30)]
Reason = Annotated[str, Field(max_length=500)]
Notes = Annotated[str, Field(max_length=2000)]
Whole = Annotated[int, Strict()]


# --- request bodies ---------------------------------------------------------------------------------


class CompanyIn(Schema):
    code: Code
    name: Name


class CategoryIn(Schema):
    code: Code
    name: Name


class BenefitIn(Schema):
    code: Code
    name: Name
    category_id: Id


class SchemeIn(Schema):
    company_id: Id
    code: Code
    name: Name
    currency: str = Field("KES", min_length=3, max_length=3)
    annual_limit: MoneyIn | None = None
    deductible: MoneyIn = Decimal("0.00")
    timely_filing_days: Whole = Field(180, ge=1, le=3650)
    review_threshold: MoneyIn | None = None
    status: SchemeStatus = SchemeStatus.ACTIVE
    effective_from: Day | None = None
    effective_to: Day | None = None


class SchemeUpdateIn(Schema):
    """Fields left out (or null, where the field cannot be empty) keep their values. ``reason`` is required
    when an active scheme's terms change."""

    code: Code | None = None
    name: Name | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)
    annual_limit: MoneyIn | None = None
    deductible: MoneyIn | None = None
    timely_filing_days: Whole | None = Field(None, ge=1, le=3650)
    review_threshold: MoneyIn | None = None
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


class ReasonIn(Schema):
    reason: Reason = ""


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


class MemberIn(Schema):
    """``company_id``: platform admins name the insurer; insurer staff enrol into their own company."""

    member_number: MemberNumber
    first_name: PersonName
    last_name: PersonName
    date_of_birth: Day
    gender: str = Field(min_length=1, max_length=10)
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


class PreauthIn(Schema):
    member_number: MemberNumber
    benefit_code: Code
    valid_from: Day
    valid_to: Day


class DecisionIn(Schema):
    notes: Notes = ""


class VerifyIn(Schema):
    member_number: MemberNumber
    service_date: Day
    benefit_code: Code | None = None


# --- answers ----------------------------------------------------------------------------------------


class CompanyOut(Out):
    id: int
    code: str
    name: str
    active: bool


class CategoryOut(Out):
    id: int
    code: str
    name: str


class BenefitOut(Out):
    id: int
    code: str
    name: str
    category_id: int


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


CompanyPage = page_model(CompanyOut)
CategoryPage = page_model(CategoryOut)
BenefitPage = page_model(BenefitOut)
SchemePage = page_model(SchemeOut)
RatePage = page_model(RateOut)
MemberPage = page_model(MemberOut)
CoveragePage = page_model(CoverageOut)
PreauthPage = page_model(PreauthOut)


# --- helpers ----------------------------------------------------------------------------------------


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


def _changes(data, nullable: set[str]) -> dict:
    """The fields an update names; null clears a field that may be empty and keeps any other."""
    given = data.model_dump(exclude_unset=True, exclude={"reason"})
    return {key: value for key, value in given.items() if value is not None or key in nullable}


def _numbers_of(member_ids) -> dict[int, str]:
    ids = {i for i in member_ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(Member.id, Member.member_number).where(Member.id.in_(ids))).all())


def _benefit_rows(benefit_ids) -> dict[int, Benefit]:
    ids = set(benefit_ids)
    if not ids:
        return {}
    return {b.id: b for b in db.session.scalars(select(Benefit).where(Benefit.id.in_(ids)))}


def _members_out(members: list[Member]) -> list[MemberOut]:
    principals = _numbers_of(m.principal_id for m in members)
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


def _coverages_out(rows: list[Coverage]) -> list[CoverageOut]:
    numbers = _numbers_of(c.member_id for c in rows)
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


def _preauths_out(rows) -> list[PreauthOut]:
    numbers = _numbers_of(r.member_id for r in rows)
    benefits = _benefit_rows(r.benefit_id for r in rows)
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


def _terms_out(rows) -> list[SchemeBenefitOut]:
    benefits = _benefit_rows(r.benefit_id for r in rows)
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


def _member_detail(member: Member) -> MemberDetailOut:
    (head,) = _members_out([member])
    return MemberDetailOut(
        **head.model_dump(),
        dependants=_members_out(services.dependants_of(member.id)),
        coverages=_coverages_out(services.coverages_of(member.id)),
    )


def _page(stmt, item: type[Out], page_model: type[Out], batch=None):
    """``paginate`` with the rows serialised in one go (``batch``) where they need related values."""
    page = paginate(stmt, (lambda row: row) if batch else item.model_validate)
    if batch:
        page["items"] = batch(page["items"])
    return jsonify_model(page_model.model_validate(page))


def _created(model: Out):
    db.session.commit()
    return jsonify_model(model, status=201)


def _saved(model: Out):
    db.session.commit()
    return jsonify_model(model)


# --- companies and the benefit catalogue ------------------------------------------------------------


@api_bp.post("/companies")
@allow(Role.ADMIN)
@documented(
    "Add an insurance company (platform administrators only)",
    tag=TAG,
    body=CompanyIn,
    responses={201: CompanyOut, 409: None},
)
def create_company():
    data = parse(CompanyIn)
    return _created(CompanyOut.model_validate(services.create_company(actor=_actor(), **data.model_dump())))


@api_bp.get("/companies")
@allow(READERS)
@documented("Insurance companies (insurer staff: their own)", tag=TAG, responses={200: CompanyPage}, query=PAGING)
def list_companies():
    return _page(services.companies_query(_tenant()), CompanyOut, CompanyPage)


@api_bp.get(f"/companies/<{ID}:company_id>")
@allow(READERS)
@documented("One insurance company", tag=TAG, responses={200: CompanyOut, 404: None})
def get_company(company_id: int):
    return jsonify_model(CompanyOut.model_validate(services.get_company(_tenant(), company_id)))


@api_bp.post("/benefit-categories")
@allow(Role.ADMIN)
@documented(
    "Add a benefit category (platform administrators only)",
    tag=TAG,
    body=CategoryIn,
    responses={201: CategoryOut, 409: None},
)
def create_category():
    data = parse(CategoryIn)
    return _created(CategoryOut.model_validate(services.create_category(actor=_actor(), **data.model_dump())))


@api_bp.get("/benefit-categories")
@allow(ALL_ROLES)
@documented("The benefit categories", tag=TAG, responses={200: CategoryPage}, query=PAGING)
def list_categories():
    return _page(select(BenefitCategory).order_by(BenefitCategory.name, BenefitCategory.id), CategoryOut, CategoryPage)


@api_bp.post("/benefits")
@allow(Role.ADMIN)
@documented(
    "Add a benefit to the catalogue (platform administrators only)",
    tag=TAG,
    body=BenefitIn,
    responses={201: BenefitOut, 409: None},
)
def create_benefit():
    data = parse(BenefitIn)
    return _created(BenefitOut.model_validate(services.create_benefit(actor=_actor(), **data.model_dump())))


@api_bp.get("/benefits")
@allow(ALL_ROLES)
@documented(
    "The benefit catalogue",
    tag=TAG,
    responses={200: BenefitPage},
    query={"category_id": "one category", **PAGING},
)
def list_benefits():
    stmt = services.benefits_query()
    category_id = int_arg("category_id")
    if category_id:
        stmt = stmt.where(Benefit.category_id == category_id)
    return _page(stmt, BenefitOut, BenefitPage)


# --- schemes and their benefit terms ----------------------------------------------------------------


@api_bp.post("/schemes")
@allow(WRITERS)
@documented("Create a scheme for a company", tag=TAG, body=SchemeIn, responses={201: SchemeDetailOut, 409: None})
def create_scheme():
    data = parse(SchemeIn)
    referenced("company_id", services.get_company, _tenant(), data.company_id)
    terms = services.SchemeTerms(**data.model_dump(exclude={"company_id"}))
    scheme = services.create_scheme(actor=_actor(), company_id=data.company_id, terms=terms)
    return _created(_scheme_detail(scheme))


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
        _tenant(),
        company_id=int_arg("company_id"),
        status=choice_arg("status", SchemeStatus),
        search=request.args.get("q", "")[:60],
    )
    return _page(stmt, SchemeOut, SchemePage)


@api_bp.get(f"/schemes/<{ID}:scheme_id>")
@allow(READERS)
@documented("One scheme with its benefits' terms", tag=TAG, responses={200: SchemeDetailOut, 404: None})
def get_scheme(scheme_id: int):
    return jsonify_model(_scheme_detail(services.get_scheme(_tenant(), scheme_id)))


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
    scheme = services.get_scheme(_tenant(), scheme_id)
    current = {field: getattr(scheme, field) for field in services.SCHEME_FIELDS}
    current["status"] = scheme.status.value
    given = _changes(data, SCHEME_NULLABLE)
    terms = services.SchemeTerms(**(current | given))
    scheme = services.update_scheme(actor=_actor(), scheme_id=scheme.id, terms=terms, reason=data.reason)
    return _saved(_scheme_detail(scheme))


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
    clone = services.clone_scheme(actor=_actor(), scheme_id=scheme_id, **data.model_dump())
    return _created(_scheme_detail(clone))


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
    scheme = services.get_scheme(_tenant(), scheme_id)
    reason = data.reason
    if not reason and scheme.status is SchemeStatus.ACTIVE and not _in_use(scheme.id):
        # API.md's body has no reason and a new scheme is active by default: building it up before anyone
        # is covered changes nobody's cover, so it goes on the audit as set-up instead of being refused.
        reason = SET_UP_REASON
    terms = services.BenefitTerms(**data.model_dump(exclude={"benefit_id", "reason"}))
    row = services.add_scheme_benefit(
        actor=_actor(), scheme_id=scheme.id, benefit_id=data.benefit_id, terms=terms, reason=reason
    )
    return _created(_terms_out([row])[0])


def _in_use(scheme_id: int) -> bool:
    return db.session.scalar(select(Coverage.id).where(Coverage.scheme_id == scheme_id).limit(1)) is not None


def _scheme_benefit(scheme_id: int, scheme_benefit_id: int):
    row = services.get_scheme_benefit(_tenant(), scheme_benefit_id)
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
    row = services.update_scheme_benefit(actor=_actor(), scheme_benefit_id=row.id, terms=terms, reason=data.reason)
    return _saved(_terms_out([row])[0])


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
    services.remove_scheme_benefit(actor=_actor(), scheme_benefit_id=row.id, reason=reason)
    db.session.commit()
    return "", 204


# --- premium rates and quotes -----------------------------------------------------------------------


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
    scheme = referenced("scheme_id", services.get_scheme, _tenant(), data.scheme_id)
    rate = premiums.add_rate(
        actor=_actor(),
        scheme_id=scheme.id,
        member_type=data.member_type.value,
        age_from=data.age_from,
        age_to=data.age_to,
        annual_amount=data.annual_amount,
        effective_from=data.effective_from or scheme.effective_from or clock.today(),
        effective_to=data.effective_to,
    )
    return _created(RateOut.model_validate(rate))


@api_bp.get("/premium-rates")
@allow(READERS)
@documented("Premium rates", tag=TAG, responses={200: RatePage}, query={"scheme_id": "one scheme", **PAGING})
def list_rates():
    return _page(premiums.rates_query(_tenant(), int_arg("scheme_id")), RateOut, RatePage)


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
    referenced("scheme_id", services.get_scheme, _tenant(), data.scheme_id)
    result = premiums.quote(tenant=_tenant(), **data.model_dump())
    return jsonify_model(QuoteOut.model_validate(result))


# --- members and coverages --------------------------------------------------------------------------


def _enrolling_company(requested: int | None) -> int:
    tenant = _tenant()
    if tenant.institution_id is not None:
        raise Forbidden("Members are enrolled by their insurer.")
    if tenant.company_id is not None:
        if requested not in (None, tenant.company_id):
            raise Invalid.field("company_id", "No such insurance company.")
        return tenant.company_id
    if requested is None:
        raise Invalid.field("company_id", "Name the insurance company the member is enrolled with.")
    return referenced("company_id", services.get_company, tenant, requested).id


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
        actor=_actor(), company_id=company_id, details=details, principal_number=data.principal_member_number
    )
    return _created(_member_detail(member))


@api_bp.get("/members")
@allow(READERS)
@documented(
    "Members (insurer staff: their company's)",
    tag=TAG,
    responses={200: MemberPage},
    query={"q": "member number, first or last name starts with", **PAGING},
)
def list_members():
    return _page(services.members_query(_tenant(), request.args.get("q", "")), MemberOut, MemberPage, _members_out)


@api_bp.get(f"/members/<{ID}:member_id>")
@allow(READERS)
@documented("One member with dependants and coverages", tag=TAG, responses={200: MemberDetailOut, 404: None})
def get_member(member_id: int):
    return jsonify_model(_member_detail(services.get_member(_tenant(), member_id)))


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
    referenced("member_number", services.member_by_number, _tenant(), data.member_number)
    referenced("scheme_id", services.get_scheme, _tenant(), data.scheme_id)
    row = services.create_coverage(
        actor=_actor(),
        member_number=data.member_number,
        scheme_id=data.scheme_id,
        start_date=data.start_date,
        end_date=data.end_date,
        status=data.status.value,
    )
    return _created(_coverages_out([row])[0])


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
        _tenant(), request.args.get("member_number", "")[:30], choice_arg("status", CoverageStatus)
    )
    return _page(stmt, CoverageOut, CoveragePage, _coverages_out)


@api_bp.get(f"/coverages/<{ID}:coverage_id>")
@allow(READERS)
@documented("One coverage", tag=TAG, responses={200: CoverageOut, 404: None})
def get_coverage(coverage_id: int):
    return jsonify_model(_coverages_out([services.get_coverage(_tenant(), coverage_id)])[0])


def _coverage_action(coverage_id: int, status: CoverageStatus):
    data = optional_body(ReasonIn)
    row = services.change_coverage_status(
        actor=_actor(), coverage_id=coverage_id, status=status.value, reason=data.reason
    )
    return _saved(_coverages_out([row])[0])


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
    services.get_coverage(_tenant(), coverage_id)
    if data.scheme_id is not None:
        referenced("scheme_id", services.get_scheme, _tenant(), data.scheme_id)
    row = services.renew_coverage(actor=_actor(), coverage_id=coverage_id, scheme_id=data.scheme_id)
    return _created(_coverages_out([row])[0])


# --- pre-authorisations -----------------------------------------------------------------------------


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
    row = services.request_preauthorization(
        actor=_actor(), **data.model_dump(), approve=_tenant().institution_id is None
    )
    return _created(_preauths_out([row])[0])


@api_bp.get("/preauthorizations")
@allow(PREAUTH_READERS)
@documented(
    "Pre-authorisations (insurer staff: their company's; hospital staff: the ones they asked for), newest first",
    tag=TAG,
    responses={200: PreauthPage},
    query={"status": "requested, approved or declined", **PAGING},
)
def list_preauthorizations():
    stmt = services.preauthorizations_query(_tenant(), choice_arg("status", PreauthStatus))
    return _page(stmt, PreauthOut, PreauthPage, _preauths_out)


@api_bp.get(f"/preauthorizations/<{ID}:preauth_id>")
@allow(PREAUTH_READERS)
@documented("One pre-authorisation", tag=TAG, responses={200: PreauthOut, 404: None})
def get_preauthorization(preauth_id: int):
    return jsonify_model(_preauths_out([services.get_preauthorization(_tenant(), preauth_id)])[0])


def _decide(preauth_id: int, approve: bool):
    data = optional_body(DecisionIn)
    row = services.decide_preauthorization(
        actor=_actor(), preauthorization_id=preauth_id, approve=approve, notes=data.notes
    )
    return _saved(_preauths_out([row])[0])


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


# --- coverage verification --------------------------------------------------------------------------


def _verification(member_number: str, day: date, benefit_code: str | None) -> VerificationOut:
    tenant = _tenant()
    if tenant.company_id is not None:
        try:
            services.member_by_number(tenant, member_number)
        except NotFound:
            return VerificationOut(eligible=False, reason_codes=["R01"], coverage=None, benefits=[])
    result = coverage.verify(member_number, day, benefit_code)
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
