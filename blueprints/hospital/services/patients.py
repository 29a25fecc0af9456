"""Patients: intake (register, correct), the reads pages and other domains make, search and likely
duplicates at the desk, the insurance cover of the day, and merging a duplicate registration.

Other domains get ``PatientSummary`` (``get_patient``, ``patients_by_id``, ``first_patients``); the hospital's
own pages and API work on the row (``patient_row``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select, union, update
from sqlalchemy.exc import IntegrityError

from blueprints.core import services as core
from blueprints.hospital.models import Appointment, ClinicalOrder, MedicalInstitution, MedicalRecord, Patient
from blueprints.hospital.services import duplicates, fields, institutions
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.audit import changes, snapshot
from medcover.bulk import among_param
from medcover.errors import Conflict, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.paging import plain_rows
from medcover.rbac import Tenant, scope, tenant_of

GENDERS = ("female", "male", "other", "unknown")
PATIENT_FIELDS = (
    "patient_number",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "phone",
    "email",
    "national_id",
    "member_number",
)
SEARCH_LIMIT = 20
#: no spaces, separators, angle brackets or control characters (PostgreSQL refuses NUL in text)
EMAIL = re.compile(r"[^@\s,;<>\x00-\x1f\x7f]+@[^@\s,;<>\x00-\x1f\x7f]+\.[^@\s,;<>\x00-\x1f\x7f]+")


def search_key(text: str) -> str:
    """Lower-case, accents stripped, spaces folded: 'Zoë  Ñandú' -> 'zoe nandu'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())[:80]


@dataclass
class PatientDetails:
    first_name: str
    last_name: str
    date_of_birth: date
    gender: str
    phone: str | None = None
    email: str | None = None
    national_id: str | None = None
    member_number: str | None = None


@dataclass(frozen=True)
class PatientSummary:
    """A patient as invoices, claims, payments and notices name and reach them."""

    id: int
    institution_id: int
    patient_number: str
    first_name: str
    last_name: str
    member_number: str | None
    phone: str | None
    email: str | None


#: a PatientSummary's columns, in its fields' order: batch reads build summaries from rows, not whole patients
_SUMMARY_COLUMNS = (
    Patient.id,
    Patient.institution_id,
    Patient.patient_number,
    Patient.first_name,
    Patient.last_name,
    Patient.member_number,
    Patient.phone,
    Patient.email,
)
#: made once: list pages name their rows' patients by it (a new statement object costs its cache key again)
_SUMMARIES_BY_ID = select(*_SUMMARY_COLUMNS).where(among_param(Patient.id, "ids"))


def _summary(row: Patient) -> PatientSummary:
    return PatientSummary(*(getattr(row, column.key) for column in _SUMMARY_COLUMNS))


def _patient_values(details: PatientDetails) -> dict:
    if not isinstance(details.date_of_birth, date):
        raise Invalid.field("date_of_birth", "Enter a date (YYYY-MM-DD).")
    if details.date_of_birth > clock.today() or details.date_of_birth.year < 1900:
        raise Invalid.field("date_of_birth", "Enter a real date of birth.")
    gender = (details.gender or "").strip().lower()
    if gender not in GENDERS:
        raise Invalid.field("gender", "Choose female, male, other or unknown.")
    email = (details.email or "").strip().lower() or None
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        raise Invalid.field("email", "Enter a valid email address.")
    national_id = re.sub(r"\s", "", details.national_id or "").upper() or None
    if national_id and not re.fullmatch(r"[A-Z0-9/-]{4,30}", national_id):
        raise Invalid.field("national_id", "Use 4 to 30 letters, digits, / or -.")
    member_number = (details.member_number or "").strip().upper() or None
    if member_number and not re.fullmatch(r"[A-Z0-9][A-Z0-9/_.-]{0,29}", member_number):
        raise Invalid.field("member_number", "Use 1 to 30 letters, digits, / . _ or -.")
    first, last = fields.name(details.first_name, "first_name"), fields.name(details.last_name, "last_name")
    return {
        "first_name": first,
        "last_name": last,
        "first_name_key": search_key(first),
        "last_name_key": search_key(last),
        "date_of_birth": details.date_of_birth,
        "gender": gender,
        "phone": fields.phone(details.phone),
        "email": email,
        "national_id": national_id,
        "member_number": member_number,
    }


