"""Payment fixtures: the claims world (a provider, two insurers, a covered member who is a patient) plus its
cashiers and finance officers, and helpers for an issued invoice and an approved claim."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from medcover.rbac import Role
from tests.claims.conftest import client, cw  # noqa: F401 - shared fixtures
from tests.factories import make_user


@dataclass
class Cashiers:
    hospital: object
    other_hospital: object
    insurer: object
    other_insurer: object
    approver: object


@pytest.fixture
def people(cw) -> Cashiers:  # noqa: F811 - the shared fixture
    return Cashiers(
        hospital=make_user(Role.FINANCE_OFFICER, institution_id=cw.hospital.id, company_id=None),
        other_hospital=make_user(Role.FINANCE_OFFICER, institution_id=cw.other_hospital.id, company_id=None),
        insurer=make_user(Role.FINANCE_OFFICER, company_id=cw.company.id),
        other_insurer=make_user(Role.FINANCE_OFFICER, company_id=cw.other_company.id),
        approver=make_user(Role.FINANCE_OFFICER, institution_id=cw.hospital.id, company_id=None),
    )


@pytest.fixture
def issued(cw):  # noqa: F811
    """An issued invoice: CONSULT 2500.00 (insurer 2250.00, patient 250.00) + LAB-FBC 1200.00 (insurer)."""
    invoice = billing.create_invoice(
        actor=cw.clerk,
        institution_id=cw.hospital.id,
        patient_id=cw.patient.id,
        lines=[billing.LineInput("CONSULT", 1), billing.LineInput("LAB-FBC", 1)],
    )
    return billing.issue_invoice(actor=cw.clerk, invoice_id=invoice.id)


@pytest.fixture
def approved_claim(cw, issued):  # noqa: F811
    """The invoice's insurer part claimed and approved: 2250.00 + 1200.00 = 3450.00."""
    claim = claims.claim_from_invoice(actor=cw.clerk, invoice_id=issued.id)
    return claims.submit_claim(actor=cw.clerk, claim_id=claim.id)
