"""Hospital pages: patient intake (find or register, duplicates and cover on the spot), the patient page,
the appointments day view with its row actions, and the staff list."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.hospital import bp, orders, records, schedules, services
from blueprints.hospital.api import attachment_download
from blueprints.hospital.forms import (
    AttachmentForm,
    BookForm,
    EncounterForm,
    MergeForm,
    OrderForm,
    PatientForm,
    PersonnelForm,
    RegisterForm,
    RescheduleForm,
    ScheduleForm,
    StatusForm,
    choices,
)
from blueprints.hospital.models import AppointmentStatus, PersonnelKind
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.errors import Invalid, NotFound
from medcover.extensions import db
from medcover.pages import render, safe_next, submit, wants_partial
from medcover.rbac import STAFF, Role, allow, tenant_of

#: the hospital's own staff accounts; services keep each to its institution (platform admins see all)
HOSPITAL_STAFF = frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.BILLING_CLERK})
STAFF_ADMINS = frozenset({Role.ADMIN})
#: what each row button does: url part -> (target status, toast)
STATUS_ACTIONS = {
    "no-show": (AppointmentStatus.NO_SHOW, "Marked as no-show."),
    "complete": (AppointmentStatus.COMPLETED, "Appointment completed."),
    "cancel": (AppointmentStatus.CANCELLED, "Appointment cancelled."),
}


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


def _toast(response, message: str):
    response.headers["HX-Trigger"] = json.dumps({"toast": message})
    return response


def _text(value: str | None, limit: int) -> str:
    """Raw form text for look-ups that do not validate (the duplicate check): bounded, no NUL."""
    return (value or "").replace("\x00", "")[:limit]


def _utc(moment: datetime | None) -> datetime | None:
    """The page's date-time inputs are in UTC, as the day view shows them."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


def _details(form) -> services.PatientDetails:
    return services.PatientDetails(
        first_name=_text(form.first_name.data, 200),
        last_name=_text(form.last_name.data, 200),
        date_of_birth=form.date_of_birth.data,
        gender=_text(form.gender.data, 20),
        phone=_text(form.phone.data, 40) or None,
        email=_text(form.email.data, 300) or None,
        national_id=_text(form.national_id.data, 40) or None,
        member_number=_text(form.member_number.data, 40) or None,
    )


def _details_of(patient) -> services.PatientDetails:
    return services.PatientDetails(
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        gender=patient.gender,
        phone=patient.phone,
        national_id=patient.national_id,
    )


def _institutions() -> list:
    return list(db.session.scalars(services.institutions_query(_tenant())))


def _verdict(member_number: str | None):
    """Cover today for a member number typed at the desk (None when there is none: a self-paying patient)."""
    number = _text(member_number, 30).strip()
    return insurance.verify(number, clock.today()) if number else None


# --- intake: find or register --------------------------------------------------------------------


def _register_form(formdata: bool = True) -> RegisterForm:
    form = RegisterForm() if formdata else RegisterForm(formdata=None)
    form.institution_id.choices = choices([(0, "Choose a hospital…")] + [(i.id, i.name) for i in _institutions()])
    return form


def _check(form) -> dict:
    """What the desk should know before saving: patients who look the same, and the member's cover today."""
    details = _details(form)
    typed = any((details.national_id, details.phone, details.first_name and details.last_name))
    return {
        "duplicates": services.likely_duplicates(_tenant(), details) if typed else [],
        "verdict": _verdict(form.member_number.data),
    }


def _intake(form=None, status: int = 200, partial: str | None = None, check: dict | None = None):
    q = _text(request.args.get("q", ""), 60)
    return render(
        "hospital/patients.html",
        partial,
        status=status,
        q=q,
        results=services.search_patients(_tenant(), q),
        form=form or _register_form(formdata=False),
        choose_institution=_tenant().is_global,
        **(check or {"duplicates": [], "verdict": None}),
    )


