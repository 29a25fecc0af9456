"""Money on invoices from payment events: each payment, refund or credit recorded once (by its source) and
moved onto the invoice's and the payer's balances.

Amounts on an invoice are moved only by billing: ``total`` = sum of line amounts, ``balance`` = total - paid +
refunded - credited, and the database checks both.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from blueprints.billing.models import (
    AccountReceivable,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payer,
    PaymentTransaction,
    TransactionKind,
)
from medcover import clock
from medcover.extensions import db
from medcover.money import money
from medcover.rbac import Tenant, ensure_owned


def locked_invoice(tenant: Tenant, invoice_id: int) -> Invoice:
    invoice = (
        db.session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update()) if invoice_id else None
    )
    ensure_owned(tenant, invoice)
    db.session.refresh(invoice)
    return invoice


def receivable_of(invoice_id: int, payer: Payer) -> AccountReceivable | None:
    return db.session.scalar(
        select(AccountReceivable).where(AccountReceivable.invoice_id == invoice_id, AccountReceivable.payer == payer)
    )


def apply_movement(
    invoice, receivable, kind: TransactionKind, amount: Decimal, source: str, day: date, **extra
) -> bool:
    """Record one movement once (by source) and move the invoice's and the payer's balances."""
    if db.session.scalar(select(PaymentTransaction.id).where(PaymentTransaction.source == source)):
        return False
    payer = receivable.payer if receivable is not None else Payer(extra.pop("payer", Payer.PATIENT))
    extra.pop("payer", None)
    db.session.add(
        PaymentTransaction(
            institution_id=invoice.institution_id,
            invoice_id=invoice.id,
            kind=kind,
            payer=payer,
            amount=amount,
            source=source,
            occurred_on=day,
            **extra,
        )
    )
    column = {TransactionKind.PAYMENT: "paid", TransactionKind.REFUND: "refunded", TransactionKind.CREDIT: "credited"}[
        kind
    ]
    for row, total_field in ((invoice, "total"), (receivable, "amount")):
        if row is None:
            continue
        setattr(row, column, money(getattr(row, column) + amount))
        row.balance = money(getattr(row, total_field) - row.paid + row.refunded - row.credited)
    if invoice.kind is InvoiceKind.INVOICE and invoice.status is not InvoiceStatus.VOID:
        target = (
            InvoiceStatus.PAID
            if invoice.balance <= 0
            else InvoiceStatus.PARTIALLY_PAID
            if invoice.paid - invoice.refunded + invoice.credited > 0
            else InvoiceStatus.ISSUED
        )
        invoice.status = target
    db.session.flush()
    return True


def record_payment_event(event_id: int, payload: dict) -> None:
    """Subscriber of ``payment.recorded``: money received on an invoice (patient or insurer)."""
    if not payload.get("invoice_id"):
        return  # a premium, or a claim payment without an invoice: nothing billing holds
    invoice = locked_invoice(Tenant(None, None), int(payload["invoice_id"]))
    payer = Payer(payload.get("payer") or Payer.PATIENT.value)
    apply_movement(
        invoice,
        receivable_of(invoice.id, payer),
        TransactionKind.PAYMENT,
        money(str(payload["amount"])),
        f"payment:{payload.get('payment_id') or event_id}",
        date.fromisoformat(payload.get("paid_on") or clock.today().isoformat()),
        payer=payer.value,
        method=payload.get("method"),
        reference=(payload.get("reference") or None) and str(payload["reference"])[:80],
    )


def record_refund_event(event_id: int, payload: dict) -> None:
    """Subscriber of ``refund.recorded``: money given back on an invoice."""
    if not payload.get("invoice_id"):
        return
    invoice = locked_invoice(Tenant(None, None), int(payload["invoice_id"]))
    payer = Payer(payload.get("payer") or Payer.PATIENT.value)
    apply_movement(
        invoice,
        receivable_of(invoice.id, payer),
        TransactionKind.REFUND,
        money(str(payload["amount"])),
        f"refund:{payload.get('refund_id') or event_id}",
        date.fromisoformat(payload.get("refunded_on") or clock.today().isoformat()),
        payer=payer.value,
    )
