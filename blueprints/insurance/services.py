"""The insurance domain's public face: companies, the benefit catalogue, schemes and their terms,
members and coverages, pre-authorisations. Coverage verification is in ``coverage.py`` and premiums in
``premiums.py``; both are re-exported here.

Writes are checked against the acting user's tenant (an insurer's staff touch only their company) and
audited with before/after values.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select

from blueprints.core import services as core
from blueprints.insurance.models import (
    COVERAGE_TRANSITIONS,
    SCHEME_TRANSITIONS,
    Benefit,
    BenefitCategory,
    Company,
    Coverage,
    CoverageStatus,
    Member,
    Preauthorization,
    PreauthStatus,
    Scheme,
    SchemeBenefit,
    SchemeStatus,
)
from blueprints.insurance.periods import anniversary
from medcover import clock
from medcover.audit import changes, json_safe, snapshot
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.money import money
from medcover.rbac import Tenant, scope, tenant_of

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$")
MEMBER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,29}$")
GENDERS = ("female", "male", "other", "unknown")
SCHEME_FIELDS = (
    "code",
    "name",
    "currency",
    "status",
    "effective_from",
    "effective_to",
    "annual_limit",
    "deductible",
    "timely_filing_days",
    "review_threshold",
)
TERM_FIELDS = (
    "covered",
    "annual_limit",
    "per_visit_limit",
    "copay_percent",
    "copay_fixed",
    "waiting_period_days",
    "requires_preauth",
    "max_visits",
)
MEMBER_FIELDS = (
    "member_number",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "principal_id",
    "email",
    "phone",
)
COVERAGE_FIELDS = ("member_id", "scheme_id", "start_date", "end_date", "status")


# --- checks shared by the writes -----------------------------------------------------------------


def _code(value: str, field: str = "code") -> str:
    value = (value or "").strip()
    if not CODE.match(value):
        raise Invalid.field(field, "Use 1 to 30 letters, digits, dots, dashes or underscores.")
    return value


def _name(value: str, field: str = "name", limit: int = 120) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise Invalid.field(field, "This field is required.")
    if len(value) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(ord(c) < 32 for c in value):
        raise Invalid.field(field, "Use letters, spaces and punctuation only.")
    return value


def _amount(value, field: str, *, optional: bool = True) -> Decimal | None:
    if value is None or value == "":
        if optional:
            return None
        raise Invalid.field(field, "This field is required.")
    try:
        amount = money(value if isinstance(value, Decimal | int) else str(value))
    except (TypeError, ValueError, ArithmeticError):  # ArithmeticError: 1e400 does not fit two places
        raise Invalid.field(field, "Enter an amount such as 1250.00.") from None
    if amount < 0:
        raise Invalid.field(field, "Amounts cannot be negative.")
    if amount >= Decimal("10000000000"):
        raise Invalid.field(field, "That amount is too large.")
    return amount


def _whole(value, field: str, *, low: int = 0, high: int = 36_500, optional: bool = False) -> int | None:
    if value is None or value == "":
        if optional:
            return None
        raise Invalid.field(field, "This field is required.")
    if isinstance(value, bool):
        raise Invalid.field(field, "Enter a whole number.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Invalid.field(field, "Enter a whole number.") from None
    if not low <= number <= high:
        raise Invalid.field(field, f"Use a number from {low} to {high}.")
    return number


def _owned_company(actor, company_id: int) -> Company:
    company = db.session.get(Company, company_id) if company_id else None
    if company is None or not tenant_of(actor).owns(None, company.id):
        raise NotFound("No such insurance company.")
    return company


def _writer_tenant_check(actor, company_id: int) -> None:
    tenant = tenant_of(actor)
    if not tenant.is_global and tenant.company_id != company_id:
        raise Forbidden("You can change your own company's records only.")


# --- companies -----------------------------------------------------------------------------------


def create_company(*, actor, code: str, name: str) -> Company:
    if not tenant_of(actor).is_global:
        raise Forbidden("Only platform administrators add insurance companies.")
    code, name = _code(code), _name(name)
    if db.session.scalar(select(Company.id).where(func.lower(Company.code) == code.lower())):
        raise Conflict("That code is taken.", {"code": ["Another company uses this code."]})
    company = Company(code=code, name=name, active=True)
    db.session.add(company)
    db.session.flush()
    core.record_audit(
        actor, "create", "company", company.id, after=snapshot(company, ("code", "name")), company_id=company.id
    )
    return company


def companies_query(tenant: Tenant):
    stmt = select(Company).order_by(Company.name)
    return stmt if tenant.is_global else stmt.where(Company.id == tenant.company_id)


def company_names() -> dict[int, str]:
    return dict(db.session.execute(select(Company.id, Company.name)).all())


def company_name(company_id: int) -> str | None:
    return db.session.scalar(select(Company.name).where(Company.id == company_id))


def company_id_for_code(code: str) -> int | None:
    return db.session.scalar(select(Company.id).where(Company.code == code))


def get_company(tenant: Tenant, company_id: int) -> Company:
    company = db.session.get(Company, company_id) if company_id else None
    if company is None or not tenant.owns(None, company.id):
        raise NotFound("No such insurance company.")
    return company


# --- benefit catalogue ---------------------------------------------------------------------------


def create_category(*, actor, code: str, name: str) -> BenefitCategory:
    if not tenant_of(actor).is_global:
        raise Forbidden("Only platform administrators change the benefit catalogue.")
    code, name = _code(code), _name(name)
    if db.session.scalar(select(BenefitCategory.id).where(func.lower(BenefitCategory.code) == code.lower())):
        raise Conflict("That code is taken.", {"code": ["Another category uses this code."]})
    row = BenefitCategory(code=code, name=name)
    db.session.add(row)
    db.session.flush()
    core.record_audit(actor, "create", "benefit_category", row.id, after={"code": code, "name": name})
    return row


def create_benefit(*, actor, code: str, name: str, category_id: int) -> Benefit:
    if not tenant_of(actor).is_global:
        raise Forbidden("Only platform administrators change the benefit catalogue.")
    code, name = _code(code), _name(name)
    if not category_id or db.session.get(BenefitCategory, category_id) is None:
        raise Invalid.field("category_id", "No such benefit category.")
    if db.session.scalar(select(Benefit.id).where(func.lower(Benefit.code) == code.lower())):
        raise Conflict("That code is taken.", {"code": ["Another benefit uses this code."]})
    row = Benefit(code=code, name=name, category_id=category_id)
    db.session.add(row)
    db.session.flush()
    core.record_audit(actor, "create", "benefit", row.id, after={"code": code, "name": name})
    return row


def categories() -> list[BenefitCategory]:
    return list(db.session.scalars(select(BenefitCategory).order_by(BenefitCategory.name)))


def benefits_query():
    return select(Benefit).order_by(Benefit.code)


def benefit_by_code(code: str) -> Benefit | None:
    return db.session.scalar(select(Benefit).where(Benefit.code == code))


def benefit_ids_by_code(codes) -> dict[str, int]:
    """Batch form for other domains (tariffs map service codes to benefit codes)."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.session.execute(select(Benefit.code, Benefit.id).where(Benefit.code.in_(codes))).all())