def _next_patient_number(institution: MedicalInstitution) -> str:
    count = db.session.scalar(select(func.count()).where(Patient.institution_id == institution.id)) or 0
    return f"{institution.code}-{count + 1:06d}"


def register_patient(
    *, actor, institution_id: int, details: PatientDetails, different_person_reason: str | None = None
) -> Patient:
    """A new patient of the hospital. The same national id or member number there is refused (409 naming the
    patient); the same name and date of birth needs ``different_person_reason`` (None: not confirmed)."""
    institution = institutions.institution_for_write(actor, institution_id)
    values = _patient_values(details)
    duplicates.refuse_duplicates(institution.id, values)
    lookalikes, reason = duplicates.confirmed_different(institution.id, values, different_person_reason)
    for _attempt in range(5):  # two clerks registering at once may race for a number: take the next
        savepoint = db.session.begin_nested()
        try:
            patient = Patient(institution_id=institution.id, patient_number=_next_patient_number(institution), **values)
            db.session.add(patient)
            db.session.flush()
            savepoint.commit()
            break
        except IntegrityError:
            savepoint.rollback()
            # the other clerk may have registered this very person: say so rather than retry a number
            duplicates.refuse_duplicates(institution.id, values)
    else:
        raise Conflict("Could not number the patient; try again.")
    after = {"patient_number": patient.patient_number}
    if lookalikes:
        after |= {"different_person_from": [p.patient_number for p in lookalikes], "reason": reason}
    core.record_audit(actor, "create", "patient", patient.id, after=after, institution_id=institution.id)
    return patient


def update_patient(*, actor, patient_id: int, details: PatientDetails) -> Patient:
    patient = patient_row(tenant_of(actor), patient_id)
    institutions.institution_for_write(actor, patient.institution_id)
    before = snapshot(patient, PATIENT_FIELDS)
    values = _patient_values(details)
    duplicates.refuse_duplicates(patient.institution_id, values, exclude_id=patient.id)
    for key, value in values.items():
        setattr(patient, key, value)
    db.session.flush()
    old, new = changes(before, snapshot(patient, PATIENT_FIELDS))
    if new:
        # Field names only: the values are personal data and the audit log is widely readable.
        core.record_audit(
            actor,
            "update",
            "patient",
            patient.id,
            after={"changed": sorted(new)},
            institution_id=patient.institution_id,
        )
    return patient


def patient_row(tenant: Tenant, patient_id: int) -> Patient:
    """The patient's row, for the hospital's own pages, forms and changes (other domains: ``get_patient``)."""
    patient = db.session.get(Patient, patient_id) if patient_id else None
    if patient is None:
        raise NotFound("No such patient.")
    if not tenant.owns(patient.institution_id, None):
        raise Hidden("No such patient.", record=f"patient {patient_id}")
    return patient


def audit_patient_read(actor, shown, what: str) -> None:
    """One audit entry for the patients whose demographics a person is shown (a page, the API, a PDF, a
    CSV): their patient numbers and nothing else about them. ``shown`` is one patient (row or summary) or
    several; ``what`` says where ("patient page", "invoice INV-HA-2026-000012 PDF")."""
    if actor is None:
        return
    if not isinstance(shown, list | tuple | set):
        core.record_audit(
            actor,
            "read",
            "patient",
            shown.id,
            summary=f"{what}: patient {shown.patient_number}",
            institution_id=shown.institution_id,
        )
        return
    numbers = sorted({p.patient_number for p in shown})
    if not numbers:
        return
    institutions = {p.institution_id for p in shown}
    core.record_audit(
        actor,
        "read",
        "patient",
        None,
        summary=f"{what}: {len(numbers)} patients",
        after={"patients": numbers},
        institution_id=institutions.pop() if len(institutions) == 1 else actor.institution_id,
        company_id=actor.company_id,
    )


