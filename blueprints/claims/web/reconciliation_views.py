"""Reconciliation pages: starting a run (finance officers and admins), the latest runs, a run's report (totals,
filter, pages) and its CSV."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.claims import bp
from blueprints.claims.models import ReconciliationStatus
from blueprints.claims.services import reconciliation
from blueprints.claims.web.forms import ReconciliationForm, choices
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.errors import DomainError, NotFound
from medcover.exports import csv_response
from medcover.extensions import db
from medcover.pages import actor, form_failed, page_of, render, tenant
from medcover.rbac import Role, allow

#: pages are for people: integration accounts use the API
RECONCILIATION_READERS = reconciliation.READERS - {Role.INTEGRATION}
EXPORT_LIMIT = 50_000


def _reconciliation_form(formdata: bool = True) -> ReconciliationForm:
    viewer = tenant()
    form = ReconciliationForm() if formdata else ReconciliationForm(formdata=None)
    names = hospital.institution_names()
    if viewer.institution_id is not None:
        names = {k: v for k, v in names.items() if k == viewer.institution_id}
    form.institution_id.choices = choices([(0, "Choose a provider…")] + sorted(names.items(), key=lambda kv: kv[1]))
    companies = insurance.company_names()
    if viewer.company_id is not None:
        form.company_id.choices = choices([(viewer.company_id, companies.get(viewer.company_id, "Your company"))])
    else:
        form.company_id.choices = choices([(0, "All insurers")] + sorted(companies.items(), key=lambda kv: kv[1]))
    if not formdata or request.method == "GET":
        first = clock.today().replace(day=1)
        previous_end = first - timedelta(days=1)
        form.period_start.data = form.period_start.data or previous_end.replace(day=1)
        form.period_end.data = form.period_end.data or previous_end
        if viewer.institution_id is not None:
            form.institution_id.data = viewer.institution_id
    return form


def _reconciliation_page(form, status: int = 200):
    viewer = actor()
    return render(
        "claims/reconciliation.html",
        status=status,
        form=form,
        may_run=viewer.role in reconciliation.RUNNERS,
        runs=reconciliation.recent_runs(tenant()),
        institutions=hospital.institution_names(),
    )


@bp.get("/reconciliation")
@allow(RECONCILIATION_READERS)
def reconciliation_start():
    """The form to start a run (finance officers and admins) and the latest runs the viewer may see."""
    return _reconciliation_page(_reconciliation_form())


@bp.post("/reconciliation")
@allow(reconciliation.RUNNERS)
def reconciliation_run():
    form = _reconciliation_form()
    if not form.validate_on_submit():
        return _reconciliation_page(form, 422)
    try:
        run_id = reconciliation.start_reconciliation(
            actor=actor(),
            institution_id=form.institution_id.data or None,
            period_start=form.period_start.data,
            period_end=form.period_end.data,
            company_id=form.company_id.data or None,
        )
    except DomainError as exc:
        return _reconciliation_page(form, form_failed(form, exc))
    db.session.commit()
    flash("Reconciliation started.", "success")
    return redirect(url_for("claims.reconciliation_report", run_id=run_id), 303)


@bp.get("/reconciliation/<run_id>")
@allow(RECONCILIATION_READERS)
def reconciliation_report(run_id: str):
    status = request.args.get("status", "")
    status = status if status in {s.value for s in ReconciliationStatus} else ""
    try:
        found = reconciliation.report(tenant(), run_id, status=status)
    except NotFound:
        waiting = reconciliation.waiting_run(tenant(), run_id)
        if waiting is None:
            raise
        return _waiting_page(waiting)
    if request.headers.get("HX-Target") == "reconciliation-waiting":
        return "", 200, {"HX-Refresh": "true"}  # the run finished while its page waited: show the report
    rows, paging = page_of(found.query)
    return render(
        "claims/reconciliation_report.html",
        "claims/_reconciliation_rows.html",
        report=found,
        rows=rows,
        paging=paging,
        status_filter=status,
        statuses=list(ReconciliationStatus),
        institution=hospital.institution_names().get(found.institution_id, ""),
        companies=insurance.company_names() if any(r.company_id for r in rows) else {},
    )


def _waiting_page(waiting):
    return render(
        "claims/reconciliation_waiting.html",
        "claims/_reconciliation_waiting.html",
        waiting=waiting,
        institution=hospital.institution_names().get(waiting.institution_id, ""),
    )


@bp.get("/reconciliation/<run_id>.csv")
@allow(RECONCILIATION_READERS)
def reconciliation_csv(run_id: str):
    status = request.args.get("status", "")
    status = status if status in {s.value for s in ReconciliationStatus} else ""
    found = reconciliation.report(tenant(), run_id, status=status)
    rows = db.session.scalars(found.query.limit(EXPORT_LIMIT)).all()
    companies = insurance.company_names()
    header = ["status", "claim_number", "invoice_number", "insurer", "invoiced", "approved", "paid", "difference"]
    lines = [
        (
            row.status.value,
            row.claim_number,
            row.invoice_number,
            companies.get(row.company_id, "") if row.company_id else "",
            f"{row.invoiced:.2f}",
            f"{row.approved:.2f}",
            f"{row.paid:.2f}",
            f"{row.difference:.2f}",
        )
        for row in rows
    ]
    core.record_audit(
        actor(),
        "export",
        "reconciliation",
        found.run_id,
        summary=f"{len(rows)} rows",
        institution_id=current_user.institution_id,
        company_id=current_user.company_id,
    )
    db.session.commit()
    return csv_response(header, lines, f"reconciliation-{found.run_id[:8]}.csv")
