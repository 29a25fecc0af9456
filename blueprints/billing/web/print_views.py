"""Printing pages: one invoice as an inline PDF, and batch printing a day's invoices with a progress widget
that re-renders itself until the PDF is ready to download."""

from __future__ import annotations

from flask import g, make_response, redirect, request, send_file, url_for
from flask_login import current_user

from blueprints.billing import bp, services
from blueprints.billing.services import WRITERS
from blueprints.billing.web.access import READERS
from blueprints.hospital import services as hospital
from medcover import clock
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.pages import actor, render, tenant, wants_partial
from medcover.rbac import allow

PDF = "application/pdf"


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def invoice_pdf_response(invoice_id: int):
    """One invoice the caller may see as an inline PDF named after its number (the page and the API)."""
    scope = tenant()
    invoice = services.get_invoice(scope, invoice_id)  # another hospital's invoice: 404
    for patient in hospital.patients_by_id([invoice.patient_id]).values():
        hospital.audit_patient_read(actor(), patient, f"invoice {invoice.number or 'draft'} PDF")
    response = make_response(services.invoice_pdf(scope, invoice.id))
    response.mimetype = PDF
    response.headers["Content-Disposition"] = f'inline; filename="{services.pdf_filename(invoice)}"'
    return _no_store(response)


@bp.get("/billing/invoices/<id:invoice_id>.pdf")
@allow(READERS)
def print_invoice(invoice_id: int):
    return invoice_pdf_response(invoice_id)


def _print_page(*, batch=None, error: str = "", day=None, institution_id=None, status: int = 200):
    user = actor()
    return render(
        "billing/print.html",
        "billing/_print_progress.html",
        status=status,
        batch=batch,
        error=error,
        day=day or clock.today(),
        institution_id=institution_id,
        institutions=services.printable_institutions(user),
        may_start=user.role in WRITERS and user.company_id is None,
    )


@bp.get("/billing/print")
@allow(READERS)
def print_page():
    return _print_page()


@bp.post("/billing/print")
@allow(WRITERS)
def print_start():
    day, institution_id = request.form.get("day", "")[:10], request.form.get("institution_id", "")[:12]
    if current_user.institution_id is not None:
        institution_id = current_user.institution_id  # staff print their own hospital's invoices
    try:
        batch = services.print_batch(actor=actor(), institution_id=institution_id, day=day)
    except Invalid as exc:
        db.session.rollback()
        message = "; ".join(m for messages in exc.errors.values() for m in messages) or exc.detail
        return _print_page(error=message, day=day, institution_id=institution_id, status=422)
    db.session.commit()  # the batch job leaves after this commit (runs right after the response when inline)
    if wants_partial():
        return render("billing/print.html", "billing/_print_progress.html", batch=batch, error="")
    return redirect(url_for("billing.print_progress", token=batch.token), 303)


@bp.get("/billing/print/<token>")
@allow(READERS)
def print_progress(token: str):
    g.passive_request = True  # polling must not keep an idle session alive
    batch = services.batch_status(tenant(), token)
    return _print_page(batch=batch, day=batch.day, institution_id=batch.institution_id)


@bp.get("/billing/print/<token>.pdf")
@allow(READERS)
def print_download(token: str):
    scope = tenant()
    path = services.batch_file(scope, token)
    batch = services.batch_status(scope, token)
    services.audit_batch_read(actor(), batch)
    response = send_file(
        path,
        mimetype=PDF,
        as_attachment=True,
        download_name=f"invoices-{batch.day.isoformat()}.pdf",
        conditional=False,
        etag=False,
    )
    return _no_store(response)
