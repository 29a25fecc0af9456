"""Printable invoices: one invoice (or credit note) laid out for A4 from an autoescaped template, as HTML and
as a PDF; the batches (print_batches.py) lay out a day's invoices the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import render_template
from sqlalchemy import select

from blueprints.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    PaymentTransaction,
    TransactionKind,
)
from blueprints.billing.services.invoices import get_invoice
from blueprints.billing.services.settings import settings_for
from blueprints.billing.services.split import still_owed
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock, pdf
from medcover.extensions import db
from medcover.rbac import Tenant

TEMPLATE = "billing/invoice_pdf.html"
STYLESHEET = "css/invoice-print.css"
MOVEMENT_LABELS = {
    TransactionKind.PAYMENT: "Payment",
    TransactionKind.REFUND: "Refund",
    TransactionKind.CREDIT: "Credit note",
}


# --- what a printed invoice shows ----------------------------------------------------------------


@dataclass(frozen=True)
class PrintedLine:
    service_date: date | None
    service_code: str
    description: str
    quantity: int
    unit_price: Decimal
    tax: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PrintedMovement:
    label: str
    occurred_on: date
    payer: str
    method: str
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class PrintedInvoice:
    id: int
    title: str
    number: str | None
    status: str
    #: "DRAFT" or "VOID" across every page; None once issued
    watermark: str | None
    currency: str
    issued_on: date | None
    due_on: date | None
    patient_name: str
    patient_number: str
    member_number: str | None
    insurer: str | None
    credited_invoice_number: str | None
    notes: str | None
    lines: tuple[PrintedLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    insurer_part: Decimal
    patient_part: Decimal
    paid: Decimal
    refunded: Decimal
    credited: Decimal
    balance: Decimal
    movements: tuple[PrintedMovement, ...]
    #: where the parts come from: estimate, under_review or decided (None: self-pay)
    split_basis: str | None = None
    #: what each payer still owes on an issued invoice (payer -> amount)
    owed: dict | None = None


@dataclass(frozen=True)
class Letterhead:
    name: str
    address: str | None
    phone: str | None
    payment_instructions: str | None
    bank_name: str | None
    bank_account: str | None
    bank_branch: str | None


def letterhead_of(institution_id: int) -> Letterhead:
    institution = hospital.get_institution(Tenant(None, None), institution_id)
    settings = settings_for(institution_id)
    return Letterhead(
        institution.name,
        institution.address,
        institution.phone,
        settings.payment_instructions,
        settings.bank_name,
        settings.bank_account,
        settings.bank_branch,
    )


def printable(invoices: list[Invoice]) -> list[PrintedInvoice]:
    """The printable form of many invoices in a fixed number of queries, however many lines they hold."""
    ids = [invoice.id for invoice in invoices]
    lines: dict[int, list[PrintedLine]] = {}
    movements: dict[int, list[PrintedMovement]] = {}
    if ids:
        for line in db.session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_(ids))
            .order_by(InvoiceLine.invoice_id, InvoiceLine.line_no)
        ):
            lines.setdefault(line.invoice_id, []).append(
                PrintedLine(
                    line.service_date,
                    line.service_code,
                    line.description,
                    line.quantity,
                    line.unit_price,
                    line.tax,
                    line.amount,
                )
            )
        for row in db.session.scalars(
            select(PaymentTransaction)
            .where(PaymentTransaction.invoice_id.in_(ids))
            .order_by(PaymentTransaction.invoice_id, PaymentTransaction.occurred_on, PaymentTransaction.id)
        ):
            movements.setdefault(row.invoice_id, []).append(
                PrintedMovement(
                    MOVEMENT_LABELS.get(row.kind, row.kind.value.title()),
                    row.occurred_on,
                    row.payer.value.title(),
                    (row.method or "").replace("_", " "),
                    row.reference or "",
                    row.amount,
                )
            )
    patients = hospital.patients_by_id({invoice.patient_id for invoice in invoices})
    companies = insurance.company_names() if any(invoice.company_id for invoice in invoices) else {}
    credited_ids = {invoice.credited_invoice_id for invoice in invoices if invoice.credited_invoice_id}
    credited_numbers = (
        dict(db.session.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(credited_ids))).all())
        if credited_ids
        else {}
    )
    owed = still_owed(invoice.id for invoice in invoices)
    printed = []
    for invoice in invoices:
        patient = patients.get(invoice.patient_id)
        credit_note = invoice.kind is InvoiceKind.CREDIT_NOTE
        printed.append(
            PrintedInvoice(
                id=invoice.id,
                title="CREDIT NOTE" if credit_note else "INVOICE",
                number=invoice.number,
                status=invoice.status.value.replace("_", " "),
                watermark={InvoiceStatus.DRAFT: "DRAFT", InvoiceStatus.VOID: "VOID"}.get(invoice.status),
                currency=invoice.currency,
                issued_on=invoice.issued_on,
                due_on=invoice.due_on,
                patient_name=f"{patient.first_name} {patient.last_name}" if patient else "",
                patient_number=patient.patient_number if patient else "",
                member_number=invoice.member_number,
                insurer=companies.get(invoice.company_id) if invoice.company_id else None,
                credited_invoice_number=credited_numbers.get(invoice.credited_invoice_id),
                notes=invoice.notes,
                lines=tuple(lines.get(invoice.id, ())),
                subtotal=invoice.subtotal,
                tax=invoice.tax,
                total=invoice.total,
                insurer_part=invoice.insurer_part,
                patient_part=invoice.patient_part,
                paid=invoice.paid,
                refunded=invoice.refunded,
                credited=invoice.credited,
                balance=invoice.balance,
                movements=tuple(movements.get(invoice.id, ())),
                split_basis=invoice.split_basis if invoice.kind is InvoiceKind.INVOICE else None,
                owed=owed.get(invoice.id),
            )
        )
    return printed


def printed_html(invoice: PrintedInvoice, letterhead: Letterhead) -> str:
    # A .html template: Jinja autoescapes, so a patient called "<b>x</b>" prints as those characters.
    return render_template(
        TEMPLATE,
        invoice=invoice,
        letterhead=letterhead,
        stylesheet=pdf.static_url(STYLESHEET),
        printed_on=clock.today(),
    )


def invoice_html(tenant: Tenant, invoice_id: int) -> str:
    """The printable HTML of one invoice the tenant may see (another tenant's is ``NotFound``)."""
    invoice = get_invoice(tenant, invoice_id)
    return printed_html(printable([invoice])[0], letterhead_of(invoice.institution_id))


def invoice_pdf(tenant: Tenant, invoice_id: int) -> bytes:
    """The A4 PDF of one invoice the tenant may see (another tenant's is ``NotFound``)."""
    return pdf.render_pdf(invoice_html(tenant, invoice_id))


def pdf_filename(invoice: Invoice) -> str:
    """``KNH-000042.pdf``; drafts have no number yet."""
    name = re.sub(r"[^A-Za-z0-9-]", "", invoice.number or "") or f"draft-invoice-{invoice.id}"
    return f"{name}.pdf"
