"""Billing JSON endpoints for accounts receivable: the aging report and the receivables behind each cell
(who may call them: api.py)."""

from __future__ import annotations

from datetime import date

from blueprints.billing import api_bp, services
from blueprints.billing.models import Payer
from blueprints.billing.web.api import PAGING, READERS, TAG
from medcover import clock
from medcover.api import (
    Money,
    Out,
    choice_arg,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    page_model,
    page_response,
    tenant,
)
from medcover.rbac import allow


class AgingRowOut(Out):
    #: patient (all patients together) or insurer (one row per company)
    payer: str
    company_id: int | None
    invoices: int
    current: Money
    d30: Money
    d60: Money
    d90: Money
    d120: Money
    total: Money


class AgingTotalsOut(Out):
    current: Money
    d30: Money
    d60: Money
    d90: Money
    d120: Money


class AgingOut(Out):
    as_of: date
    buckets: list[str]
    rows: list[AgingRowOut]
    totals: AgingTotalsOut
    total: Money


class ReceivableOut(Out):
    invoice_id: int
    number: str | None
    payer: Payer
    company_id: int | None
    patient_id: int
    issued_on: date
    due_on: date
    amount: Money
    paid: Money
    balance: Money
    age_days: int
    bucket: str


ReceivablePage = page_model(ReceivableOut)


def _as_of() -> date:
    return day_arg("as_of") or clock.today()


@api_bp.get("/accounts-receivable")
@allow(READERS)
@documented(
    "What each payer owes by age since issue: patients together, each insurer apart (insurers: their own)",
    tag=TAG,
    responses={200: AgingOut},
    query={"as_of": "the day to age on, YYYY-MM-DD (today)", "institution_id": "one institution"},
    description="Buckets by days since issue: current 0-30, d30 31-60, d60 61-90, d90 91-120, d120 over 120. "
    "Invoices issued after as_of are not counted.",
)
def accounts_receivable():
    as_of = _as_of()
    report = services.aging(tenant(), as_of, institution_id=int_arg("institution_id"))
    # aging() groups every open receivable, also those issued after the day: their payer comes back as a
    # row of zeros, which the pages leave out too.
    report.rows = [row for row in report.rows if any(row.buckets.values())]
    answer = AgingOut(
        as_of=as_of,
        buckets=list(services.BUCKET_KEYS),
        rows=[
            AgingRowOut(payer=r.payer, company_id=r.company_id, invoices=r.invoices, total=r.total, **r.buckets)
            for r in report.rows
        ],
        totals=AgingTotalsOut(**report.totals),
        total=report.total,
    )
    return jsonify_model(answer)


@api_bp.get("/accounts-receivable/items")
@allow(READERS)
@documented(
    "The open receivables behind a cell of the report, oldest first",
    tag=TAG,
    responses={200: ReceivablePage},
    query={
        "payer": "patient or insurer",
        "company_id": "one insurer (with payer=insurer)",
        "bucket": "current, d30, d60, d90 or d120",
        "as_of": "YYYY-MM-DD (today)",
        "institution_id": "one institution",
        **PAGING,
    },
)
def accounts_receivable_items():
    as_of = _as_of()
    bucket = choice_arg("bucket", services.BUCKET_KEYS)
    stmt = services.receivables_query(
        tenant(),
        as_of,
        payer=choice_arg("payer", Payer),
        company_id=int_arg("company_id"),
        bucket=bucket,
        institution_id=int_arg("institution_id"),
    )  # like the report, the query counts nothing issued after the day
    return page_response(stmt, ReceivableOut, ReceivablePage, batch=lambda rows: _receivables_out(rows, as_of))


def _receivables_out(rows, as_of: date) -> list[ReceivableOut]:
    invoices = services.invoices_by_id({row.invoice_id for row in rows})
    return [
        ReceivableOut(
            invoice_id=row.invoice_id,
            number=invoices[row.invoice_id].number if row.invoice_id in invoices else None,
            payer=row.payer,
            company_id=row.company_id,
            patient_id=row.patient_id,
            issued_on=row.issued_on,
            due_on=row.due_on,
            amount=row.amount,
            paid=row.paid,
            balance=row.balance,
            age_days=services.age_in_days(row.issued_on, as_of),
            bucket=services.bucket_of(row.issued_on, as_of),
        )
        for row in rows
    ]
