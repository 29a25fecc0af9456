"""Billing pages for the price list (search, history, a new price, CSV import with a preview), accounts
receivable (the aging table and chart, the invoices behind each cell, CSV exports) and billing settings."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import Response, flash, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from blueprints.billing import bp, receivables, services, tariffs
from blueprints.billing.access import WRITERS, institution_for_write
from blueprints.billing.ledger_forms import (
    AgingForm,
    ConfirmImportForm,
    ImportForm,
    PriceForm,
    SettingsForm,
    choices,
)
from blueprints.billing.models import AccountReceivable, Invoice, ServiceTariff
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.errors import DomainError, Invalid, NotFound
from medcover.exports import csv_cell
from medcover.extensions import db
from medcover.pages import form_failed, page_of, render, submit
from medcover.rbac import Role, allow, tenant_of

#: who reads the price list and the receivables; WRITERS (access.py) change them
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR})
#: what an uploaded price list may call itself; browsers on Windows send Excel's type for .csv files
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"})
PENDING_IMPORT = "tariff_import"
EXPORT_LIMIT = 50_000
#: a service's prices over the years: a short list, shown whole
HISTORY_LIMIT = 500
PATIENTS = "Patients"


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


def _text(value: str | None, limit: int) -> str:
    return (value or "").replace("\x00", "")[:limit]


def _institutions() -> list:
    return list(db.session.scalars(hospital.institutions_query(_tenant())))


def _institution_choices(form) -> None:
    form.institution_id.choices = choices([(0, "Choose a hospital…")] + [(i.id, i.name) for i in _institutions()])


def _institution_filter() -> int | None:
    """A platform user may narrow a page to one hospital; everyone else is held to their own by the services."""
    return (request.args.get("institution_id", type=int) or None) if _tenant().is_global else None


def _institution_names() -> dict[int, str]:
    """For a platform user's hospital filter; others see only their own, so there is nothing to choose."""
    return {i.id: i.name for i in _institutions()} if _tenant().is_global else {}


def _may_write() -> bool:
    """Writers of a hospital or the platform; insurer staff never price a hospital's services."""
    tenant = _tenant()
    return current_user.role in WRITERS and (tenant.is_global or tenant.institution_id is not None)


def _chosen_institution(form_value: int | None) -> int:
    institution_id = current_user.institution_id or form_value or 0
    if not institution_id:
        raise Invalid.field("institution_id", "Choose a hospital.")
    return institution_id


# --- tariffs -------------------------------------------------------------------------------------


def _price_form(formdata: bool = True) -> PriceForm:
    form = PriceForm() if formdata else PriceForm(formdata=None)
    _institution_choices(form)
    if not formdata:
        form.effective_from.data = clock.today().isoformat()
    return form


def _tariffs_page(form=None, status: int = 200):
    q = _text(request.args.get("q", ""), 60)
    history = request.args.get("history") == "1"
    institution_id = _institution_filter()
    stmt = tariffs.tariffs_query(_tenant(), institution_id=institution_id, q=q, on=None if history else clock.today())
    rows, paging = page_of(stmt)
    return render(
        "billing/tariffs.html",
        "billing/_tariff_rows.html",
        status=status,
        rows=rows,
        paging=paging,
        q=q,
        history=history,
        institution_id=institution_id,
        form=form or _price_form(formdata=False),
        can_write=_may_write(),
        insurer=_tenant().company_id is not None,
        choose_institution=_tenant().is_global,
        institutions=_institution_names(),
    )


@bp.get("/billing/tariffs", endpoint="tariffs")
@allow(READERS)
def tariff_list():
    """The price list: today's prices, or every price with ``?history=1``; the search box gets the rows."""
    return _tariffs_page()


@bp.post("/billing/tariffs", endpoint="tariff_add")
@allow(WRITERS)
def tariff_add():
    form = _price_form()
    done = submit(
        form,
        lambda: tariffs.set_price(
            actor=_actor(),
            institution_id=_chosen_institution(form.institution_id.data),
            values=tariffs.TariffInput(
                service_code=form.service_code.data,
                description=form.description.data,
                benefit_code=form.benefit_code.data,
                unit_price=form.unit_price.data,
                effective_from=form.effective_from.data,
            ),
        ),
    )
    if done.ok:
        row = done.result
        flash(f"{row.service_code} costs {row.unit_price:,.2f} from {row.effective_from}.", "success")
        return redirect(url_for("billing.tariff_history", code=row.service_code), 303)
    return _tariffs_page(form, done.status)


@bp.get("/billing/tariffs/<code>", endpoint="tariff_history")
@allow(READERS)
def tariff_history(code: str):
    """Every price a service code has had, newest first (a hospital that never priced it: 404)."""
    code = _text(code, 30).strip().upper()
    stmt = tariffs.tariffs_query(_tenant(), institution_id=_institution_filter()).where(
        ServiceTariff.service_code == code
    )
    rows = db.session.scalars(stmt.limit(HISTORY_LIMIT)).all()
    if not rows:
        raise NotFound("No prices for that service code.")
    return render(
        "billing/tariffs_history.html",
        code=code,
        rows=rows,
        today=clock.today(),
        choose_institution=_tenant().is_global,
        institutions=_institution_names(),
    )