# --- schemes -------------------------------------------------------------------------------------


@dataclass
class SchemeTerms:
    code: str
    name: str
    currency: str = "KES"
    status: str = "active"
    effective_from: date | None = None
    effective_to: date | None = None
    annual_limit: Decimal | str | None = None
    deductible: Decimal | str = "0.00"
    timely_filing_days: int | str = 180
    review_threshold: Decimal | str | None = None


def _scheme_values(terms: SchemeTerms) -> dict:
    currency = (terms.currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise Invalid.field("currency", "Use a three-letter currency code such as KES.")
    try:
        status = SchemeStatus(terms.status)
    except ValueError:
        raise Invalid.field("status", "Choose draft, active or retired.") from None
    if terms.effective_from and terms.effective_to and terms.effective_to < terms.effective_from:
        raise Invalid.field("effective_to", "The end comes before the start.")
    return {
        "code": _code(terms.code),
        "name": _name(terms.name),
        "currency": currency,
        "status": status,
        "effective_from": terms.effective_from,
        "effective_to": terms.effective_to,
        "annual_limit": _amount(terms.annual_limit, "annual_limit"),
        "deductible": _amount(terms.deductible if terms.deductible not in (None, "") else "0", "deductible"),
        "timely_filing_days": _whole(terms.timely_filing_days, "timely_filing_days", low=1, high=3650),
        "review_threshold": _amount(terms.review_threshold, "review_threshold"),
    }


def create_scheme(*, actor, company_id: int, terms: SchemeTerms) -> Scheme:
    company = _owned_company(actor, company_id)
    _writer_tenant_check(actor, company.id)
    values = _scheme_values(terms)
    if db.session.scalar(select(Scheme.id).where(Scheme.company_id == company.id, Scheme.code == values["code"])):
        raise Conflict("That code is taken.", {"code": ["This company already has a scheme with this code."]})
    scheme = Scheme(company_id=company.id, **values)
    db.session.add(scheme)
    db.session.flush()
    core.record_audit(
        actor, "create", "scheme", scheme.id, after=snapshot(scheme, SCHEME_FIELDS), company_id=company.id
    )
    return scheme


def update_scheme(*, actor, scheme_id: int, terms: SchemeTerms, reason: str = "") -> Scheme:
    """Change a scheme. An active scheme's terms change only with a reason, which the audit keeps."""
    scheme = get_scheme(tenant_of(actor), scheme_id)
    _writer_tenant_check(actor, scheme.company_id)
    values = _scheme_values(terms)
    if values["status"] is not scheme.status and values["status"] not in SCHEME_TRANSITIONS[scheme.status]:
        raise Conflict(f"A {scheme.status.value} scheme cannot become {values['status'].value}.")
    clash = select(Scheme.id).where(
        Scheme.company_id == scheme.company_id, Scheme.code == values["code"], Scheme.id != scheme.id
    )
    if db.session.scalar(clash):
        raise Conflict("That code is taken.", {"code": ["This company already has a scheme with this code."]})
    before = snapshot(scheme, SCHEME_FIELDS)
    _require_reason_when_live(scheme, reason, before, values)
    for key, value in values.items():
        setattr(scheme, key, value)
    db.session.flush()
    old, new = changes(before, snapshot(scheme, SCHEME_FIELDS))
    if new:
        core.record_audit(
            actor,
            "update",
            "scheme",
            scheme.id,
            before=old,
            after=new,
            summary=reason or None,
            company_id=scheme.company_id,
        )
    return scheme


def _require_reason_when_live(scheme: Scheme, reason: str, before: dict, values: dict) -> None:
    if scheme.status is SchemeStatus.DRAFT:
        return
    proposed = {key: json_safe(value) for key, value in values.items()}  # the same JSON form as ``before``
    terms_changed = any(before.get(k) != proposed.get(k) for k in values if k not in ("status", "name"))
    if terms_changed and scheme.status is SchemeStatus.RETIRED:
        raise Conflict("A retired scheme does not change; clone it as a new version.")
    if terms_changed and len((reason or "").strip()) < 5:
        raise Invalid.field(
            "reason", "This scheme is active: say why its terms change (it is audited), or clone it as a new version."
        )


def get_scheme(tenant: Tenant, scheme_id: int) -> Scheme:
    scheme = db.session.get(Scheme, scheme_id) if scheme_id else None
    if scheme is None or not tenant.owns(None, scheme.company_id):
        raise NotFound("No such scheme.")
    return scheme


def schemes_query(tenant: Tenant, company_id: int | None = None, status: str = "", search: str = ""):
    stmt = scope(select(Scheme), Scheme, tenant).order_by(Scheme.company_id, Scheme.code)
    if company_id:
        stmt = stmt.where(Scheme.company_id == company_id)
    if status in {s.value for s in SchemeStatus}:
        stmt = stmt.where(Scheme.status == SchemeStatus(status))
    if search:
        pattern = f"%{search.strip().lower()[:60]}%"
        stmt = stmt.where(or_(func.lower(Scheme.name).like(pattern), func.lower(Scheme.code).like(pattern)))
    return stmt


def clone_scheme(
    *, actor, scheme_id: int, code: str, name: str, effective_from: date | None = None, effective_to: date | None = None
) -> Scheme:
    """A new version of a scheme (next year's), in draft, with the same terms and benefits."""
    source = get_scheme(tenant_of(actor), scheme_id)
    _writer_tenant_check(actor, source.company_id)
    terms = SchemeTerms(
        code=code,
        name=name,
        currency=source.currency,
        status="draft",
        effective_from=effective_from,
        effective_to=effective_to,
        annual_limit=source.annual_limit,
        deductible=source.deductible,
        timely_filing_days=source.timely_filing_days,
        review_threshold=source.review_threshold,
    )
    clone = create_scheme(actor=actor, company_id=source.company_id, terms=terms)
    clone.previous_id = source.id
    for term in scheme_benefits(source.id):
        db.session.add(
            SchemeBenefit(
                scheme_id=clone.id, benefit_id=term.benefit_id, **{field: getattr(term, field) for field in TERM_FIELDS}
            )
        )
    db.session.flush()
    return clone


# --- scheme benefits -----------------------------------------------------------------------------


@dataclass
class BenefitTerms:
    covered: bool = True
    annual_limit: Decimal | str | None = None
    per_visit_limit: Decimal | str | None = None
    copay_percent: Decimal | str = "0"
    copay_fixed: Decimal | str = "0.00"
    waiting_period_days: int | str = 0
    requires_preauth: bool = False
    max_visits: int | str | None = None


def _term_values(terms: BenefitTerms) -> dict:
    copay_percent = terms.copay_percent if terms.copay_percent not in (None, "") else "0"
    try:
        percent = Decimal(str(copay_percent)).quantize(Decimal("0.01"))
    except Exception:
        raise Invalid.field("copay_percent", "Enter a percentage from 0 to 100.") from None
    if not percent.is_finite() or not Decimal(0) <= percent <= Decimal(100):  # NaN cannot even be compared
        raise Invalid.field("copay_percent", "Enter a percentage from 0 to 100.")
    return {
        "covered": bool(terms.covered),
        "annual_limit": _amount(terms.annual_limit, "annual_limit"),
        "per_visit_limit": _amount(terms.per_visit_limit, "per_visit_limit"),
        "copay_percent": percent,
        "copay_fixed": _amount(terms.copay_fixed if terms.copay_fixed not in (None, "") else "0", "copay_fixed"),
        "waiting_period_days": _whole(
            terms.waiting_period_days if terms.waiting_period_days not in (None, "") else 0,
            "waiting_period_days",
            high=3650,
        ),
        "requires_preauth": bool(terms.requires_preauth),
        "max_visits": _whole(terms.max_visits, "max_visits", low=1, high=10_000, optional=True),
    }


def scheme_benefits(scheme_id: int) -> list[SchemeBenefit]:
    return list(
        db.session.scalars(
            select(SchemeBenefit)
            .join(Benefit, Benefit.id == SchemeBenefit.benefit_id)
            .where(SchemeBenefit.scheme_id == scheme_id)
            .order_by(Benefit.code)
        )
    )


def add_scheme_benefit(
    *, actor, scheme_id: int, benefit_id: int, terms: BenefitTerms, reason: str = ""
) -> SchemeBenefit:
    scheme = get_scheme(tenant_of(actor), scheme_id)
    _writer_tenant_check(actor, scheme.company_id)
    if not benefit_id or db.session.get(Benefit, benefit_id) is None:
        raise Invalid.field("benefit_id", "Choose a benefit from the catalogue.")
    if scheme.status is SchemeStatus.ACTIVE and len((reason or "").strip()) < 5:
        raise Invalid.field("reason", "This scheme is active: say why its terms change (it is audited).")
    if scheme.status is SchemeStatus.RETIRED:
        raise Conflict("A retired scheme does not change.")
    values = _term_values(terms)
    if db.session.scalar(
        select(SchemeBenefit.id).where(SchemeBenefit.scheme_id == scheme.id, SchemeBenefit.benefit_id == benefit_id)
    ):
        raise Conflict("That benefit is already in the scheme.", {"benefit_id": ["Already in this scheme: edit it."]})
    row = SchemeBenefit(scheme_id=scheme.id, benefit_id=benefit_id, **values)
    db.session.add(row)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "scheme_benefit",
        row.id,
        after={"benefit_id": benefit_id, **snapshot(row, TERM_FIELDS)},
        summary=reason or None,
        company_id=scheme.company_id,
    )
    return row


