"""Hospital pages for appointments: booking from the patient page, the row buttons (check-in, no-show,
complete, cancel, move) and the day view by clinician."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from flask import flash, redirect, request, url_for

from blueprints.hospital import bp, services
from blueprints.hospital.models import AppointmentStatus, PersonnelKind
from blueprints.hospital.services.patients import patient_row
from blueprints.hospital.web.forms import RescheduleForm, StatusForm
from blueprints.hospital.web.patient_page import appointments_context, book_form, patient_page
from blueprints.hospital.web.views import HOSPITAL_STAFF, typed, utc
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.errors import Invalid, NotFound
from medcover.extensions import db
from medcover.pages import actor, render, safe_next, submit, tenant, toast, wants_partial
from medcover.rbac import allow

#: what each row button does: url part -> (target status, toast)
STATUS_ACTIONS = {
    "no-show": (AppointmentStatus.NO_SHOW, "Marked as no-show."),
    "complete": (AppointmentStatus.COMPLETED, "Appointment completed."),
    "cancel": (AppointmentStatus.CANCELLED, "Appointment cancelled."),
}


@bp.post("/hospital/patients/<id:patient_id>/appointments")
@allow(HOSPITAL_STAFF)
def appointment_book(patient_id: int):
    patient = patient_row(tenant(), patient_id)
    form = book_form(patient)

    def book():
        try:
            return services.book_appointment(
                actor=actor(),
                patient_id=patient.id,
                personnel_id=form.personnel_id.data or 0,
                starts_at=utc(form.starts_at.data),
                duration_minutes=form.duration_minutes.data,
                room=form.room.data,
                reason=form.reason.data,
            )
        except NotFound as exc:
            if "staff" not in exc.detail:
                raise
            raise Invalid.field("personnel_id", "Choose a clinician of this hospital.") from None

    done = submit(form, book)
    patient = patient_row(tenant(), patient_id)
    if done.ok:
        row = done.result
        message = f"Booked {clock.local(row.starts_at):%a %d %b %H:%M}."
        if not wants_partial():
            flash(message, "success")
            return redirect(url_for("hospital.patient", patient_id=patient.id), 303)
        return toast(render("hospital/_appointments.html", **appointments_context(patient)), message)
    if wants_partial():
        return render("hospital/_appointments.html", status=done.status, **appointments_context(patient, form))
    return patient_page(patient, done.status, book_form=form)


def _row(row, status: int = 200, failed=None):
    patient = patient_row(tenant(), row.patient_id)
    return render(
        "hospital/_appointment_row.html",
        status=status,
        a=row,
        patients={patient.id: patient},
        staff=services.personnel_by_id([row.personnel_id]),
        failed={row.id: failed} if failed is not None else {},
        show_patient=request.form.get("next", "").startswith("/hospital/appointments"),
        reasons=insurance.Verification.REASONS,
        here=typed(request.form.get("next"), 300),
    )


def _row_action(appointment_id: int, form, action, message: str):
    """Every row button: one service call; HTMX gets the row back (with the refusal on it), others a 303."""
    services.get_appointment(tenant(), appointment_id)  # another hospital's: 404 before anything else
    done = submit(form, action)
    back = safe_next(form.next.data, url_for("hospital.appointments"))
    if not wants_partial():
        if done.ok:
            flash(message, "success")
        else:
            errors = list(form.form_errors) + [m for f in form for m in f.errors]
            flash(" ".join(errors) or "That did not work.", "error")
        return redirect(back, 303)
    row = services.get_appointment(tenant(), appointment_id)
    if done.ok:
        return toast(_row(row), message)
    refusal = (list(form.form_errors) + [m for f in form for m in f.errors] or ["That did not work."])[0]
    return toast(_row(row, 422, failed=form), refusal)


@bp.post("/hospital/appointments/<id:appointment_id>/check-in")
@allow(HOSPITAL_STAFF)
def appointment_check_in(appointment_id: int):
    return _row_action(
        appointment_id,
        StatusForm(),
        lambda: services.check_in(actor=actor(), appointment_id=appointment_id),
        "Checked in; cover recorded.",
    )


@bp.post("/hospital/appointments/<id:appointment_id>/<action>")
@allow(HOSPITAL_STAFF)
def appointment_status(appointment_id: int, action: str):
    if action not in STATUS_ACTIONS:
        raise NotFound("No such action.")
    target, message = STATUS_ACTIONS[action]
    form = StatusForm()
    return _row_action(
        appointment_id,
        form,
        lambda: services.change_appointment_status(
            actor=actor(), appointment_id=appointment_id, status=target.value, reason=form.reason.data
        ),
        message,
    )


@bp.post("/hospital/appointments/<id:appointment_id>/reschedule")
@allow(HOSPITAL_STAFF)
def appointment_reschedule(appointment_id: int):
    form = RescheduleForm()
    return _row_action(
        appointment_id,
        form,
        lambda: services.reschedule_appointment(
            actor=actor(),
            appointment_id=appointment_id,
            starts_at=utc(form.starts_at.data),
            duration_minutes=form.duration_minutes.data,
            room=form.room.data,
        ),
        "Appointment moved.",
    )


def _day_arg() -> tuple[date, str | None]:
    raw = request.args.get("day", "")
    if not raw:
        return clock.today(), None
    try:
        return date.fromisoformat(raw[:10]), None
    except ValueError:
        return clock.today(), "That is not a date (YYYY-MM-DD); showing today."


@bp.get("/hospital/appointments")
@allow(HOSPITAL_STAFF)
def appointments():
    day, day_error = _day_arg()
    personnel_id = request.args.get("personnel_id", type=int) or None
    department = typed(request.args.get("department", ""), 80)
    status = request.args.get("status", "")
    status = status if status in {s.value for s in AppointmentStatus} else ""
    tenancy = tenant()
    rows = services.day_view(tenancy, day, personnel_id=personnel_id, department=department, status=status)
    staff = list(db.session.scalars(services.personnel_query(tenancy)))
    by_clinician = defaultdict(list)
    for row in rows:
        by_clinician[row.personnel_id].append(row)
    names = {p.id: p for p in staff}
    groups = sorted(by_clinician.items(), key=lambda item: names[item[0]].full_name if item[0] in names else "")
    return render(
        "hospital/appointments.html",
        "hospital/_day.html",
        day=day,
        day_error=day_error,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        personnel_id=personnel_id,
        department=department,
        status_filter=status,
        statuses=list(AppointmentStatus),
        departments=services.departments(tenancy),
        clinicians=[p for p in staff if p.kind is PersonnelKind.CLINICIAN],
        groups=groups,
        total=len(rows),
        staff=names,
        patients=services.patients_by_id(r.patient_id for r in rows),
        failed={},
        reasons=insurance.Verification.REASONS,
        here=request.full_path,
    )
