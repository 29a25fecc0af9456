"""Hospital tables: institutions, personnel, patients, appointments, medical records and attachments,
clinical orders (pharmacy, lab, radiology) and pharmacy stock."""

from __future__ import annotations

import enum
from datetime import date, datetime

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

from medcover.dbtypes import UtcDateTime, enum_column, utcnow
from medcover.extensions import db
from medcover.uploads import StoredFileColumns

#: search keys compare byte-wise on PostgreSQL so that a prefix range uses the b-tree index
SEARCH_KEY = String(80).with_variant(String(80, collation="C"), "postgresql")


class PersonnelKind(enum.StrEnum):
    CLINICIAN = "clinician"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    LAB_TECHNICIAN = "lab_technician"
    RADIOGRAPHER = "radiographer"
    STAFF = "staff"


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


APPOINTMENT_TRANSITIONS: dict[AppointmentStatus, set[AppointmentStatus]] = {
    AppointmentStatus.BOOKED: {AppointmentStatus.CHECKED_IN, AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW},
    AppointmentStatus.CHECKED_IN: {AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED},
    AppointmentStatus.COMPLETED: set(),
    AppointmentStatus.CANCELLED: set(),
    AppointmentStatus.NO_SHOW: set(),
}
#: statuses that hold the clinician's and the room's time
HOLDING = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)


class OrderKind(enum.StrEnum):
    PHARMACY = "pharmacy"
    LAB = "lab"
    RADIOLOGY = "radiology"


class OrderStatus(enum.StrEnum):
    ORDERED = "ordered"
    DISPENSED = "dispensed"  # pharmacy
    RESULTED = "resulted"  # lab, radiology
    CANCELLED = "cancelled"


class MedicalInstitution(db.Model):
    __tablename__ = "medical_institutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: hospital, clinic, pharmacy, laboratory
    kind: Mapped[str] = mapped_column(String(20), default="hospital")
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MedicalPersonnel(db.Model):
    __tablename__ = "medical_personnel"
    __table_args__ = (UniqueConstraint("institution_id", "licence_number", name="uq_medical_personnel_licence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"), index=True)
    #: the staff user account, when the person signs in (core's id)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    full_name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[PersonnelKind] = mapped_column(enum_column(PersonnelKind, "personnel_kind"))
    specialty: Mapped[str | None] = mapped_column(String(80))
    licence_number: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(80), index=True)
    #: weekly hours: {"mon": ["08:00", "16:00"], ...}; days absent are off
    schedule: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


LIVE_NATIONAL_ID = "national_id IS NOT NULL AND merged_into_id IS NULL"
LIVE_MEMBER_NUMBER = "member_number IS NOT NULL AND merged_into_id IS NULL"


class Patient(db.Model):
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("institution_id", "patient_number", name="uq_patients_number"),
        Index("ix_patients_last_key", "institution_id", "last_name_key"),
        Index("ix_patients_first_key", "institution_id", "first_name_key"),
        Index("ix_patients_phone", "institution_id", "phone"),
        Index("ix_patients_national_id", "institution_id", "national_id"),
        Index("ix_patients_member_number", "institution_id", "member_number"),
        #: the global search of a platform user, who works across institutions
        Index("ix_patients_number", "patient_number"),
        #: one registration per person and hospital: a national id or a member number names one patient there
        #: (a record merged away keeps its values and steps aside)
        Index(
            "uq_patients_national_id",
            "institution_id",
            "national_id",
            unique=True,
            sqlite_where=text(LIVE_NATIONAL_ID),
            postgresql_where=text(LIVE_NATIONAL_ID),
        ),
        Index(
            "uq_patients_member_number",
            "institution_id",
            "member_number",
            unique=True,
            sqlite_where=text(LIVE_MEMBER_NUMBER),
            postgresql_where=text(LIVE_MEMBER_NUMBER),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"))
    #: the hospital's own number for the patient (e.g. H1-000123)
    patient_number: Mapped[str] = mapped_column(String(30))
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    #: lower-case, accent-free copies of the names, for indexed prefix search
    first_name_key: Mapped[str] = mapped_column(SEARCH_KEY)
    last_name_key: Mapped[str] = mapped_column(SEARCH_KEY)
    date_of_birth: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(10))
    #: digits only (with a leading + kept out), so "0722 000 111" and "0722000111" match
    phone: Mapped[str | None] = mapped_column(String(20).with_variant(String(20, collation="C"), "postgresql"))
    email: Mapped[str | None] = mapped_column(String(254))
    national_id: Mapped[str | None] = mapped_column(String(30).with_variant(String(30, collation="C"), "postgresql"))
    #: insurance member number (the insurance domain's), when the patient is insured
    member_number: Mapped[str | None] = mapped_column(String(30))
    #: set when this record was merged into another; merged records are hidden from search
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_clinician_time", "personnel_id", "starts_at"),
        Index("ix_appointments_day", "institution_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    personnel_id: Mapped[int] = mapped_column(ForeignKey("medical_personnel.id"))
    department: Mapped[str] = mapped_column(String(80))
    room: Mapped[str | None] = mapped_column(String(40))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_column(AppointmentStatus, "appointment_status"), default=AppointmentStatus.BOOKED
    )
    reason: Mapped[str | None] = mapped_column(String(300))
    #: the cover check made at check-in: when, the verdict and its reason codes
    coverage_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    coverage_eligible: Mapped[bool | None] = mapped_column(Boolean)
    coverage_reasons: Mapped[list | None] = mapped_column(JSON)
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MedicalRecord(db.Model):
    """One encounter: diagnoses (ICD-10), procedures and notes."""

    __tablename__ = "medical_records"
    __table_args__ = (Index("ix_medical_records_patient", "patient_id", "encounter_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    personnel_id: Mapped[int | None] = mapped_column(ForeignKey("medical_personnel.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    encounter_date: Mapped[date] = mapped_column(Date)
    #: ICD-10 codes, e.g. ["J06.9", "R50.9"]
    diagnoses: Mapped[list] = mapped_column(JSON, default=list)
    procedures: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordAttachment(StoredFileColumns, db.Model):
    """A file on a record, stored outside the web root under a generated name."""

    __tablename__ = "medical_record_attachments"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("medical_records.id", ondelete="CASCADE"), index=True)


class ClinicalOrder(db.Model):
    """A pharmacy, lab or radiology order from an encounter; fulfilling it bills a charge."""

    __tablename__ = "clinical_orders"
    __table_args__ = (
        Index("ix_clinical_orders_queue", "institution_id", "kind", "status"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("medical_records.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[OrderKind] = mapped_column(enum_column(OrderKind, "order_kind"))
    #: the tariff's service code billing will price it with (a drug, a test, an imaging study)
    service_code: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status"), default=OrderStatus.ORDERED)
    #: lab values ({"analyte": {"value", "unit", "range"}}) or {"report": text} for radiology
    result: Mapped[dict | None] = mapped_column(JSON)
    ordered_by_id: Mapped[int | None] = mapped_column(Integer)
    fulfilled_by_id: Mapped[int | None] = mapped_column(Integer)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PharmacyStock(db.Model):
    __tablename__ = "pharmacy_stock"
    __table_args__ = (
        UniqueConstraint("institution_id", "item_code", name="uq_pharmacy_stock_item"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("medical_institutions.id"), index=True)
    #: the same code as the order's service_code
    item_code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(20), default="unit")
    quantity: Mapped[int] = mapped_column(Integer, default=0)
