"""Accounts receivable pages: the aging table and chart, the invoices behind each cell, and their CSV exports."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_login import current_user

from blueprints.billing import bp, services
from blueprints.billing.web.access import READERS, institution_filter, institution_names
from blueprints.billing.web.forms import AgingForm
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import charts, clock
from medcover.exports import csv_response
from medcover.extensions import db
from medcover.money import format_money
from medcover.pages import actor, page_of, render, tenant
from medcover.rbac import allow

EXPORT_LIMIT = 50_000
PATIENTS = "Patients"


def _bars(report: services.AgingReport, names: dict) -> list:
    """The chart: one bar per payer, named in words, its age buckets side by side, scaled to the largest total."""
    labels = {key: label for key, label, *_ in services.BUCKETS}
    return charts.stacked_bars(
        (
            (names[_row_key(row)], [(key, labels[key], row.buckets[key]) for key in services.BUCKET_KEYS])
            for row in report.rows
        ),
        text=format_money,
    )


def _row_key(row) -> tuple[str, int | None]:
    return row.payer, row.company_id


def _payer_names(report: services.AgingReport) -> dict:
    companies = insurance.company_names() if any(row.company_id for row in report.rows) else {}
    return {
        _row_key(row): PATIENTS
        if row.payer == "patient"
        else companies.get(row.company_id, f"Insurer #{row.company_id}")
        for row in report.rows
    }


def _as_of() -> tuple[AgingForm, date, int]:
    """The report date from ``?as_of=``; a bad one is the field's error (422) and the report is today's."""
    form = AgingForm(request.args)
    form.validate()
    if form.as_of.errors:
        return form, clock.today(), 422
    if form.as_of.data is None:
        form.as_of.data = clock.today()
    return form, form.as_of.data, 200


def _aging():
    form, as_of, status = _as_of()
    institution_id = institution_filter()
    report = services.aging(tenant(), as_of, institution_id=institution_id)
    # aging() groups every open receivable, also those issued after the date: a payer with nothing owed
    # on that day comes back as a row of zeros, which the page and the export leave out.
    report.rows = [row for row in report.rows if any(row.buckets.values())]
    return form, report, institution_id, status


@bp.get("/billing/receivables", endpoint="receivables")
@allow(READERS)
def receivable_aging():
    """What each payer owes by age; an insurer's staff see only what their company owes."""
    form, report, institution_id, status = _aging()
    names = _payer_names(report)
    return render(
        "billing/receivables.html",
        "billing/_receivable_aging.html",
        status=status,
        form=form,
        report=report,
        names=names,
        bars=_bars(report, names),
        buckets=services.BUCKETS,
        legend=[(key, label) for key, label, *_ in services.BUCKETS],
        institution_id=institution_id,
        institutions=institution_names(),
        choose_institution=tenant().is_global,
    )


def _csv(rows, header, filename: str, entity: str, summary: str, patients=None):
    """The export, audited and committed before it leaves (with the numbers of the patients it names)."""
    core.record_audit(
        actor(),
        "export",
        entity,
        None,
        summary=summary,
        after={"patients": sorted({p.patient_number for p in patients})} if patients else None,
        institution_id=current_user.institution_id,
        company_id=current_user.company_id,
    )
    db.session.commit()
    return csv_response(header, rows, filename)


@bp.get("/billing/receivables.csv", endpoint="receivables_csv")
@allow(READERS)
def receivable_aging_csv():
    _form, report, _institution_id, _status = _aging()
    names = _payer_names(report)
    labels = [label for _key, label, *_ in services.BUCKETS]
    rows = [
        [names[_row_key(row)], *(row.buckets[key] for key in services.BUCKET_KEYS), row.total, row.invoices]
        for row in report.rows
    ]
    rows.append(["Total", *(report.totals[key] for key in services.BUCKET_KEYS), report.total, ""])
    return _csv(
        rows,
        ["payer", *labels, "total", "invoices"],
        f"receivables-{report.as_of.isoformat()}.csv",
        "accounts_receivable",
        f"aging as of {report.as_of}: {len(report.rows)} payers",
    )


def _items_filters() -> dict:
    payer = request.args.get("payer", "")
    bucket = request.args.get("bucket", "")
    return {
        "payer": payer if payer in {"patient", "insurer"} else "",
        "company_id": request.args.get("company_id", type=int) or None,
        "bucket": bucket if bucket in services.BUCKET_KEYS else "",
        "institution_id": institution_filter(),
    }


def _items_query(as_of: date, filters: dict):
    # Like the report, the query counts nothing issued after its date.
    return services.receivables_query(tenant(), as_of, **filters)


def _invoices_of(receivable_rows) -> dict:
    return services.invoices_by_id({row.invoice_id for row in receivable_rows})


def _patients(receivable_rows) -> dict:
    return hospital.patients_by_id({row.patient_id for row in receivable_rows})


def _payer_label(row, companies: dict) -> str:
    if row.payer.value == "patient":
        return "Patient"
    return companies.get(row.company_id, f"Insurer #{row.company_id}")


@bp.get("/billing/receivables/items", endpoint="receivable_items")
@allow(READERS)
def receivable_items():
    """The open receivables behind one cell of the aging table, oldest first."""
    form, as_of, status = _as_of()
    filters = _items_filters()
    rows, paging = page_of(_items_query(as_of, filters))
    companies = insurance.company_names()
    bucket_label = next((label for key, label, *_ in services.BUCKETS if key == filters["bucket"]), "All ages")
    who = (
        PATIENTS
        if filters["payer"] == "patient"
        else companies.get(filters["company_id"], "Insurers")
        if filters["payer"] == "insurer"
        else "All payers"
    )
    shown = _patients(rows)
    hospital.audit_patient_read(actor(), list(shown.values()), "receivables by invoice")
    return render(
        "billing/receivables_items.html",
        "billing/_receivable_items.html",
        status=status,
        form=form,
        as_of=as_of,
        rows=rows,
        paging=paging,
        filters=filters,
        invoices=_invoices_of(rows),
        patients={pid: f"{p.first_name} {p.last_name}" for pid, p in shown.items()},
        companies=companies,
        payer_label=_payer_label,
        who=who,
        bucket_label=bucket_label,
    )


@bp.get("/billing/receivables/items.csv", endpoint="receivable_items_csv")
@allow(READERS)
def receivable_items_csv():
    _form, as_of, _status = _as_of()
    filters = _items_filters()
    rows = db.session.scalars(_items_query(as_of, filters).limit(EXPORT_LIMIT)).all()
    shown = _patients(rows)
    patients = {pid: f"{p.first_name} {p.last_name}" for pid, p in shown.items()}
    invoices, companies = _invoices_of(rows), insurance.company_names()
    lines = [
        [
            invoices[row.invoice_id].number,
            row.issued_on.isoformat(),
            row.due_on.isoformat(),
            services.age_in_days(row.issued_on, as_of),
            _payer_label(row, companies),
            patients.get(row.patient_id, ""),
            row.amount,
            row.balance,
        ]
        for row in rows
    ]
    return _csv(
        lines,
        ["invoice", "issued_on", "due_on", "age_days", "payer", "patient", "amount", "balance"],
        f"receivables-items-{as_of.isoformat()}.csv",
        "accounts_receivable",
        f"receivables as of {as_of}: {len(lines)} rows",
        patients=list(shown.values()),
    )
