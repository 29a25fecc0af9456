"""Hospital JSON endpoints for medical records and their attachments, and the attachment download the pages
share.

Roles: the hospital's accounts (WRITERS); a clinician is one of these linked to a clinical personnel record.
The clinical rule itself is ``services.records``' (non-clinical staff: 403, another tenant's rows: 404).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from flask import request
from pydantic import Field

from blueprints.hospital import api_bp
from blueprints.hospital.services import records
from blueprints.hospital.web.api import ID, TAG, WRITERS, hospital_tenant
from medcover import uploads
from medcover.api import Day, Id, Out, Schema, actor, created, documented, parse, saved
from medcover.extensions import db
from medcover.rbac import allow

RECORD_ROLES = WRITERS
#: an ICD-10 code, trimmed and upper-cased before the service checks it (services.records.ICD10, whose message
#: the caller gets): the document states the rule, the service keeps enforcing it
ICD10 = r"^[ \t\r\n]*[A-TV-Za-tv-z][0-9][0-9ABab](\.[0-9A-TV-Za-tv-z]{1,4})?[ \t\r\n]*$"
Diagnosis = Annotated[str, Field(max_length=40, json_schema_extra={"pattern": ICD10})]
Procedure = Annotated[str, Field(max_length=400)]


class MedicalRecordIn(Schema):
    patient_id: Id
    encounter_date: Day
    diagnoses: list[Diagnosis] = Field(max_length=100, json_schema_extra={"minItems": 1})
    procedures: list[Procedure] | None = Field(None, max_length=100)
    notes: Annotated[str, Field(max_length=40_000)] | None = None
    appointment_id: Id | None = None
    personnel_id: Id | None = None


class AttachmentOut(Out):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    uploaded_at: datetime


class MedicalRecordOut(Out):
    id: int
    patient_id: int
    encounter_date: date
    diagnoses: list[str]
    procedures: list[str]
    notes: str | None
    personnel_id: int | None
    appointment_id: int | None
    attachments: list[AttachmentOut]


class MedicalRecordList(Out):
    items: list[MedicalRecordOut]


def _record_outs(rows) -> list[MedicalRecordOut]:
    found = records.attachments_of([r.id for r in rows])
    return [
        MedicalRecordOut(
            id=r.id,
            patient_id=r.patient_id,
            encounter_date=r.encounter_date,
            diagnoses=list(r.diagnoses or []),
            procedures=list(r.procedures or []),
            notes=r.notes,
            personnel_id=r.personnel_id,
            appointment_id=r.appointment_id,
            attachments=[AttachmentOut.model_validate(a) for a in found.get(r.id, [])],
        )
        for r in rows
    ]


@api_bp.get(f"/medical-records/<{ID}:patient_id>")
@allow(RECORD_ROLES)
@documented(
    "A patient's medical records, newest first (clinical staff of the institution and its admins)",
    tag=TAG,
    responses={200: MedicalRecordList, 404: None},
    description="The read is audited (ids and counts only).",
)
def list_medical_records(patient_id: int):
    hospital_tenant()
    rows = records.records_for_patient(actor=actor(), patient_id=patient_id)
    return saved(MedicalRecordList(items=_record_outs(rows)))


@api_bp.post("/medical-records")
@allow(RECORD_ROLES)
@documented(
    "Record an encounter: ICD-10 diagnoses, procedures and notes (clinical staff of the institution)",
    tag=TAG,
    body=MedicalRecordIn,
    responses={201: MedicalRecordOut, 404: None},
    description="personnel_id defaults to the author when the author is on the institution's clinical staff.",
)
def create_medical_record():
    data = parse(MedicalRecordIn)
    hospital_tenant()
    values = data.model_dump()
    values["procedures"] = values["procedures"] or []
    row = records.create_record(actor=actor(), **values)
    return created(_record_outs([row])[0])


@api_bp.get(f"/medical-records/record/<{ID}:record_id>")
@allow(RECORD_ROLES)
@documented("One medical record with its attachments", tag=TAG, responses={200: MedicalRecordOut, 404: None})
def get_medical_record(record_id: int):
    hospital_tenant()
    row = records.get_record(actor=actor(), record_id=record_id)
    return saved(_record_outs([row])[0])


@api_bp.post(f"/medical-records/record/<{ID}:record_id>/attachments")
@allow(RECORD_ROLES)
@documented(
    "Attach a PDF, PNG or JPEG to a record (multipart/form-data, field `file`)",
    tag=TAG,
    responses={201: AttachmentOut, 404: None},
    description="The body is multipart/form-data with one `file` part, not JSON. The content decides the type; "
    "anything but PDF, PNG or JPEG, an empty file or one over the size limit is a 422 with errors.file.",
    read_at="/medical-records/attachments/{attachment_id}",
)
def upload_medical_record_attachment(record_id: int):
    hospital_tenant()
    filename, stream = uploads.file_part(request.files)
    row = records.add_attachment(actor=actor(), record_id=record_id, filename=filename, stream=stream)
    return created(AttachmentOut.model_validate(row))


def attachment_download(attachment_id: int):
    """The stored file as a download (shared with the pages); the read is audited and committed."""
    path, row = records.open_attachment(actor=actor(), attachment_id=attachment_id)
    db.session.commit()
    return uploads.download(path, row.content_type, row.filename)


@api_bp.get(f"/medical-records/attachments/<{ID}:attachment_id>")
@allow(RECORD_ROLES)
@documented(
    "Download a record's attachment (clinical staff of the institution and its admins)",
    tag=TAG,
    responses={200: None, 404: None},
    description="Answers the file itself as an attachment, with the type found when it was uploaded.",
)
def download_medical_record_attachment(attachment_id: int):
    hospital_tenant()
    return attachment_download(attachment_id)
