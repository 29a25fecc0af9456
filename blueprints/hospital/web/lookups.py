"""The global search's look-up of patients by number (registered with ``medcover.navigation.add_lookup``)."""

from __future__ import annotations

from flask import url_for

from blueprints.hospital.services import patients
from medcover.rbac import tenant_of
from medcover.tenants import tenant_label


def patients_numbered(user, text: str) -> list[tuple[str, str]]:
    """Patients with this hospital number (or, at a hospital, this member number), as links to their page."""
    tenant = tenant_of(user)
    found = []
    for patient in patients.patients_numbered(tenant, text):
        label = f"{patient.first_name} {patient.last_name}, patient {patient.patient_number}"
        if patient.patient_number != text.strip().upper():
            label += f", member {patient.member_number}"
        if tenant.is_global:
            label += f", {tenant_label(patient.institution_id, None)}"
        found.append((label, url_for("hospital.patient", patient_id=patient.id)))
    return found


def patient_names(ids: set[str]):
    """Patients named with their number (``medcover.naming``)."""
    from medcover.naming import Named, whole_ids

    return {
        str(patient_id): Named(
            f"Patient {p.patient_number}, {p.first_name} {p.last_name}",
            url_for("hospital.patient", patient_id=patient_id),
        )
        for patient_id, p in patients.patients_by_id(whole_ids(ids)).items()
    }
