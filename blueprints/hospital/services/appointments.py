"""Appointments: booking with a clinician (no double booking of the clinician or the room), moving,
check-in (with the day's insurance cover), cancelling, no-shows and completion; the day view; and the
reminders a day ahead. Booking and reminders publish events the notification domain sends."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import or_, select

from blueprints.core import services as core
from blueprints.hospital.models import (
    APPOINTMENT_TRANSITIONS,
    HOLDING,
    Appointment,
    AppointmentStatus,
    MedicalInstitution,
    MedicalPersonnel,
    Patient,
)
from blueprints.hospital.services import fields, institutions, patients, personnel
from medcover import clock
from medcover.errors import Conflict, Hidden, Invalid, NotFound
from medcover.events import publish
from medcover.extensions import db
from medcover.rbac import Tenant, scope, tenant_of


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
        raise Invalid.field("starts_at", "Give the time with its zone offset.")
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
    patient = patients.patient_row(tenant, patient_id)
    institutions.institution_for_write(actor, patient.institution_id)
    clinician = personnel.get_personnel(tenant, personnel_id)
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
        reason=fields.free_text(reason, "reason", 300),
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


def _announce(
    event: str, row: Appointment, patient: Patient | patients.PatientSummary, clinician: MedicalPersonnel
) -> None:
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
                "starts_at": clock.format_datetime(row.starts_at),
                "institution": institution.name,
            },
        },
    )


def reschedule_appointment(
    *, actor, appointment_id: int, starts_at: datetime, duration_minutes: int | None = None, room: str | None = None
) -> Appointment:
    row = get_appointment(tenant_of(actor), appointment_id)
    institutions.institution_for_write(actor, row.institution_id)
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
    institutions.institution_for_write(actor, row.institution_id)
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
        row.cancel_reason = fields.free_text(reason, "reason", 300)
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
    institutions.institution_for_write(actor, row.institution_id)
    if AppointmentStatus.CHECKED_IN not in APPOINTMENT_TRANSITIONS[row.status]:
        raise Conflict(f"A {row.status.value.replace('_', ' ')} appointment cannot be checked in.")
    patient = db.session.get(Patient, row.patient_id)
    verdict = patients.cover_for(patient, clock.today())
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
    if row is None:
        raise NotFound("No such appointment.")
    if not tenant.owns(row.institution_id, None):
        raise Hidden("No such appointment.", record=f"appointment {row.id}")
    return row


def day_view(
    tenant: Tenant, day: date, *, personnel_id: int | None = None, department: str = "", status: str = ""
) -> list[Appointment]:
    """A day's appointments in time order; ``status`` is allowlisted (anything else shows every status)."""
    stmt = appointments_query(tenant, status=status, day=day, personnel_id=personnel_id, department=department[:80])
    return list(db.session.scalars(stmt))


def appointments_query(
    tenant: Tenant,
    patient_id: int | None = None,
    status: str = "",
    day: date | None = None,
    *,
    personnel_id: int | None = None,
    department: str = "",
):
    """The tenant's appointments, newest first; a day's in time order (filters are allowlisted)."""
    stmt = scope(select(Appointment), Appointment, tenant).order_by(Appointment.starts_at.desc())
    if patient_id:
        stmt = stmt.where(Appointment.patient_id == patient_id)
    if status in {s.value for s in AppointmentStatus}:
        stmt = stmt.where(Appointment.status == AppointmentStatus(status))
    if day:
        start, end = clock.day_bounds(day)  # the site's calendar day, not the UTC one
        stmt = stmt.where(Appointment.starts_at >= start, Appointment.starts_at < end)
    if personnel_id:
        stmt = stmt.where(Appointment.personnel_id == personnel_id)
    if department:
        stmt = stmt.where(Appointment.department == department)
    if day:
        stmt = stmt.order_by(None).order_by(Appointment.starts_at, Appointment.id)
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
    people = patients.patients_by_id(r.patient_id for r in rows)
    staff = personnel.personnel_by_id(r.personnel_id for r in rows)
    for row in rows:
        _announce("appointment.reminder", row, people[row.patient_id], staff[row.personnel_id])
        row.reminder_sent_at = clock.now()
    db.session.flush()
    return len(rows)
