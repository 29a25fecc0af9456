"""Medical records: encounters (ICD-10 diagnoses, procedures, notes) and their attachments.

Records are read and written only by the clinical staff of the record's institution and by admins whose
tenant owns it; reception, billing, insurer staff and auditors are refused. Every read is audited, without
any clinical content in the audit entry. Attachments are checked by their content (PDF, PNG, JPEG), stored
outside the web root under a generated name, and served only through ``open_attachment``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from blueprints.core import services as core
from blueprints.hospital.models import Appointment, MedicalPersonnel, MedicalRecord, Patient, RecordAttachment
from blueprints.hospital.services import patients, personnel
from medcover import clock, uploads
from medcover.errors import Forbidden, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Role, tenant_of

#: an ICD-10 diagnosis code as records and claims take it (``J06.9``): the format, not the code list (a
#: letter other than U, two characters, then up to four after a dot)
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
MAX_DIAGNOSES = 20
MAX_PROCEDURES = 20
PROCEDURE_CHARS = 200
NOTES_CHARS = 20_000
ATTACHMENT_FOLDER = "attachments"


# --- who may see records -------------------------------------------------------------------------


def may_access_records(actor, institution_id: int) -> bool:
    """Clinical staff of that institution, or an admin whose tenant owns it."""
    if actor is None or not tenant_of(actor).owns(institution_id, None):
        return False
    if actor.role == Role.ADMIN:
        return True
    return personnel.is_clinical(actor, institution_id)


def require_clinical_access(actor, institution_id: int) -> None:
    """Another tenant's rows are reported missing; the tenant's non-clinical staff are refused."""
    if actor is None:
        raise NotFound("No such record.")
    if not tenant_of(actor).owns(institution_id, None):
        raise Hidden("No such record.", record="medical record")
    if not may_access_records(actor, institution_id):
        raise Forbidden("Medical records are open to the clinical staff of this institution only.")


def _audit_read(actor, entity_id: int, institution_id: int, summary: str, patient_id: int | None = None) -> None:
    # The patient's number, ids and counts only: the audit log is read far more widely than the records.
    if patient_id is not None:
        patient = db.session.get(Patient, patient_id)
        summary = f"{summary} of patient {patient.patient_number}" if patient is not None else summary
    core.record_audit(actor, "read", "medical_record", entity_id, summary=summary, institution_id=institution_id)


def record_for_write(actor, record_id: int) -> MedicalRecord:
    """The record, for a change by someone allowed (no read audit: the change audits itself)."""
    record = db.session.get(MedicalRecord, record_id) if record_id else None
    if record is None:
        raise NotFound("No such record.")
    require_clinical_access(actor, record.institution_id)
    return record


# --- validation ----------------------------------------------------------------------------------


def _diagnoses(values) -> list[str]:
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise Invalid.field("diagnoses", "Give the diagnoses as a list of ICD-10 codes.")
    codes: list[str] = []
    for value in values:
        code = str(value if value is not None else "").strip().upper()
        if not code:
            continue
        if not ICD10.fullmatch(code):
            shown = code[:20] + ("…" if len(code) > 20 else "")
            raise Invalid.field("diagnoses", f"{shown} is not an ICD-10 code (codes look like J06.9, A09, S72.001A).")
        if code not in codes:
            codes.append(code)
    if not codes:
        raise Invalid.field("diagnoses", "Give at least one diagnosis (an ICD-10 code).")
    if len(codes) > MAX_DIAGNOSES:
        raise Invalid.field("diagnoses", f"Give at most {MAX_DIAGNOSES} diagnoses.")
    return codes


def _no_controls(text: str, field: str) -> str:
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text):
        raise Invalid.field(field, "Remove the control characters.")
    return text


def _procedures(values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise Invalid.field("procedures", "Give the procedures as a list.")
    items = [" ".join(str(v).split()) for v in values if v is not None and str(v).strip()]
    if len(items) > MAX_PROCEDURES:
        raise Invalid.field("procedures", f"Give at most {MAX_PROCEDURES} procedures.")
    for item in items:
        if len(item) > PROCEDURE_CHARS:
            raise Invalid.field("procedures", f"Describe each procedure in at most {PROCEDURE_CHARS} characters.")
        _no_controls(item, "procedures")
    return items


def _notes(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid.field("notes", "Notes are text.")
    value = value.strip()
    if len(value) > NOTES_CHARS:
        raise Invalid.field("notes", f"Notes take at most {NOTES_CHARS:,} characters.")
    return _no_controls(value, "notes") or None


def _encounter_date(value) -> date:
    if isinstance(value, datetime):
        value = clock.local_date(value) if value.tzinfo else value.date()
    if not isinstance(value, date):
        raise Invalid.field("encounter_date", "Enter a date (YYYY-MM-DD).")
    if value > clock.today():
        raise Invalid.field("encounter_date", "The encounter date cannot be in the future.")
    if value.year < 1900:
        raise Invalid.field("encounter_date", "Enter a real encounter date.")
    return value


# --- records -------------------------------------------------------------------------------------


def create_record(
    *,
    actor,
    patient_id: int,
    encounter_date: date,
    diagnoses: list[str],
    procedures: list[str],
    notes: str,
    appointment_id: int | None = None,
    personnel_id: int | None = None,
) -> MedicalRecord:
    patient = patients.patient_row(tenant_of(actor), patient_id)
    require_clinical_access(actor, patient.institution_id)
    if patient.merged_into_id:
        raise Invalid.field("patient_id", "This record was merged; write on the kept one.")
    values = {
        "encounter_date": _encounter_date(encounter_date),
        "diagnoses": _diagnoses(diagnoses),
        "procedures": _procedures(procedures),
        "notes": _notes(notes),
    }
    if appointment_id:
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None or appointment.patient_id != patient.id:
            raise Invalid.field("appointment_id", "Choose an appointment of this patient.")
    if personnel_id:
        clinician = db.session.get(MedicalPersonnel, personnel_id)
        if clinician is None or clinician.institution_id != patient.institution_id:
            raise Invalid.field("personnel_id", "Choose a clinician of this institution.")
    else:  # the author, when the author is on the institution's clinical staff
        personnel_id = db.session.scalar(
            select(MedicalPersonnel.id).where(
                MedicalPersonnel.user_id == actor.id, MedicalPersonnel.institution_id == patient.institution_id
            )
        )
    record = MedicalRecord(
        institution_id=patient.institution_id,
        patient_id=patient.id,
        personnel_id=personnel_id,
        appointment_id=appointment_id or None,
        created_by_id=actor.id,
        **values,
    )
    db.session.add(record)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "medical_record",
        record.id,
        after={
            "patient_id": patient.id,
            "diagnoses": len(values["diagnoses"]),
            "procedures": len(values["procedures"]),
        },
        institution_id=record.institution_id,
    )
    return record


def get_record(*, actor, record_id: int) -> MedicalRecord:
    record = record_for_write(actor, record_id)
    _audit_read(actor, record.id, record.institution_id, "medical record", record.patient_id)
    return record


def records_for_patient(*, actor, patient_id: int) -> list[MedicalRecord]:
    """The patient's encounters, newest first; one audit entry (the patient's id) for the list."""
    patient = patients.patient_row(tenant_of(actor), patient_id)
    require_clinical_access(actor, patient.institution_id)
    rows = list(
        db.session.scalars(
            select(MedicalRecord)
            .where(MedicalRecord.patient_id == patient.id)
            .order_by(MedicalRecord.encounter_date.desc(), MedicalRecord.id.desc())
        )
    )
    _audit_read(actor, patient.id, patient.institution_id, f"medical records list ({len(rows)})", patient.id)
    return rows


def attachments_of(record_ids) -> dict[int, list[RecordAttachment]]:
    """Attachments of records the caller has already read through ``get_record``/``records_for_patient``."""
    ids = {i for i in record_ids if i}
    found: dict[int, list[RecordAttachment]] = {i: [] for i in ids}
    if ids:
        stmt = select(RecordAttachment).where(RecordAttachment.record_id.in_(ids)).order_by(RecordAttachment.id)
        for row in db.session.scalars(stmt):
            found[row.record_id].append(row)
    return found


# --- attachments ---------------------------------------------------------------------------------


def add_attachment(
    *, actor, record_id: int, filename: str, stream, declared_type: str | None = None
) -> RecordAttachment:
    """Check, store and register a file on a record. ``declared_type`` (the browser's word) is ignored on
    purpose: the content decides. Nothing is written unless every check passes."""
    record = record_for_write(actor, record_id)
    with uploads.kept(ATTACHMENT_FOLDER, filename, stream) as stored:
        row = RecordAttachment(
            record_id=record.id,
            filename=stored.filename,
            stored_name=stored.stored_name,
            content_type=stored.content_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            uploaded_by_id=actor.id,
        )
        db.session.add(row)
        db.session.flush()
        core.record_audit(
            actor,
            "create",
            "medical_record_attachment",
            row.id,
            after={"record_id": record.id, "content_type": stored.content_type, "size_bytes": stored.size_bytes},
            institution_id=record.institution_id,
        )
    return row


def open_attachment(*, actor, attachment_id: int) -> tuple[Path, RecordAttachment]:
    """The stored file's path and its row, for someone allowed to read the record; the read is audited."""
    row = db.session.get(RecordAttachment, attachment_id) if attachment_id else None
    record = db.session.get(MedicalRecord, row.record_id) if row is not None else None
    if record is None:
        raise NotFound("No such attachment.")
    require_clinical_access(actor, record.institution_id)
    path = uploads.stored_path(ATTACHMENT_FOLDER, row.stored_name)
    _audit_read(actor, record.id, record.institution_id, f"attachment {row.id} of a medical record", record.patient_id)
    return path, row
