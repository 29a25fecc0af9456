"""Billing tables: tariffs, billing items, invoices and their lines, invoice number sequences, accounts
receivable per payer, the money billing has seen arrive (payment transactions) and billing settings."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from medcover.dbtypes import MONEY, PERCENT, UtcDateTime, enum_column, utcnow
from medcover.extensions import db


class ItemStatus(enum.StrEnum):
    UNBILLED = "unbilled"
    BILLED = "billed"
    CANCELLED = "cancelled"


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


class InvoiceKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Payer(enum.StrEnum):
    PATIENT = "patient"
    INSURER = "insurer"


class TransactionKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    CREDIT = "credit"


class ServiceTariff(db.Model):
    """One price of a service at an institution from a date. A new price is a new row; the previous row
    gets ``effective_to`` the day before, so invoices and claims priced earlier keep their price."""

    __tablename__ = "service_tariffs"
    __table_args__ = (
        UniqueConstraint("institution_id", "service_code", "effective_from", name="uq_service_tariffs_code_from"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="effective_dates_in_order"),
        Index("ix_service_tariffs_lookup", "institution_id", "service_code", "effective_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(Integer)
    service_code: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(200))
    #: the insurance benefit this service is claimed under (ADJUDICATION.md: "the line's benefit")
    benefit_code: Mapped[str] = mapped_column(String(30))
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    effective_from: Mapped[date] = mapped_column(Date)
    #: last day of this price; null while it is the current one
    effective_to: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BillingItem(db.Model):
    """Something billable done for a patient: from a hospital charge event or entered by a clerk."""

    __tablename__ = "billing_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        Index("ix_billing_items_patient_status", "institution_id", "patient_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int] = mapped_column(Integer)
    service_code: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(200))
    benefit_code: Mapped[str | None] = mapped_column(String(30))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    service_date: Mapped[date] = mapped_column(Date)
    #: where it came from, unique: ``order:<id>`` for a hospital order, ``manual:<uuid>`` for a clerk's entry;
    #: the same charge event arriving twice finds its row and bills once
    source: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[ItemStatus] = mapped_column(enum_column(ItemStatus, "item_status"), default=ItemStatus.UNBILLED)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Invoice(db.Model):
    """An invoice or a credit note. Amounts are kept on the row and moved only by the services:
    ``total`` = sum of the lines, ``balance`` = total - paid + refunded - credited."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("institution_id", "number", name="uq_invoices_institution_number"),
        CheckConstraint("total >= 0 AND paid >= 0 AND refunded >= 0 AND credited >= 0", name="amounts_not_negative"),
        CheckConstraint("round(insurer_part + patient_part, 2) = total", name="payer_split_adds_up"),
        CheckConstraint("round(total - paid + refunded - credited, 2) = balance", name="balance_adds_up"),
        Index("ix_invoices_institution_status", "institution_id", "status", "issued_on"),
        Index("ix_invoices_company_status", "company_id", "status"),
        #: the invoices lists, newest first, on each side: a page is the index's first rows, whatever the table's size
        Index("ix_invoices_institution_newest", "institution_id", "created_at", "id"),
        Index("ix_invoices_company_newest", "company_id", "created_at", "id"),
        Index("ix_invoices_patient", "patient_id"),
        #: the global search by number, for an insurer or a platform user (a hospital has the unique index)
        Index("ix_invoices_number", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int] = mapped_column(Integer)
    #: the insurer paying ``insurer_part`` (the patient's cover when the invoice was drafted); null: self-pay
    company_id: Mapped[int | None] = mapped_column(Integer)
    member_number: Mapped[str | None] = mapped_column(String(30))
    kind: Mapped[InvoiceKind] = mapped_column(enum_column(InvoiceKind, "invoice_kind"), default=InvoiceKind.INVOICE)
    #: a credit note's invoice
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    #: null while a draft; then from the institution's gap-free sequence:
    #: ``KNH-000042``, credit notes ``KNH-CN-000003``
    number: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[InvoiceStatus] = mapped_column(
        enum_column(InvoiceStatus, "invoice_status"), default=InvoiceStatus.DRAFT
    )
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    service_date: Mapped[date | None] = mapped_column(Date)
    issued_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    tax: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    insurer_part: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    patient_part: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    #: where the parts come from (ADJUDICATION.md "Estimates"): ``estimate`` (the engine's, nothing recorded),
    #: ``under_review`` (still the estimate, the claim is pending review), ``decided`` (the claim's decision);
    #: null: self-pay or not worked out yet
    split_basis: Mapped[str | None] = mapped_column(String(20))
    paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    refunded: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    #: credit notes issued against this invoice
    credited: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    balance: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    notes: Mapped[str | None] = mapped_column(String(500))
    void_reason: Mapped[str | None] = mapped_column(String(300))
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    issued_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        UniqueConstraint("invoice_id", "line_no", name="uq_invoice_lines_line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("round(net + tax, 2) = amount", name="amount_adds_up"),
        CheckConstraint("round(insurer_amount + patient_amount, 2) = amount", name="payer_split_adds_up"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    service_code: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(200))
    benefit_code: Mapped[str | None] = mapped_column(String(30))
    service_date: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    #: quantity x unit price
    net: Mapped[Decimal] = mapped_column(MONEY)
    tax: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    #: net + tax, what the line adds to the invoice
    amount: Mapped[Decimal] = mapped_column(MONEY)
    #: the insurer's expected share from the cover's terms (the claim decides the real one)
    insurer_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    patient_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    billing_item_id: Mapped[int | None] = mapped_column(ForeignKey("billing_items.id", ondelete="SET NULL"))


class InvoiceSequence(db.Model):
    """The next number per institution and series. Issuing increments it in the issuing transaction
    (a row lock on PostgreSQL), so numbers are never shared and a rolled-back issue leaves no gap."""

    __tablename__ = "invoice_sequences"

    institution_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``INV`` or ``CN``
    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    next_number: Mapped[int] = mapped_column(Integer, default=1)


class AccountReceivable(db.Model):
    """What one payer owes on one issued invoice: the patient's part and, when insured, the insurer's."""

    __tablename__ = "accounts_receivable"
    __table_args__ = (
        UniqueConstraint("invoice_id", "payer", name="uq_accounts_receivable_invoice_payer"),
        CheckConstraint("round(amount - paid + refunded - credited, 2) = balance", name="balance_adds_up"),
        Index("ix_accounts_receivable_aging", "institution_id", "payer", "company_id", "issued_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(Integer)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    payer: Mapped[Payer] = mapped_column(enum_column(Payer, "payer"))
    patient_id: Mapped[int] = mapped_column(Integer)
    #: the insurer, for the insurer's part
    company_id: Mapped[int | None] = mapped_column(Integer)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    refunded: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    credited: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    balance: Mapped[Decimal] = mapped_column(MONEY)


class PaymentTransaction(db.Model):
    """Billing's own record of money moving on an invoice, fed by payment events (idempotent by source)."""

    __tablename__ = "payment_transactions"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    kind: Mapped[TransactionKind] = mapped_column(enum_column(TransactionKind, "transaction_kind"))
    payer: Mapped[Payer] = mapped_column(enum_column(Payer, "payer"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    #: ``payment:<id>`` / ``refund:<id>`` / ``credit:<invoice id>``: the same event twice is applied once
    source: Mapped[str] = mapped_column(String(80), unique=True)
    method: Mapped[str | None] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(80))
    occurred_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BillingSettings(db.Model):
    """Per institution: how its invoices are numbered, taxed, due and paid."""

    __tablename__ = "billing_settings"
    __table_args__ = (
        CheckConstraint("tax_percent >= 0 AND tax_percent <= 100", name="tax_percent_range"),
        CheckConstraint("payment_terms_days >= 0", name="payment_terms_not_negative"),
    )

    institution_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: letters and digits before the number: ``KNH`` gives ``KNH-000042``
    invoice_prefix: Mapped[str] = mapped_column(String(12))
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    tax_percent: Mapped[Decimal] = mapped_column(PERCENT, default=Decimal("0.00"))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    bank_name: Mapped[str | None] = mapped_column(String(120))
    bank_account: Mapped[str | None] = mapped_column(String(40))
    bank_branch: Mapped[str | None] = mapped_column(String(80))
    #: free text printed on the invoice (M-Pesa paybill, where to pay ...)
    payment_instructions: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