# --- tariff import -------------------------------------------------------------------------------


def _import_form(formdata: bool = True) -> ImportForm:
    form = ImportForm() if formdata else ImportForm(formdata=None)
    _institution_choices(form)
    return form


def _import_page(form=None, status: int = 200, preview=None, confirm=None):
    return render(
        "billing/tariffs_import.html",
        status=status,
        form=form or _import_form(formdata=False),
        preview=preview,
        confirm=confirm,
        columns=tariffs.CSV_COLUMNS,
        max_kb=tariffs.MAX_IMPORT_BYTES // 1024,
        max_rows=tariffs.MAX_IMPORT_ROWS,
        choose_institution=_tenant().is_global,
    )


def _uploaded_csv(form) -> bytes:
    """The upload's bytes when it is a CSV file of allowed size; otherwise a message on the file field."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid.field("file", "Choose a CSV file.")
    if not upload.filename.lower().endswith(".csv") or upload.mimetype not in CSV_TYPES:
        raise Invalid.field("file", "Only .csv files (text/csv) are accepted.")
    data = upload.stream.read(tariffs.MAX_IMPORT_BYTES + 1)
    if len(data) > tariffs.MAX_IMPORT_BYTES:
        raise Invalid.field("file", f"The file is larger than {tariffs.MAX_IMPORT_BYTES // 1024} KB.")
    return data


@bp.route("/billing/tariffs/import", methods=["GET", "POST"], endpoint="tariff_import")
@allow(WRITERS)
def tariff_import():
    """Upload a price list and see, row by row, what importing it would do; nothing changes yet."""
    if request.method == "GET":
        return _import_page()
    form = _import_form()
    if not form.validate_on_submit():
        return _import_page(form, 422)
    try:
        institution_id = _chosen_institution(form.institution_id.data)
        data = _uploaded_csv(form)
        preview = tariffs.preview_import(actor=_actor(), institution_id=institution_id, data=data)
    except DomainError as exc:
        return _import_page(form, form_failed(form, exc))
    confirm = None
    session.pop(PENDING_IMPORT, None)
    if preview.ok:
        # The content waits here, not in the page: the confirm step imports exactly what was previewed,
        # and a file near the size limit would not fit in a form field anyway.
        digest = hashlib.sha256(data).hexdigest()
        session[PENDING_IMPORT] = {
            "digest": digest,
            "institution_id": institution_id,
            "user_id": current_user.id,
            "content": data.decode("utf-8-sig"),
        }
        confirm = ConfirmImportForm(formdata=None, digest=digest)
    return _import_page(form, 200 if preview.ok else 422, preview=preview, confirm=confirm)


@bp.post("/billing/tariffs/import/confirm", endpoint="tariff_import_confirm")
@allow(WRITERS)
def tariff_import_confirm():
    """Import the previewed file: the import is run again on the kept content, all rows or none."""
    form = ConfirmImportForm()
    pending = session.get(PENDING_IMPORT) or {}
    fresh = (
        form.validate_on_submit()
        and pending.get("digest") == form.digest.data
        and pending.get("user_id") == current_user.id
    )
    if not fresh:
        flash("That preview has expired; upload the file again.", "error")
        return redirect(url_for("billing.tariff_import"), 303)
    try:
        result = tariffs.apply_import(actor=_actor(), institution_id=pending["institution_id"], data=pending["content"])
    except DomainError as exc:
        status = form_failed(form, exc)
        session.pop(PENDING_IMPORT, None)
        upload = _import_form(formdata=False)
        upload.form_errors = list(form.form_errors) + [m for messages in exc.errors.values() for m in messages]
        return _import_page(upload, status)
    session.pop(PENDING_IMPORT, None)
    db.session.commit()
    flash(
        f"Price list imported: {result.count('new')} new, {result.count('change')} changed, "
        f"{result.count('same')} unchanged.",
        "success",
    )
    return redirect(url_for("billing.tariffs"), 303)


# --- accounts receivable -------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    key: str
    x: Decimal
    width: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    segments: tuple[Segment, ...]
    total: Decimal
    end: Decimal


CHART_LEFT, CHART_WIDTH, BAR_HEIGHT, BAR_GAP = 160, 560, 22, 12


def _bars(report: receivables.AgingReport, names: dict) -> list[Bar]:
    """The chart's geometry: one bar per payer, its buckets side by side, scaled to the largest total."""
    largest = max((row.total for row in report.rows), default=Decimal(0))
    bars = []
    for index, row in enumerate(report.rows):
        x, segments = Decimal(CHART_LEFT), []
        for key in receivables.BUCKET_KEYS:
            amount = row.buckets[key]
            if amount <= 0 or largest <= 0:
                continue
            width = (Decimal(CHART_WIDTH) * amount / largest).quantize(Decimal("0.1"))
            segments.append(Segment(key, x, width, amount))
            x += width
        bars.append(Bar(names[_row_key(row)], index * (BAR_HEIGHT + BAR_GAP), tuple(segments), row.total, x))
    return bars


