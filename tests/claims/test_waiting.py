"""Claims' work waiting for the home page: claims to review (and since when the oldest waits) and disputes to
resolve for the insurer, claims to pay for its finance officer, drafts and open disputes for the provider; each
tenant counts its own, in one query. And the claims list's "to pay" filter the finance officer's count links to."""

from __future__ import annotations

from datetime import timedelta

import pytest

from blueprints.claims import services
from medcover import clock
from medcover.extensions import db
from medcover.rbac import Role, Tenant
from tests import bulk

HX = {"HX-Request": "true"}
INSURER_KEYS = frozenset({"claims_to_review", "disputes_to_resolve", "claims_to_pay"})
PROVIDER_KEYS = frozenset({"draft_claims", "disputes_open"})


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def insurer(cw) -> Tenant:
    return Tenant(None, cw.company.id)


def provider(cw) -> Tenant:
    return Tenant(cw.hospital.id, None)


def counts(found) -> dict[str, int]:
    return {key: waiting.count for key, waiting in found.items()}


def both(cw) -> dict:
    return {
        "mine": {"institution_id": cw.hospital.id, "company_id": cw.company.id},
        "theirs": {"institution_id": cw.other_hospital.id, "company_id": cw.other_company.id},
    }


def test_the_insurer_counts_its_claims_to_review_and_since_when_the_oldest_waits(cw):
    mine, theirs = both(cw)["mine"], both(cw)["theirs"]
    bulk.claims(2, **mine, submitted_at=clock.now() - timedelta(days=3))
    bulk.claims(1, **mine, submitted_at=clock.now() - timedelta(days=12))
    bulk.claims(5, **theirs, member_number="ZEN-001", submitted_at=clock.now() - timedelta(days=40))
    bulk.claims(4, **mine, status="approved", submitted_at=clock.now() - timedelta(days=60))
    found = services.work_waiting(insurer(cw), {"claims_to_review"})
    assert found["claims_to_review"].count == 3
    assert found["claims_to_review"].oldest == clock.today() - timedelta(days=12)
    theirs_found = services.work_waiting(Tenant(None, cw.other_company.id), {"claims_to_review"})
    assert theirs_found["claims_to_review"].count == 5
    assert theirs_found["claims_to_review"].oldest == clock.today() - timedelta(days=40)


def test_nothing_to_review_has_no_oldest(cw):
    found = services.work_waiting(insurer(cw), {"claims_to_review"})["claims_to_review"]
    assert (found.count, found.oldest) == (0, None)


def test_a_claim_the_rules_send_to_review_is_counted_until_decided(cw):
    claim = services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            member_number="ACM-001",
            institution_id=cw.hospital.id,
            service_date=cw.today - timedelta(days=1),
            items=[services.ItemInput("SURGERY", 1, "80000.00")],
        ),
    )
    assert counts(services.work_waiting(provider(cw), PROVIDER_KEYS))["draft_claims"] == 1
    assert counts(services.work_waiting(insurer(cw), INSURER_KEYS))["claims_to_review"] == 0  # not sent yet
    claim = services.submit_claim(actor=cw.clerk, claim_id=claim.id)
    assert claim.status.value == "pending_review"
    found = services.work_waiting(insurer(cw), INSURER_KEYS)
    assert counts(found) == {"claims_to_review": 1, "disputes_to_resolve": 0, "claims_to_pay": 0}
    assert found["claims_to_review"].oldest == clock.today()
    assert counts(services.work_waiting(provider(cw), PROVIDER_KEYS))["draft_claims"] == 0
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, version=claim.version)
    assert counts(services.work_waiting(insurer(cw), INSURER_KEYS)) == {
        "claims_to_review": 0,
        "disputes_to_resolve": 0,
        "claims_to_pay": 1,
    }


