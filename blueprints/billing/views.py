"""Billing pages: the invoices list, an invoice (a draft's lines edited inline, issue, void, credit notes), and
a patient's billing panel (unbilled items, charges entered by hand, drafting an invoice from them), which the
hospital's patient page loads by URL (medcover.navigation.add_panel)."""

from __future__ import annotations

import json

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from blueprints.billing import bp, services
from blueprints.billing.access import WRITERS
from blueprints.billing.forms import (
    ActionForm,
    ChargeForm,
    CreditForm,
    DraftForm,
    LineAddForm,
    LineForm,
    VoidForm,
)
from blueprints.billing.models import InvoiceKind, InvoiceStatus
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover.extensions import db
from medcover.pages import page_of, render, submit, wants_partial
from medcover.rbac import Role, access_of, allow, tenant_of

#: who reads invoices (insurer staff: those billed to their company); WRITERS (access.py) change them
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR})
STATUSES = frozenset(s.value for s in InvoiceStatus)
#: the patient panel shows the latest invoices; the list (filtered by patient) has the rest
PANEL_INVOICES = 10
CREDITABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)
VOIDABLE = (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED)
#: the PDF route of print_views.py (``print_invoice`` today; ``invoice_pdf`` was the name first agreed)
PRINT_ENDPOINTS = ("billing.invoice_pdf", "billing.print_invoice")


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


def _toast(response, message: str):
    response.headers["HX-Trigger"] = json.dumps({"toast": message})
    return response


def _text(value: str | None, limit: int) -> str:
    return (value or "").replace("\x00", "")[:limit]


def _refusal(form) -> str:
    return (list(form.form_errors) + [m for f in form for m in f.errors] or ["That did not work."])[0]


# --- the invoices list ---------------------------------------------------------------------------


@bp.get("/billing/invoices")
@allow(READERS)
def invoices():
    """Newest first, filtered by status, number (search as you type) and patient; HTMX gets the rows."""
    tenant = _tenant()
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    q = _text(request.args.get("q", ""), 40).strip()
    patient_id = request.args.get("patient_id", type=int) or None
    rows, paging = page_of(services.invoices_query(tenant, status=status, q=q, patient_id=patient_id))
    patients = hospital.patients_by_id({row.patient_id for row in rows})
    return render(
        "billing/invoices.html",
        "billing/_invoice_rows.html",
        rows=rows,
        paging=paging,
        status_filter=status,
        statuses=list(InvoiceStatus),
        q=q,
        patient_id=patient_id,
        # only a patient the list itself shows is named: the filter must not disclose another tenant's patient
        filter_patient=patients.get(patient_id),
        patients=patients,
        companies=insurance.company_names() if any(row.company_id for row in rows) else {},
        institutions=hospital.institution_names() if tenant.institution_id is None else {},
    )


# --- one invoice ---------------------------------------------------------------------------------


def _line_form(line) -> LineForm:
    return LineForm(
        formdata=None,
        prefix=f"line{line.line_no}",
        data={"quantity": str(line.quantity), "unit_price": str(line.unit_price), "description": line.description},
    )


def _print_url(invoice) -> str | None:
    """The invoice's PDF (print_views.py; a draft prints with a DRAFT watermark); no Print link while no such
    route is registered."""
    for endpoint in PRINT_ENDPOINTS:
        if endpoint in current_app.view_functions:
            return url_for(endpoint, invoice_id=invoice.id)
    return None


def _invoice_page(invoice, status: int = 200, partial: str | None = None, **forms):
    """The invoice page (or one of its fragments). ``forms`` replaces blank forms to show their errors;
    ``line_forms`` maps line numbers to row forms sent back, ``line_no`` names the row a fragment is about."""
    lines = services.lines_of(invoice.id)
    writer = services.may_write(_actor(), invoice.institution_id)
    editable = writer and invoice.kind is InvoiceKind.INVOICE and invoice.status is InvoiceStatus.DRAFT
    line_forms = {line.line_no: _line_form(line) for line in lines} if editable else {}
    line_forms.update(forms.get("line_forms") or {})
    line_no = forms.get("line_no")
    credited = (
        services.invoice_summaries([invoice.credited_invoice_id]).get(invoice.credited_invoice_id)
        if invoice.credited_invoice_id
        else None
    )
    is_invoice = invoice.kind is InvoiceKind.INVOICE
    return render(
        "billing/invoice.html",
        partial,
        status=status,
        invoice=invoice,
        lines=lines,
        line=next((line for line in lines if line.line_no == line_no), None),
        line_forms=line_forms,
        editable=editable,
        can_issue=editable,
        can_void=writer and is_invoice and invoice.status in VOIDABLE,
        can_credit=writer and is_invoice and invoice.status in CREDITABLE,
        patient=hospital.patients_by_id([invoice.patient_id]).get(invoice.patient_id),
        institution=hospital.institution_names().get(invoice.institution_id, ""),
        company=insurance.company_name(invoice.company_id) if invoice.company_id else None,
        credited=credited,
        transactions=services.transactions_of(invoice.id),
        add_form=forms.get("add_form") or LineAddForm(formdata=None, prefix="add"),
        issue_form=forms.get("issue_form") or ActionForm(formdata=None),
        void_form=forms.get("void_form") or VoidForm(formdata=None),
        credit_form=forms.get("credit_form") or CreditForm(formdata=None),
        print_url=_print_url(invoice),
    )


