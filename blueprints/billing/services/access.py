"""Who may change billing: the institution's own staff (or a platform admin); insurer staff only read
the invoices that bill their company."""

from __future__ import annotations

from blueprints.hospital import services as hospital
from medcover.errors import Forbidden, NotFound
from medcover.rbac import Role, tenant_of

#: roles that change billing data on the pages; everyone else with access reads
WRITERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER})
#: and through the API, where an integration account bound to the hospital writes for it
API_WRITERS = WRITERS | {Role.INTEGRATION}


def institution_for_write(actor, institution_id: int):
    """The institution, when the actor may change its billing; another tenant's is reported missing."""
    tenant = tenant_of(actor)
    institution = hospital.get_institution(tenant, institution_id)
    if actor.role not in API_WRITERS or not (tenant.is_global or tenant.institution_id == institution.id):
        raise Forbidden("Only the institution's billing staff change its billing.")
    return institution


def patient_for_write(actor, patient_id: int):
    """The patient, when the actor may change the billing of the institution the patient is registered at."""
    patient = hospital.get_patient(tenant_of(actor), patient_id)
    institution_for_write(actor, patient.institution_id)
    return patient


def may_write(actor, institution_id: int) -> bool:
    """For pages: whether to show the editing controls."""
    try:
        institution_for_write(actor, institution_id)
    except (Forbidden, NotFound):
        return False
    return actor.role in WRITERS
