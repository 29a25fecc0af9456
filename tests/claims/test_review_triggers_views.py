"""The work queue and the claim page for claims the review triggers sent: why each claim is there in words, a
suspect duplicate beside its best match line by line with the score's parts, and the adjudicator's answers
("not a duplicate" with a note, "reject as duplicate" M03), each confirmed first."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimAuditTrail, ClaimStatus
from medcover.extensions import db

HTMX = {"HX-Request": "true"}


def _submitted(cw, code, price, days_ago, diagnoses=("J06.9",)):
    claim = services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            member_number="ACM-001",
            institution_id=cw.hospital.id,
            service_date=cw.today - timedelta(days=days_ago),
            items=[services.ItemInput(code, 1, price)],
            diagnosis_codes=list(diagnoses),
        ),
    )
    return services.submit_claim(actor=cw.clerk, claim_id=claim.id)


def _suspect(cw):
    cw.scheme.duplicate_score_threshold = 60
    db.session.flush()
    first = _submitted(cw, "CONSULT", "2500.00", days_ago=3)
    again = _submitted(cw, "CONSULT", "2500.00", days_ago=1)
    assert again.status is ClaimStatus.PENDING_REVIEW and again.review_codes == ["S01"]
    db.session.commit()  # the test's outer transaction still rolls it back
    return first, again


def test_the_queue_says_why_each_claim_waits(cw, client, login):
    _first, again = _suspect(cw)
    login(cw.adjudicator)
    html = client.get("/claims/queue").get_data(as_text=True)
    row = html[html.index(f'id="queue-{again.id}"') :]
    row = row[: row.index("</tr>")]
    assert "Suspect duplicate" in row and "S01" not in row.split('title="')[0]


def test_the_claim_page_shows_the_best_match_side_by_side_with_the_score(cw, client, login):
    first, again = _suspect(cw)
    login(cw.adjudicator)
    html = client.get(f"/claims/{again.id}").get_data(as_text=True)
    assert "Why it waits for review" in html
    assert f"Best match {first.claim_number}, score 75 of 100." in html
    compare = html[html.index('id="suspect-compare"') : html.index('id="suspect-score"')]
    assert again.claim_number in compare and first.claim_number in compare and "(same service)" in compare
    score = html[html.index('id="suspect-score"') :]
    score = score[: score.index("</table>")]
    assert "The score: 75 of 100" in score
    rows = [cells.split("</tr>")[0] for cells in score.split("<tr>")[2:]]
    assert [("Yes" in r, r.split("<td>")[1].split("<")[0]) for r in rows] == [
        (True, "Same provider"),
        (False, "Same service date"),
        (True, "A service in common"),
        (True, "A diagnosis in common"),
        (True, "Equal total billed"),
    ]
    assert 'id="not-duplicate-form"' in html and 'id="reject-duplicate-form"' in html


def test_the_provider_sees_why_but_not_the_other_claim(cw, client, login):
    _first, again = _suspect(cw)
    login(cw.clerk)
    html = client.get(f"/claims/{again.id}").get_data(as_text=True)
    assert "Why it waits for review" in html and 'id="suspect-compare"' not in html


def test_not_a_duplicate_asks_first_then_approves_with_the_note(cw, client, login):
    first, again = _suspect(cw)
    login(cw.adjudicator)
    data = {"version": again.version, "note": "Second visit: the fever came back"}
    asked = client.post(f"/claims/{again.id}/not-duplicate", data=data)
    assert asked.status_code == 200
    assert f"as not a duplicate of {first.claim_number}?" in asked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Claim, again.id).status is ClaimStatus.PENDING_REVIEW
    done = client.post(f"/claims/{again.id}/not-duplicate", data=data | {"confirmed": "yes"}, headers=HTMX)
    assert done.status_code == 200
    db.session.expire_all()
    claim = db.session.get(Claim, again.id)
    assert (claim.status, claim.total_approved, claim.review_codes) == (ClaimStatus.APPROVED, 2250, ["S01"])
    trail = db.session.scalars(
        select(ClaimAuditTrail).where(ClaimAuditTrail.claim_id == again.id).order_by(ClaimAuditTrail.id)
    ).all()
    assert trail[-1].note == f"Not a duplicate of {first.claim_number}: Second visit: the fever came back"


def test_not_a_duplicate_needs_a_note(cw, client, login):
    _first, again = _suspect(cw)
    login(cw.adjudicator)
    refused = client.post(
        f"/claims/{again.id}/not-duplicate", data={"version": again.version, "note": " ", "confirmed": "yes"}
    )
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(Claim, again.id).status is ClaimStatus.PENDING_REVIEW


def test_reject_as_duplicate_rejects_every_line_m03_naming_the_match(cw, client, login):
    first, again = _suspect(cw)
    login(cw.adjudicator)
    done = client.post(
        f"/claims/{again.id}/reject-duplicate", data={"version": again.version, "note": "", "confirmed": "yes"}
    )
    assert done.status_code == 303
    db.session.expire_all()
    claim = db.session.get(Claim, again.id)
    assert claim.status is ClaimStatus.REJECTED and claim.total_approved == 0
    items = services.items_of(again.id)
    assert [(i.decision, i.reason_codes, i.note) for i in items] == [
        ("rejected", ["M03"], f"Duplicate of claim {first.claim_number}.")
    ]


def test_the_duplicate_answers_refuse_a_claim_that_is_no_suspect(cw, client, login):
    cw.scheme.review_threshold = 1000
    db.session.flush()
    pending = _submitted(cw, "CONSULT", "2500.00", days_ago=1)
    assert pending.review_codes == ["V02"]
    db.session.commit()
    login(cw.adjudicator)
    refused = client.post(
        f"/claims/{pending.id}/reject-duplicate", data={"version": pending.version, "confirmed": "yes"}
    )
    assert refused.status_code == 409
    db.session.expire_all()
    assert db.session.get(Claim, pending.id).status is ClaimStatus.PENDING_REVIEW
