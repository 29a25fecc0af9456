"""Decisions that can be corrected (ADJUDICATION.md "Manual decisions"): waivers (M02) and rejections (M03) in
review and through the API, and a dispute upheld as of the original submission with the earlier manual
decisions kept. Amounts worked by hand from the claims world (Gold: outpatient 10% copay, lab 3,000.00 a year,
MRI with a pre-authorisation, review from 50,000.00)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from blueprints.claims import services
from blueprints.claims.services import disputes
from medcover.errors import Forbidden, Invalid
from medcover.extensions import db
from tests.claims.test_disputes import _lines, _open, _submitted

D = Decimal


def _pending(cw):
    """SURGERY 80,000.00 (payable 72,000.00 after the 10% copay) and MRI 30,000.00 without a pre-authorisation
    (R12): 110,000.00 billed reaches the review threshold."""
    claim = _submitted(cw, [("SURGERY", 1, "80000.00"), ("MRI-HEAD", 1, "30000.00")])
    assert claim.status.value == "pending_review"
    return claim


def test_a_waiting_line_shows_its_waivable_amounts_and_is_waived_in_review(cw):
    claim = _pending(cw)
    mri = services.items_of(claim.id)[1]
    assert (mri.decision, mri.reason_codes) == ("rejected", ["R12"])
    # No deductible in Gold, no copay on MRI: the whole 30,000.00 could be paid without the rule.
    assert mri.waivable == {"allowed": "30000.00", "deductible": "0.00", "copay": "0.00", "payable": "30000.00"}
    with pytest.raises(Invalid) as above:
        services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={2: ("30000.01", "Emergency")})
    assert "at most 30,000.00" in above.value.errors["overrides"][0]
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={2: ("25000.00", "Emergency scan")})
    assert claim.status.value == "approved"
    assert _lines(claim) == [
        (1, "approved", D("72000.00"), ()),
        (2, "adjusted", D("25000.00"), ("R12", "M02")),
    ]
    mri = services.items_of(claim.id)[1]
    assert (mri.allowed, mri.member_responsibility, mri.note) == (D("30000.00"), D("5000.00"), "Emergency scan")
    assert claim.total_approved == D("97000.00")


def test_an_adjudicator_rejects_one_line_with_a_reason(cw):
    claim = _pending(cw)
    services.approve_claim(
        actor=cw.adjudicator, claim_id=claim.id, overrides={1: (None, "Day surgery not needed", True)}
    )
    assert claim.status.value == "rejected"
    assert _lines(claim)[0] == (1, "rejected", D("0.00"), ("M03",))


def test_the_submitter_cannot_waive_their_own_claim(cw):
    claim = _pending(cw)
    with pytest.raises(Forbidden):
        services.approve_claim(actor=cw.clerk, claim_id=claim.id, overrides={2: ("1.00", "mine")})


def test_api_shows_waivable_and_takes_a_waiver_and_a_rejection(cw, client, api_token):
    claim = _pending(cw)
    db.session.commit()
    headers = api_token(cw.adjudicator)
    items = client.get(f"/api/v1/claims/{claim.id}", headers=headers).get_json()["items"]
    assert items[0]["waivable"] is None
    assert items[1]["waivable"] == {"allowed": "30000.00", "deductible": "0.00", "copay": "0.00", "payable": "30000.00"}
    above = client.post(
        f"/api/v1/claims/{claim.id}/approve",
        json={"overrides": [{"line_no": 2, "approved": "30000.01", "note": "Emergency"}]},
        headers=headers,
    )
    assert above.status_code == 422 and "overrides" in above.get_json()["errors"]
    done = client.post(
        f"/api/v1/claims/{claim.id}/approve",
        json={
            "overrides": [
                {"line_no": 2, "approved": "30000.00", "note": "Emergency"},
                {"line_no": 1, "reject": True, "note": "Not needed"},
            ]
        },
        headers=headers,
    )
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert (body["status"], body["total_approved"]) == ("partially_approved", "30000.00")
    assert [(i["decision"], i["reason_codes"], i["waivable"]) for i in body["items"]] == [
        ("rejected", ["M03"], None),
        ("adjusted", ["R12", "M02"], None),
    ]


def test_an_upheld_dispute_keeps_the_earlier_manual_amount_and_changes_only_what_the_adjudicator_changes(cw):
    claim = _pending(cw)
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={1: ("70000.00", "Agreed package")})
    assert claim.status.value == "partially_approved"
    dispute = _open(cw, claim, line_nos=[2])
    with pytest.raises(Invalid, match="dismissal"):
        disputes.resolve_dispute(actor=cw.adjudicator, dispute_id=dispute.id, status="upheld", resolution="Same")
    disputes.resolve_dispute(
        actor=cw.adjudicator,
        dispute_id=dispute.id,
        status="upheld",
        resolution="The scan was an emergency.",
        overrides={2: ("30000.00", "Emergency: pre-authorisation waived")},
    )
    assert claim.status.value == "approved"
    # The earlier 70,000.00 stands (the engine alone would say 72,000.00).
    assert _lines(claim) == [(1, "adjusted", D("70000.00"), ("M01",)), (2, "adjusted", D("30000.00"), ("R12", "M02"))]
    assert claim.total_approved == D("100000.00")


def test_an_upheld_dispute_is_decided_as_of_the_original_submission(cw):
    # A: day surgery and a lab test, rejected as a whole in review (it consumes nothing).
    first = _submitted(cw, [("SURGERY", 1, "80000.00"), ("LAB-FBC", 1, "1200.00")], days_ago=3)
    services.reject_claim(actor=cw.adjudicator, claim_id=first.id, reason="Not medically necessary")
    # B, later: three lab tests take the whole 3,000.00 lab limit (3,600.00 billed, cut: A03).
    later = _submitted(cw, [("LAB-FBC", 3, "1200.00")], days_ago=1)
    assert (later.status.value, later.total_approved) == ("approved", D("3000.00"))
    dispute = _open(cw, first, reason="The lab test was needed.")
    disputes.resolve_dispute(
        actor=cw.adjudicator,
        dispute_id=dispute.id,
        status="upheld",
        resolution="The lab test stands.",
        overrides={2: ("1200.00", "Lab test agreed")},
    )
    # Decided again as of its own submission it does not see B: the lab line has its 1,200.00 and needs no waiver
    # (seeing B it would be R14); the surgery keeps the earlier M03.
    assert _lines(first) == [(1, "rejected", D("0.00"), ("M03",)), (2, "approved", D("1200.00"), ("M01",))]
    assert (first.status.value, first.total_approved) == ("partially_approved", D("1200.00"))


def test_the_review_page_shows_the_waivable_amounts_and_waives_a_line(cw, client, login):
    claim = _pending(cw)
    db.session.commit()
    login(cw.adjudicator)
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert 'data-waivable="2"' in page and "payable 30,000.00" in page
    response = client.post(
        f"/claims/{claim.id}/approve",
        data={
            "version": claim.version,
            "confirmed": "yes",
            "overrides-0-line_no": "1",
            "overrides-1-line_no": "2",
            "overrides-1-amount": "30000.00",
            "overrides-1-note": "Emergency scan",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert _lines(claim)[1] == (2, "adjusted", D("30000.00"), ("R12", "M02"))


def test_the_review_page_rejects_a_line_and_asks_for_the_note(cw, client, login):
    claim = _pending(cw)
    db.session.commit()
    login(cw.adjudicator)
    data = {"version": claim.version, "confirmed": "yes", "overrides-0-line_no": "1", "overrides-0-reject": "y"}
    refused = client.post(f"/claims/{claim.id}/approve", data=data)
    assert refused.status_code == 422 and "Line 1: enter a note" in refused.get_data(as_text=True)
    done = client.post(f"/claims/{claim.id}/approve", data={**data, "overrides-0-note": "Not needed"})
    assert done.status_code == 303
    db.session.expire_all()
    assert _lines(claim)[0] == (1, "rejected", D("0.00"), ("M03",))


def test_the_resolve_form_shows_the_new_proposal_beside_the_decision_in_force(cw, client, login):
    claim = _pending(cw)
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={1: ("70000.00", "Agreed package")})
    dispute = _open(cw, claim, line_nos=[2])
    db.session.commit()
    login(cw.adjudicator)
    page = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    row = page[page.index('id="resolve-line-1"') :]
    row = row[: row.index("</tr>")]
    assert "Adjusted 70,000.00" in row and "Approved 72,000.00" in row
    assert "payable 30,000.00" in page
    unchanged = client.post(f"/disputes/{dispute.id}/resolve", data={"status": "upheld", "resolution": "Same"})
    assert unchanged.status_code == 422 and "dismissal" in unchanged.get_data(as_text=True)
    done = client.post(
        f"/disputes/{dispute.id}/resolve",
        data={"status": "upheld", "resolution": "Emergency", "approved-2": "30000.00", "note-2": "Waived"},
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert _lines(claim) == [(1, "adjusted", D("70000.00"), ("M01",)), (2, "adjusted", D("30000.00"), ("R12", "M02"))]
