"""The hospital domain's public face: institutions, personnel, patients (intake, search, merge) and
appointments. Medical records and attachments are in ``records.py``; pharmacy, lab and radiology orders
in ``orders.py``.

Every read and write is limited to the acting user's institution (platform admins see all).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from blueprints.core import services as core
from blueprints.hospital.models import (
    APPOINTMENT_TRANSITIONS,
    HOLDING,
    Appointment,
    AppointmentStatus,
    ClinicalOrder,
    MedicalInstitution,
    MedicalPersonnel,
    MedicalRecord,
    Patient,
    PersonnelKind,
)
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.audit import changes, snapshot
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import publish
from medcover.extensions import db
from medcover.rbac import Tenant, scope, tenant_of

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$")
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


def _name(value: str, field: str, limit: int = 80) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise Invalid.field(field, "This field is required.")
    if len(value) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(unicodedata.category(c) == "Cc" for c in value) or "<" in value or ">" in value:
        raise Invalid.field(field, "Use letters, spaces and punctuation only (no < or >).")
    return value


def _free_text(value: str | None, field: str, limit: int) -> str | None:
    """Optional free text (a reason, an address): trimmed, cut to ``limit``; control characters other than line
    breaks and tabs refused (PostgreSQL cannot store NUL)."""
    value = (value or "").strip()[:limit]
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
        raise Invalid.field(field, "Remove the control characters.")
    return value or None


def search_key(text: str) -> str:
    """Lower-case, accents stripped, spaces folded: 'Zoë  Ñandú' -> 'zoe nandu'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())[:80]


def _phone(value: str | None, field: str = "phone") -> str | None:
    if not value:
        return None
    digits = re.sub(r"[\s\-().]", "", value)
    if not re.fullmatch(r"\+?[0-9]{7,15}", digits):
        raise Invalid.field(field, "Use 7 to 15 digits, with an optional +.")
    return digits.lstrip("+")


def _institution_for_write(actor, institution_id: int) -> MedicalInstitution:
    institution = db.session.get(MedicalInstitution, institution_id) if institution_id else None
    tenant = tenant_of(actor)
    if institution is None or not tenant.owns(institution.id, None):
        raise NotFound("No such institution.")
    if not tenant.is_global and tenant.institution_id != institution.id:
        raise Forbidden("You can change your own institution's records only.")
    return institution


# --- institutions --------------------------------------------------------------------------------


def create_institution(
    *, actor, code: str, name: str, kind: str = "hospital", phone: str | None = None, address: str | None = None
) -> MedicalInstitution:
    if not tenant_of(actor).is_global:
        raise Forbidden("Only platform administrators add institutions.")
    code = (code or "").strip()
    if not CODE.match(code):
        raise Invalid.field("code", "Use 1 to 20 letters, digits, dots, dashes or underscores.")
    if kind not in ("hospital", "clinic", "pharmacy", "laboratory"):
        raise Invalid.field("kind", "Choose hospital, clinic, pharmacy or laboratory.")
    if db.session.scalar(select(MedicalInstitution.id).where(func.lower(MedicalInstitution.code) == code.lower())):
        raise Conflict("That code is taken.", {"code": ["Another institution uses this code."]})
    institution = MedicalInstitution(
        code=code,
        name=_name(name, "name", 120),
        kind=kind,
        phone=_phone(phone),
        address=_free_text(address, "address", 300),
        active=True,
    )
    db.session.add(institution)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "institution",
        institution.id,
        after={"code": code, "name": institution.name},
        institution_id=institution.id,
    )
    return institution


def institution_names() -> dict[int, str]:
    return dict(db.session.execute(select(MedicalInstitution.id, MedicalInstitution.name)).all())


def institution_id_for_code(code: str) -> int | None:
    return db.session.scalar(select(MedicalInstitution.id).where(MedicalInstitution.code == code))


def institutions_query(tenant: Tenant):
    stmt = select(MedicalInstitution).order_by(MedicalInstitution.name)
    return stmt if tenant.is_global else stmt.where(MedicalInstitution.id == tenant.institution_id)


def get_institution(tenant: Tenant, institution_id: int) -> MedicalInstitution:
    row = db.session.get(MedicalInstitution, institution_id) if institution_id else None
    if row is None or not tenant.owns(row.id, None):
        raise NotFound("No such institution.")
    return row


# --- personnel -----------------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLINICAL = frozenset(PersonnelKind) - {PersonnelKind.STAFF}