@bp.get("/billing/invoices/<id:invoice_id>")
@allow(READERS)
def invoice(invoice_id: int):
    return _invoice_page(services.get_invoice(_tenant(), invoice_id), partial="billing/_invoice_detail.html")


def _line_answer(invoice_id: int, done, message: str, *, line_no: int | None, form, partial: str, **forms):
    """Every change to a draft's lines: HTMX gets the fragment with the totals swapped out of band (and the
    refusal on the fragment); a plain form post gets a 303, or the page with the errors."""
    invoice = services.get_invoice(_tenant(), invoice_id)
    if not wants_partial():
        if done.ok:
            flash(message, "success")
            return redirect(url_for("billing.invoice", invoice_id=invoice_id), 303)
        return _invoice_page(invoice, done.status, **forms)
    if done.ok:
        return _toast(_invoice_page(invoice, partial=partial, line_no=line_no), message)
    return _toast(_invoice_page(invoice, done.status, partial, line_no=line_no, **forms), _refusal(form))


@bp.post("/billing/invoices/<id:invoice_id>/lines")
@allow(WRITERS)
def line_add(invoice_id: int):
    services.get_invoice(_tenant(), invoice_id)  # another hospital's: 404 before anything else
    form = LineAddForm(prefix="add")
    done = submit(
        form,
        lambda: services.add_line(
            actor=_actor(),
            invoice_id=invoice_id,
            line=services.LineInput(
                service_code=form.service_code.data,
                quantity=form.quantity.data,
                unit_price=form.unit_price.data or None,
                description=form.description.data or None,
                service_date=form.service_date.data or None,
            ),
        ),
    )
    line_no = done.result.line_no if done.ok else None
    return _line_answer(
        invoice_id,
        done,
        f"Line {line_no} added.",
        line_no=line_no,
        form=form,
        # added: the new row and a fresh add row replace the add row; refused: the add row with its errors
        partial="billing/_line_added.html" if done.ok else "billing/_line_add.html",
        add_form=form,
    )


@bp.post("/billing/invoices/<id:invoice_id>/lines/<id:line_no>")
@allow(WRITERS)
def line_update(invoice_id: int, line_no: int):
    services.get_invoice(_tenant(), invoice_id)
    form = LineForm(prefix=f"line{line_no}")
    done = submit(
        form,
        lambda: services.update_line(
            actor=_actor(),
            invoice_id=invoice_id,
            line_no=line_no,
            quantity=form.quantity.data,
            unit_price=form.unit_price.data,
            description=form.description.data,
        ),
    )
    return _line_answer(
        invoice_id,
        done,
        f"Line {line_no} saved.",
        line_no=line_no,
        form=form,
        partial="billing/_line_changed.html",
        line_forms={line_no: form},
    )


@bp.post("/billing/invoices/<id:invoice_id>/lines/<id:line_no>/remove")
@allow(WRITERS)
def line_remove(invoice_id: int, line_no: int):
    services.get_invoice(_tenant(), invoice_id)
    form = ActionForm()
    done = submit(form, lambda: services.remove_line(actor=_actor(), invoice_id=invoice_id, line_no=line_no))
    return _line_answer(
        invoice_id,
        done,
        f"Line {line_no} removed.",
        # removed: the fragment is the totals alone, and the row's outerHTML swap takes the row away
        line_no=None if done.ok else line_no,
        form=form,
        partial="billing/_line_changed.html",
    )


def _invoice_action(invoice_id: int, form, action, message, form_name: str):
    """Issue, void, credit: one service call, then 303 back to the page with a flash, or the page with the
    form's errors (422 for bad input, 409 when the invoice's state does not allow it)."""
    services.get_invoice(_tenant(), invoice_id)
    done = submit(form, action)
    if done.ok:
        flash(message(done.result), "success")
        return redirect(url_for("billing.invoice", invoice_id=invoice_id), 303)
    return _invoice_page(services.get_invoice(_tenant(), invoice_id), done.status, **{form_name: form})


