"""Voids and replacements on the claim pages: the danger zone asks before it voids (the reason typed, the
consequence said), the page and the list say "Void" in words with the reason, who and when, "Replace this claim"
opens a draft prefilled from the original, and the chain is linked both ways. Another tenant gets a 404."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimStatus
from medcover.extensions import db

HTMX = {"HX-Request": "true"}


def _submitted(cw, quantity=1, days_ago=3, **extra) -> Claim:
    claim = services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            member_number="ACM-001",
            institution_id=cw.hospital.id,
            service_date=cw.today - timedelta(days=days_ago),
            diagnosis_codes=["D64.9", "R50.9"],
            items=[services.ItemInput("LAB-FBC", quantity, "1200.00"), services.ItemInput("CONSULT", 1, "2500.00")],
            **extra,
        ),
    )
    return services.submit_claim(actor=cw.clerk, claim_id=claim.id)


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_the_claim_page_offers_void_and_replace_in_a_danger_zone_with_the_question_written_in(cw, client, login):
    claim = _submitted(cw)
    db.session.commit()
    login(cw.clerk)
    html = _html(client.get(f"/claims/{claim.id}"))
    zone = html[html.index('id="void"') - 200 : html.index("</section>", html.index('id="void"'))]
    assert "danger-zone" in zone and "Replace this claim" in zone
    assert f'data-confirm="Void claim {claim.claim_number}, billed KES 3,700.00?"' in zone
    assert "what it used of the member&#39;s cover is freed" in zone
    assert 'data-confirm-kind="danger"' in zone and 'class="danger"' in zone
    assert 'class="primary"' not in zone  # the destructive button never looks like the primary action


def test_voiding_asks_first_then_says_void_in_words_with_reason_who_and_when(cw, client, login):
    claim = _submitted(cw)
    db.session.commit()
    login(cw.clerk)
    asked = client.post(f"/claims/{claim.id}/void", data={"reason": "Billed to the wrong member"})
    assert asked.status_code == 200
    page = _html(asked)
    assert f"Void claim {claim.claim_number}, billed KES 3,700.00?" in page and "Billed to the wrong member" in page
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.APPROVED  # nothing moved yet
    done = client.post(f"/claims/{claim.id}/void", data={"reason": "Billed to the wrong member", "confirmed": "yes"})
    assert done.status_code == 303
    html = _html(client.get(f"/claims/{claim.id}"))
    assert 'data-status="void">Void<' in html
    voided = re.search(r'<dd id="claim-voided">(.*?)</dd>', html, re.S).group(1)
    assert cw.clerk.full_name in voided and "Billed to the wrong member" in voided
    assert 'id="void"' not in html  # nothing left to void
    listed = _html(client.get("/claims?status=void"))
    assert claim.claim_number in listed and "Billed to the wrong member" in listed and ">Void<" in listed
    assert "void_reason" not in listed and ">void<" not in listed
    # the insurer sees it void too, with the reason
    client.post("/auth/logout")
    login(cw.adjudicator)
    insurer = _html(client.get(f"/claims/{claim.id}"))
    assert "Billed to the wrong member" in insurer and 'id="void"' not in insurer


def test_a_void_without_a_reason_is_refused_on_the_form_and_changes_nothing(cw, client, login):
    claim = _submitted(cw)
    db.session.commit()
    login(cw.clerk)
    for data in ({"reason": "", "confirmed": "yes"}, {"reason": "x" * 301, "confirmed": "yes"}):
        answer = client.post(f"/claims/{claim.id}/void", data=data, headers=HTMX)
        assert answer.status_code == 422
        assert "Say why the claim is voided." in _html(answer) or "300" in _html(answer)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.APPROVED


def test_a_paid_claim_offers_no_void_and_a_void_or_replacement_of_it_is_409(cw, client, login):
    claim = _submitted(cw)
    db.session.execute(update(Claim).where(Claim.id == claim.id).values(status=ClaimStatus.PAID, total_paid=3450))
    db.session.commit()
    login(cw.clerk)
    assert 'id="void"' not in _html(client.get(f"/claims/{claim.id}"))
    refused = client.post(f"/claims/{claim.id}/void", data={"reason": "x", "confirmed": "yes"})
    assert refused.status_code == 409 and "a refund of its payment comes first" in _html(refused)
    replace = client.get(f"/claims/{claim.id}/replace")
    assert replace.status_code == 409 and "a refund of its payment comes first" in _html(replace)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.PAID


@pytest.mark.parametrize("who", ["other_clerk", "other_adjudicator"])
def test_another_hospital_or_insurer_gets_404_for_void_and_replace(cw, client, login, who):
    claim = _submitted(cw)
    db.session.commit()
    login(getattr(cw, who))
    assert client.get(f"/claims/{claim.id}").status_code == 404
    if who == "other_clerk":
        assert client.get(f"/claims/{claim.id}/replace").status_code == 404
        assert client.post(f"/claims/{claim.id}/void", data={"reason": "x", "confirmed": "yes"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.APPROVED


def test_an_adjudicator_may_not_void_a_claim(cw, client, login):
    claim = _submitted(cw)
    db.session.commit()
    login(cw.adjudicator)
    assert client.post(f"/claims/{claim.id}/void", data={"reason": "x", "confirmed": "yes"}).status_code == 403


def test_replace_opens_a_prefilled_draft_whose_submission_voids_the_original_and_links_both(cw, client, login):
    original = _submitted(cw)
    db.session.commit()
    login(cw.clerk)
    form = _html(client.get(f"/claims/{original.id}/replace"))
    assert f"Replace claim {original.claim_number}" in form
    assert 'value="LAB-FBC"' in form and 'value="CONSULT"' in form and "D64.9, R50.9" in form
    day = (cw.today - timedelta(days=3)).isoformat()
    data = {
        "member_number": "ACM-001",
        "service_date": day,
        "diagnosis_codes": "D64.9",
        "lines-0-service_code": "LAB-FBC",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "1200.00",
    }
    saved = client.post(f"/claims/{original.id}/replace", data=data)
    assert saved.status_code == 303, _html(saved)[:2000]
    replacement = db.session.scalar(db.select(Claim).where(Claim.replaces_id == original.id))
    assert replacement.status is ClaimStatus.DRAFT and replacement.total_billed == 2400
    draft_page = _html(client.get(f"/claims/{replacement.id}"))
    assert f"Replaces {original.claim_number}" in draft_page
    assert f"submitting it voids {original.claim_number} in the same step" in draft_page
    pending = _html(client.get(f"/claims/{original.id}"))
    assert f'Replaced by {replacement.claim_number}</a> <span class="muted">(Draft)</span>' in pending
    assert "Replace this claim" not in pending and 'id="void"' in pending  # still voidable until then
    submitted = client.post(f"/claims/{replacement.id}/submit", data={"version": replacement.version})
    assert submitted.status_code == 303
    db.session.expire_all()
    assert db.session.get(Claim, original.id).status is ClaimStatus.VOID
    assert db.session.get(Claim, replacement.id).status is ClaimStatus.APPROVED
    old = _html(client.get(f"/claims/{original.id}"))
    assert f"Replaced by {replacement.claim_number}" in old and f"Replaced by {replacement.claim_number}." in old
    # one replacement per original: the page says why
    again = client.get(f"/claims/{original.id}/replace")
    assert again.status_code == 409


def test_a_replacement_form_with_bad_lines_keeps_what_was_typed(cw, client, login):
    original = _submitted(cw)
    db.session.commit()
    login(cw.clerk)
    data = {
        "member_number": "ACM-001",
        "service_date": (cw.today - timedelta(days=3)).isoformat(),
        "lines-0-service_code": "LAB-FBC",
        "lines-0-quantity": "0",
        "lines-0-unit_price": "12.5.0",
    }
    answer = client.post(f"/claims/{original.id}/replace", data=data)
    assert answer.status_code == 422
    assert 'value="LAB-FBC"' in _html(answer)
    assert db.session.scalar(db.select(Claim).where(Claim.replaces_id == original.id)) is None
