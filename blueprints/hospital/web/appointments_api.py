"""Hospital JSON endpoints for appointments: booking, the lists and a day in time order, moving, check-in
(with the day's cover verdict), cancelling, no-shows and completion. Who may call what: ``web.api``'s table."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from blueprints.hospital import api_bp, services
from blueprints.hospital.models import AppointmentStatus
from blueprints.hospital.web.api import (
    ID,
    PAGING,
    READERS,
    TAG,
    WRITERS,
    Moment,
    Reason,
    Room,
    Whole,
    hospital_tenant,
)
from medcover.api import (
    Id,
    Out,
    Schema,
    actor,
    choice_arg,
    created,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    optional_body,
    page_model,
    page_response,
    parse,
    referenced,
    saved,
    text_arg,
)
from medcover.rbac import allow


class AppointmentIn(Schema):
    patient_id: Id
    personnel_id: Id
    starts_at: Moment
    duration_minutes: Whole = Field(20, ge=5, le=480)
    room: Room | None = None
    reason: Reason | None = None


class RescheduleIn(Schema):
    """``duration_minutes`` and ``room`` default to the appointment's."""

    starts_at: Moment
    duration_minutes: Whole | None = Field(None, ge=5, le=480)
    room: Room | None = None


class CancelIn(Schema):
    reason: Reason = ""


class EmptyIn(Schema):
    """No fields: the body may be left out or be ``{}``."""


class AppointmentOut(Out):
    id: int
    institution_id: int
    patient_id: int
    personnel_id: int
    department: str
    room: str | None
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    status: AppointmentStatus
    reason: str | None
    cancel_reason: str | None
    coverage_checked_at: datetime | None
    coverage_eligible: bool | None
    coverage_reasons: list[str] | None
    created_at: datetime


AppointmentPage = page_model(AppointmentOut)


def _appointment_out(row) -> AppointmentOut:
    return AppointmentOut(
        id=row.id,
        institution_id=row.institution_id,
        patient_id=row.patient_id,
        personnel_id=row.personnel_id,
        department=row.department,
        room=row.room,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        duration_minutes=int((row.ends_at - row.starts_at).total_seconds() // 60),
        status=row.status,
        reason=row.reason,
        cancel_reason=row.cancel_reason,
        coverage_checked_at=row.coverage_checked_at,
        coverage_eligible=row.coverage_eligible,
        coverage_reasons=row.coverage_reasons,
        created_at=row.created_at,
    )


@api_bp.post("/appointments")
@allow(WRITERS)
@documented(
    "Book an appointment with a clinician (double booking of the clinician or the room: 409)",
    tag=TAG,
    body=AppointmentIn,
    responses={201: AppointmentOut, 409: None},
    description="starts_at: ISO 8601 with its offset; answers are UTC with their offset (Z).",
)
def create_appointment():
    data = parse(AppointmentIn)
    tenant = hospital_tenant()
    referenced("patient_id", services.get_patient, tenant, data.patient_id)
    referenced("personnel_id", services.get_personnel, tenant, data.personnel_id)
    row = services.book_appointment(actor=actor(), **data.model_dump())
    return created(_appointment_out(row))


@api_bp.get("/appointments")
@allow(READERS)
@documented(
    "Appointments (hospital staff: their institution's); newest first, or a day in time order",
    tag=TAG,
    responses={200: AppointmentPage},
    query={
        "date": "one day on the site's calendar (YYYY-MM-DD, MEDCOVER_TIMEZONE)",
        "personnel_id": "one clinician",
        "department": "one department",
        "patient_id": "one patient",
        "status": "booked, checked_in, completed, cancelled or no_show",
        **PAGING,
    },
)
def list_appointments():
    day = day_arg("date")
    stmt = services.appointments_query(
        hospital_tenant(),
        int_arg("patient_id"),
        choice_arg("status", AppointmentStatus),
        day,
        personnel_id=int_arg("personnel_id"),
        department=text_arg("department", 80),
    )
    return page_response(stmt, AppointmentOut, AppointmentPage, lambda rows: [_appointment_out(r) for r in rows])


@api_bp.get(f"/appointments/<{ID}:appointment_id>")
@allow(READERS)
@documented("One appointment", tag=TAG, responses={200: AppointmentOut, 404: None})
def get_appointment(appointment_id: int):
    return jsonify_model(_appointment_out(services.get_appointment(hospital_tenant(), appointment_id)))


@api_bp.post(f"/appointments/<{ID}:appointment_id>/reschedule")
@allow(WRITERS)
@documented(
    "Move a booked appointment (double booking: 409)",
    tag=TAG,
    body=RescheduleIn,
    responses={200: AppointmentOut, 404: None, 409: None},
)
def reschedule_appointment(appointment_id: int):
    data = parse(RescheduleIn)
    services.get_appointment(hospital_tenant(), appointment_id)
    row = services.reschedule_appointment(actor=actor(), appointment_id=appointment_id, **data.model_dump())
    return saved(_appointment_out(row))


@api_bp.post(f"/appointments/<{ID}:appointment_id>/check-in")
@allow(WRITERS)
@documented(
    "The patient has arrived: records today's insurance cover verdict on the appointment",
    tag=TAG,
    body=EmptyIn,
    responses={200: AppointmentOut, 404: None, 409: None},
    description="coverage_eligible is null when the patient has no member number.",
)
def check_in_appointment(appointment_id: int):
    optional_body(EmptyIn)
    services.get_appointment(hospital_tenant(), appointment_id)
    return saved(_appointment_out(services.check_in(actor=actor(), appointment_id=appointment_id)))


def _status_change(appointment_id: int, status: AppointmentStatus, reason: str | None = None):
    services.get_appointment(hospital_tenant(), appointment_id)
    row = services.change_appointment_status(
        actor=actor(), appointment_id=appointment_id, status=status.value, reason=reason
    )
    return saved(_appointment_out(row))


@api_bp.post(f"/appointments/<{ID}:appointment_id>/cancel")
@allow(WRITERS)
@documented(
    "Cancel a booked or checked-in appointment",
    tag=TAG,
    body=CancelIn,
    responses={200: AppointmentOut, 404: None, 409: None},
)
def cancel_appointment(appointment_id: int):
    data = optional_body(CancelIn)
    return _status_change(appointment_id, AppointmentStatus.CANCELLED, data.reason)


@api_bp.post(f"/appointments/<{ID}:appointment_id>/no-show")
@allow(WRITERS)
@documented(
    "Mark a booked appointment as a no-show",
    tag=TAG,
    body=EmptyIn,
    responses={200: AppointmentOut, 404: None, 409: None},
)
def no_show_appointment(appointment_id: int):
    optional_body(EmptyIn)
    return _status_change(appointment_id, AppointmentStatus.NO_SHOW)


@api_bp.post(f"/appointments/<{ID}:appointment_id>/complete")
@allow(WRITERS)
@documented(
    "Complete a checked-in appointment",
    tag=TAG,
    body=EmptyIn,
    responses={200: AppointmentOut, 404: None, 409: None},
)
def complete_appointment(appointment_id: int):
    optional_body(EmptyIn)
    return _status_change(appointment_id, AppointmentStatus.COMPLETED)