@bp.get("/hospital/patients")
@allow(HOSPITAL_STAFF)
def patients():
    """The intake page; the search box's HTMX calls get just the results."""
    return _intake(partial="hospital/_patient_results.html")


@bp.post("/hospital/patients/check")
@allow(HOSPITAL_STAFF)
def patient_check():
    """Called as the clerk fills the register form: saves nothing, so it needs no valid form."""
    form = _register_form()
    return _intake(form, partial="hospital/_intake_check.html", check=_check(form))


@bp.post("/hospital/patients")
@allow(HOSPITAL_STAFF)
def patient_register():
    form = _register_form()

    def register():
        institution_id = current_user.institution_id or form.institution_id.data or 0
        if not institution_id:
            raise Invalid.field("institution_id", "Choose a hospital.")
        return services.register_patient(actor=_actor(), institution_id=institution_id, details=_details(form))

    done = submit(form, register)
    if not done.ok:
        return _intake(form, done.status, "hospital/_register.html", _check(form))
    patient = done.result
    if not wants_partial():
        flash(f"{patient.first_name} {patient.last_name} is registered as {patient.patient_number}.", "success")
        return redirect(url_for("hospital.patient", patient_id=patient.id), 303)
    response = render(
        "hospital/_registered.html",
        verdict=services.cover_for(patient),
        **_appointments_context(patient),
    )
    return _toast(response, f"Registered {patient.patient_number}.")


# --- the patient page ----------------------------------------------------------------------------


def _clinicians(patient) -> list:
    rows = db.session.scalars(services.personnel_query(_tenant(), kind=PersonnelKind.CLINICIAN.value))
    return [p for p in rows if p.institution_id == patient.institution_id and p.active]


def _book_form(patient, formdata: bool = True) -> BookForm:
    form = BookForm() if formdata else BookForm(formdata=None)
    form.personnel_id.choices = choices(
        [(0, "Choose a clinician…")]
        + [(p.id, f"{p.full_name} · {p.specialty or p.department}") for p in _clinicians(patient)]
    )
    if not formdata:
        start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        form.starts_at.data = start.replace(tzinfo=None)
    return form


def _appointments_context(patient, book_form=None, failed: dict | None = None) -> dict:
    rows = list(db.session.scalars(services.appointments_query(_tenant(), patient_id=patient.id)))
    return {
        "patient": patient,
        "appointments": rows,
        "patients": {patient.id: patient},
        "staff": services.personnel_by_id(r.personnel_id for r in rows),
        "book_form": book_form or _book_form(patient, formdata=False),
        "failed": failed or {},
        "reasons": insurance.Verification.REASONS,
        "here": url_for("hospital.patient", patient_id=patient.id),
    }


def _orders_by_record(patient) -> dict[int, list]:
    """The patient's orders under their encounters, in one query."""
    found: dict[int, list] = defaultdict(list)
    for order in db.session.scalars(orders.orders_query(_tenant(), patient_id=patient.id)):
        found[order.record_id].append(order)
    return found


def _patient_page(patient, status: int = 200, **forms):
    tenant = _tenant()
    clinical = records.may_access_records(_actor(), patient.institution_id)
    medical_records = records.records_for_patient(actor=_actor(), patient_id=patient.id) if clinical else []
    return render(
        "hospital/patient.html",
        status=status,
        verdict=services.cover_for(patient),
        today=clock.today(),
        edit_form=forms.get("edit_form") or PatientForm(obj=patient, formdata=None),
        merge_form=forms.get("merge_form") or MergeForm(formdata=None),
        duplicates=[p for p in services.likely_duplicates(tenant, _details_of(patient)) if p.id != patient.id],
        merged_into=services.get_patient(tenant, patient.merged_into_id) if patient.merged_into_id else None,
        clinical=clinical,
        medical_records=medical_records,
        record_attachments=records.attachments_of(r.id for r in medical_records),
        attachment_form=AttachmentForm(formdata=None),
        encounter_form=forms.get("encounter_form") or EncounterForm(formdata=None, encounter_date=clock.today()),
        record_orders=_orders_by_record(patient) if clinical else {},
        order_form=OrderForm(formdata=None),
        #: a refused order, shown with its messages on the encounter it was for
        failed_order=forms.get("order_form"),
        failed_order_record=forms.get("order_record_id"),
        **_appointments_context(patient, forms.get("book_form")),
    )


