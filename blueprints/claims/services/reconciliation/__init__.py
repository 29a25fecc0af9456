"""Reconciliation: for one provider and period of service dates (optionally one insurer), what the insurer approved
on each claim against what it paid, and the insured invoices nobody claimed. ``running`` runs one (a job),
``reports`` reads its totals and lines."""

from blueprints.claims.services.reconciliation.reports import (
    Report,
    RunSummary,
    StatusTotal,
    WaitingRun,
    recent_runs,
    report,
    waiting_run,
)
from blueprints.claims.services.reconciliation.running import (
    READERS,
    RUNNERS,
    Parameters,
    check_parameters,
    reconcile,
    run_reconciliation,
    start_reconciliation,
)

__all__ = [
    "READERS",
    "RUNNERS",
    "Parameters",
    "Report",
    "RunSummary",
    "StatusTotal",
    "WaitingRun",
    "check_parameters",
    "reconcile",
    "recent_runs",
    "report",
    "run_reconciliation",
    "start_reconciliation",
    "waiting_run",
]
