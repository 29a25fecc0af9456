"""Reconciliation over the JSON API: a run started for a provider and period, and its report (totals per status,
its lines paginated). The services decide who may run and read what."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from blueprints.claims import api_bp
from blueprints.claims.models import ReconciliationStatus
from blueprints.claims.services import reconciliation
from blueprints.claims.web.dispute_api import PAGING, TAG
from medcover.api import (
    Id,
    Money,
    Out,
    Schema,
    actor,
    choice_arg,
    documented,
    jsonify_model,
    paginate,
    parse,
    required,
    saved,
    tenant,
    text_arg,
)
from medcover.rbac import allow


class ReconciliationIn(Schema):
    institution_id: Id
    period_start: Annotated[str, Field(min_length=10, max_length=10, description="YYYY-MM-DD")]
    period_end: Annotated[str, Field(min_length=10, max_length=10, description="YYYY-MM-DD")]
    company_id: Id | None = None


class RunOut(Out):
    run_id: str
    status: str


class TotalOut(Out):
    count: int
    invoiced: Money
    approved: Money
    paid: Money
    difference: Money


class RecordOut(Out):
    id: int
    status: str
    company_id: int | None
    claim_id: int | None
    claim_number: str | None
    invoice_id: int | None
    invoice_number: str | None
    invoiced: Money
    approved: Money
    paid: Money
    difference: Money


class ReportOut(Out):
    run_id: str
    institution_id: int
    period_start: date
    period_end: date
    totals: dict[str, TotalOut]
    overall: TotalOut
    items: list[RecordOut]
    page: int
    per_page: int
    total: int


def _record_out(row) -> dict:
    return RecordOut(
        id=row.id,
        status=row.status.value,
        company_id=row.company_id,
        claim_id=row.claim_id,
        claim_number=row.claim_number,
        invoice_id=row.invoice_id,
        invoice_number=row.invoice_number,
        invoiced=row.invoiced,
        approved=row.approved,
        paid=row.paid,
        difference=row.difference,
    ).model_dump()


# --- reconciliation ------------------------------------------------------------------------------


@api_bp.post("/reconciliation/process")
@allow(reconciliation.RUNNERS)
@documented(
    "Reconcile a provider's claims, payments and insured invoices for a period of service dates",
    tag=TAG,
    body=ReconciliationIn,
    responses={202: RunOut, 422: None},
    description="Runs as a background job; the answer names the run. Each claim is matched, underpaid, overpaid "
    "or unpaid (payments against its approved total); each insured invoice without a claim is unclaimed. An "
    "insurer's finance officers reconcile only their company's claims.",
)
def process_reconciliation():
    data = parse(ReconciliationIn)
    run_id = reconciliation.start_reconciliation(
        actor=actor(),
        institution_id=data.institution_id,
        period_start=data.period_start,
        period_end=data.period_end,
        company_id=data.company_id,
    )
    return saved(RunOut(run_id=run_id, status="queued"), 202)


@api_bp.get("/reconciliation/report")
@allow(reconciliation.READERS)
@documented(
    "A reconciliation run: totals per status and its lines (paginated)",
    tag=TAG,
    responses={200: ReportOut, 404: None},
    query={**PAGING, "run_id": "the run (required)", "status": "matched, underpaid, overpaid, unpaid or unclaimed"},
    description="An insurer's staff see only their company's lines and totals. A run still in progress is a 404.",
)
def reconciliation_report():
    run_id = required("run_id", text_arg("run_id", 64))
    status = choice_arg("status", ReconciliationStatus)
    found = reconciliation.report(tenant(), run_id, status=status)
    body = paginate(found.query, _record_out)
    return jsonify_model(
        ReportOut(
            run_id=found.run_id,
            institution_id=found.institution_id,
            period_start=found.period_start,
            period_end=found.period_end,
            totals={k: TotalOut.model_validate(v) for k, v in found.totals.items()},
            overall=TotalOut.model_validate(found.overall),
            **body,
        )
    )