@bp.get("/hospital/patients/<id:patient_id>")
@allow(HOSPITAL_STAFF)
def patient(patient_id: int):
    return _patient_page(services.get_patient(_tenant(), patient_id))


@bp.post("/hospital/patients/<id:patient_id>")
@allow(HOSPITAL_STAFF)
def patient_update(patient_id: int):
    patient = services.get_patient(_tenant(), patient_id)
    form = PatientForm()
    done = submit(form, lambda: services.update_patient(actor=_actor(), patient_id=patient.id, details=_details(form)))
    if done.ok:
        flash("Demographics saved.", "success")
        return redirect(url_for("hospital.patient", patient_id=patient_id), 303)
    return _patient_page(services.get_patient(_tenant(), patient_id), done.status, edit_form=form)


@bp.post("/hospital/patients/<id:patient_id>/merge")
@allow(HOSPITAL_STAFF)
def patient_merge(patient_id: int):
    patient = services.get_patient(_tenant(), patient_id)
    form = MergeForm()

    def merge():
        try:
            duplicate = services.patient_by_number(_tenant(), form.duplicate_number.data)
        except NotFound:
            raise Invalid.field("duplicate_number", "No patient of this hospital has that number.") from None
        return services.merge_patients(actor=_actor(), keep_id=patient.id, duplicate_id=duplicate.id)

    done = submit(form, merge)
    if done.ok:
        flash(f"{form.duplicate_number.data.strip().upper()} was merged into {patient.patient_number}.", "success")
        return redirect(url_for("hospital.patient", patient_id=patient_id), 303)
    return _patient_page(services.get_patient(_tenant(), patient_id), done.status, merge_form=form)


# --- appointments ---------------------------------------------------------------------------------


@bp.post("/hospital/patients/<id:patient_id>/appointments")
@allow(HOSPITAL_STAFF)
def appointment_book(patient_id: int):
    patient = services.get_patient(_tenant(), patient_id)
    form = _book_form(patient)

    def book():
        try:
            return services.book_appointment(
                actor=_actor(),
                patient_id=patient.id,
                personnel_id=form.personnel_id.data or 0,
                starts_at=_utc(form.starts_at.data),
                duration_minutes=form.duration_minutes.data,
                room=form.room.data,
                reason=form.reason.data,
            )
        except NotFound as exc:
            if "staff" not in exc.detail:
                raise
            raise Invalid.field("personnel_id", "Choose a clinician of this hospital.") from None

    done = submit(form, book)
    patient = services.get_patient(_tenant(), patient_id)
    if done.ok:
        row = done.result
        message = f"Booked {row.starts_at:%a %d %b %H:%M}."
        if not wants_partial():
            flash(message, "success")
            return redirect(url_for("hospital.patient", patient_id=patient.id), 303)
        return _toast(render("hospital/_appointments.html", **_appointments_context(patient)), message)
    if wants_partial():
        return render("hospital/_appointments.html", status=done.status, **_appointments_context(patient, form))
    return _patient_page(patient, done.status, book_form=form)


def _row(row, status: int = 200, failed=None):
    patient = services.get_patient(_tenant(), row.patient_id)
    return render(
        "hospital/_appointment_row.html",
        status=status,
        a=row,
        patients={patient.id: patient},
        staff=services.personnel_by_id([row.personnel_id]),
        failed={row.id: failed} if failed is not None else {},
        show_patient=request.form.get("next", "").startswith("/hospital/appointments"),
        reasons=insurance.Verification.REASONS,
        here=_text(request.form.get("next"), 300),
    )