def _schedule(value) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise Invalid.field("schedule", 'Give hours per weekday, e.g. {"mon": ["08:00", "16:00"]}.')
    clean = {}
    for day, hours in value.items():
        if day not in WEEKDAYS or not isinstance(hours, list | tuple) or len(hours) != 2:
            raise Invalid.field("schedule", 'Give hours per weekday, e.g. {"mon": ["08:00", "16:00"]}.')
        try:
            start, end = (time.fromisoformat(str(h)) for h in hours)
        except ValueError:
            raise Invalid.field("schedule", "Times are HH:MM.") from None
        if end <= start:
            raise Invalid.field("schedule", f"On {day} the shift ends before it starts.")
        clean[day] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
    return clean


def create_personnel(
    *,
    actor,
    institution_id: int,
    full_name: str,
    kind: str,
    department: str,
    specialty: str | None = None,
    licence_number: str | None = None,
    schedule=None,
    user_id: int | None = None,
) -> MedicalPersonnel:
    institution = _institution_for_write(actor, institution_id)
    try:
        kind = PersonnelKind(kind)
    except ValueError:
        raise Invalid.field(
            "kind", "Choose clinician, nurse, pharmacist, lab technician, radiographer or staff."
        ) from None
    licence = (licence_number or "").strip() or None
    if licence and (len(licence) > 40 or not re.fullmatch(r"[A-Za-z0-9/_.-]+", licence)):
        raise Invalid.field("licence_number", "Use letters, digits, / . _ or -.")
    if kind in (PersonnelKind.CLINICIAN, PersonnelKind.PHARMACIST) and not licence:
        raise Invalid.field("licence_number", "Clinicians and pharmacists need their licence number.")
    if licence and db.session.scalar(
        select(MedicalPersonnel.id).where(
            MedicalPersonnel.institution_id == institution.id, MedicalPersonnel.licence_number == licence
        )
    ):
        raise Conflict("That licence number is already on staff.", {"licence_number": ["Already registered here."]})
    row = MedicalPersonnel(
        institution_id=institution.id,
        full_name=_name(full_name, "full_name", 120),
        kind=kind,
        department=_name(department, "department"),
        specialty=_name(specialty, "specialty") if specialty else None,
        licence_number=licence,
        schedule=_schedule(schedule),
        user_id=user_id,
        active=True,
    )
    db.session.add(row)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "personnel",
        row.id,
        after={"full_name": row.full_name, "kind": kind.value},
        institution_id=institution.id,
    )
    return row


def personnel_query(tenant: Tenant, department: str = "", kind: str = ""):
    stmt = scope(select(MedicalPersonnel), MedicalPersonnel, tenant).order_by(MedicalPersonnel.full_name)
    if department:
        stmt = stmt.where(MedicalPersonnel.department == department[:80])
    if kind in {k.value for k in PersonnelKind}:
        stmt = stmt.where(MedicalPersonnel.kind == PersonnelKind(kind))
    return stmt


def get_personnel(tenant: Tenant, personnel_id: int) -> MedicalPersonnel:
    row = db.session.get(MedicalPersonnel, personnel_id) if personnel_id else None
    if row is None or not tenant.owns(row.institution_id, None):
        raise NotFound("No such staff member.")
    return row


def personnel_by_id(ids) -> dict[int, MedicalPersonnel]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(MedicalPersonnel).where(MedicalPersonnel.id.in_(ids)))}


def departments(tenant: Tenant) -> list[str]:
    stmt = scope(select(MedicalPersonnel.department).distinct(), MedicalPersonnel, tenant)
    return sorted(db.session.scalars(stmt))


def is_clinical(user, institution_id: int) -> bool:
    """Clinical staff of that institution: a user linked to an active clinical personnel record there."""
    return (
        db.session.scalar(
            select(MedicalPersonnel.id).where(
                MedicalPersonnel.user_id == user.id,
                MedicalPersonnel.institution_id == institution_id,
                MedicalPersonnel.active.is_(True),
                MedicalPersonnel.kind.in_(CLINICAL),
            )
        )
        is not None
    )


# --- patients ------------------------------------------------------------------------------------


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
    first, last = _name(details.first_name, "first_name"), _name(details.last_name, "last_name")
    return {
        "first_name": first,
        "last_name": last,
        "first_name_key": search_key(first),
        "last_name_key": search_key(last),
        "date_of_birth": details.date_of_birth,
        "gender": gender,
        "phone": _phone(details.phone),
        "email": email,
        "national_id": national_id,
        "member_number": member_number,
    }