def update_scheme_benefit(*, actor, scheme_benefit_id: int, terms: BenefitTerms, reason: str = "") -> SchemeBenefit:
    row = get_scheme_benefit(tenant_of(actor), scheme_benefit_id)
    scheme = db.session.get(Scheme, row.scheme_id)
    _writer_tenant_check(actor, scheme.company_id)
    if scheme.status is SchemeStatus.RETIRED:
        raise Conflict("A retired scheme does not change.")
    values = _term_values(terms)
    before = snapshot(row, TERM_FIELDS)
    # Refuse before touching the row: a refused edit must leave nothing pending in the session.
    if (
        changes(before, json_safe(values))[1]
        and scheme.status is SchemeStatus.ACTIVE
        and len((reason or "").strip()) < 5
    ):
        raise Invalid.field("reason", "This scheme is active: say why its terms change (it is audited).")
    for key, value in values.items():
        setattr(row, key, value)
    db.session.flush()
    old, new = changes(before, snapshot(row, TERM_FIELDS))
    if new:
        core.record_audit(
            actor,
            "update",
            "scheme_benefit",
            row.id,
            before=old,
            after=new,
            summary=reason or None,
            company_id=scheme.company_id,
        )
    return row


def remove_scheme_benefit(*, actor, scheme_benefit_id: int, reason: str = "") -> None:
    row = get_scheme_benefit(tenant_of(actor), scheme_benefit_id)
    scheme = db.session.get(Scheme, row.scheme_id)
    _writer_tenant_check(actor, scheme.company_id)
    if scheme.status is not SchemeStatus.DRAFT and len((reason or "").strip()) < 5:
        raise Invalid.field("reason", "This scheme is in use: say why the benefit goes (it is audited).")
    before = {"benefit_id": row.benefit_id, **snapshot(row, TERM_FIELDS)}
    db.session.delete(row)
    db.session.flush()
    core.record_audit(
        actor,
        "delete",
        "scheme_benefit",
        scheme_benefit_id,
        before=before,
        summary=reason or None,
        company_id=scheme.company_id,
    )


