"""PaymentReconciliation: a settlement of approved claims, one detail per claim paid, read and searched by
requestor (the provider) and created; the ClaimResponse and ExplanationOfBenefit show the payment once made."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from medcover.rbac import Role
from tests.claims.conftest import client, cw  # noqa: F401 - shared fixtures
from tests.factories import make_user
from tests.fhir.claims_world import Caller, fhir_claim
from tests.fhir.outcome import assert_outcome, resource


@pytest.fixture
def settled(client, api_token, cw):  # noqa: F811
    """Two claims approved (2250.00 and 1200.00) and settled by the insurer's finance officer by bank transfer."""
    clerk = Caller(client, api_token(cw.clerk))
    officer = Caller(client, api_token(make_user(Role.FINANCE_OFFICER, company_id=cw.company.id)))
    day = cw.today - timedelta(days=2)
    ids = [
        resource(clerk.post_claim(fhir_claim(lines, day=day)), 201).id
        for lines in ([("CONSULT", 1, "2500.00")], [("LAB-FBC", 1, "1200.00")])
    ]
    body = {
        "institution_id": cw.hospital.id,
        "period_start": (cw.today - timedelta(days=10)).isoformat(),
        "period_end": cw.today.isoformat(),
        "method": "bank_transfer",
        "reference": "FT2611290001",
    }
    settlement = officer.api("POST", "/settlements", body)
    return clerk, officer, ids, settlement


def test_a_settlement_is_a_payment_reconciliation_with_one_detail_per_claim(settled, cw):  # noqa: F811
    clerk, officer, ids, settlement = settled
    found = resource(officer.get(f"/fhir/PaymentReconciliation/{settlement['id']}"), 200, "PaymentReconciliation")
    assert found.identifier[0].value == settlement["number"]
    assert (found.paymentAmount.value, found.paymentAmount.currency) == (Decimal("3450.00"), "KES")
    assert str(found.paymentDate) == settlement["paid_on"] and found.paymentIdentifier.value == "FT2611290001"
    assert found.paymentIssuer.identifier.value == "ACME" and found.requestor.identifier.value == "HA"
    details = sorted((d.request.reference, d.response.reference, d.amount.value) for d in found.detail)
    assert details == sorted(
        [
            (f"Claim/{ids[0]}", f"ClaimResponse/{ids[0]}", Decimal("2250.00")),
            (f"Claim/{ids[1]}", f"ClaimResponse/{ids[1]}", Decimal("1200.00")),
        ]
    )
    # the provider sees its settlement too
    assert resource(clerk.get(f"/fhir/PaymentReconciliation/{settlement['id']}"), 200).id == str(settlement["id"])


def test_paid_claims_show_the_payment(settled, cw):  # noqa: F811
    clerk, officer, ids, settlement = settled
    answer = resource(clerk.get(f"/fhir/ClaimResponse/{ids[0]}"), 200, "ClaimResponse")
    assert answer.disposition == "Paid"
    assert (answer.payment.type.coding[0].code, answer.payment.amount.value) == ("complete", Decimal("2250.00"))
    assert str(answer.payment.date) == settlement["paid_on"]
    eob = resource(officer.get(f"/fhir/ExplanationOfBenefit/{ids[1]}"), 200, "ExplanationOfBenefit")
    assert eob.payment.amount.value == Decimal("1200.00")


def test_payment_reconciliations_are_searched_by_requestor_and_created(settled, cw):  # noqa: F811
    _, officer, _, settlement = settled
    today, tomorrow = cw.today.isoformat(), (cw.today + timedelta(days=1)).isoformat()
    for query, total in [
        ("requestor=HA", 1),
        ("requestor=urn:medcover:institution-code|HA", 1),
        ("requestor=HB", 0),
        ("requestor=NO-SUCH", 0),
        (f"created={today}", 1),
        (f"created=ge{today}&created=lt{tomorrow}", 1),
        (f"created=ge{tomorrow}", 0),
        (f"created=lt{today}", 0),
    ]:
        bundle = resource(officer.get(f"/fhir/PaymentReconciliation?{query}"), 200, "Bundle")
        assert bundle.total == total, query
        assert [e.resource.id for e in bundle.entry or []] == [str(settlement["id"])] * total
    assert_outcome(officer.get("/fhir/PaymentReconciliation?created=yesterday"), 400)
    assert_outcome(officer.get("/fhir/PaymentReconciliation?requestor=urn:other|HA"), 400)


def test_another_insurers_settlement_is_a_404_and_an_adjudicator_may_not_read_settlements(
    settled,
    client,  # noqa: F811
    api_token,
    cw,  # noqa: F811
):
    _, _, _, settlement = settled
    other = Caller(client, api_token(make_user(Role.FINANCE_OFFICER, company_id=cw.other_company.id)))
    assert_outcome(other.get(f"/fhir/PaymentReconciliation/{settlement['id']}"), 404, "not-found")
    assert resource(other.get("/fhir/PaymentReconciliation"), 200, "Bundle").total == 0
    assert_outcome(Caller(client, api_token(cw.adjudicator)).get("/fhir/PaymentReconciliation"), 403)