def _next_patient_number(institution: MedicalInstitution) -> str:
    count = db.session.scalar(select(func.count()).where(Patient.institution_id == institution.id)) or 0
    return f"{institution.code}-{count + 1:06d}"


def register_patient(*, actor, institution_id: int, details: PatientDetails) -> Patient:
    institution = _institution_for_write(actor, institution_id)
    values = _patient_values(details)
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
    else:
        raise Conflict("Could not number the patient; try again.")
    core.record_audit(
        actor,
        "create",
        "patient",
        patient.id,
        after={"patient_number": patient.patient_number},
        institution_id=institution.id,
    )
    return patient


def update_patient(*, actor, patient_id: int, details: PatientDetails) -> Patient:
    patient = get_patient(tenant_of(actor), patient_id)
    _institution_for_write(actor, patient.institution_id)
    before = snapshot(patient, PATIENT_FIELDS)
    for key, value in _patient_values(details).items():
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


def get_patient(tenant: Tenant, patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id) if patient_id else None
    if patient is None or not tenant.owns(patient.institution_id, None):
        raise NotFound("No such patient.")
    return patient


def patient_by_number(tenant: Tenant, patient_number: str) -> Patient:
    """The tenant's patient with this hospital number (as printed on the card), merged or not."""
    number = (patient_number or "").strip().upper()[:30]
    stmt = scope(select(Patient), Patient, tenant).where(Patient.patient_number == number)
    patient = db.session.scalars(stmt.limit(1)).first() if number else None
    if patient is None:
        raise NotFound("No such patient.")
    return patient