def get_scheme_benefit(tenant: Tenant, scheme_benefit_id: int) -> SchemeBenefit:
    row = db.session.get(SchemeBenefit, scheme_benefit_id) if scheme_benefit_id else None
    if row is None:
        raise NotFound("No such scheme benefit.")
    get_scheme(tenant, row.scheme_id)
    return row


# --- members and coverages -----------------------------------------------------------------------


@dataclass
class MemberDetails:
    member_number: str
    first_name: str
    last_name: str
    date_of_birth: date
    gender: str
    email: str | None = None
    phone: str | None = None


def _member_values(details: MemberDetails, prefix: str = "") -> dict:
    number = (details.member_number or "").strip().upper()
    if not MEMBER_NUMBER.match(number):
        raise Invalid.field(prefix + "member_number", "Use 1 to 30 letters, digits, / . _ or -.")
    if not isinstance(details.date_of_birth, date):
        raise Invalid.field(prefix + "date_of_birth", "Enter a date (YYYY-MM-DD).")
    if details.date_of_birth > clock.today() or details.date_of_birth.year < 1900:
        raise Invalid.field(prefix + "date_of_birth", "Enter a real date of birth.")
    gender = (details.gender or "").strip().lower()
    if gender not in GENDERS:
        raise Invalid.field(prefix + "gender", "Choose female, male, other or unknown.")
    email = (details.email or "").strip().lower() or None
    if email and (len(email) > 254 or not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+", email)):
        raise Invalid.field(prefix + "email", "Enter a valid email address.")
    phone = (details.phone or "").replace(" ", "") or None
    if phone and not re.fullmatch(r"\+?[0-9]{7,15}", phone):
        raise Invalid.field(prefix + "phone", "Use 7 to 15 digits, with an optional +.")
    return {
        "member_number": number,
        "first_name": _name(details.first_name, prefix + "first_name", 80),
        "last_name": _name(details.last_name, prefix + "last_name", 80),
        "date_of_birth": details.date_of_birth,
        "gender": gender,
        "email": email,
        "phone": phone,
    }


def create_member(
    *, actor, company_id: int, details: MemberDetails, principal_number: str | None = None, prefix: str = ""
) -> Member:
    company = _owned_company(actor, company_id)
    _writer_tenant_check(actor, company.id)
    values = _member_values(details, prefix)
    principal_id = None
    if principal_number:
        principal = db.session.scalar(select(Member).where(Member.member_number == principal_number.strip().upper()))
        if principal is None or principal.company_id != company.id:
            raise Invalid.field(prefix + "principal_member_number", "No principal member with that number.")
        if principal.principal_id is not None:
            raise Invalid.field(prefix + "principal_member_number", "A dependant cannot have dependants.")
        principal_id = principal.id
    if db.session.scalar(select(Member.id).where(Member.member_number == values["member_number"])):
        raise Conflict("That member number is taken.", {prefix + "member_number": ["Another member has this number."]})
    member = Member(company_id=company.id, principal_id=principal_id, **values)
    db.session.add(member)
    db.session.flush()
    core.record_audit(
        actor, "create", "member", member.id, after=snapshot(member, ("member_number",)), company_id=company.id
    )
    return member


def enrol(
    *,
    actor,
    company_id: int,
    principal: MemberDetails,
    dependants: list[MemberDetails],
    scheme_id: int,
    start_date: date,
    end_date: date | None = None,
) -> tuple[Member, list[Member]]:
    """A principal with dependants, each covered by the scheme from the start date: all or nothing."""
    # Every field first, so a bad dependant is refused before the principal is written.
    _member_values(principal)
    for i, details in enumerate(dependants):
        _member_values(details, f"dependants.{i}.")
    numbers = [(m.member_number or "").strip().upper() for m in [principal, *dependants]]
    if len(set(numbers)) != len(numbers):
        raise Invalid.field("dependants", "Every member needs a different member number.")
    head = create_member(actor=actor, company_id=company_id, details=principal)
    family = [
        create_member(
            actor=actor,
            company_id=company_id,
            details=d,
            principal_number=head.member_number,
            prefix=f"dependants.{i}.",
        )
        for i, d in enumerate(dependants)
    ]
    for member in [head, *family]:
        create_coverage(
            actor=actor,
            member_number=member.member_number,
            scheme_id=scheme_id,
            start_date=start_date,
            end_date=end_date,
        )
    return head, family


def get_member(tenant: Tenant, member_id: int) -> Member:
    member = db.session.get(Member, member_id) if member_id else None
    if member is None or not tenant.owns(None, member.company_id):
        raise NotFound("No such member.")
    return member


def members_by_id(tenant: Tenant, ids) -> list[Member]:
    """Batch form: the tenant's members among ``ids``, in one query."""
    ids = {i for i in ids if i}
    if not ids:
        return []
    return list(db.session.scalars(scope(select(Member), Member, tenant).where(Member.id.in_(ids))))


def member_by_number(tenant: Tenant, member_number: str) -> Member:
    member = db.session.scalar(select(Member).where(Member.member_number == (member_number or "").strip().upper()))
    if member is None or not tenant.owns(None, member.company_id):
        raise NotFound("No such member.")
    return member


def members_query(tenant: Tenant, search: str = ""):
    stmt = scope(select(Member), Member, tenant).order_by(Member.last_name, Member.first_name, Member.id)
    search = (search or "").strip().lower()[:60]
    if search:
        stmt = stmt.where(
            or_(
                Member.member_number.like(search.upper() + "%"),
                func.lower(Member.last_name).like(search + "%"),
                func.lower(Member.first_name).like(search + "%"),
            )
        )
    return stmt


def dependants_of(member_id: int) -> list[Member]:
    return list(db.session.scalars(select(Member).where(Member.principal_id == member_id).order_by(Member.id)))


def create_coverage(
    *,
    actor,
    member_number: str,
    scheme_id: int,
    start_date: date,
    end_date: date | None = None,
    status: str = "active",
    renewed_from_id: int | None = None,
) -> Coverage:
    member = member_by_number(tenant_of(actor), member_number)
    _writer_tenant_check(actor, member.company_id)
    scheme = get_scheme(tenant_of(actor), scheme_id)
    if scheme.company_id != member.company_id:
        raise Invalid.field("scheme_id", "The scheme belongs to another insurer.")
    if scheme.status is SchemeStatus.RETIRED:
        raise Invalid.field("scheme_id", "That scheme is retired.")
    if not isinstance(start_date, date):
        raise Invalid.field("start_date", "Enter a date (YYYY-MM-DD).")
    end_date = end_date or anniversary(start_date, 1) - timedelta(days=1)
    if end_date < start_date:
        raise Invalid.field("end_date", "The end comes before the start.")
    if (end_date - start_date).days > 3 * 366:
        raise Invalid.field("end_date", "A coverage runs for at most three years; renew it after.")
    try:
        status = CoverageStatus(status)
    except ValueError:
        raise Invalid.field("status", "Choose active, suspended, lapsed or cancelled.") from None
    if status is CoverageStatus.ACTIVE and _active_overlap(member.id, start_date, end_date):
        raise Conflict(
            "The member already has active cover in those dates.",
            {"start_date": ["Overlaps an active coverage of this member."]},
        )
    coverage = Coverage(
        member_id=member.id,
        scheme_id=scheme.id,
        company_id=member.company_id,
        start_date=start_date,
        end_date=end_date,
        status=status,
        renewed_from_id=renewed_from_id,
    )
    db.session.add(coverage)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "coverage",
        coverage.id,
        after=snapshot(coverage, COVERAGE_FIELDS),
        company_id=coverage.company_id,
    )
    return coverage


