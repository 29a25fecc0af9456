"""Hospital pages for medical records: an encounter recorded from the patient page, and the attachments of a
record (upload and download). The records' rule applies: clinical staff of the institution and its admins;
others get a 403 page, another hospital's record is a 404."""

from __future__ import annotations

import re

from flask import flash, redirect, url_for

from blueprints.hospital import bp
from blueprints.hospital.services import records
from blueprints.hospital.services.patients import patient_row
from blueprints.hospital.web.forms import AttachmentForm, EncounterForm
from blueprints.hospital.web.patient_page import patient_page
from blueprints.hospital.web.records_api import attachment_download
from blueprints.hospital.web.views import HOSPITAL_STAFF
from medcover.labels import day
from medcover.pages import actor, attach_upload, submit, tenant
from medcover.rbac import STAFF, allow


def _codes(text: str | None) -> list[str]:
    return [code for code in re.split(r"[\s,;]+", text or "") if code]


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@bp.post("/hospital/patients/<id:patient_id>/records")
@allow(HOSPITAL_STAFF)
def record_add(patient_id: int):
    """Record an encounter from the patient page (the same service as ``POST /api/v1/medical-records``)."""
    patient = patient_row(tenant(), patient_id)
    records.require_clinical_access(actor(), patient.institution_id)
    form = EncounterForm()
    done = submit(
        form,
        lambda: records.create_record(
            actor=actor(),
            patient_id=patient.id,
            encounter_date=form.encounter_date.data,
            diagnoses=_codes(form.diagnoses.data),
            procedures=_lines(form.procedures.data),
            notes=form.notes.data or None,
        ),
    )
    if done.ok:
        flash(f"Encounter of {day(done.result.encounter_date)} recorded.", "success")
        return redirect(url_for("hospital.patient", patient_id=patient.id, _anchor=f"record-{done.result.id}"), 303)
    return patient_page(patient_row(tenant(), patient_id), done.status, encounter_form=form)


@bp.post("/hospital/records/<id:record_id>/attachments")
@allow(HOSPITAL_STAFF)
def record_attachment_upload(record_id: int):
    """Attach a file to a record from the patient page; the outcome is flashed there (303)."""
    record = records.record_for_write(actor(), record_id)  # not clinical: 403; another hospital's: 404
    back = url_for("hospital.patient", patient_id=record.patient_id, _anchor=f"record-{record.id}")
    return attach_upload(
        AttachmentForm(),
        back,
        lambda filename, stream: records.add_attachment(
            actor=actor(), record_id=record.id, filename=filename, stream=stream
        ),
    )


@bp.get("/hospital/attachments/<id:attachment_id>")
@allow(STAFF)
def record_attachment_download(attachment_id: int):
    """A record's attachment as a download, for those who may read the record."""
    return attachment_download(attachment_id)