def _row_action(appointment_id: int, form, action, message: str):
    """Every row button: one service call; HTMX gets the row back (with the refusal on it), others a 303."""
    services.get_appointment(_tenant(), appointment_id)  # another hospital's: 404 before anything else
    done = submit(form, action)
    back = safe_next(form.next.data, url_for("hospital.appointments"))
    if not wants_partial():
        if done.ok:
            flash(message, "success")
        else:
            errors = list(form.form_errors) + [m for f in form for m in f.errors]
            flash(" ".join(errors) or "That did not work.", "error")
        return redirect(back, 303)
    row = services.get_appointment(_tenant(), appointment_id)
    if done.ok:
        return _toast(_row(row), message)
    refusal = (list(form.form_errors) + [m for f in form for m in f.errors] or ["That did not work."])[0]
    return _toast(_row(row, 422, failed=form), refusal)


@bp.post("/hospital/appointments/<id:appointment_id>/check-in")
@allow(HOSPITAL_STAFF)
def appointment_check_in(appointment_id: int):
    return _row_action(
        appointment_id,
        StatusForm(),
        lambda: services.check_in(actor=_actor(), appointment_id=appointment_id),
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
            actor=_actor(), appointment_id=appointment_id, status=target.value, reason=form.reason.data
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
            actor=_actor(),
            appointment_id=appointment_id,
            starts_at=_utc(form.starts_at.data),
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
    department = _text(request.args.get("department", ""), 80)
    tenant = _tenant()
    rows = services.day_view(tenant, day, personnel_id=personnel_id, department=department)
    staff = list(db.session.scalars(services.personnel_query(tenant)))
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
        departments=services.departments(tenant),
        clinicians=[p for p in staff if p.kind is PersonnelKind.CLINICIAN],
        groups=groups,
        total=len(rows),
        staff=names,
        patients=services.patients_by_id(r.patient_id for r in rows),
        failed={},
        reasons=insurance.Verification.REASONS,
        here=request.full_path,
    )


# --- staff -----------------------------------------------------------------------------------------


def _staff_page(form=None, status: int = 200):
    department = _text(request.args.get("department", ""), 80)
    kind = _text(request.args.get("kind", ""), 20)
    tenant = _tenant()
    if form is None:
        form = PersonnelForm(formdata=None)
    form.institution_id.choices = choices([(0, "Choose a hospital…")] + [(i.id, i.name) for i in _institutions()])
    return render(
        "hospital/staff.html",
        "hospital/_staff_rows.html",
        status=status,
        rows=list(db.session.scalars(services.personnel_query(tenant, department=department, kind=kind))),
        department=department,
        kind=kind,
        kinds=list(PersonnelKind),
        departments=services.departments(tenant),
        form=form,
        choose_institution=tenant.is_global,
        can_add=current_user.role in STAFF_ADMINS and (tenant.is_global or current_user.institution_id is not None),
        institutions={i.id: i.name for i in _institutions()},
    )


@bp.get("/hospital/staff")
@allow(HOSPITAL_STAFF)
def staff():
    return _staff_page()


@bp.post("/hospital/staff")
@allow(STAFF_ADMINS)
def staff_add():
    form = PersonnelForm()

    def add():
        institution_id = current_user.institution_id or form.institution_id.data or 0
        if not institution_id:
            raise Invalid.field("institution_id", "Choose a hospital.")
        return services.create_personnel(
            actor=_actor(),
            institution_id=institution_id,
            full_name=form.full_name.data,
            kind=form.kind.data,
            department=form.department.data,
            specialty=form.specialty.data or None,
            licence_number=form.licence_number.data or None,
        )

    done = submit(form, add)
    if done.ok:
        flash(f"{done.result.full_name} added to the staff.", "success")
        return redirect(url_for("hospital.staff"), 303)
    return _staff_page(form, done.status)


