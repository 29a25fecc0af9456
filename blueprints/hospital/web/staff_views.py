"""Hospital pages for the staff: the list by department and kind, adding a staff member, and each one's
weekly hours."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.hospital import bp, services
from blueprints.hospital.models import PersonnelKind
from blueprints.hospital.services import schedules
from blueprints.hospital.web.forms import PersonnelForm, ScheduleForm
from blueprints.hospital.web.views import (
    HOSPITAL_STAFF,
    STAFF_ADMINS,
    chosen_institution,
    institution_choices,
    institutions,
    typed,
)
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.pages import actor, render, submit, tenant
from medcover.rbac import allow


def _staff_page(form=None, status: int = 200):
    department = typed(request.args.get("department", ""), 80)
    kind = typed(request.args.get("kind", ""), 20)
    tenancy = tenant()
    if form is None:
        form = PersonnelForm(formdata=None)
    form.institution_id.choices = institution_choices()
    return render(
        "hospital/staff.html",
        "hospital/_staff_rows.html",
        status=status,
        rows=list(db.session.scalars(services.personnel_query(tenancy, department=department, kind=kind))),
        department=department,
        kind=kind,
        kinds=list(PersonnelKind),
        departments=services.departments(tenancy),
        form=form,
        choose_institution=tenancy.is_global,
        can_add=current_user.role in STAFF_ADMINS and (tenancy.is_global or current_user.institution_id is not None),
        institutions={i.id: i.name for i in institutions()},
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
        return services.create_personnel(
            actor=actor(),
            institution_id=chosen_institution(form),
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
    return _schedule_page(services.get_personnel(tenant(), personnel_id))


@bp.post("/hospital/staff/<id:personnel_id>/schedule")
@allow(STAFF_ADMINS)
def staff_schedule_save(personnel_id: int):
    person = services.get_personnel(tenant(), personnel_id)
    form = ScheduleForm()

    def save():
        try:
            return services.set_schedule(actor=actor(), personnel_id=person.id, schedule=_week_of(form))
        except Invalid as exc:  # the service names a day "schedule.mon"; on this form the day is the field
            raise Invalid(exc.detail, {k.removeprefix("schedule."): v for k, v in exc.errors.items()}) from None

    done = submit(form, save)
    if done.ok:
        flash(f"Hours of {done.result.full_name} saved.", "success")
        return redirect(url_for("hospital.staff_schedule", personnel_id=personnel_id), 303)
    return _schedule_page(services.get_personnel(tenant(), personnel_id), form, done.status)
