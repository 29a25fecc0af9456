"""Claims tables: claims and their lines, the status history, every decision kept whole (the audit trail),
payments seen against claims, disputes with attachments, reconciliation records."""

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
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from blueprints.claims.engine.outcomes import LineOutcome
from medcover.dbtypes import MONEY, UtcDateTime, enum_column, one_of, utcnow
from medcover.extensions import db
from medcover.uploads import StoredFileColumns


class ClaimStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    REJECTED = "rejected"
    DISPUTED = "disputed"
    PAID = "paid"
    VOID = "void"


FINALISED = (ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED, ClaimStatus.PAID)
#: claims whose lines make a later line with the same member, provider, date and code a duplicate (R04)
STANDING = tuple(set(ClaimStatus) - {ClaimStatus.REJECTED, ClaimStatus.VOID, ClaimStatus.DRAFT})


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class ReconciliationStatus(enum.StrEnum):
    MATCHED = "matched"
    UNDERPAID = "underpaid"
    OVERPAID = "overpaid"
    UNPAID = "unpaid"
    UNCLAIMED = "unclaimed"


class Claim(db.Model):
    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint("total_billed >= 0 AND total_approved >= 0 AND total_paid >= 0", name="totals_not_negative"),
        CheckConstraint("total_approved <= total_billed", name="approved_within_billed"),
        #: the work queue, oldest first: a page read off the index in order; the count may read the index alone
        Index("ix_claims_company_status", "company_id", "status", "submitted_at", "id"),
        Index("ix_claims_institution_status", "institution_id", "status"),
        #: the claims lists, newest first, on each side: a page is the index's first rows, whatever the table's size
        Index("ix_claims_institution_newest", "institution_id", "id"),
        Index("ix_claims_company_newest", "company_id", "id"),
        Index("ix_claims_member_date", "member_number", "service_date"),
        #: V03 reads a provider's claims of one diagnosis category in the year before a service date
        Index("ix_claims_provider_category", "institution_id", "diagnosis_category", "service_date"),
        #: one claim per invoice: a voided claim makes room for its replacement
        Index(
            "uq_claims_one_per_invoice",
            "invoice_id",
            unique=True,
            sqlite_where=text("invoice_id IS NOT NULL AND status != 'void'"),
            postgresql_where=text("invoice_id IS NOT NULL AND status != 'void'"),
        ),
        #: one replacement per original: a voided replacement makes room for another
        Index(
            "uq_claims_one_replacement",
            "replaces_id",
            unique=True,
            sqlite_where=text("replaces_id IS NOT NULL AND status != 'void'"),
            postgresql_where=text("replaces_id IS NOT NULL AND status != 'void'"),
        ),
        CheckConstraint("replaces_id IS NULL OR replaces_id <> id", name="replaces_another"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``CL-2026-000042``, given at creation
    claim_number: Mapped[str | None] = mapped_column(String(30), unique=True)
    #: the provider
    institution_id: Mapped[int] = mapped_column(Integer)
    #: the insurer of the member (null when no member has the number: only the provider sees the claim)
    company_id: Mapped[int | None] = mapped_column(Integer)
    member_number: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[int | None] = mapped_column(Integer)
    patient_id: Mapped[int | None] = mapped_column(Integer)
    #: the invoice whose insurer part this claim bills
    invoice_id: Mapped[int | None] = mapped_column(Integer, index=True)
    service_date: Mapped[date] = mapped_column(Date)
    diagnosis_codes: Mapped[list] = mapped_column(JSON, default=list)
    #: the first three characters of the first diagnosis code, set when the claim is decided (V03)
    diagnosis_category: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus, "claim_status"), default=ClaimStatus.DRAFT)
    total_billed: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    total_approved: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    total_paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    #: the claim reached the scheme's review threshold: an adjudicator decides on the engine's proposal
    review: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the review triggers that sent it to review (V02, S01, V01, V03), kept once an adjudicator decides
    review_codes: Mapped[list | None] = mapped_column(JSON, default=list)
    #: what each trigger saw: S01's best match with its score and parts, V01's draw, V03's mean
    review_details: Mapped[dict | None] = mapped_column(JSON)
    #: the engine's total approved when it sent the claim to review (was the claim cut by the adjudicator?)
    proposed_approved: Mapped[Decimal | None] = mapped_column(MONEY)
    scheme_id: Mapped[int | None] = mapped_column(Integer)
    coverage_id: Mapped[int | None] = mapped_column(Integer)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    #: claim-level reason codes of the last decision (R01 ... or the lines' codes)
    reason_codes: Mapped[list] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: null when the engine decided
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: the claim this one replaces (ADJUDICATION.md, "Voids and replacements"): submitting this one voids it
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    #: why the provider voided the claim, who and when (null unless void)
    void_reason: Mapped[str | None] = mapped_column(String(300))
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(Integer)
    #: bumped by every change; two adjudicators deciding at once: the second finds it moved (409)
    version: Mapped[int] = mapped_column(Integer, default=1)


