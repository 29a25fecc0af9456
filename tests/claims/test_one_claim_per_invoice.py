"""One claim per invoice, held by the service (naming the claim that has it) and by the database's unique index
(for a race the service's look cannot see); a voided claim makes room for its replacement."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from blueprints.billing import services as billing
from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimStatus
from medcover.errors import Conflict
from medcover.extensions import db
from medcover.rbac import Tenant
from tests.api.problem import assert_problem


@pytest.fixture
def invoice(cw):
    draft = billing.create_invoice(
        actor=cw.clerk, institution_id=cw.hospital.id, patient_id=cw.patient.id, lines=[billing.LineInput("CONSULT", 1)]
    )
    billing.issue_invoice(actor=cw.clerk, invoice_id=draft.id)
    db.session.commit()
    return billing.invoice_summary(Tenant(None, None), draft.id)


def _by_hand(cw, invoice):
    return services.ClaimInput(
        member_number="ACM-001",
        institution_id=cw.hospital.id,
        service_date=cw.today,
        items=[services.ItemInput("CONSULT", 1, "2500.00")],
        invoice_id=invoice.id,
    )


def test_a_claim_keyed_in_for_a_claimed_invoice_is_refused_naming_the_first(cw, invoice):
    first = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    with pytest.raises(Conflict) as refused:
        services.create_claim(actor=cw.clerk, values=_by_hand(cw, invoice))
    assert first.claim_number in refused.value.errors["invoice_id"][0]


def test_the_api_answers_409_naming_the_first_claim(cw, invoice, client, api_token):
    first = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    db.session.commit()
    body = {
        "member_number": "ACM-001",
        "institution_id": cw.hospital.id,
        "service_date": cw.today.isoformat(),
        "invoice_id": invoice.id,
        "items": [{"service_code": "CONSULT", "quantity": 1, "unit_price": "2500.00"}],
    }
    problem = assert_problem(client.post("/api/v1/claims", json=body, headers=api_token(cw.clerk)), 409)
    assert first.claim_number in problem["errors"]["invoice_id"][0]


def test_the_database_refuses_a_second_open_claim_the_service_did_not_see(cw, invoice):
    first = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    second = services.create_claim(actor=cw.clerk, values=replace(_by_hand(cw, invoice), invoice_id=None))
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(update(Claim).where(Claim.id == second.id).values(invoice_id=invoice.id))
    assert first.invoice_id == invoice.id


def test_a_voided_claim_makes_room_for_its_replacement(cw, invoice):
    first = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    services.void_claim(actor=cw.clerk, claim_id=first.id, reason="wrong lines")
    again = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    assert again.invoice_id == invoice.id and again.status is ClaimStatus.DRAFT
