"""Insurance tables: insurers, schemes and benefit terms, premium rates, members, coverages, pre-authorisations."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
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


class SchemeStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class CoverageStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    LAPSED = "lapsed"
    CANCELLED = "cancelled"


class MemberType(enum.StrEnum):
    PRINCIPAL = "principal"
    DEPENDANT = "dependant"


class PreauthStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"


#: allowed coverage status changes: suspend, reinstate, cancel, lapse
COVERAGE_TRANSITIONS: dict[CoverageStatus, set[CoverageStatus]] = {
    CoverageStatus.ACTIVE: {CoverageStatus.SUSPENDED, CoverageStatus.CANCELLED, CoverageStatus.LAPSED},
    CoverageStatus.SUSPENDED: {CoverageStatus.ACTIVE, CoverageStatus.CANCELLED, CoverageStatus.LAPSED},
    CoverageStatus.LAPSED: set(),
    CoverageStatus.CANCELLED: set(),
}
SCHEME_TRANSITIONS: dict[SchemeStatus, set[SchemeStatus]] = {
    SchemeStatus.DRAFT: {SchemeStatus.ACTIVE},
    SchemeStatus.ACTIVE: {SchemeStatus.RETIRED},
    SchemeStatus.RETIRED: set(),
}


class Company(db.Model):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: how a member number left blank at enrolment is made: {code} and {seq} (e.g. "{code}-{seq:06d}");
    #: null: the default pattern
    member_number_pattern: Mapped[str | None] = mapped_column(String(60))
    #: the last sequence number handed out by the pattern (bumped in one UPDATE, so two enrolments never share one)
    member_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Scheme(db.Model):
    __tablename__ = "schemes"
    __table_args__ = (
        UniqueConstraint("company_id", "code", name="uq_schemes_company_code"),
        CheckConstraint("annual_limit IS NULL OR annual_limit >= 0", name="annual_limit_not_negative"),
        CheckConstraint("deductible >= 0", name="deductible_not_negative"),
        CheckConstraint("timely_filing_days > 0", name="timely_filing_positive"),
        CheckConstraint("review_threshold IS NULL OR review_threshold >= 0", name="review_threshold_not_negative"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="effective_dates_in_order"),
        CheckConstraint("review_sample_percent BETWEEN 0 AND 100", name="review_sample_percent_range"),
        CheckConstraint("duplicate_window_days BETWEEN 0 AND 365", name="duplicate_window_days_range"),
        CheckConstraint("duplicate_score_threshold BETWEEN 1 AND 100", name="duplicate_score_threshold_range"),
        CheckConstraint("variance_factor IS NULL OR variance_factor > 0", name="variance_factor_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    #: unique within the company; a new year's version gets a new code (e.g. GOLD-2027)
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3), default="KES")
    status: Mapped[SchemeStatus] = mapped_column(
        enum_column(SchemeStatus, "scheme_status"), default=SchemeStatus.ACTIVE
    )
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    #: per member per benefit period, across all benefits; null: no limit
    annual_limit: Mapped[Decimal | None] = mapped_column(MONEY)
    #: per member per benefit period
    deductible: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    timely_filing_days: Mapped[int] = mapped_column(Integer, default=180)
    #: claims billing this much or more go to an adjudicator; null: never
    review_threshold: Mapped[Decimal | None] = mapped_column(MONEY)
    #: the share of claims (0-100) drawn for review at random, reproducibly from the claim number (V01)
    review_sample_percent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: days either side of a claim's service date in which the member's other claims are compared (S01)
    duplicate_window_days: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    #: the score (of 100) at which a nearby claim makes this one a suspect duplicate (S01)
    duplicate_score_threshold: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    #: a claim billing more than this many times the provider's mean for its diagnosis category is an outlier
    #: (V03); null: never
    variance_factor: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    #: the scheme this one was cloned from (last year's version)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("schemes.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BenefitCategory(db.Model):
    __tablename__ = "benefit_categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Benefit(db.Model):
    __tablename__ = "benefits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    category_id: Mapped[int] = mapped_column(ForeignKey("benefit_categories.id"), index=True)


class SchemeBenefit(db.Model):
    """A benefit's terms in a scheme (ADJUDICATION.md)."""

    __tablename__ = "scheme_benefits"
    __table_args__ = (
        UniqueConstraint("scheme_id", "benefit_id", name="uq_scheme_benefits_scheme_benefit"),
        CheckConstraint("annual_limit IS NULL OR annual_limit >= 0", name="annual_limit_not_negative"),
        CheckConstraint("per_visit_limit IS NULL OR per_visit_limit >= 0", name="per_visit_limit_not_negative"),
        CheckConstraint("copay_percent >= 0 AND copay_percent <= 100", name="copay_percent_range"),
        CheckConstraint("copay_fixed >= 0", name="copay_fixed_not_negative"),
        CheckConstraint("waiting_period_days >= 0", name="waiting_not_negative"),
        CheckConstraint("max_visits IS NULL OR max_visits >= 1", name="max_visits_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id", ondelete="CASCADE"), index=True)
    benefit_id: Mapped[int] = mapped_column(ForeignKey("benefits.id"), index=True)
    covered: Mapped[bool] = mapped_column(Boolean, default=True)
    annual_limit: Mapped[Decimal | None] = mapped_column(MONEY)
    per_visit_limit: Mapped[Decimal | None] = mapped_column(MONEY)
    copay_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    copay_fixed: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    #: days from the coverage start before this benefit pays
    waiting_period_days: Mapped[int] = mapped_column(Integer, default=0)
    requires_preauth: Mapped[bool] = mapped_column(Boolean, default=False)
    #: visits (finalised claims) per benefit period; null: no limit
    max_visits: Mapped[int | None] = mapped_column(Integer)


