"""Hospital pages for patients: intake (find or register, with likely duplicates and the member's cover on
the spot), the patient page, corrections and merging a duplicate registration."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from blueprints.hospital import bp, services
from blueprints.hospital.services.patients import patient_row
from blueprints.hospital.web.forms import MergeForm, PatientForm, RegisterForm
from blueprints.hospital.web.patient_page import appointments_context, patient_page
from blueprints.hospital.web.views import HOSPITAL_STAFF, chosen_institution, institution_choices, typed
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.errors import Invalid, NotFound
from medcover.pages import actor, render, submit, tenant, toast, wants_partial
from medcover.rbac import allow


def _details(form) -> services.PatientDetails:
    return services.PatientDetails(
        first_name=typed(form.first_name.data, 200),
        last_name=typed(form.last_name.data, 200),
        date_of_birth=form.date_of_birth.data,
        gender=typed(form.gender.data, 20),
        phone=typed(form.phone.data, 40) or None,
        email=typed(form.email.data, 300) or None,
        national_id=typed(form.national_id.data, 40) or None,
        member_number=typed(form.member_number.data, 40) or None,
    )


def _verdict(member_number: str | None):
    """Cover today for a member number typed at the desk (None when there is none: a self-paying patient)."""
    number = typed(member_number, 30).strip()
    return insurance.verify(number, clock.today()) if number else None


# --- intake: find or register --------------------------------------------------------------------


def _register_form(formdata: bool = True) -> RegisterForm:
    form = RegisterForm() if formdata else RegisterForm(formdata=None)
    # Only a platform admin chooses the hospital (hospital staff register at their own): no list to read for others.
    form.institution_id.choices = institution_choices() if tenant().is_global else []
    return form


def _check(form) -> dict:
    """What the desk should know before saving: patients who look the same, and the member's cover today."""
    details = _details(form)
    typed_in = any((details.national_id, details.phone, details.first_name and details.last_name))
    return {
        "duplicates": services.likely_duplicates(tenant(), details) if typed_in else [],
        "verdict": _verdict(form.member_number.data),
    }


def _intake(form=None, status: int = 200, partial: str | None = None, check: dict | None = None, refusal=None):
    q = typed(request.args.get("q", ""), 60)
    results = services.search_patients(tenant(), q)
    services.audit_patient_read(actor(), results, "patient search")
    if form is None and not (partial and wants_partial()):  # the search box's swap shows results, not the form
        form = _register_form(formdata=False)
    return render(
        "hospital/patients.html",
        partial,
        status=status,
        q=q,
        results=results,
        form=form,
        choose_institution=tenant().is_global,
        existing=getattr(refusal, "existing", None),
        lookalikes=getattr(refusal, "lookalikes", []),
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
    refusal = {}

    def register():
        # unticked, the reason is not a confirmation: a lookalike then asks for one
        reason = typed(form.different_person_reason.data, 600) if form.different_person.data else None
        try:
            return services.register_patient(
                actor=actor(),
                institution_id=chosen_institution(form),
                details=_details(form),
                different_person_reason=reason,
            )
        except (services.DuplicatePatient, services.LikelyDuplicate) as exc:
            refusal["error"] = exc
            raise

    done = submit(form, register)
    if not done.ok:
        return _intake(form, done.status, "hospital/_register.html", _check(form), refusal.get("error"))
    patient = done.result
    if not wants_partial():
        flash(f"{patient.first_name} {patient.last_name} is registered as {patient.patient_number}.", "success")
        return redirect(url_for("hospital.patient", patient_id=patient.id), 303)
    response = render(
        "hospital/_registered.html",
        verdict=services.cover_for(patient),
        **appointments_context(patient),
    )
    return toast(response, f"Registered {patient.patient_number}.")


# --- the patient page ----------------------------------------------------------------------------


@bp.get("/hospital/patients/<id:patient_id>")
@allow(HOSPITAL_STAFF)
def patient(patient_id: int):
    row = patient_row(tenant(), patient_id)
    services.audit_patient_read(actor(), row, "patient page")
    return patient_page(row)


@bp.post("/hospital/patients/<id:patient_id>")
@allow(HOSPITAL_STAFF)
def patient_update(patient_id: int):
    row = patient_row(tenant(), patient_id)
    form = PatientForm()
    done = submit(form, lambda: services.update_patient(actor=actor(), patient_id=row.id, details=_details(form)))
    if done.ok:
        flash("Demographics saved.", "success")
        return redirect(url_for("hospital.patient", patient_id=patient_id), 303)
    return patient_page(patient_row(tenant(), patient_id), done.status, edit_form=form)


@bp.post("/hospital/patients/<id:patient_id>/merge")
@allow(HOSPITAL_STAFF)
def patient_merge(patient_id: int):
    row = patient_row(tenant(), patient_id)
    form = MergeForm()

    def merge():
        try:
            duplicate = services.patient_by_number(tenant(), form.duplicate_number.data)
        except NotFound:
            raise Invalid.field("duplicate_number", "No patient of this hospital has that number.") from None
        return services.merge_patients(actor=actor(), keep_id=row.id, duplicate_id=duplicate.id)

    done = submit(form, merge)
    if done.ok:
        flash(f"{form.duplicate_number.data.strip().upper()} was merged into {row.patient_number}.", "success")
        return redirect(url_for("hospital.patient", patient_id=patient_id), 303)
    return patient_page(patient_row(tenant(), patient_id), done.status, merge_form=form)