def _active_overlap(member_id: int, start_date: date, end_date: date) -> int | None:
    return db.session.scalar(
        select(Coverage.id).where(
            Coverage.member_id == member_id,
            Coverage.status == CoverageStatus.ACTIVE,
            Coverage.start_date <= end_date,
            Coverage.end_date >= start_date,
        )
    )


def change_coverage_status(*, actor, coverage_id: int, status: str, reason: str = "") -> Coverage:
    """Suspend, reinstate, cancel or lapse a coverage."""
    coverage = get_coverage(tenant_of(actor), coverage_id)
    _writer_tenant_check(actor, coverage.company_id)
    try:
        target = CoverageStatus(status)
    except ValueError:
        raise Invalid.field("status", "Choose active, suspended, lapsed or cancelled.") from None
    if target not in COVERAGE_TRANSITIONS[coverage.status]:
        raise Conflict(f"A {coverage.status.value} coverage cannot become {target.value}.")
    if target is CoverageStatus.ACTIVE and _active_overlap(coverage.member_id, coverage.start_date, coverage.end_date):
        raise Conflict(
            "The member has other active cover in those dates.",
            {"status": ["Overlaps an active coverage of this member."]},
        )
    before = coverage.status.value
    coverage.status = target
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "coverage",
        coverage.id,
        before={"status": before},
        after={"status": target.value},
        summary=reason or None,
        company_id=coverage.company_id,
    )
    return coverage


