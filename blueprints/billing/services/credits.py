"""Correcting an invoice: voiding one with no money on it, or a numbered credit note off what a payer owes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update

from blueprints.billing.models import (
    AccountReceivable,
    BillingItem,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    ItemStatus,
    Payer,
    TransactionKind,
)
from blueprints.billing.services.access import institution_for_write
from blueprints.billing.services.balances import apply_movement, locked_invoice, receivable_of
from blueprints.billing.services.invoices import OPEN, audit_invoice, get_invoice
from blueprints.billing.services.issuing import format_number, guarded_status, next_number
from blueprints.billing.services.settings import settings_for
from medcover import clock, fields
from medcover.errors import Conflict, Invalid
from medcover.extensions import db
from medcover.money import ZERO
from medcover.rbac import tenant_of


def void_invoice(*, actor, invoice_id: int, reason: str) -> Invoice:
    """Void with a reason: a draft is discarded, an issued invoice with no money on it is cancelled.
    Its items return to unbilled. An invoice with payments is corrected by a credit note instead."""
    invoice = get_invoice(tenant_of(actor), invoice_id)
    institution_for_write(actor, invoice.institution_id)
    reason = fields.text(reason, "reason", 300)
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        raise Conflict("A credit note cannot be voided; issue an invoice for the amount instead.")
    if invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED):
        raise Conflict(f"This invoice is {invoice.status.value}; refund or credit it instead of voiding.")
    if invoice.paid != invoice.refunded or invoice.credited > 0:
        raise Conflict("Money or credit notes are recorded on this invoice; issue a credit note instead.")
    before = invoice.status
    guarded_status(invoice, before, InvoiceStatus.VOID, void_reason=reason, voided_at=clock.now())
    db.session.execute(
        update(BillingItem)
        .where(BillingItem.invoice_id == invoice.id)
        .values(status=ItemStatus.UNBILLED, invoice_id=None)
        .execution_options(synchronize_session="fetch")
    )
    for row in db.session.scalars(select(AccountReceivable).where(AccountReceivable.invoice_id == invoice.id)):
        db.session.delete(row)
    db.session.flush()
    audit_invoice(actor, "void", invoice, before={"status": before.value}, after={"status": "void", "reason": reason})
    return invoice


def issue_credit_note(
    *, actor, invoice_id: int, amount: Decimal | str, reason: str, payer: str = Payer.PATIENT.value
) -> Invoice:
    """Take an amount off what a payer still owes on an issued invoice, as a numbered credit note."""
    invoice = locked_invoice(tenant_of(actor), invoice_id)
    institution_for_write(actor, invoice.institution_id)
    if invoice.kind is not InvoiceKind.INVOICE or invoice.status not in OPEN:
        raise Conflict(f"Only open invoices take a credit note; this one is {invoice.status.value}.")
    amount = fields.amount(amount, "amount", positive=True)
    reason = fields.text(reason, "reason", 300)
    try:
        payer = Payer(payer)
    except ValueError:
        raise Invalid.field("payer", "Choose patient or insurer.") from None
    receivable = receivable_of(invoice.id, payer)
    if receivable is None or amount > receivable.balance:
        left = receivable.balance if receivable else ZERO
        raise Invalid.field("amount", f"The {payer.value} owes {left:,.2f} on this invoice; credit at most that.")
    settings = settings_for(invoice.institution_id)
    note = Invoice(
        institution_id=invoice.institution_id,
        patient_id=invoice.patient_id,
        company_id=invoice.company_id if payer is Payer.INSURER else None,
        member_number=invoice.member_number,
        kind=InvoiceKind.CREDIT_NOTE,
        credited_invoice_id=invoice.id,
        number=format_number(settings, "CN", next_number(invoice.institution_id, "CN")),
        status=InvoiceStatus.PAID,
        currency=invoice.currency,
        issued_on=clock.today(),
        due_on=clock.today(),
        subtotal=amount,
        tax=ZERO,
        total=amount,
        insurer_part=amount if payer is Payer.INSURER else ZERO,
        patient_part=amount if payer is Payer.PATIENT else ZERO,
        paid=ZERO,
        refunded=ZERO,
        credited=amount,
        balance=ZERO,
        notes=reason,
        created_by_id=actor.id,
        issued_by_id=actor.id,
    )
    db.session.add(note)
    db.session.flush()
    db.session.add(
        InvoiceLine(
            invoice_id=note.id,
            line_no=1,
            service_code="CREDIT",
            description=f"Credit on invoice {invoice.number}: {reason}"[:200],
            quantity=1,
            unit_price=amount,
            net=amount,
            tax=ZERO,
            amount=amount,
            insurer_amount=note.insurer_part,
            patient_amount=note.patient_part,
        )
    )
    apply_movement(invoice, receivable, TransactionKind.CREDIT, amount, f"credit:{note.id}", clock.today())
    audit_invoice(
        actor, "credit", invoice, after={"credit_note": note.number, "amount": str(amount), "payer": payer.value}
    )
    return note
