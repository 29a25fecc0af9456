"""Invoice pages: the invoices list, and an invoice (a draft's lines edited inline, issue, void, credit
notes)."""

from __future__ import annotations

import re

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from blueprints.billing import bp, services
from blueprints.billing.models import InvoiceKind, InvoiceStatus
from blueprints.billing.services import WRITERS
from blueprints.billing.web.access import READERS, text
from blueprints.billing.web.forms import ActionForm, CreditForm, LineAddForm, LineForm, VoidForm
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import confirm
from medcover.errors import Invalid
from medcover.labels import badges, label
from medcover.pages import actor, page_of, render, submit, tenant, toast, wants_partial
from medcover.rbac import allow

#: the list's status filter: the statuses, and "overdue" (open, owing, past the due date)
STATUSES = frozenset(s.value for s in InvoiceStatus) | {services.OVERDUE}
CREDITABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)
VOIDABLE = (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED)
#: the PDF route of print_views.py (``print_invoice`` today; ``invoice_pdf`` was the name first agreed)
PRINT_ENDPOINTS = ("billing.invoice_pdf", "billing.print_invoice")


#: each invoice status's badge colour (the ``invoice_badge`` filter)
BADGE_KINDS = {"draft": "off", "issued": "warn", "partially_paid": "warn", "paid": "ok", "void": "bad"}


status_badge = badges(BADGE_KINDS)


def invoice_number(invoice) -> Markup:
    """An invoice's number as pages show it (the ``invoice_number`` filter): "Draft" until it has one, and a credit
    note says so. A Python helper, not a macro: the list shows one a row."""
    number = escape(invoice.number or "Draft")
    if getattr(invoice.kind, "value", invoice.kind) == "credit_note":
        return number + Markup(' <span class="muted">(credit note)</span>')
    return number


def _back(invoice) -> str:
    return url_for("billing.invoice", invoice_id=invoice.id)


def _what(invoice) -> str:
    return f"invoice {invoice.number}" if invoice.number else "this draft invoice"


def issue_question(invoice) -> dict:
    """What issuing says before it happens (the page's dialog and the confirmation page say the same)."""
    return {
        "question": f"Issue {_what(invoice)} for {invoice.currency} {invoice.total:,.2f}?",
        "consequence": "It gets its invoice number and a due date, and the payers are told what they owe. "
        "Issued invoices can't be edited; they can be voided or credited.",
        "button": "Issue invoice",
    }


def void_question(invoice) -> dict:
    if invoice.status is InvoiceStatus.DRAFT:
        consequence = "The draft is discarded and its charges return to the unbilled list. This can't be undone."
    else:
        consequence = (
            "The invoice is cancelled: nobody owes anything on it any more and its charges return to the unbilled "
            "list. This can't be undone."
        )
    return {
        "question": f"Void {_what(invoice)} for {invoice.currency} {invoice.total:,.2f}?",
        "consequence": consequence,
        "button": f"Void {invoice.number or 'draft'}",
    }


def credit_question(invoice, amount=None, payer: str = "") -> dict:
    how_much = f"{invoice.currency} {amount}" if amount else "the amount entered"
    return {
        "question": f"Issue a credit note for {how_much} against invoice {invoice.number}?",
        "consequence": f"It takes that amount off what {payer.lower() or 'the payer'} still owes, as a numbered "
        "credit note. Credit notes can't be edited or withdrawn.",
        "button": "Issue credit note",
    }


def _refusal(form) -> str:
    return (list(form.form_errors) + [m for f in form for m in f.errors] or ["That did not work."])[0]


# --- the invoices list ---------------------------------------------------------------------------


@bp.get("/billing/invoices")
@allow(READERS)
def invoices():
    """Newest first, filtered by status (or overdue), number (search as you type) and patient; HTMX gets the rows."""
    scope = tenant()
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    q = text(request.args.get("q", ""), 40).strip()
    patient_id = request.args.get("patient_id", type=int) or None
    stmt = services.invoices_query(scope, status=status, q=q, patient_id=patient_id, columns=services.LIST_COLUMNS)
    rows, paging = page_of(stmt)
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
        institutions=hospital.institution_names() if scope.institution_id is None else {},
        may_write=current_user.role in WRITERS and scope.company_id is None,
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
    writer = services.may_write(actor(), invoice.institution_id)
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
        owed=services.still_owed([invoice.id]).get(invoice.id, {}) if invoice.status is not InvoiceStatus.DRAFT else {},
        issue_question=issue_question(invoice),
        void_question=void_question(invoice),
        credit_question=credit_question(invoice) if invoice.number else None,
    )


@bp.get("/billing/invoices/<id:invoice_id>")
@allow(READERS)
def invoice(invoice_id: int):
    return _invoice_page(services.get_invoice(tenant(), invoice_id), partial="billing/_invoice_detail.html")


def _line_answer(invoice_id: int, done, message: str, *, line_no: int | None, form, partial: str, **forms):
    """Every change to a draft's lines: HTMX gets the fragment with the totals swapped out of band (and the
    refusal on the fragment); a plain form post gets a 303, or the page with the errors."""
    invoice = services.get_invoice(tenant(), invoice_id)
    if not wants_partial():
        if done.ok:
            flash(message, "success")
            return redirect(url_for("billing.invoice", invoice_id=invoice_id), 303)
        return _invoice_page(invoice, done.status, **forms)
    if done.ok:
        return toast(_invoice_page(invoice, partial=partial, line_no=line_no), message)
    return toast(_invoice_page(invoice, done.status, partial, line_no=line_no, **forms), _refusal(form))