def renew_coverage(*, actor, coverage_id: int, scheme_id: int | None = None) -> Coverage:
    """The next period's coverage, starting the day after this one ends (on a newer scheme if given)."""
    coverage = get_coverage(tenant_of(actor), coverage_id)
    if coverage.status in (CoverageStatus.CANCELLED, CoverageStatus.LAPSED):
        raise Conflict("A cancelled or lapsed coverage is not renewed; enrol the member again.")
    member = db.session.get(Member, coverage.member_id)
    start = coverage.end_date + timedelta(days=1)
    return create_coverage(
        actor=actor,
        member_number=member.member_number,
        scheme_id=scheme_id or coverage.scheme_id,
        start_date=start,
        renewed_from_id=coverage.id,
    )


def get_coverage(tenant: Tenant, coverage_id: int) -> Coverage:
    coverage = db.session.get(Coverage, coverage_id) if coverage_id else None
    if coverage is None or not tenant.owns(None, coverage.company_id):
        raise NotFound("No such coverage.")
    return coverage


def coverages_of(member_id: int) -> list[Coverage]:
    return list(
        db.session.scalars(select(Coverage).where(Coverage.member_id == member_id).order_by(Coverage.start_date.desc()))
    )


def coverages_query(tenant: Tenant, member_number: str = "", status: str = ""):
    stmt = scope(select(Coverage), Coverage, tenant).order_by(Coverage.id.desc())
    if member_number:
        stmt = stmt.join(Member, Member.id == Coverage.member_id).where(
            Member.member_number == member_number.strip().upper()
        )
    if status in {s.value for s in CoverageStatus}:
        stmt = stmt.where(Coverage.status == CoverageStatus(status))
    return stmt


