"""What the payment domain reads about claims: summaries by id as plain values in one query, the claims waiting
for payment (approved first, then partially approved, each oldest submission first, narrowed by a claim-number
prefix or a member number), one claim's summary; each as far as the reader's tenant may see."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from blueprints.claims import services
from medcover import clock
from medcover.errors import NotFound
from medcover.extensions import db
from medcover.rbac import Tenant, tenant_of

D = Decimal
CONSULT = ("CONSULT", 1, "2500.00")
#: no pre-authorisation: the MRI line is rejected (R12), the claim partially approved
WITH_MRI = [CONSULT, ("MRI-HEAD", 1, "30000.00")]


def _claim(cw, items, *, days_ago=1, member="ACM-001"):
    return services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            member_number=member,
            institution_id=cw.hospital.id,
            service_date=cw.today - timedelta(days=days_ago),
            items=[services.ItemInput(*item) for item in items],
        ),
    )


def _submitted(cw, items, *, days_ago=1, sent_days_ago=0, member="ACM-001"):
    """A claim submitted (and decided) ``sent_days_ago`` days back; each service date is its own visit."""
    claim = _claim(cw, items, days_ago=days_ago, member=member)
    with clock.travel(-timedelta(days=sent_days_ago)):
        return services.submit_claim(actor=cw.clerk, claim_id=claim.id)


def test_claim_summaries_are_plain_values_read_in_one_query(cw, count_queries):
    approved = _submitted(cw, [CONSULT])
    partial = _submitted(cw, WITH_MRI, days_ago=2)
    services.record_payment_event(1, {"kind": "claim", "claim_id": approved.id, "amount": "1000.00", "payment_id": 1})
    db.session.flush()
    with count_queries() as counted:
        found = services.claim_summaries(tenant_of(cw.adjudicator), [approved.id, partial.id, None, 0])
    assert counted.count == 1
    assert set(found) == {approved.id, partial.id}
    summary = found[approved.id]
    assert dataclasses.asdict(summary) == {
        "id": approved.id,
        "claim_number": approved.claim_number,
        "member_number": "ACM-001",
        "status": "approved",
        "institution_id": cw.hospital.id,
        "company_id": cw.company.id,
        "invoice_id": None,
        "service_date": cw.today - timedelta(days=1),
        "total_billed": D("2500.00"),
        "total_approved": D("2250.00"),
        "total_paid": D("1000.00"),
    }
    # a plain string, not the claims domain's enum
    assert type(summary.status) is str and found[partial.id].status == "partially_approved"
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.total_paid = D("0.00")


def test_claim_summaries_leave_out_what_the_tenant_may_not_see(cw, count_queries):
    claim = _submitted(cw, [CONSULT])
    draft = _claim(cw, [CONSULT], days_ago=3)
    ids = [claim.id, draft.id]
    assert set(services.claim_summaries(tenant_of(cw.clerk), ids)) == {claim.id, draft.id}
    # the insurer does not see a provider's draft; another insurer and another provider see nothing
    assert set(services.claim_summaries(tenant_of(cw.adjudicator), ids)) == {claim.id}
    assert services.claim_summaries(tenant_of(cw.other_adjudicator), ids) == {}
    assert services.claim_summaries(tenant_of(cw.other_clerk), ids) == {}
    # read as the settlement's insurer, as payment does for whoever may see the settlement
    assert set(services.claim_summaries(Tenant(None, cw.company.id), ids)) == {claim.id}
    with count_queries() as counted:
        assert services.claim_summaries(tenant_of(cw.adjudicator), []) == {}
    assert counted.count == 0


def test_a_claims_summary_is_the_tenants_to_see(cw):
    claim = _submitted(cw, WITH_MRI)
    summary = services.claim_summary(tenant_of(cw.adjudicator), claim.id)
    assert summary == services.claim_summaries(tenant_of(cw.clerk), [claim.id])[claim.id]
    assert (summary.status, summary.total_approved) == ("partially_approved", D("2250.00"))
    with pytest.raises(NotFound):
        services.claim_summary(tenant_of(cw.other_adjudicator), claim.id)
    draft = _claim(cw, [CONSULT], days_ago=3)
    with pytest.raises(NotFound):
        services.claim_summary(tenant_of(cw.adjudicator), draft.id)


def test_payable_claims_are_approved_then_partially_approved_each_oldest_first(cw):
    newer = _submitted(cw, [CONSULT], days_ago=1, sent_days_ago=0)
    older = _submitted(cw, [CONSULT], days_ago=4, sent_days_ago=2)
    partial = _submitted(cw, WITH_MRI, days_ago=6, sent_days_ago=5)
    _submitted(cw, [("MRI-HEAD", 1, "30000.00")], days_ago=7)  # rejected: nothing to pay
    _claim(cw, [CONSULT], days_ago=8)  # a draft
    _submitted(cw, [("SURGERY", 1, "80000.00")], days_ago=9)  # pending review
    tenant = tenant_of(cw.adjudicator)
    found = services.payable_claims(tenant, limit=10)
    assert [c.id for c in found] == [older.id, newer.id, partial.id]
    assert [c.status for c in found] == ["approved", "approved", "partially_approved"]
    assert [c.id for c in services.payable_claims(tenant, limit=2)] == [older.id, newer.id]
    assert services.payable_claims(tenant_of(cw.other_adjudicator), limit=10) == []


def test_payable_claims_narrow_to_a_claim_number_prefix_or_a_member_number(cw):
    first = _submitted(cw, [CONSULT], days_ago=1)
    second = _submitted(cw, [CONSULT], days_ago=2)
    tenant = tenant_of(cw.adjudicator)
    assert [c.id for c in services.payable_claims(tenant, search=f" {second.claim_number.lower()} ", limit=10)] == [
        second.id
    ]
    prefix = first.claim_number[:8]  # "CL-2026-": the start of both numbers
    assert {c.id for c in services.payable_claims(tenant, search=prefix, limit=10)} == {first.id, second.id}
    assert {c.id for c in services.payable_claims(tenant, search="acm-001", limit=10)} == {first.id, second.id}
    # a member number matches whole, and a prefix's wildcards are taken literally
    assert services.payable_claims(tenant, search="ACM-00", limit=10) == []
    assert services.payable_claims(tenant, search="CL-%", limit=10) == []
    assert services.payable_claims(tenant, search="ZEN-001", limit=10) == []
