"""The patient page and its appointments panel: what they show, for every page flow that ends on them
(intake, corrections, merges, bookings, encounters and orders)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from flask import url_for

from blueprints.hospital import services
from blueprints.hospital.models import PersonnelKind
from blueprints.hospital.services import orders, records
from blueprints.hospital.services.patients import patient_row
from blueprints.hospital.web.forms import (
    AttachmentForm,
    BookForm,
    EncounterForm,
    MergeForm,
    OrderForm,
    PatientForm,
    choices,
)
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.extensions import db
from medcover.pages import actor, render, tenant


def _details_of(patient) -> services.PatientDetails:
    return services.PatientDetails(
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        gender=patient.gender,
        phone=patient.phone,
        national_id=patient.national_id,
    )


def _clinicians(patient) -> list:
    rows = db.session.scalars(services.personnel_query(tenant(), kind=PersonnelKind.CLINICIAN.value))
    return [p for p in rows if p.institution_id == patient.institution_id and p.active]


def book_form(patient, formdata: bool = True) -> BookForm:
    form = BookForm() if formdata else BookForm(formdata=None)
    form.personnel_id.choices = choices(
        [(0, "Choose a clinician…")]
        + [(p.id, f"{p.full_name} · {p.specialty or p.department}") for p in _clinicians(patient)]
    )
    if not formdata:
        start = clock.local_now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        form.starts_at.data = start.replace(tzinfo=None)  # the input shows the site's wall clock
    return form


def appointments_context(patient, form=None, failed: dict | None = None) -> dict:
    """The appointments panel: the patient's appointments and the booking form."""
    rows = list(db.session.scalars(services.appointments_query(tenant(), patient_id=patient.id)))
    return {
        "patient": patient,
        "appointments": rows,
        "patients": {patient.id: patient},
        "staff": services.personnel_by_id(r.personnel_id for r in rows),
        "book_form": form or book_form(patient, formdata=False),
        "failed": failed or {},
        "reasons": insurance.Verification.REASONS,
        "here": url_for("hospital.patient", patient_id=patient.id),
    }


def _orders_by_record(patient) -> dict[int, list]:
    """The patient's orders under their encounters, in one query."""
    found: dict[int, list] = defaultdict(list)
    for order in db.session.scalars(orders.orders_query(tenant(), patient_id=patient.id)):
        found[order.record_id].append(order)
    return found


def patient_page(patient, status: int = 200, **forms):
    """The whole patient page; ``forms`` carries a refused form to show with its messages."""
    clinical = records.may_access_records(actor(), patient.institution_id)
    medical_records = records.records_for_patient(actor=actor(), patient_id=patient.id) if clinical else []
    return render(
        "hospital/patient.html",
        status=status,
        verdict=services.cover_for(patient),
        today=clock.today(),
        edit_form=forms.get("edit_form") or PatientForm(obj=patient, formdata=None),
        merge_form=forms.get("merge_form") or MergeForm(formdata=None),
        duplicates=[p for p in services.likely_duplicates(tenant(), _details_of(patient)) if p.id != patient.id],
        merged_into=patient_row(tenant(), patient.merged_into_id) if patient.merged_into_id else None,
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
        **appointments_context(patient, forms.get("book_form")),
    )