def get_patient(tenant: Tenant, patient_id: int) -> PatientSummary:
    return _summary(patient_row(tenant, patient_id))


def patient_by_number(tenant: Tenant, patient_number: str) -> Patient:
    """The tenant's patient with this hospital number (as printed on the card), merged or not."""
    number = (patient_number or "").strip().upper()[:30]
    stmt = scope(select(Patient), Patient, tenant).where(Patient.patient_number == number)
    patient = db.session.scalars(stmt.limit(1)).first() if number else None
    if patient is None:
        raise NotFound("No such patient.")
    return patient


def patients_numbered(tenant: Tenant, number: str) -> list[PatientSummary]:
    """The global search's read: the tenant's patients (not merged away) with exactly this hospital number, or
    at a hospital this insurance member number, in any case. One query on the (institution, number) indexes,
    or on the number alone for a platform user."""
    number = (number or "").strip().upper()
    if not number or len(number) > 30:
        return []
    ids = scope(select(Patient.id), Patient, tenant).where(Patient.patient_number == number)
    if tenant.institution_id is not None:
        # A union, not an OR: each half keeps its own index whatever the planner knows of the table.
        ids = union(ids, scope(select(Patient.id), Patient, tenant).where(Patient.member_number == number))
    stmt = select(Patient).where(Patient.id.in_(ids), Patient.merged_into_id.is_(None))
    return [_summary(p) for p in db.session.scalars(stmt.order_by(Patient.id).limit(SEARCH_LIMIT))]


def patients_by_id(ids) -> dict[int, PatientSummary]:
    """Batch form for pages and other domains: many patients in one query."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    found = plain_rows(_SUMMARIES_BY_ID, {"ids": sorted(ids)})
    return {row.id: PatientSummary(*row) for row in found}


def first_patients(institution_id: int, limit: int) -> list[PatientSummary]:
    """The institution's earliest registered patients (not merged away): demo seeds and samples."""
    stmt = (
        select(Patient)
        .where(Patient.institution_id == institution_id, Patient.merged_into_id.is_(None))
        .order_by(Patient.id)
        .limit(limit)
    )
    return [_summary(p) for p in db.session.scalars(stmt)]


def _prefix(column, text: str):
    # A range, not LIKE: it uses the b-tree index on SQLite and PostgreSQL alike.
    return (column >= text) & (column < text + "\uffff")


SEARCH_ORDER = (Patient.last_name_key, Patient.first_name_key, Patient.id)


def patients_query(tenant: Tenant):
    """The tenant's patients by name, merged records left out: a statement for the API's paging."""
    stmt = scope(select(Patient), Patient, tenant).where(Patient.merged_into_id.is_(None))
    return stmt.order_by(*SEARCH_ORDER)


def search_patients(tenant: Tenant, query: str, limit: int = SEARCH_LIMIT) -> list[Patient]:
    """Patients whose name, phone, national id, member or patient number starts with what was typed."""
    text = search_key(query)[:60]
    if len(text) < 2:
        return []
    stmt = scope(select(Patient), Patient, tenant).where(Patient.merged_into_id.is_(None))
    compact = re.sub(r"[\s\-().+]", "", text)
    if compact.isdigit():
        stmt = stmt.where(or_(_prefix(Patient.phone, compact), _prefix(Patient.national_id, compact)))
    elif re.fullmatch(r"[a-z0-9/_.-]+", text) and any(ch.isdigit() for ch in text):
        upper = text.upper()
        stmt = stmt.where(
            or_(_prefix(Patient.national_id, upper), Patient.member_number == upper, Patient.patient_number == upper)
        )
    else:
        words = text.split()
        if len(words) == 1:
            # One range per index, each limited, in one statement: as one OR, PostgreSQL walks
            # ix_patients_last_key in order for the ORDER BY and filters row by row (200 ms for a rare surname
            # among 200,000 patients).
            ids = stmt.with_only_columns(Patient.id)
            parts = [
                ids.where(_prefix(column, words[0])).order_by(*SEARCH_ORDER).limit(limit).subquery()
                for column in (Patient.last_name_key, Patient.first_name_key)
            ]
            stmt = select(Patient).where(Patient.id.in_(union(*(select(part.c.id) for part in parts))))
        else:
            a, b = words[0], " ".join(words[1:])
            stmt = stmt.where(
                or_(
                    _prefix(Patient.first_name_key, a) & _prefix(Patient.last_name_key, b),
                    _prefix(Patient.last_name_key, a) & _prefix(Patient.first_name_key, b),
                )
            )
    return list(db.session.scalars(stmt.order_by(*SEARCH_ORDER).limit(limit)))