@bp.post("/billing/invoices/<id:invoice_id>/lines")
@allow(WRITERS)
def line_add(invoice_id: int):
    services.get_invoice(tenant(), invoice_id)  # another hospital's: 404 before anything else
    form = LineAddForm(prefix="add")
    done = submit(
        form,
        lambda: services.add_line(
            actor=actor(),
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
    services.get_invoice(tenant(), invoice_id)
    form = LineForm(prefix=f"line{line_no}")
    done = submit(
        form,
        lambda: services.update_line(
            actor=actor(),
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
    services.get_invoice(tenant(), invoice_id)
    form = ActionForm()
    done = submit(form, lambda: services.remove_line(actor=actor(), invoice_id=invoice_id, line_no=line_no))
    return _line_answer(
        invoice_id,
        done,
        f"Line {line_no} removed.",
        # removed: the fragment is the totals alone, and the row's outerHTML swap takes the row away
        line_no=None if done.ok else line_no,
        form=form,
        partial="billing/_line_changed.html",
    )


def _invoice_action(invoice_id: int, form, action, message, form_name: str, question, **kept):
    """Issue, void, credit: confirmed first (medcover/confirm.py: ``question(invoice)`` says what will happen),
    then one service call and 303 back to the page with a flash, or the page with the form's errors (422 for bad
    input, 409 when the invoice's state does not allow it); ``kept`` are forms to show as they were posted (what
    was typed is never lost)."""
    invoice = services.get_invoice(tenant(), invoice_id)
    if not confirm.confirmed():
        if form.validate_on_submit():
            return confirm.ask(question(invoice))
        return _invoice_page(invoice, 422, **{form_name: form}, **kept)
    done = submit(form, action)
    if done.ok:
        flash(message(done.result), "success")
        return redirect(url_for("billing.invoice", invoice_id=invoice_id), 303)
    return _invoice_page(services.get_invoice(tenant(), invoice_id), done.status, **{form_name: form}, **kept)


LINE_FIELD = re.compile(r"line(\d{1,4})-(quantity|unit_price|description)")


def _shown_lines() -> dict[int, dict[str, str]]:
    """The draft's line boxes as the page showed them when Issue was pressed (app.js carries them along)."""
    shown: dict[int, dict[str, str]] = {}
    for name, value in request.form.items():
        match = LINE_FIELD.fullmatch(name)
        if match:
            shown.setdefault(int(match.group(1)), {})[match.group(2)] = text(value, 200).strip()
    return shown


@bp.post("/billing/invoices/<id:invoice_id>/issue")
@allow(WRITERS)
def invoice_issue(invoice_id: int):
    """Issue what is on the screen: line values typed but not yet saved are saved in the same transaction; a line
    typed into the add row and not added is refused as unsaved changes."""

    def issue():
        if (request.form.get("add-service_code") or "").strip():
            message = "Unsaved changes: the new line is not added yet. Add it, or clear it, then issue the invoice."
            raise Invalid(message, {"add-service_code": [message]})
        return services.issue_invoice(actor=actor(), invoice_id=invoice_id, edits=_shown_lines())

    shown = _shown_lines()
    return _invoice_action(
        invoice_id,
        ActionForm(),
        issue,
        lambda issued: f"Invoice {issued.number} issued.",
        "issue_form",
        lambda invoice: confirm.Ask(**issue_question(invoice), cancel_url=_back(invoice)),
        line_forms={n: LineForm(prefix=f"line{n}") for n in shown},
        add_form=LineAddForm(prefix="add") if request.form.get("add-service_code") else None,
    )


@bp.post("/billing/invoices/<id:invoice_id>/void")
@allow(WRITERS)
def invoice_void(invoice_id: int):
    form = VoidForm()
    return _invoice_action(
        invoice_id,
        form,
        lambda: services.void_invoice(actor=actor(), invoice_id=invoice_id, reason=form.reason.data),
        lambda voided: f"Invoice {voided.number or 'draft'} voided.",
        "void_form",
        lambda invoice: confirm.Ask(
            **void_question(invoice), cancel_url=_back(invoice), danger=True, facts=(("Reason", form.reason.data),)
        ),
    )


@bp.post("/billing/invoices/<id:invoice_id>/credit")
@allow(WRITERS)
def invoice_credit(invoice_id: int):
    form = CreditForm()
    return _invoice_action(
        invoice_id,
        form,
        lambda: services.issue_credit_note(
            actor=actor(),
            invoice_id=invoice_id,
            amount=form.amount.data,
            reason=form.reason.data,
            payer=form.payer.data,
        ),
        lambda note: f"Credit note {note.number} issued for {note.total:,.2f}.",
        "credit_form",
        lambda invoice: confirm.Ask(
            **credit_question(invoice, form.amount.data, label(form.payer.data)),
            cancel_url=_back(invoice),
            facts=(("Reason", form.reason.data),),
        ),
    )
