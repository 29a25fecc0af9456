"""A reconciliation's report: a run's totals per status and its lines, as far as the viewer may see them, and
the latest runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from blueprints.claims.models import ReconciliationRecord, ReconciliationStatus
from blueprints.claims.services.reconciliation.running import RECONCILIATION_WORK, run_id_of
from medcover import requested_work
from medcover.errors import NotFound
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Tenant, scope
from medcover.requested_work import Requested


@dataclass(frozen=True)
class StatusTotal:
    count: int = 0
    invoiced: Decimal = ZERO
    approved: Decimal = ZERO
    paid: Decimal = ZERO
    difference: Decimal = ZERO


@dataclass(frozen=True)
class Report:
    run_id: str
    institution_id: int
    period_start: date
    period_end: date
    created_at: datetime | None
    #: every status, in ReconciliationStatus order (zeros for those with no line)
    totals: dict[str, StatusTotal]
    overall: StatusTotal
    #: the lines the viewer may see (filtered by ``status``), oldest first: page it or stream it
    query: object


def report(tenant: Tenant, run_id, *, status: str = "") -> Report:
    """A run's totals per status and its lines, as far as the viewer may see them: the provider's staff all of
    them, an insurer's staff only its company's. A run nobody here may see (or that has not run yet) is 404."""
    run_id = run_id_of(run_id)
    base = scope(select(ReconciliationRecord), ReconciliationRecord, tenant).where(
        ReconciliationRecord.run_id == run_id
    )
    sub = base.subquery()
    grouped = db.session.execute(
        select(
            sub.c.status,
            func.count(),
            func.sum(sub.c.invoiced),
            func.sum(sub.c.approved),
            func.sum(sub.c.paid),
            func.sum(sub.c.difference),
            func.min(sub.c.institution_id),
            func.min(sub.c.period_start),
            func.min(sub.c.period_end),
            func.min(sub.c.created_at),
        ).group_by(sub.c.status)
    ).all()
    if not grouped:
        raise NotFound("No such reconciliation (or it is still running).")
    totals = {s.value: StatusTotal() for s in ReconciliationStatus}
    for row in grouped:
        key = row[0].value if isinstance(row[0], ReconciliationStatus) else str(row[0])
        totals[key] = StatusTotal(row[1], *(money(str(v or 0)) for v in row[2:6]))
    overall = StatusTotal(
        sum(t.count for t in totals.values()),
        *(
            money(sum((getattr(t, name) for t in totals.values()), ZERO))
            for name in ("invoiced", "approved", "paid", "difference")
        ),
    )
    first = grouped[0]
    created = first[9]
    query = base
    if status in totals:
        query = query.where(ReconciliationRecord.status == ReconciliationStatus(status))
    return Report(
        run_id=run_id,
        institution_id=first[6],
        period_start=first[7],
        period_end=first[8],
        created_at=created,
        totals=totals,
        overall=overall,
        query=query.order_by(ReconciliationRecord.id),
    )


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    institution_id: int
    period_start: date
    period_end: date
    created_at: datetime | None
    lines: int


def recent_runs(tenant: Tenant, limit: int = 20) -> list[RunSummary]:
    """The latest runs with lines the viewer may see, newest first (one query)."""
    rows = db.session.execute(
        scope(
            select(
                ReconciliationRecord.run_id,
                func.min(ReconciliationRecord.institution_id),
                func.min(ReconciliationRecord.period_start),
                func.min(ReconciliationRecord.period_end),
                func.min(ReconciliationRecord.created_at),
                func.count(),
            ),
            ReconciliationRecord,
            tenant,
        )
        .group_by(ReconciliationRecord.run_id)
        .order_by(func.min(ReconciliationRecord.created_at).desc(), ReconciliationRecord.run_id)
        .limit(limit)
    ).all()
    return [RunSummary(*row) for row in rows]


@dataclass(frozen=True)
class WaitingRun:
    """A run that was asked for and has no lines yet: waiting (since when), interrupted and retrying, or done
    with nothing to show (a period without claims or insured invoices)."""

    run_id: str
    institution_id: int
    period_start: date
    period_end: date
    requested: Requested

    @property
    def empty(self) -> bool:
        return self.requested.state == "done"

    @property
    def failed(self) -> bool:
        return self.requested.state == "failed"


def waiting_run(tenant: Tenant, run_id) -> WaitingRun | None:
    """The request for a run the viewer may see, while its report has no lines; None when there is none."""
    run_id = run_id_of(run_id)
    requested = requested_work.state_of(RECONCILIATION_WORK, [run_id]).get(run_id)
    if requested is None:
        return None
    # reconcile(actor_id, institution_id, period_start, period_end, company_id, run_id)
    _, institution_id, period_start, period_end, company_id, _ = requested.args
    if not tenant.owns(institution_id, company_id):
        return None
    return WaitingRun(
        run_id, institution_id, date.fromisoformat(period_start), date.fromisoformat(period_end), requested
    )
