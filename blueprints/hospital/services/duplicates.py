"""Duplicate patients stopped at the door: a national id or a member number already registered at the hospital is
refused, naming the patient who has it; a lookalike (same name and date of birth) is registered only when the desk
says "This is a different person" and why, and that reason is audited."""

from __future__ import annotations

from sqlalchemy import select

from blueprints.hospital.models import Patient
from medcover.errors import Conflict, Invalid
from medcover.extensions import db
from medcover.fields import text

#: the shortest reason accepted for registering a lookalike ("twins" is enough; "x" is not)
REASON_MIN = 5


def _named(patient: Patient) -> dict:
    return {"id": patient.id, "patient_number": patient.patient_number}


class DuplicatePatient(Conflict):
    """The national id or member number is already the hospital's patient ``existing``'s."""

    title = "Duplicate patient"

    def __init__(self, existing: Patient, field: str):
        label = {"national_id": "national id", "member_number": "member number"}[field]
        message = f"Patient {existing.patient_number} ({existing.first_name} {existing.last_name}) has this {label}."
        super().__init__(f"Already registered: {message}", {field: [message]})
        self.existing = existing
        self.field = field
        self.extra = {"existing_patient": _named(existing)}


class LikelyDuplicate(Conflict):
    """Patients with the same name and date of birth exist; registering needs ``different_person_reason``."""

    title = "Likely duplicate patient"

    def __init__(self, lookalikes: list[Patient]):
        numbers = ", ".join(p.patient_number for p in lookalikes)
        super().__init__(
            f"A patient with this name and date of birth is already registered ({numbers}). If this is a different "
            "person, say why in different_person_reason.",
            {"different_person_reason": ["Say why this is a different person, or open the existing patient."]},
        )
        self.lookalikes = lookalikes
        self.extra = {"lookalikes": [_named(p) for p in lookalikes]}


def _live(institution_id: int, exclude_id: int | None):
    stmt = select(Patient).where(Patient.institution_id == institution_id, Patient.merged_into_id.is_(None))
    return stmt.where(Patient.id != exclude_id) if exclude_id else stmt


def refuse_duplicates(institution_id: int, values: dict, *, exclude_id: int | None = None) -> None:
    """Raise ``DuplicatePatient`` when the hospital already has a patient with this national id or member number."""
    for field in ("national_id", "member_number"):
        if values.get(field):
            stmt = _live(institution_id, exclude_id).where(getattr(Patient, field) == values[field])
            existing = db.session.scalars(stmt.order_by(Patient.id).limit(1)).first()
            if existing is not None:
                raise DuplicatePatient(existing, field)


def lookalikes(institution_id: int, values: dict, *, exclude_id: int | None = None, limit: int = 5) -> list[Patient]:
    """The hospital's patients with the same name (accents and case aside) and date of birth."""
    stmt = _live(institution_id, exclude_id).where(
        Patient.last_name_key == values["last_name_key"],
        Patient.first_name_key == values["first_name_key"],
        Patient.date_of_birth == values["date_of_birth"],
    )
    return list(db.session.scalars(stmt.order_by(Patient.id).limit(limit)))


def confirmed_different(institution_id: int, values: dict, reason: str | None) -> tuple[list[Patient], str | None]:
    """The lookalikes and the desk's reason for registering anyway; ``LikelyDuplicate`` when there are lookalikes
    and no reason (None: not confirmed), 422 for a reason too short to mean anything."""
    found = lookalikes(institution_id, values)
    if reason is not None:
        reason = text(reason, "different_person_reason", 500, required=False)
    if not found:
        return [], None
    if reason == "":
        raise Invalid.field("different_person_reason", "Say why this is a different person.")
    if not reason:
        raise LikelyDuplicate(found)
    if len(reason) < REASON_MIN:
        raise Invalid.field("different_person_reason", f"Say in at least {REASON_MIN} characters why.")
    return found, reason