@bp.post("/billing/invoices/<id:invoice_id>/issue")
@allow(WRITERS)
def invoice_issue(invoice_id: int):
    return _invoice_action(
        invoice_id,
        ActionForm(),
        lambda: services.issue_invoice(actor=_actor(), invoice_id=invoice_id),
        lambda issued: f"Invoice {issued.number} issued.",
        "issue_form",
    )


@bp.post("/billing/invoices/<id:invoice_id>/void")
@allow(WRITERS)
def invoice_void(invoice_id: int):
    form = VoidForm()
    return _invoice_action(
        invoice_id,
        form,
        lambda: services.void_invoice(actor=_actor(), invoice_id=invoice_id, reason=form.reason.data),
        lambda voided: f"Invoice {voided.number or 'draft'} voided.",
        "void_form",
    )


@bp.post("/billing/invoices/<id:invoice_id>/credit")
@allow(WRITERS)
def invoice_credit(invoice_id: int):
    form = CreditForm()
    return _invoice_action(
        invoice_id,
        form,
        lambda: services.issue_credit_note(
            actor=_actor(),
            invoice_id=invoice_id,
            amount=form.amount.data,
            reason=form.reason.data,
            payer=form.payer.data,
        ),
        lambda note: f"Credit note {note.number} issued for {note.total:,.2f}.",
        "credit_form",
    )


# --- a patient's billing panel -------------------------------------------------------------------


def _panel(patient, status: int = 200, **forms):
    """The panel on the hospital's patient page (loaded by HTMX), or a page of its own."""
    tenant = _tenant()
    invoices_stmt = services.invoices_query(tenant, patient_id=patient.id).limit(PANEL_INVOICES)
    return render(
        "billing/patient_billing.html",
        "billing/_patient_billing.html",
        status=status,
        patient=patient,
        items=services.unbilled_items(tenant, patient.id),
        invoices=list(db.session.scalars(invoices_stmt)),
        more_invoices=PANEL_INVOICES,
        writer=services.may_write(_actor(), patient.institution_id),
        patient_page=_patient_page_url(patient),
        charge_form=forms.get("charge_form") or ChargeForm(formdata=None, prefix="charge"),
        draft_form=forms.get("draft_form") or DraftForm(formdata=None),
    )


def _patient_page_url(patient) -> str | None:
    """The hospital's patient page, for those it lets in (read from its declaration: no import of its views)."""
    view = current_app.view_functions.get("hospital.patient")
    access = access_of(view) if view is not None else None
    if access is None or current_user.role not in access.roles:
        return None
    return url_for("hospital.patient", patient_id=patient.id)


@bp.get("/billing/patients/<id:patient_id>/billing")
@allow(READERS)
def patient_billing(patient_id: int):
    return _panel(hospital.get_patient(_tenant(), patient_id))


@bp.post("/billing/patients/<id:patient_id>/items")
@allow(WRITERS)
def item_add(patient_id: int):
    """A charge entered by hand; HTMX gets the panel back (with the errors, or the new item in the list)."""
    patient = hospital.get_patient(_tenant(), patient_id)
    form = ChargeForm(prefix="charge")
    done = submit(
        form,
        lambda: services.add_item(
            actor=_actor(),
            patient_id=patient.id,
            service_code=form.service_code.data,
            quantity=form.quantity.data,
            unit_price=form.unit_price.data or None,
            service_date=form.service_date.data or None,
        ),
    )
    patient = hospital.get_patient(_tenant(), patient_id)
    if done.ok:
        message = f"{done.result.service_code} × {done.result.quantity} added to the unbilled items."
        if not wants_partial():
            flash(message, "success")
            return redirect(url_for("billing.patient_billing", patient_id=patient.id), 303)
        return _toast(_panel(patient), message)
    return _panel(patient, done.status, charge_form=form)


@bp.post("/billing/patients/<id:patient_id>/invoices")
@allow(WRITERS)
def draft_create(patient_id: int):
    """The ticked unbilled items become one draft invoice; 303 to it."""
    patient = hospital.get_patient(_tenant(), patient_id)
    form = DraftForm()
    done = submit(
        form, lambda: services.draft_from_items(actor=_actor(), patient_id=patient.id, item_ids=form.item_ids.data)
    )
    if done.ok:
        flash(f"Draft invoice created with {len(services.lines_of(done.result.id))} lines.", "success")
        return redirect(url_for("billing.invoice", invoice_id=done.result.id), 303)
    return _panel(hospital.get_patient(_tenant(), patient_id), done.status, draft_form=form)
