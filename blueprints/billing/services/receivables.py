"""Accounts receivable: what each payer (the patient, each insurer) still owes, aged by days since the
invoice was issued, computed in the database with one grouped query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select

from blueprints.billing.models import AccountReceivable, Invoice, Payer
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Tenant, scope

#: (key, label, oldest age in days, youngest age in days) by days since issue
BUCKETS = (
    ("current", "0-30 days", None, 30),
    ("d30", "31-60 days", 31, 60),
    ("d60", "61-90 days", 61, 90),
    ("d90", "91-120 days", 91, 120),
    ("d120", "Over 120 days", 121, None),
)
BUCKET_KEYS = tuple(key for key, *_ in BUCKETS)


@dataclass
class AgingRow:
    payer: str
    company_id: int | None
    buckets: dict[str, Decimal]
    invoices: int

    @property
    def total(self) -> Decimal:
        return money(sum(self.buckets.values(), ZERO))


@dataclass
class AgingReport:
    as_of: date
    rows: list[AgingRow] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, Decimal]:
        return {key: money(sum((row.buckets[key] for row in self.rows), ZERO)) for key in BUCKET_KEYS}

    @property
    def total(self) -> Decimal:
        return money(sum(self.totals.values(), ZERO))


def _bounds(key: str, as_of: date) -> tuple[date | None, date | None]:
    """The issue dates of a bucket: (earliest, latest), either open."""
    _key, _label, oldest, youngest = next(b for b in BUCKETS if b[0] == key)
    latest = as_of - timedelta(days=oldest) if oldest is not None else None
    earliest = as_of - timedelta(days=youngest) if youngest is not None else None
    return earliest, latest


def _scoped(tenant: Tenant, institution_id: int | None, as_of: date):
    stmt = scope(select(AccountReceivable), AccountReceivable, tenant).where(AccountReceivable.issued_on <= as_of)
    if tenant.company_id is not None and tenant.institution_id is None:
        # An insurer sees only what it owes, never the patients' parts of the same invoices.
        stmt = stmt.where(AccountReceivable.payer == Payer.INSURER)
    if institution_id:
        stmt = stmt.where(AccountReceivable.institution_id == institution_id)
    return stmt.where(AccountReceivable.balance != 0)


def aging(tenant: Tenant, as_of: date, *, institution_id: int | None = None) -> AgingReport:
    """Balances per payer in the five buckets; patients together as one payer, each insurer apart."""
    base = _scoped(tenant, institution_id, as_of).subquery()
    receivable = db.aliased(AccountReceivable, base)
    age = receivable.issued_on
    sums = []
    for key in BUCKET_KEYS:
        earliest, latest = _bounds(key, as_of)
        conditions = []
        if earliest is not None:
            conditions.append(age >= earliest)
        if latest is not None:
            conditions.append(age <= latest)
        sums.append(func.coalesce(func.sum(case((db.and_(*conditions), receivable.balance), else_=0)), 0).label(key))
    stmt = (
        select(receivable.payer, receivable.company_id, func.count(receivable.id), *sums)
        .group_by(receivable.payer, receivable.company_id)
        .order_by(receivable.payer, receivable.company_id)
    )
    report = AgingReport(as_of)
    for payer, company_id, count, *amounts in db.session.execute(stmt):
        report.rows.append(
            AgingRow(
                payer.value if isinstance(payer, Payer) else str(payer),
                company_id,
                {key: money(str(value)) for key, value in zip(BUCKET_KEYS, amounts, strict=True)},
                count,
            )
        )
    return report


def receivables_query(
    tenant: Tenant,
    as_of: date,
    *,
    payer: str = "",
    company_id: int | None = None,
    bucket: str = "",
    institution_id: int | None = None,
):
    """The drill-down: the open receivables behind one cell of the report, oldest first, with their invoice."""
    stmt = (
        _scoped(tenant, institution_id, as_of)
        .add_columns(Invoice)
        .join(Invoice, Invoice.id == AccountReceivable.invoice_id)
    )
    if payer in {p.value for p in Payer}:
        stmt = stmt.where(AccountReceivable.payer == Payer(payer))
        if payer == Payer.INSURER.value and company_id:
            stmt = stmt.where(AccountReceivable.company_id == company_id)
    if bucket in BUCKET_KEYS:
        earliest, latest = _bounds(bucket, as_of)
        if earliest is not None:
            stmt = stmt.where(AccountReceivable.issued_on >= earliest)
        if latest is not None:
            stmt = stmt.where(AccountReceivable.issued_on <= latest)
    return stmt.order_by(AccountReceivable.issued_on, AccountReceivable.id)


def age_in_days(issued_on: date, as_of: date) -> int:
    return (as_of - issued_on).days


def bucket_of(issued_on: date, as_of: date) -> str:
    days = age_in_days(issued_on, as_of)
    for key, _label, oldest, youngest in BUCKETS:
        if (oldest is None or days >= oldest) and (youngest is None or days <= youngest):
            return key
    return BUCKET_KEYS[0]