def _row_key(row) -> tuple[str, int | None]:
    return row.payer, row.company_id


def _payer_names(report: receivables.AgingReport) -> dict:
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
    institution_id = _institution_filter()
    report = receivables.aging(_tenant(), as_of, institution_id=institution_id)
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
        buckets=receivables.BUCKETS,
        labels={key: label for key, label, *_ in receivables.BUCKETS},
        institution_id=institution_id,
        institutions=_institution_names(),
        choose_institution=_tenant().is_global,
        chart={"left": CHART_LEFT, "width": CHART_WIDTH, "bar": BAR_HEIGHT, "gap": BAR_GAP},
    )


def _csv(rows, header, filename: str, entity: str, summary: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    core.record_audit(
        _actor(),
        "export",
        entity,
        None,
        summary=summary,
        institution_id=current_user.institution_id,
        company_id=current_user.company_id,
    )
    db.session.commit()
    return Response(
        buffer.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


@bp.get("/billing/receivables.csv", endpoint="receivables_csv")
@allow(READERS)
def receivable_aging_csv():
    _form, report, _institution_id, _status = _aging()
    names = _payer_names(report)
    labels = [label for _key, label, *_ in receivables.BUCKETS]
    rows = [
        [names[_row_key(row)], *(row.buckets[key] for key in receivables.BUCKET_KEYS), row.total, row.invoices]
        for row in report.rows
    ]
    rows.append(["Total", *(report.totals[key] for key in receivables.BUCKET_KEYS), report.total, ""])
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
        "bucket": bucket if bucket in receivables.BUCKET_KEYS else "",
        "institution_id": _institution_filter(),
    }


def _items_query(as_of: date, filters: dict):
    # The report counts nothing issued after its date; the list behind a cell must not either.
    return receivables.receivables_query(_tenant(), as_of, **filters).where(AccountReceivable.issued_on <= as_of)


def _invoices_of(receivable_rows) -> dict[int, Invoice]:
    ids = {row.invoice_id for row in receivable_rows}
    if not ids:
        return {}
    return {inv.id: inv for inv in db.session.scalars(select(Invoice).where(Invoice.id.in_(ids)))}


def _patient_names(receivable_rows) -> dict[int, str]:
    patients = hospital.patients_by_id({row.patient_id for row in receivable_rows})
    return {pid: f"{p.first_name} {p.last_name}" for pid, p in patients.items()}


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
    bucket_label = next((label for key, label, *_ in receivables.BUCKETS if key == filters["bucket"]), "All ages")
    who = (
        PATIENTS
        if filters["payer"] == "patient"
        else companies.get(filters["company_id"], "Insurers")
        if filters["payer"] == "insurer"
        else "All payers"
    )
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
        patients=_patient_names(rows),
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
    invoices, patients, companies = _invoices_of(rows), _patient_names(rows), insurance.company_names()
    lines = [
        [
            invoices[row.invoice_id].number,
            row.issued_on.isoformat(),
            row.due_on.isoformat(),
            receivables.age_in_days(row.issued_on, as_of),
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
    )


# --- billing settings ----------------------------------------------------------------------------


def _settings_institution() -> int | None:
    """The user's own hospital; a platform admin names one with ``?institution_id=`` (None: not yet)."""
    if current_user.institution_id:
        return current_user.institution_id
    if not _tenant().is_global:
        raise NotFound("No such institution.")  # an insurer's staff have no billing settings
    return request.args.get("institution_id", type=int) or None


@bp.route("/billing/settings", methods=["GET", "POST"], endpoint="settings")
@allow(WRITERS)
def billing_settings():
    institution_id = _settings_institution()
    if institution_id is None:
        status = 422 if request.method == "POST" else 200
        return render("billing/settings_choose.html", status=status, institutions=_institutions())
    institution = institution_for_write(_actor(), institution_id)
    if request.method == "GET":
        form = SettingsForm(obj=services.settings_for(institution_id))
        return render("billing/settings.html", form=form, institution=institution, choose=_tenant().is_global)
    form = SettingsForm()
    done = submit(
        form,
        lambda: services.update_settings(
            actor=_actor(),
            institution_id=institution_id,
            values=services.SettingsInput(
                invoice_prefix=form.invoice_prefix.data,
                tax_percent=form.tax_percent.data,
                payment_terms_days=form.payment_terms_days.data,
                currency=form.currency.data,
                bank_name=form.bank_name.data or "",
                bank_account=form.bank_account.data or "",
                bank_branch=form.bank_branch.data or "",
                payment_instructions=form.payment_instructions.data or "",
            ),
        ),
    )
    if done.ok:
        flash(f"Billing settings of {institution.name} saved.", "success")
        return redirect(
            url_for("billing.settings", institution_id=None if current_user.institution_id else institution_id), 303
        )
    return render(
        "billing/settings.html", status=done.status, form=form, institution=institution, choose=_tenant().is_global
    )