# --- pre-authorisations --------------------------------------------------------------------------


def request_preauthorization(
    *,
    actor,
    member_number: str,
    benefit_code: str,
    valid_from: date,
    valid_to: date,
    notes: str = "",
    approve: bool = False,
) -> Preauthorization:
    """Record a request for the member's insurer to decide.

    Hospital staff ask for members of any insurer and the row remembers their institution; they never
    approve (``approve=True`` from them is refused, not quietly dropped). Insurer staff record requests for
    their own members and may approve in the same step (the API's fixed shape does).
    """
    tenant = tenant_of(actor)
    hospital_id = tenant.institution_id
    if hospital_id is not None and approve:
        raise Forbidden("Only the insurer decides pre-authorisations.")
    member = db.session.scalar(select(Member).where(Member.member_number == (member_number or "").strip().upper()))
    if member is None:
        raise Invalid.field("member_number", "No member with that number.")
    if tenant.company_id is not None and tenant.company_id != member.company_id:
        raise Invalid.field("member_number", "No member with that number.")
    benefit = benefit_by_code((benefit_code or "").strip())
    if benefit is None:
        raise Invalid.field("benefit_code", "No benefit with that code.")
    if not isinstance(valid_from, date) or not isinstance(valid_to, date):
        raise Invalid.field("valid_from", "Enter dates (YYYY-MM-DD).")
    if valid_to < valid_from:
        raise Invalid.field("valid_to", "The end comes before the start.")
    if (valid_to - valid_from).days > 366:
        raise Invalid.field("valid_to", "A pre-authorisation is valid for at most a year.")
    if len(notes or "") > 2000:
        raise Invalid.field("notes", "Use at most 2000 characters.")
    row = Preauthorization(
        code="PA-" + secrets.token_hex(4).upper(),
        member_id=member.id,
        benefit_id=benefit.id,
        company_id=member.company_id,
        valid_from=valid_from,
        valid_to=valid_to,
        status=PreauthStatus.REQUESTED,
        notes=notes or None,
        requested_by_institution_id=hospital_id,
        requested_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "preauthorization",
        row.id,
        after={"code": row.code, "benefit": benefit.code},
        # the requesting hospital's auditors see the entry too, as they see the row
        institution_id=hospital_id,
        company_id=member.company_id,
    )
    if approve:
        decide_preauthorization(actor=actor, preauthorization_id=row.id, approve=True)
    return row


