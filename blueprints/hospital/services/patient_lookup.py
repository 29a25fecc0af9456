"""Patients found by exact identifiers, name and date of birth, with their demographics: the FHIR
interface's Patient read and search. Limited to the tenant's institution; merged-away records left out of
searches. Other domains get ``PatientDemographics``, never rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from blueprints.hospital.models import Patient
from blueprints.hospital.services.patients import SEARCH_ORDER, patient_row, search_key
from medcover.paging import fetch_page
from medcover.rbac import Tenant, scope


@dataclass(frozen=True)
class PatientDemographics:
    id: int
    institution_id: int
    patient_number: str
    first_name: str
    last_name: str
    date_of_birth: date
    gender: str
    phone: str | None
    email: str | None
    national_id: str | None
    member_number: str | None
    #: merged into another registration (a duplicate): no longer in use
    merged: bool


def _demographics(row: Patient) -> PatientDemographics:
    return PatientDemographics(
        row.id,
        row.institution_id,
        row.patient_number,
        row.first_name,
        row.last_name,
        row.date_of_birth,
        row.gender,
        row.phone,
        row.email,
        row.national_id,
        row.member_number,
        row.merged_into_id is not None,
    )


def patient_demographics(tenant: Tenant, patient_id: int) -> PatientDemographics:
    """One patient of the tenant's (another hospital's is a 404)."""
    return _demographics(patient_row(tenant, patient_id))


def _prefix(column, text: str):
    return (column >= text) & (column < text + "\uffff")


def find_patients(
    tenant: Tenant,
    page: int,
    per_page: int,
    *,
    patient_number: str | None = None,
    national_id: str | None = None,
    member_number: str | None = None,
    name: str | None = None,
    birth_date: date | None = None,
) -> tuple[list[PatientDemographics], int]:
    """One page of the tenant's patients matching every criterion given, and how many match: numbers exactly
    (any case), ``name`` as the start of the first or last name (accents and case ignored), ``birth_date``
    exactly. Two queries whatever the page."""
    stmt = scope(select(Patient), Patient, tenant).where(Patient.merged_into_id.is_(None))
    if patient_number is not None:
        stmt = stmt.where(Patient.patient_number == patient_number.strip().upper()[:30])
    if national_id is not None:
        stmt = stmt.where(Patient.national_id == national_id.strip().upper()[:30])
    if member_number is not None:
        stmt = stmt.where(Patient.member_number == member_number.strip().upper()[:30])
    if name is not None:
        for word in search_key(name)[:60].split():
            stmt = stmt.where(or_(_prefix(Patient.first_name_key, word), _prefix(Patient.last_name_key, word)))
    if birth_date is not None:
        stmt = stmt.where(Patient.date_of_birth == birth_date)
    rows, total = fetch_page(stmt.order_by(*SEARCH_ORDER), page, per_page)
    return [_demographics(row) for row in rows], total