def patients_by_id(ids) -> dict[int, Patient]:
    """Batch form for pages and other domains: many patients in one query."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Patient).where(Patient.id.in_(ids)))}


def first_patients(institution_id: int, limit: int) -> list[Patient]:
    """The institution's earliest registered patients (not merged away): demo seeds and samples."""
    stmt = (
        select(Patient)
        .where(Patient.institution_id == institution_id, Patient.merged_into_id.is_(None))
        .order_by(Patient.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def _prefix(column, text: str):
    # A range, not LIKE: it uses the b-tree index on SQLite and PostgreSQL alike.
    return (column >= text) & (column < text + "\uffff")


SEARCH_ORDER = (Patient.last_name_key, Patient.first_name_key, Patient.id)


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
            # One range per index, merged here: as one OR, PostgreSQL walks ix_patients_last_key in order for
            # the ORDER BY and filters row by row (200 ms for a rare surname among 200,000 patients).
            found = {}
            for column in (Patient.last_name_key, Patient.first_name_key):
                part = stmt.where(_prefix(column, words[0])).order_by(*SEARCH_ORDER).limit(limit)
                found.update((p.id, p) for p in db.session.scalars(part))
            return sorted(found.values(), key=lambda p: (p.last_name_key, p.first_name_key, p.id))[:limit]
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


def cover_for(patient: Patient, day: date | None = None) -> insurance.Verification | None:
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
    keep, duplicate = get_patient(tenant, keep_id), get_patient(tenant, duplicate_id)
    _institution_for_write(actor, keep.institution_id)
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
    for field in ("phone", "email", "national_id", "member_number"):
        if getattr(keep, field) is None and getattr(duplicate, field) is not None:
            setattr(keep, field, getattr(duplicate, field))
    duplicate.merged_into_id = keep.id
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


# --- appointments --------------------------------------------------------------------------------


def _clashes(
    personnel_id: int,
    room: str | None,
    starts_at: datetime,
    ends_at: datetime,
    exclude: int | None,
    institution_id: int | None = None,
):
    overlap = (Appointment.starts_at < ends_at) & (Appointment.ends_at > starts_at) & Appointment.status.in_(HOLDING)
    who = Appointment.personnel_id == personnel_id
    if room:
        # Rooms are named per institution: hospital B's "Room 1" does not clash with hospital A's.
        who = or_(who, (Appointment.room == room) & (Appointment.institution_id == institution_id))
    stmt = select(Appointment).where(overlap, who)
    if exclude:
        stmt = stmt.where(Appointment.id != exclude)
    return db.session.scalars(stmt.limit(1)).first()


def _slot(starts_at, minutes) -> tuple[datetime, datetime]:
    if not isinstance(starts_at, datetime):
        raise Invalid.field("starts_at", "Enter a date and time.")
    if starts_at.tzinfo is None:
        raise Invalid.field("starts_at", "Give the time with its zone (UTC).")
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        raise Invalid.field("duration_minutes", "Enter minutes as a whole number.") from None
    if not 5 <= minutes <= 480:
        raise Invalid.field("duration_minutes", "Appointments last 5 to 480 minutes.")
    return starts_at, starts_at + timedelta(minutes=minutes)


def book_appointment(
    *,
    actor,
    patient_id: int,
    personnel_id: int,
    starts_at: datetime,
    duration_minutes: int = 20,
    room: str | None = None,
    reason: str | None = None,
) -> Appointment:
    tenant = tenant_of(actor)
    patient = get_patient(tenant, patient_id)
    _institution_for_write(actor, patient.institution_id)
    clinician = get_personnel(tenant, personnel_id)
    if clinician.institution_id != patient.institution_id or not clinician.active:
        raise Invalid.field("personnel_id", "Choose a clinician of this institution.")
    if patient.merged_into_id:
        raise Invalid.field("patient_id", "This record was merged; book on the kept one.")
    starts, ends = _slot(starts_at, duration_minutes)
    if starts < clock.now() - timedelta(minutes=5):
        raise Invalid.field("starts_at", "That time has passed.")
    room = (room or "").strip()[:40] or None
    clash = _clashes(clinician.id, room, starts, ends, None, patient.institution_id)
    if clash is not None:
        field = "room" if room and clash.room == room and clash.personnel_id != clinician.id else "starts_at"
        raise Conflict("That time is taken.", {field: ["Double booking: the clinician or the room is busy then."]})
    row = Appointment(
        institution_id=patient.institution_id,
        patient_id=patient.id,
        personnel_id=clinician.id,
        department=clinician.department,
        room=room,
        starts_at=starts,
        ends_at=ends,
        status=AppointmentStatus.BOOKED,
        reason=_free_text(reason, "reason", 300),
    )
    db.session.add(row)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "appointment",
        row.id,
        after={"starts_at": starts.isoformat(), "personnel_id": clinician.id},
        institution_id=row.institution_id,
    )
    _announce("appointment.booked", row, patient, clinician)
    return row


def _announce(event: str, row: Appointment, patient: Patient, clinician: MedicalPersonnel) -> None:
    institution = db.session.get(MedicalInstitution, row.institution_id)
    recipient = {
        k: v
        for k, v in (
            ("email", patient.email),
            ("phone", patient.phone and "+" + patient.phone),
            ("name", f"{patient.first_name} {patient.last_name}"),
        )
        if v
    }
    if not (patient.email or patient.phone):
        return
    publish(
        event,
        {
            "recipients": [recipient],
            "institution_id": row.institution_id,
            "appointment_id": row.id,
            "context": {
                "patient_name": recipient["name"],
                "clinician": clinician.full_name,
                "starts_at": row.starts_at.strftime("%Y-%m-%d %H:%M UTC"),
                "institution": institution.name,
            },
        },
    )


def reschedule_appointment(
    *, actor, appointment_id: int, starts_at: datetime, duration_minutes: int | None = None, room: str | None = None
) -> Appointment:
    row = get_appointment(tenant_of(actor), appointment_id)
    _institution_for_write(actor, row.institution_id)
    if row.status is not AppointmentStatus.BOOKED:
        raise Conflict(f"A {row.status.value.replace('_', ' ')} appointment cannot be moved.")
    minutes = duration_minutes or int((row.ends_at - row.starts_at).total_seconds() // 60)
    starts, ends = _slot(starts_at, minutes)
    if starts < clock.now() - timedelta(minutes=5):
        raise Invalid.field("starts_at", "That time has passed.")
    room = (room or "").strip()[:40] or row.room
    clash = _clashes(row.personnel_id, room, starts, ends, row.id, row.institution_id)
    if clash is not None:
        field = "room" if room and clash.room == room and clash.personnel_id != row.personnel_id else "starts_at"
        raise Conflict("That time is taken.", {field: ["Double booking: the clinician or the room is busy then."]})
    before = {"starts_at": row.starts_at.isoformat(), "room": row.room}
    row.starts_at, row.ends_at, row.room = starts, ends, room
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "appointment",
        row.id,
        before=before,
        after={"starts_at": starts.isoformat(), "room": room},
        institution_id=row.institution_id,
    )
    return row


def change_appointment_status(*, actor, appointment_id: int, status: str, reason: str | None = None) -> Appointment:
    """Cancel, mark no-show or complete. Check-in has its own function (it checks cover)."""
    row = get_appointment(tenant_of(actor), appointment_id)
    _institution_for_write(actor, row.institution_id)
    try:
        target = AppointmentStatus(status)
    except ValueError:
        raise Invalid.field("status", "Unknown status.") from None
    if target is AppointmentStatus.CHECKED_IN:
        return check_in(actor=actor, appointment_id=appointment_id)
    if target not in APPOINTMENT_TRANSITIONS[row.status]:
        raise Conflict(
            f"A {row.status.value.replace('_', ' ')} appointment cannot become {target.value.replace('_', ' ')}."
        )
    if target is AppointmentStatus.CANCELLED:
        row.cancel_reason = _free_text(reason, "reason", 300)
    before = row.status.value
    row.status = target
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "appointment",
        row.id,
        before={"status": before},
        after={"status": target.value},
        summary=row.cancel_reason,
        institution_id=row.institution_id,
    )
    return row