def likely_duplicates(tenant: Tenant, details: PatientDetails, limit: int = 5) -> list[Patient]:
    """Existing patients that look like the one being registered: same national id or phone, or the same
    name and date of birth."""
    conditions = []
    if details.national_id:
        conditions.append(Patient.national_id == re.sub(r"\s", "", details.national_id).upper())
    phone = re.sub(r"[\s\-().+]", "", details.phone or "")
    if phone:
        conditions.append(Patient.phone == phone)
    if details.first_name and details.last_name and isinstance(details.date_of_birth, date):
        conditions.append(
            (Patient.last_name_key == search_key(details.last_name))
            & (Patient.first_name_key == search_key(details.first_name))
            & (Patient.date_of_birth == details.date_of_birth)
        )
    if not conditions:
        return []
    stmt = scope(select(Patient), Patient, tenant).where(Patient.merged_into_id.is_(None), or_(*conditions))
    return list(db.session.scalars(stmt.limit(limit)))


def cover_for(patient: Patient | PatientSummary, day: date | None = None) -> insurance.Verification | None:
    """The insurance verdict for the patient's member number on a day (today by default)."""
    if not patient.member_number:
        return None
    return insurance.verify(patient.member_number, day or clock.today())


def merge_patients(*, actor, keep_id: int, duplicate_id: int) -> Patient:
    """Fold a duplicate registration into the kept one: its appointments, records and orders move over,
    and the duplicate is hidden from search (kept, marked merged, for the audit trail)."""
    if keep_id == duplicate_id:
        raise Invalid.field("duplicate_id", "Choose two different patients.")
    tenant = tenant_of(actor)
    keep, duplicate = patient_row(tenant, keep_id), patient_row(tenant, duplicate_id)
    institutions.institution_for_write(actor, keep.institution_id)
    if keep.institution_id != duplicate.institution_id:
        raise Invalid.field("duplicate_id", "Both records must belong to the same institution.")
    if keep.merged_into_id or duplicate.merged_into_id:
        raise Conflict("One of these records was already merged.")
    moved = {}
    for model in (Appointment, MedicalRecord, ClinicalOrder):
        result = db.session.execute(
            update(model).where(model.patient_id == duplicate.id).values(patient_id=keep.id),
            # "evaluate": rows already loaded in this session (the page's list) show their new patient too
            execution_options={"synchronize_session": "evaluate"},
        )
        moved[model.__tablename__] = result.rowcount or 0
    duplicate.merged_into_id = keep.id
    db.session.flush()  # the duplicate steps aside first: its national id may pass to the kept record
    for field in ("phone", "email", "national_id", "member_number"):
        if getattr(keep, field) is None and getattr(duplicate, field) is not None:
            setattr(keep, field, getattr(duplicate, field))
    db.session.flush()
    core.record_audit(
        actor,
        "merge",
        "patient",
        keep.id,
        before={"merged": duplicate.patient_number},
        after={"kept": keep.patient_number, **moved},
        institution_id=keep.institution_id,
    )
    return keep
