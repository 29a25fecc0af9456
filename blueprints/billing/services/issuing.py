"""Issuing an invoice: its number from the institution's gap-free sequence, its dates, what each payer owes,
and the invoice's status transitions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from blueprints.billing.models import (
    AccountReceivable,
    BillingSettings,
    Invoice,
    InvoiceSequence,
    InvoiceStatus,
    Payer,
)
from blueprints.billing.services.drafts import draft_for_write, save_shown_lines
from blueprints.billing.services.invoices import audit_invoice, lines_of
from blueprints.billing.services.settings import settings_for
from blueprints.billing.services.split import recompute
from blueprints.hospital import services as hospital
from medcover import clock
from medcover.errors import Conflict
from medcover.events import publish
from medcover.extensions import db
from medcover.money import ZERO

#: statuses from which each status may be reached (the invoice's transition table)
INVOICE_TRANSITIONS: dict[InvoiceStatus, set[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: {InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.VOID},
    InvoiceStatus.ISSUED: {InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID, InvoiceStatus.VOID},
    InvoiceStatus.PARTIALLY_PAID: {InvoiceStatus.ISSUED, InvoiceStatus.PAID},
    InvoiceStatus.PAID: {InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.ISSUED},
    InvoiceStatus.VOID: set(),
}


def next_number(institution_id: int, series: str) -> int:
    """Take the next number of a series inside the caller's transaction. The UPDATE holds the row lock
    until commit on PostgreSQL, so concurrent issuers queue; a rollback returns the number."""
    for _attempt in range(3):
        taken = db.session.execute(
            update(InvoiceSequence)
            .where(InvoiceSequence.institution_id == institution_id, InvoiceSequence.series == series)
            .values(next_number=InvoiceSequence.next_number + 1)
            .returning(InvoiceSequence.next_number)
        ).scalar()
        if taken is not None:
            return taken - 1
        savepoint = db.session.begin_nested()
        try:
            db.session.add(InvoiceSequence(institution_id=institution_id, series=series, next_number=2))
            db.session.flush()
            savepoint.commit()
            return 1
        except IntegrityError:  # another issuer created the sequence a moment ago: take from it
            savepoint.rollback()
    raise Conflict("Could not take an invoice number; try again.")


def format_number(settings: BillingSettings, series: str, number: int) -> str:
    middle = "-CN" if series == "CN" else ""
    return f"{settings.invoice_prefix}{middle}-{number:06d}"


def guarded_status(invoice: Invoice, expected: InvoiceStatus, target: InvoiceStatus, **values) -> None:
    if target not in INVOICE_TRANSITIONS[invoice.status]:
        raise Conflict(f"This invoice is {invoice.status.value}; it cannot become {target.value}.")
    result = db.session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.status == expected)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(invoice)
        raise Conflict(f"Someone changed this invoice a moment ago; it is now {invoice.status.value}.")
    db.session.refresh(invoice)


def issue_invoice(*, actor, invoice_id: int, edits: dict | None = None) -> Invoice:
    """Number the draft from the institution's sequence, fix its dates, open what each payer owes.

    ``edits`` is what the page shows in the draft's line boxes (``{line_no: {"quantity", "unit_price",
    "description"}}``): what differs from the stored lines is saved first, in the same transaction, so the
    invoice issued is the one on the screen (UI.md)."""
    invoice = draft_for_write(actor, invoice_id)
    if edits:
        save_shown_lines(actor, invoice, edits)
    lines = lines_of(invoice.id)
    if not lines:
        raise Conflict("Add a line before issuing the invoice.")
    recompute(invoice)
    settings = settings_for(invoice.institution_id)
    today = clock.today()
    number = format_number(settings, "INV", next_number(invoice.institution_id, "INV"))
    target = InvoiceStatus.ISSUED if invoice.total > 0 else InvoiceStatus.PAID
    guarded_status(
        invoice,
        InvoiceStatus.DRAFT,
        target,
        number=number,
        issued_on=today,
        due_on=today + timedelta(days=settings.payment_terms_days),
        issued_by_id=actor.id,
    )
    for payer, amount in ((Payer.INSURER, invoice.insurer_part), (Payer.PATIENT, invoice.patient_part)):
        if amount > 0:
            db.session.add(
                AccountReceivable(
                    institution_id=invoice.institution_id,
                    invoice_id=invoice.id,
                    payer=payer,
                    patient_id=invoice.patient_id,
                    company_id=invoice.company_id if payer is Payer.INSURER else None,
                    issued_on=today,
                    due_on=invoice.due_on,
                    amount=amount,
                    paid=ZERO,
                    refunded=ZERO,
                    credited=ZERO,
                    balance=amount,
                )
            )
    db.session.flush()
    audit_invoice(actor, "issue", invoice, before={"status": "draft"}, after={"status": target.value, "number": number})
    _announce_issued(invoice, settings)
    return invoice


def _announce_issued(invoice: Invoice, settings: BillingSettings) -> None:
    patient = hospital.patients_by_id([invoice.patient_id]).get(invoice.patient_id)
    recipients = []
    if patient is not None and (patient.email or patient.phone):
        recipients.append(
            {"email": patient.email, "phone": patient.phone, "name": f"{patient.first_name} {patient.last_name}"}
        )
    institution = hospital.institution_names().get(invoice.institution_id, "")
    publish(
        "invoice.issued",
        {
            "invoice_id": invoice.id,
            "institution_id": invoice.institution_id,
            "company_id": invoice.company_id,
            "patient_id": invoice.patient_id,
            "number": invoice.number,
            "total": str(invoice.total),
            "insurer_part": str(invoice.insurer_part),
            "patient_part": str(invoice.patient_part),
            "recipients": recipients,
            "context": {
                "invoice_number": invoice.number,
                "institution": institution,
                "total": f"{settings.currency} {invoice.total:,.2f}",
                "balance": f"{settings.currency} {invoice.patient_part:,.2f}",
                "due_date": invoice.due_on.isoformat() if invoice.due_on else "",
            },
        },
    )