class ClaimItem(db.Model):
    """One line with the engine's (or the adjudicator's) amounts."""

    __tablename__ = "claim_items"
    __table_args__ = (
        UniqueConstraint("claim_id", "line_no", name="uq_claim_items_line_no"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("approved <= allowed OR decision IS NULL", name="approved_within_allowed"),
        CheckConstraint(one_of("decision", LineOutcome), name="decision_one_of"),
        Index("ix_claim_items_code", "service_code", "claim_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    service_code: Mapped[str] = mapped_column(String(30))
    benefit_code: Mapped[str | None] = mapped_column(String(30))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    preauth_code: Mapped[str | None] = mapped_column(String(20))
    billed: Mapped[Decimal] = mapped_column(MONEY)
    allowed: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    deductible: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    copay: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    approved: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    member_responsibility: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    #: approved / adjusted / rejected; null until decided
    decision: Mapped[str | None] = mapped_column(String(20))
    reason_codes: Mapped[list] = mapped_column(JSON, default=list)
    #: the adjudicator's note on a manual decision (M01, M02, M03)
    note: Mapped[str | None] = mapped_column(String(500))
    #: a rejected line that may be waived (M02): ``{"allowed", "deductible", "copay", "payable"}`` as if its rule
    #: had not fired, against the usage of the decision; null otherwise
    waivable: Mapped[dict | None] = mapped_column(JSON)


class ClaimStatusChange(db.Model):
    """The claim's status history, one row per transition (the timeline on the claim page)."""

    __tablename__ = "claim_statuses"
    __table_args__ = (
        CheckConstraint(one_of("from_status", ClaimStatus), name="from_status_one_of"),
        CheckConstraint(one_of("to_status", ClaimStatus), name="to_status_one_of"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: null: the engine or the system
    by_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))


class ClaimAuditTrail(db.Model):
    """Every decision kept whole: who or what decided, when, the rule codes and each line's amounts."""

    __tablename__ = "claim_audit_trails"
    __table_args__ = (CheckConstraint(one_of("status", ClaimStatus), name="status_one_of"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    #: engine, adjudicator, dispute
    source: Mapped[str] = mapped_column(String(20))
    by_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    total_approved: Mapped[Decimal] = mapped_column(MONEY)
    reason_codes: Mapped[list] = mapped_column(JSON, default=list)
    #: [{line_no, billed, allowed, deductible, copay, approved, decision, reason_codes, note}, ...]
    lines: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(500))


class ClaimPayment(db.Model):
    """Money the insurer paid on a claim, from ``payment.recorded`` events (applied once per source)."""

    __tablename__ = "claim_payments"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(Integer)
    company_id: Mapped[int | None] = mapped_column(Integer)
    #: negative for a refund or reversal
    amount: Mapped[Decimal] = mapped_column(MONEY)
    source: Mapped[str] = mapped_column(String(80), unique=True)
    paid_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Dispute(db.Model):
    __tablename__ = "disputes"
    __table_args__ = (
        Index("ix_disputes_company_status", "company_id", "status"),
        CheckConstraint(one_of("claim_status_before", ClaimStatus), name="claim_status_before_one_of"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    institution_id: Mapped[int] = mapped_column(Integer)
    company_id: Mapped[int | None] = mapped_column(Integer)
    #: provider or member
    raised_by_kind: Mapped[str] = mapped_column(String(20), default="provider")
    raised_by_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    #: the disputed lines (empty: the whole claim)
    line_nos: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[DisputeStatus] = mapped_column(
        enum_column(DisputeStatus, "dispute_status"), default=DisputeStatus.OPEN
    )
    #: the claim's status when the dispute opened, restored when it is dismissed
    claim_status_before: Mapped[str] = mapped_column(String(20))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DisputeAttachment(StoredFileColumns, db.Model):
    __tablename__ = "dispute_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id", ondelete="CASCADE"), index=True)


class ReconciliationRecord(db.Model):
    """One line of a reconciliation run: a claim and/or invoice of a provider in a period and how they match."""

    __tablename__ = "reconciliation_records"
    __table_args__ = (Index("ix_reconciliation_records_run", "run_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: all records of one run share it
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    institution_id: Mapped[int] = mapped_column(Integer)
    company_id: Mapped[int | None] = mapped_column(Integer)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    claim_id: Mapped[int | None] = mapped_column(Integer)
    invoice_id: Mapped[int | None] = mapped_column(Integer)
    claim_number: Mapped[str | None] = mapped_column(String(30))
    invoice_number: Mapped[str | None] = mapped_column(String(40))
    invoiced: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    approved: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    #: paid - approved (unclaimed: paid - invoiced)
    difference: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    status: Mapped[ReconciliationStatus] = mapped_column(enum_column(ReconciliationStatus, "reconciliation_status"))
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