# --- weekly schedule of a staff member -------------------------------------------------------------


def _week_of(form: ScheduleForm) -> dict:
    """The day boxes ("08:00-13:00, 14:00-17:00") as the service takes them; the service checks the times."""
    week = {}
    for day in schedules.WEEKDAYS:
        text = (getattr(form, day).data or "").replace("–", "-")
        pieces = [piece.strip() for piece in text.split(",") if piece.strip()]
        if pieces:
            week[day] = [[part.strip() for part in piece.partition("-")[::2]] for piece in pieces]
    return week


def _schedule_page(person, form=None, status: int = 200):
    week = schedules.shifts(person.schedule)
    if form is None:
        shown = {day: ", ".join(f"{start}-{end}" for start, end in week[day]) for day in schedules.WEEKDAYS}
        form = ScheduleForm(formdata=None, data=shown)
    return render(
        "hospital/schedule.html",
        status=status,
        person=person,
        week=week,
        day_names=schedules.DAY_NAMES,
        form=form,
        can_edit=current_user.role in STAFF_ADMINS,
    )


@bp.get("/hospital/staff/<id:personnel_id>/schedule")
@allow(HOSPITAL_STAFF)
def staff_schedule(personnel_id: int):
    return _schedule_page(services.get_personnel(_tenant(), personnel_id))


@bp.post("/hospital/staff/<id:personnel_id>/schedule")
@allow(STAFF_ADMINS)
def staff_schedule_save(personnel_id: int):
    person = services.get_personnel(_tenant(), personnel_id)
    form = ScheduleForm()

    def save():
        try:
            return schedules.set_schedule(actor=_actor(), personnel_id=person.id, schedule=_week_of(form))
        except Invalid as exc:  # the service names a day "schedule.mon"; on this form the day is the field
            raise Invalid(exc.detail, {k.removeprefix("schedule."): v for k, v in exc.errors.items()}) from None

    done = submit(form, save)
    if done.ok:
        flash(f"Hours of {done.result.full_name} saved.", "success")
        return redirect(url_for("hospital.staff_schedule", personnel_id=personnel_id), 303)
    return _schedule_page(services.get_personnel(_tenant(), personnel_id), form, done.status)


# --- medical record attachments ------------------------------------------------------------------


@bp.post("/hospital/records/<id:record_id>/attachments")
@allow(HOSPITAL_STAFF)
def record_attachment_upload(record_id: int):
    """Attach a file to a record from the patient page; the outcome is flashed there (303)."""
    record = records.record_for_write(_actor(), record_id)  # not clinical: 403; another hospital's: 404
    back = url_for("hospital.patient", patient_id=record.patient_id, _anchor=f"record-{record.id}")
    form = AttachmentForm()
    if not form.validate_on_submit():
        errors = list(form.form_errors) + [m for f in form for m in f.errors]
        flash(" ".join(errors) or "The form expired; reload the page and try again.", "error")
        return redirect(back, 303)
    upload = request.files.get("file")
    stream = upload.stream if upload is not None and upload.filename else None
    try:
        row = records.add_attachment(
            actor=_actor(),
            record_id=record.id,
            filename=upload.filename if stream is not None else "",
            stream=stream,
        )
    except Invalid as exc:
        db.session.rollback()
        messages = [m for field_messages in (exc.errors or {}).values() for m in field_messages]
        flash("The file was not attached: " + (" ".join(messages) or exc.detail), "error")
        return redirect(back, 303)
    db.session.commit()
    flash(f"{row.filename} attached.", "success")
    return redirect(back, 303)


@bp.get("/hospital/attachments/<id:attachment_id>")
@allow(STAFF)
def record_attachment_download(attachment_id: int):
    """A record's attachment as a download, for those who may read the record."""
    return attachment_download(attachment_id)