class PremiumRate(db.Model):
    __tablename__ = "premium_rates"
    __table_args__ = (
        Index("ix_premium_rates_lookup", "scheme_id", "member_type", "age_from"),
        CheckConstraint("age_from >= 0 AND age_to >= age_from AND age_to <= 130", name="age_band_valid"),
        CheckConstraint("annual_amount >= 0", name="amount_not_negative"),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="effective_dates_in_order"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id", ondelete="CASCADE"), index=True)
    member_type: Mapped[MemberType] = mapped_column(enum_column(MemberType, "member_type"))
    #: inclusive ages at the cover's start
    age_from: Mapped[int] = mapped_column(Integer)
    age_to: Mapped[int] = mapped_column(Integer)
    annual_amount: Mapped[Decimal] = mapped_column(MONEY)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)


class Member(db.Model):
    __tablename__ = "members"
    __table_args__ = (Index("ix_members_name", "last_name", "first_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_number: Mapped[str] = mapped_column(String(30), unique=True)
    #: the insurer the member is enrolled with (tenant)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(10))
    #: null for a principal; a dependant points at the principal member
    principal_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Coverage(db.Model):
    __tablename__ = "coverages"
    __table_args__ = (
        Index("ix_coverages_member_dates", "member_id", "start_date", "end_date"),
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    #: inclusive
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[CoverageStatus] = mapped_column(
        enum_column(CoverageStatus, "coverage_status"), default=CoverageStatus.ACTIVE
    )
    #: the coverage this one renews
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("coverages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Preauthorization(db.Model):
    __tablename__ = "preauthorizations"
    __table_args__ = (CheckConstraint("valid_to >= valid_from", name="dates_in_order"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the code a provider quotes on the claim line
    code: Mapped[str] = mapped_column(String(20), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    benefit_id: Mapped[int] = mapped_column(ForeignKey("benefits.id"))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    status: Mapped[PreauthStatus] = mapped_column(
        enum_column(PreauthStatus, "preauth_status"), default=PreauthStatus.REQUESTED
    )
    notes: Mapped[str | None] = mapped_column(Text)
    #: the hospital that asked; null when the insurer recorded it
    requested_by_institution_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: the user who asked (hospital staff) or recorded it (insurer staff); null for rows older than the column
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    decided_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
