"""Insurance companies (the insurer tenants) and the benefit catalogue every scheme draws from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from blueprints.core import services as core
from blueprints.insurance.models import Benefit, BenefitCategory, Company
from blueprints.insurance.services import numbering
from blueprints.insurance.services.checks import check_writer, valid_code, valid_name
from medcover.audit import snapshot
from medcover.errors import Conflict, Forbidden, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.memo import per_process
from medcover.rbac import Tenant, tenant_of


@dataclass(frozen=True)
class CompanySummary:
    """An insurance company as other domains see it."""

    id: int
    code: str
    name: str
    active: bool


# --- companies -----------------------------------------------------------------------------------


#: a company's code is shorter than other codes (its column's width)
COMPANY_CODE_LENGTH = 20


def create_company(*, actor, code: str, name: str, member_number_pattern: str | None = None) -> Company:
    if not tenant_of(actor).is_global:
        raise Forbidden("Only platform administrators add insurance companies.")
    code, name = valid_code(code), valid_name(name)
    if len(code) > COMPANY_CODE_LENGTH:
        raise Invalid.field("code", f"Use at most {COMPANY_CODE_LENGTH} characters.")
    pattern = numbering.valid_pattern(member_number_pattern, code)
    if db.session.scalar(select(Company.id).where(func.lower(Company.code) == code.lower())):
        raise Conflict("That code is taken.", {"code": ["Another company uses this code."]})
    company = Company(code=code, name=name, active=True, member_number_pattern=pattern)
    db.session.add(company)
    db.session.flush()
    core.record_audit(
        actor, "create", "company", company.id, after=snapshot(company, ("code", "name")), company_id=company.id
    )
    return company


def set_member_number_pattern(*, actor, company_id: int, pattern: str | None) -> Company:
    """The insurer's pattern for member numbers left blank at enrolment (None or blank: the default)."""
    company = company_row(tenant_of(actor), company_id)
    check_writer(actor, company.id)
    before = company.member_number_pattern
    company.member_number_pattern = numbering.valid_pattern(pattern, company.code)
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "company",
        company.id,
        before={"member_number_pattern": before},
        after={"member_number_pattern": company.member_number_pattern},
        company_id=company.id,
    )
    return company


def companies_query(tenant: Tenant):
    stmt = select(Company).order_by(Company.name)
    return stmt if tenant.is_global else stmt.where(Company.id == tenant.company_id)


def companies_of(tenant: Tenant) -> list[CompanySummary]:
    """The insurers the tenant may see, by name: a platform user's all, an insurer's own, a hospital's none."""
    return [CompanySummary(c.id, c.code, c.name, c.active) for c in db.session.scalars(companies_query(tenant))]


#: made once: every insurer's page reads it (a new statement object costs its cache key again)
_NAMES = select(Company.id, Company.name)


@per_process(Company)
def company_names() -> dict[int, str]:
    return dict(db.session.execute(_NAMES).all())


def company_name(company_id: int) -> str | None:
    return db.session.scalar(select(Company.name).where(Company.id == company_id))


def company_id_for_code(code: str) -> int | None:
    return db.session.scalar(select(Company.id).where(Company.code == code))


def company_row(tenant: Tenant, company_id: int) -> Company:
    """The table row, for the insurance domain's own pages and endpoints."""
    company = db.session.get(Company, company_id) if company_id else None
    if company is None:
        raise NotFound("No such insurance company.")
    if not tenant.owns(None, company.id):
        raise Hidden("No such insurance company.", record=f"insurance company {company.id}")
    return company


def get_company(tenant: Tenant, company_id: int) -> CompanySummary:
    company = company_row(tenant, company_id)
    return CompanySummary(company.id, company.code, company.name, company.active)


# --- benefit catalogue ---------------------------------------------------------------------------


def create_category(*, actor, code: str, name: str) -> BenefitCategory:
    if not tenant_of(actor).is_global:
        raise Forbidden("Only platform administrators change the benefit catalogue.")
    code, name = valid_code(code), valid_name(name)
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
    code, name = valid_code(code), valid_name(name)
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


def categories_query():
    """The categories for a paged list (by name, then id, so pages never overlap)."""
    return select(BenefitCategory).order_by(BenefitCategory.name, BenefitCategory.id)


def benefits_query(category_id: int | None = None):
    stmt = select(Benefit).order_by(Benefit.code)
    return stmt.where(Benefit.category_id == category_id) if category_id else stmt


def benefit_by_code(code: str) -> Benefit | None:
    return db.session.scalar(select(Benefit).where(Benefit.code == code))


def benefits_by_id(ids) -> dict[int, Benefit]:
    """Batch form: the catalogue's benefits among ``ids``, in one query."""
    ids = set(ids)
    if not ids:
        return {}
    return {b.id: b for b in db.session.scalars(select(Benefit).where(Benefit.id.in_(ids)))}


def benefit_ids_by_code(codes) -> dict[str, int]:
    """Batch form for other domains (tariffs map service codes to benefit codes)."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.session.execute(select(Benefit.code, Benefit.id).where(Benefit.code.in_(codes))).all())