def test_claims_to_pay_are_the_approved_and_partly_approved_ones_of_the_insurer(cw):
    mine, theirs = both(cw)["mine"], both(cw)["theirs"]
    bulk.claims(2, **mine, status="approved")
    bulk.claims(3, **mine, status="partially_approved")
    for status in ("paid", "rejected", "pending_review", "submitted"):
        bulk.claims(1, **mine, status=status)
    bulk.claims(6, **theirs, member_number="ZEN-001", status="approved")
    assert counts(services.work_waiting(insurer(cw), {"claims_to_pay"})) == {"claims_to_pay": 5}


def test_drafts_are_the_providers_and_never_the_insurers(cw):
    mine, theirs = both(cw)["mine"], both(cw)["theirs"]
    bulk.claims(2, **mine, status="draft")
    bulk.claims(7, **theirs, member_number="ZEN-001", status="draft")
    assert counts(services.work_waiting(provider(cw), {"draft_claims"})) == {"draft_claims": 2}
    # the insurer cannot see a provider's drafts at all, even through a count
    assert counts(services.work_waiting(insurer(cw), {"draft_claims"})) == {"draft_claims": 0}
    assert counts(services.work_waiting(Tenant(cw.other_hospital.id, None), {"draft_claims"})) == {"draft_claims": 7}


def test_open_disputes_are_counted_on_both_sides_of_the_claim(cw):
    mine, theirs = both(cw)["mine"], both(cw)["theirs"]
    bulk.disputes(2, **mine, opened_at=clock.now() - timedelta(days=4))
    bulk.disputes(3, **mine, status="upheld")
    bulk.disputes(4, **theirs)
    found = services.work_waiting(insurer(cw), {"disputes_to_resolve"})["disputes_to_resolve"]
    assert (found.count, found.oldest) == (2, clock.today() - timedelta(days=4))
    assert counts(services.work_waiting(provider(cw), {"disputes_open"})) == {"disputes_open": 2}
    other_provider = Tenant(cw.other_hospital.id, None)
    assert counts(services.work_waiting(other_provider, {"disputes_open"})) == {"disputes_open": 4}


def test_every_count_of_the_domain_is_one_query(cw, count_queries):
    bulk.claims(3, **both(cw)["mine"])
    with count_queries() as counted:
        found = services.work_waiting(Tenant(None, None), INSURER_KEYS | PROVIDER_KEYS)
    assert counted.count == 1
    assert set(found) == INSURER_KEYS | PROVIDER_KEYS
    assert services.work_waiting(insurer(cw), set()) == {}


# --- the claims list: approved and not yet paid --------------------------------------------------


@pytest.fixture
def finance(cw, login_as):
    return login_as(Role.FINANCE_OFFICER, company_id=cw.company.id)


def test_the_to_pay_filter_lists_the_claims_approved_in_full_or_in_part(client, cw, finance):
    mine = both(cw)["mine"]
    bulk.claims(2, **mine, status="approved")
    bulk.claims(1, **mine, status="partially_approved")
    bulk.claims(4, **mine, status="paid")
    bulk.claims(3, **both(cw)["theirs"], member_number="ZEN-001", status="approved")
    db.session.commit()
    page = html(client.get("/claims?status=to_pay"))
    assert '<option value="to_pay" selected>Approved, not yet paid</option>' in page
    assert page.count("CL-BULK-") == 3
    assert counts(services.work_waiting(insurer(cw), {"claims_to_pay"})) == {"claims_to_pay": 3}


@pytest.mark.parametrize("status", ["TO_PAY", "to_pay'--", "to pay", "q" * 5000, "<i>x</i>"])
def test_an_unknown_claim_status_is_ignored(client, cw, finance, status):
    bulk.claims(1, **both(cw)["mine"], status="approved")
    bulk.claims(1, **both(cw)["mine"], status="rejected")
    db.session.commit()
    rows = html(client.get("/claims", query_string={"status": status}, headers=HX))
    assert rows.count("CL-BULK-") == 2 and "<i>x</i>" not in rows
