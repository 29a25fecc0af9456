"""Price list pages: search, a service's history, a new price, and CSV import with a preview of what would
change."""

from __future__ import annotations

import hashlib

from flask import flash, redirect, request, session, url_for
from flask_login import current_user

from blueprints.billing import bp, services
from blueprints.billing.services import WRITERS
from blueprints.billing.web.access import (
    READERS,
    chosen_institution,
    institution_choices,
    institution_filter,
    institution_names,
    may_write,
    text,
)
from blueprints.billing.web.forms import ConfirmImportForm, ImportForm, PriceForm
from medcover import clock
from medcover.errors import DomainError, Invalid, NotFound
from medcover.extensions import db
from medcover.pages import actor, form_failed, page_of, render, submit, tenant
from medcover.rbac import allow

#: what an uploaded price list may call itself; browsers on Windows send Excel's type for .csv files
CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"})
PENDING_IMPORT = "tariff_import"
#: a service's prices over the years: a short list, shown whole
HISTORY_LIMIT = 500


def _price_form(formdata: bool = True) -> PriceForm:
    form = PriceForm() if formdata else PriceForm(formdata=None)
    institution_choices(form)
    if not formdata:
        form.effective_from.data = clock.today().isoformat()
    return form


def _tariffs_page(form=None, status: int = 200):
    q = text(request.args.get("q", ""), 60)
    history = request.args.get("history") == "1"
    institution_id = institution_filter()
    stmt = services.tariffs_query(tenant(), institution_id=institution_id, q=q, on=None if history else clock.today())
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
        can_write=may_write(),
        insurer=tenant().company_id is not None,
        choose_institution=tenant().is_global,
        institutions=institution_names(),
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
        lambda: services.set_price(
            actor=actor(),
            institution_id=chosen_institution(form.institution_id.data),
            values=services.TariffInput(
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
    code = text(code, 30).strip().upper()
    rows = services.price_history(tenant(), code, institution_id=institution_filter(), limit=HISTORY_LIMIT)
    if not rows:
        raise NotFound("No prices for that service code.")
    return render(
        "billing/tariffs_history.html",
        code=code,
        rows=rows,
        today=clock.today(),
        choose_institution=tenant().is_global,
        institutions=institution_names(),
    )


# --- tariff import -------------------------------------------------------------------------------


def _import_form(formdata: bool = True) -> ImportForm:
    form = ImportForm() if formdata else ImportForm(formdata=None)
    institution_choices(form)
    return form


def _import_page(form=None, status: int = 200, preview=None, confirm=None):
    return render(
        "billing/tariffs_import.html",
        status=status,
        form=form or _import_form(formdata=False),
        preview=preview,
        confirm=confirm,
        columns=services.CSV_COLUMNS,
        max_kb=services.MAX_IMPORT_BYTES // 1024,
        max_rows=services.MAX_IMPORT_ROWS,
        choose_institution=tenant().is_global,
    )


def _uploaded_csv(form) -> bytes:
    """The upload's bytes when it is a CSV file of allowed size; otherwise a message on the file field."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid.field("file", "Choose a CSV file.")
    if not upload.filename.lower().endswith(".csv") or upload.mimetype not in CSV_TYPES:
        raise Invalid.field("file", "Only .csv files (text/csv) are accepted.")
    data = upload.stream.read(services.MAX_IMPORT_BYTES + 1)
    if len(data) > services.MAX_IMPORT_BYTES:
        raise Invalid.field("file", f"The file is larger than {services.MAX_IMPORT_BYTES // 1024} KB.")
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
        institution_id = chosen_institution(form.institution_id.data)
        data = _uploaded_csv(form)
        preview = services.preview_import(actor=actor(), institution_id=institution_id, data=data)
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
        result = services.apply_import(actor=actor(), institution_id=pending["institution_id"], data=pending["content"])
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
