"""Schemes (an insurer's plans, versioned by cloning) and each benefit's terms in a scheme."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select

from blueprints.core import services as core
from blueprints.insurance.models import SCHEME_TRANSITIONS, Benefit, Scheme, SchemeBenefit, SchemeStatus
from blueprints.insurance.services.checks import (
    check_writer,
    owned_company,
    review_settings,
    valid_amount,
    valid_code,
    valid_name,
    valid_whole,
)
from medcover.audit import changes, json_safe, snapshot
from medcover.errors import Conflict, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Tenant, scope, tenant_of

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
    "review_sample_percent",
    "duplicate_window_days",
    "duplicate_score_threshold",
    "variance_factor",
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
    review_sample_percent: int | str = 0
    duplicate_window_days: int | str = 3
    duplicate_score_threshold: int | str = 60
    variance_factor: Decimal | str | None = None


@dataclass(frozen=True)
class SchemeSummary:
    """A scheme as other domains see it."""

    id: int
    code: str
    name: str
    company_id: int
    #: draft, active or retired
    status: str
    #: per member per benefit period; None: no limit
    annual_limit: Decimal | None


#: a SchemeSummary's columns, in its fields' order: lists of schemes read these, not the whole terms
_SUMMARY_COLUMNS = (Scheme.id, Scheme.code, Scheme.name, Scheme.company_id, Scheme.status, Scheme.annual_limit)


def _summary(scheme: Scheme) -> SchemeSummary:
    return SchemeSummary(
        scheme.id, scheme.code, scheme.name, scheme.company_id, scheme.status.value, scheme.annual_limit
    )


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
        "code": valid_code(terms.code),
        "name": valid_name(terms.name),
        "currency": currency,
        "status": status,
        "effective_from": terms.effective_from,
        "effective_to": terms.effective_to,
        "annual_limit": valid_amount(terms.annual_limit, "annual_limit"),
        "deductible": valid_amount(terms.deductible if terms.deductible not in (None, "") else "0", "deductible"),
        "timely_filing_days": valid_whole(terms.timely_filing_days, "timely_filing_days", low=1, high=3650),
        "review_threshold": valid_amount(terms.review_threshold, "review_threshold"),
        **review_settings(terms),
    }


def create_scheme(*, actor, company_id: int, terms: SchemeTerms) -> Scheme:
    company = owned_company(actor, company_id)
    check_writer(actor, company.id)
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
    scheme = scheme_row(tenant_of(actor), scheme_id)
    check_writer(actor, scheme.company_id)
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


def scheme_row(tenant: Tenant, scheme_id: int) -> Scheme:
    """The table row, for the insurance domain's own pages, endpoints and writes."""
    scheme = db.session.get(Scheme, scheme_id) if scheme_id else None
    if scheme is None:
        raise NotFound("No such scheme.")
    if not tenant.owns(None, scheme.company_id):
        raise Hidden("No such scheme.", record=f"scheme {scheme.id}")
    return scheme


def get_scheme(tenant: Tenant, scheme_id: int) -> SchemeSummary:
    return _summary(scheme_row(tenant, scheme_id))


def schemes_of(tenant: Tenant) -> list[SchemeSummary]:
    """The tenant's schemes, by company and code."""
    found = db.session.execute(schemes_query(tenant).with_only_columns(*_SUMMARY_COLUMNS))
    return [SchemeSummary(*row[:4], row.status.value, row.annual_limit) for row in found]


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
    source = scheme_row(tenant_of(actor), scheme_id)
    check_writer(actor, source.company_id)
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
        review_sample_percent=source.review_sample_percent,
        duplicate_window_days=source.duplicate_window_days,
        duplicate_score_threshold=source.duplicate_score_threshold,
        variance_factor=source.variance_factor,
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
        "annual_limit": valid_amount(terms.annual_limit, "annual_limit"),
        "per_visit_limit": valid_amount(terms.per_visit_limit, "per_visit_limit"),
        "copay_percent": percent,
        "copay_fixed": valid_amount(terms.copay_fixed if terms.copay_fixed not in (None, "") else "0", "copay_fixed"),
        "waiting_period_days": valid_whole(
            terms.waiting_period_days if terms.waiting_period_days not in (None, "") else 0,
            "waiting_period_days",
            high=3650,
        ),
        "requires_preauth": bool(terms.requires_preauth),
        "max_visits": valid_whole(terms.max_visits, "max_visits", low=1, high=10_000, optional=True),
    }


def scheme_currencies(scheme_ids) -> dict[int, str]:
    """The currency each of these schemes pays in (ISO 4217), by id, in one query."""
    ids = [int(i) for i in scheme_ids if i]
    if not ids:
        return {}
    return dict(db.session.execute(select(Scheme.id, Scheme.currency).where(Scheme.id.in_(ids))).all())


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
    scheme = scheme_row(tenant_of(actor), scheme_id)
    check_writer(actor, scheme.company_id)
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
    check_writer(actor, scheme.company_id)
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
    check_writer(actor, scheme.company_id)
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
    scheme_row(tenant, row.scheme_id)
    return row