def decide_preauthorization(*, actor, preauthorization_id: int, approve: bool, notes: str = "") -> Preauthorization:
    tenant = tenant_of(actor)
    # Before the lookup: hospital staff see the requests they made, but deciding is the insurer's alone.
    if tenant.institution_id is not None:
        raise Forbidden("Only the insurer decides pre-authorisations.")
    row = get_preauthorization(tenant, preauthorization_id)
    if row.status is not PreauthStatus.REQUESTED:
        raise Conflict(f"This pre-authorisation is already {row.status.value}.")
    row.status = PreauthStatus.APPROVED if approve else PreauthStatus.DECLINED
    row.decided_by_id = actor.id
    if notes:
        row.notes = "\n".join(filter(None, [row.notes, notes]))[:2000]
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "preauthorization",
        row.id,
        before={"status": "requested"},
        after={"status": row.status.value},
        institution_id=row.requested_by_institution_id,
        company_id=row.company_id,
    )
    return row


def _sees_preauthorization(tenant: Tenant, row: Preauthorization) -> bool:
    """A hospital sees the requests it made; an insurer its members' pre-authorisations, whoever asked."""
    if tenant.is_global:
        return True
    if tenant.institution_id is not None:
        return row.requested_by_institution_id == tenant.institution_id
    return row.company_id == tenant.company_id


def get_preauthorization(tenant: Tenant, preauthorization_id: int) -> Preauthorization:
    row = db.session.get(Preauthorization, preauthorization_id) if preauthorization_id else None
    if row is None or not _sees_preauthorization(tenant, row):
        raise NotFound("No such pre-authorisation.")
    return row


def preauthorizations_query(tenant: Tenant, status: str = ""):
    """The tenant's pre-authorisations, newest first (who sees which: ``_sees_preauthorization``)."""
    stmt = select(Preauthorization).order_by(Preauthorization.id.desc())
    if tenant.institution_id is not None:
        stmt = stmt.where(Preauthorization.requested_by_institution_id == tenant.institution_id)
    elif tenant.company_id is not None:
        stmt = stmt.where(Preauthorization.company_id == tenant.company_id)
    if status in {s.value for s in PreauthStatus}:
        stmt = stmt.where(Preauthorization.status == PreauthStatus(status))
    return stmt


def preauthorization_members(tenant: Tenant, rows) -> dict[int, Member]:
    """Batch form: the members named by pre-authorisations the tenant sees, by id, in one query.

    A hospital does not see an insurer's member list, but it does see the members it asked for.
    """
    ids = {row.member_id for row in rows if _sees_preauthorization(tenant, row)}
    if not ids:
        return {}
    return {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))}


# The rest of the public face: cover checks, the engine's batch reads of terms, benefit periods.
from blueprints.insurance.coverage import Verification, register_usage_provider, verify  # noqa: E402, F401
from blueprints.insurance.periods import benefit_period  # noqa: E402, F401
from blueprints.insurance.terms import CoverageOut, MemberCover, member_covers  # noqa: E402, F401
