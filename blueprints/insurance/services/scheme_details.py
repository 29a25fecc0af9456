"""Schemes with all their terms, as other domains see them (the FHIR interface's InsurancePlan): the scheme's
money terms and, per benefit, its limits, copays, waiting period and pre-authorisation rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from blueprints.insurance.models import Benefit, Scheme, SchemeBenefit
from blueprints.insurance.services.schemes import scheme_row, schemes_query
from medcover.extensions import db
from medcover.memo import per_process
from medcover.paging import fetch_page
from medcover.rbac import Tenant


@dataclass(frozen=True)
class BenefitTermsDetails:
    benefit_code: str
    benefit_name: str
    covered: bool
    annual_limit: Decimal | None
    per_visit_limit: Decimal | None
    copay_percent: Decimal
    copay_fixed: Decimal
    waiting_period_days: int
    requires_preauth: bool
    max_visits: int | None


@dataclass(frozen=True)
class SchemeDetails:
    id: int
    company_id: int
    code: str
    name: str
    currency: str
    #: draft, active or retired
    status: str
    effective_from: date | None
    effective_to: date | None
    annual_limit: Decimal | None
    deductible: Decimal
    #: by benefit code
    benefits: tuple[BenefitTermsDetails, ...]


def _details(schemes: list[Scheme]) -> list[SchemeDetails]:
    """The schemes with their benefit terms (one query for all the schemes' terms)."""
    terms: dict[int, list[BenefitTermsDetails]] = {s.id: [] for s in schemes}
    if schemes:
        rows = db.session.execute(
            select(SchemeBenefit, Benefit)
            .join(Benefit, Benefit.id == SchemeBenefit.benefit_id)
            .where(SchemeBenefit.scheme_id.in_(terms))
            .order_by(SchemeBenefit.scheme_id, Benefit.code)
        ).all()
        for term, benefit in rows:
            terms[term.scheme_id].append(
                BenefitTermsDetails(
                    benefit.code,
                    benefit.name,
                    term.covered,
                    term.annual_limit,
                    term.per_visit_limit,
                    term.copay_percent,
                    term.copay_fixed,
                    term.waiting_period_days,
                    term.requires_preauth,
                    term.max_visits,
                )
            )
    return [
        SchemeDetails(
            s.id,
            s.company_id,
            s.code,
            s.name,
            s.currency,
            s.status.value,
            s.effective_from,
            s.effective_to,
            s.annual_limit,
            s.deductible,
            tuple(terms[s.id]),
        )
        for s in schemes
    ]


def scheme_details(tenant: Tenant, scheme_id: int) -> SchemeDetails:
    """One of the tenant's schemes with its terms (another insurer's is a 404)."""
    return _details([scheme_row(tenant, scheme_id)])[0]


def schemes_page(
    tenant: Tenant, page: int, per_page: int, *, company_id: int | None = None, code: str | None = None
) -> tuple[list[SchemeDetails], int]:
    """One page of the tenant's schemes (of the company; with exactly this code, any case) with their terms,
    and how many there are: three queries whatever the page."""
    stmt = schemes_query(tenant, company_id=company_id)
    if company_id is not None:
        stmt = stmt.where(Scheme.company_id == company_id)  # an id of 0 or less is no company, not all of them
    if code is not None:
        stmt = stmt.where(Scheme.code == code.strip())
    rows, total = fetch_page(stmt, page, per_page)
    return _details(list(rows)), total


#: made once: the work queue reads the directory on every page (a new statement object costs its cache key again)
_DIRECTORY = select(Scheme.id, Scheme.company_id, Scheme.code, Scheme.name).order_by(Scheme.company_id, Scheme.code)


@per_process(Scheme, shows=("company_id", "code", "name"))
def _directory() -> dict[int, tuple[int, str, str]]:
    return {id_: (company, code, name) for id_, company, code, name in db.session.execute(_DIRECTORY)}


def scheme_codes_and_names(tenant: Tenant) -> dict[int, tuple[str, str]]:
    """The tenant's schemes (an insurer's own, a platform user's all, a hospital's none) as ``{id: (code, name)}``,
    by company and code: what ``schemes_of`` gives, from a directory the process keeps as it keeps hospitals' and
    insurers' names (``medcover.memo.per_process``), not a query a page."""
    if not tenant.is_global and tenant.company_id is None:
        return {}
    found = [
        (company, code, id_, name)
        for id_, (company, code, name) in _directory().items()
        if tenant.is_global or company == tenant.company_id
    ]
    return {id_: (code, name) for _company, code, id_, name in sorted(found)}