def check_in(*, actor, appointment_id: int) -> Appointment:
    """The patient has arrived: the cover check of that day is recorded on the appointment."""
    row = get_appointment(tenant_of(actor), appointment_id)
    _institution_for_write(actor, row.institution_id)
    if AppointmentStatus.CHECKED_IN not in APPOINTMENT_TRANSITIONS[row.status]:
        raise Conflict(f"A {row.status.value.replace('_', ' ')} appointment cannot be checked in.")
    patient = db.session.get(Patient, row.patient_id)
    verdict = cover_for(patient, clock.today())
    row.status = AppointmentStatus.CHECKED_IN
    row.coverage_checked_at = clock.now()
    row.coverage_eligible = verdict.eligible if verdict else None
    row.coverage_reasons = list(verdict.reason_codes) if verdict else None
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "appointment",
        row.id,
        before={"status": "booked"},
        after={"status": "checked_in", "coverage_eligible": row.coverage_eligible},
        institution_id=row.institution_id,
    )
    return row


def get_appointment(tenant: Tenant, appointment_id: int) -> Appointment:
    row = db.session.get(Appointment, appointment_id) if appointment_id else None
    if row is None or not tenant.owns(row.institution_id, None):
        raise NotFound("No such appointment.")
    return row


def day_view(tenant: Tenant, day: date, *, personnel_id: int | None = None, department: str = "") -> list[Appointment]:
    start = datetime.combine(day, time.min, clock.now().tzinfo)
    stmt = scope(select(Appointment), Appointment, tenant).where(
        Appointment.starts_at >= start, Appointment.starts_at < start + timedelta(days=1)
    )
    if personnel_id:
        stmt = stmt.where(Appointment.personnel_id == personnel_id)
    if department:
        stmt = stmt.where(Appointment.department == department[:80])
    return list(db.session.scalars(stmt.order_by(Appointment.starts_at, Appointment.id)))


def appointments_query(tenant: Tenant, patient_id: int | None = None, status: str = "", day: date | None = None):
    stmt = scope(select(Appointment), Appointment, tenant).order_by(Appointment.starts_at.desc())
    if patient_id:
        stmt = stmt.where(Appointment.patient_id == patient_id)
    if status in {s.value for s in AppointmentStatus}:
        stmt = stmt.where(Appointment.status == AppointmentStatus(status))
    if day:
        start = datetime.combine(day, time.min, clock.now().tzinfo)
        stmt = stmt.where(Appointment.starts_at >= start, Appointment.starts_at < start + timedelta(days=1))
    return stmt


def due_reminders(now: datetime | None = None) -> list[Appointment]:
    """Booked appointments starting in the next 24 hours whose reminder has not gone out."""
    now = now or clock.now()
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.reminder_sent_at.is_(None),
                Appointment.starts_at > now,
                Appointment.starts_at <= now + timedelta(hours=24),
            )
            .limit(1000)
        )
    )


def send_reminders() -> int:
    """Scheduled job: publish ``appointment.reminder`` a day ahead, once per appointment."""
    rows = due_reminders()
    patients = patients_by_id(r.patient_id for r in rows)
    staff = personnel_by_id(r.personnel_id for r in rows)
    for row in rows:
        _announce("appointment.reminder", row, patients[row.patient_id], staff[row.personnel_id])
        row.reminder_sent_at = clock.now()
    db.session.flush()
    return len(rows)


#: an ICD-10 diagnosis code as records and claims take it (``J06.9``)
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
