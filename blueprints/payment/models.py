"""Payment tables: payments (append-only: a correction is a reversal row), refunds, payment methods,
settlements, agents with their commission rates and assignments, commissions accrued and paid."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from medcover.dbtypes import MONEY, UtcDateTime, enum_column, utcnow
from medcover.extensions import db


class PaymentKind(enum.StrEnum):
    INVOICE = "invoice"
    CLAIM = "claim"
    PREMIUM = "premium"


class MethodKind(enum.StrEnum):
    CASH = "cash"
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    MOBILE_MONEY = "mobile_money"
    CHEQUE = "cheque"


class RefundStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


class Payment(db.Model):
    """Money received. Never edited or deleted: a mistake is corrected by a reversal row (negative amount,
    ``reversal_of_id`` set) and money given back is a refund."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_payments_reference", "kind", "reference_id"),
        Index("ix_payments_institution", "institution_id", "paid_on"),
        Index("ix_payments_company", "company_id", "paid_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``PAY-2026-000042``
    number: Mapped[str | None] = mapped_column(String(30), unique=True)
    kind: Mapped[PaymentKind] = mapped_column(enum_column(PaymentKind, "payment_kind"))
    #: the invoice, claim or coverage paid for
    reference_id: Mapped[int] = mapped_column(Integer)
    #: patient, insurer, member or employer
    payer: Mapped[str] = mapped_column(String(20))
    #: the hospital receiving (invoices, claims); null for premiums
    institution_id: Mapped[int | None] = mapped_column(Integer)
    #: the insurer paying (claims, an invoice's insurer part) or receiving (premiums)
    company_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    method: Mapped[MethodKind] = mapped_column(enum_column(MethodKind, "method_kind"))
    #: what the clerk captured for the method: transfer reference, cheque number, card last four ...
    method_details: Mapped[dict] = mapped_column(JSON, default=dict)
    reference: Mapped[str | None] = mapped_column(String(80))
    #: the gateway adapter that took it (``manual``: the clerk confirmed it)
    gateway: Mapped[str] = mapped_column(String(20), default="manual")
    gateway_reference: Mapped[str | None] = mapped_column(String(80))
    paid_on: Mapped[date] = mapped_column(Date)
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)
    note: Mapped[str | None] = mapped_column(String(300))
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("financial_settlements.id"), index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(Integer)
    company_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(String(300))
    status: Mapped[RefundStatus] = mapped_column(enum_column(RefundStatus, "refund_status"))
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PaymentMethod(db.Model):
    """A way an institution or insurer takes money, and the adapter behind it."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        CheckConstraint("(institution_id IS NULL) <> (company_id IS NULL)", name="one_owner"),
        UniqueConstraint("institution_id", "company_id", "kind", "label", name="uq_payment_methods_label"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int | None] = mapped_column(Integer, index=True)
    company_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[MethodKind] = mapped_column(enum_column(MethodKind, "method_kind"))
    label: Mapped[str] = mapped_column(String(80))
    gateway: Mapped[str] = mapped_column(String(20), default="manual")
    #: e.g. the paybill number or the bank account shown to the clerk
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FinancialSettlement(db.Model):
    """One batch payment by an insurer to a provider for the approved claims of a period."""

    __tablename__ = "financial_settlements"
    __table_args__ = (CheckConstraint("total > 0", name="total_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(30), unique=True)
    company_id: Mapped[int] = mapped_column(Integer, index=True)
    institution_id: Mapped[int] = mapped_column(Integer, index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    claims: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(MONEY)
    method: Mapped[MethodKind] = mapped_column(enum_column(MethodKind, "method_kind"))
    reference: Mapped[str | None] = mapped_column(String(80))
    paid_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Agent(db.Model):
    """An agent or broker who sells an insurer's schemes."""

    __tablename__ = "commission_agents"
    __table_args__ = (UniqueConstraint("company_id", "code", name="uq_commission_agents_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CommissionRate(db.Model):
    """Percent of premium collected paid to the selling agent, per scheme, from a date."""

    __tablename__ = "commission_rates"
    __table_args__ = (
        UniqueConstraint("scheme_id", "effective_from", name="uq_commission_rates_from"),
        CheckConstraint("rate_percent >= 0 AND rate_percent <= 100", name="rate_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(Integer, index=True)
    scheme_id: Mapped[int] = mapped_column(Integer)
    rate_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    effective_from: Mapped[date] = mapped_column(Date)


class AgentAssignment(db.Model):
    """Which agent sold a coverage (commission on its premiums goes to them)."""

    __tablename__ = "agent_assignments"

    coverage_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("commission_agents.id"), index=True)
    company_id: Mapped[int] = mapped_column(Integer)
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Commission(db.Model):
    """Commission accrued on one premium payment (a reversal of the payment accrues a negative one)."""

    __tablename__ = "commissions"
    __table_args__ = (Index("ix_commissions_agent_open", "agent_id", "commission_payment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("commission_agents.id"))
    company_id: Mapped[int] = mapped_column(Integer, index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    scheme_id: Mapped[int] = mapped_column(Integer)
    premium: Mapped[Decimal] = mapped_column(MONEY)
    rate_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    accrued_on: Mapped[date] = mapped_column(Date)
    #: set once paid out in a batch
    commission_payment_id: Mapped[int | None] = mapped_column(ForeignKey("commission_payments.id"))


class CommissionPayment(db.Model):
    """A batch paying an agent the commissions accrued and not yet paid."""

    __tablename__ = "commission_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("commission_agents.id"), index=True)
    company_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    commissions: Mapped[int] = mapped_column(Integer)
    method: Mapped[MethodKind] = mapped_column(enum_column(MethodKind, "method_kind"))
    reference: Mapped[str | None] = mapped_column(String(80))
    paid_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
