"""The review triggers in the running system: a claim submitted (in-process and through /api/v1) goes to pending
review with the trigger's code and its amounts unchanged; the batch decides exactly as claim by claim would, and
reads a fixed number of times per chunk with the triggers on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from blueprints.claims import engine, services
from blueprints.claims.models import Claim, ClaimStatus
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import make_user

D = Decimal


def _claim(cw, items, days_ago=1, institution=None, diagnoses=("J06.9",), member="ACM-001"):
    return services.create_claim(
        actor=cw.clerk if institution is None else make_user(Role.BILLING_CLERK, institution_id=institution.id),
        values=services.ClaimInput(
            member_number=member,
            institution_id=(institution or cw.hospital).id,
            service_date=cw.today - timedelta(days=days_ago),
            items=[services.ItemInput(*item) for item in items],
            diagnosis_codes=list(diagnoses),
        ),
    )


def _submitted(cw, items, **kw):
    claim = _claim(cw, items, **kw)
    actor = (
        cw.clerk
        if kw.get("institution") is None
        else make_user(Role.BILLING_CLERK, institution_id=claim.institution_id)
    )
    return services.submit_claim(actor=actor, claim_id=claim.id)


def _set(scheme, **terms):
    for name, value in terms.items():
        setattr(scheme, name, value)
    db.session.flush()


def test_a_suspect_duplicate_waits_for_review_naming_its_best_match(cw):
    _set(cw.scheme, duplicate_score_threshold=60)
    first = _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=3)
    assert first.status is ClaimStatus.APPROVED
    # same hospital (30), two days later (0), CONSULT again (25), J06.9 again (10), 2,500.00 again (10) = 75
    again = _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=1)
    assert again.status is ClaimStatus.PENDING_REVIEW
    assert again.review_codes == ["S01"] and again.reason_codes == ["S01"] and again.review is True
    assert again.review_details["S01"] == {
        "claim_id": first.id,
        "claim_number": first.claim_number,
        "score": 75,
        "parts": ["same_provider", "service_code_in_common", "diagnosis_code_in_common", "equal_total_billed"],
    }
    # amounts unchanged: 2,500.00 less the 10% copay
    assert (again.total_approved, again.proposed_approved) == (D("2250.00"), D("2250.00"))


def test_another_hospital_the_next_day_scores_45_and_passes_at_60(cw):
    _set(cw.scheme, duplicate_score_threshold=60)
    _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=2)
    elsewhere = _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=1, institution=cw.other_hospital)
    assert elsewhere.status is ClaimStatus.APPROVED and elsewhere.review_codes == []
    _set(cw.scheme, duplicate_score_threshold=45)
    third = _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=1, institution=cw.other_hospital)
    # R04 rejects its line against the claim before it at the same hospital and day; against the first claim
    # (Hospital A) it scores 25 + 10 + 10 = 45
    assert third.review_details["S01"]["score"] == 45


def test_the_random_sample_draw_follows_the_claim_number(cw):
    claim = _claim(cw, [("CONSULT", 1, "2500.00")])
    draw = engine.sample_draw(claim.claim_number)
    _set(cw.scheme, review_sample_percent=draw + 1)
    decided = services.submit_claim(actor=cw.clerk, claim_id=claim.id)
    assert decided.status is ClaimStatus.PENDING_REVIEW and decided.review_codes == ["V01"]
    assert decided.review_details["V01"] == {"draw": draw, "percent": draw + 1}


def _history(cw, n):
    """``n`` finalised claims of Hospital A for diagnosis category J06, each 2,500.00, 10 to 10 + n days ago."""
    for k in range(n):
        claim = _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=10 + k, diagnoses=(f"J06.{k % 10}",))
        assert claim.status is ClaimStatus.APPROVED


def test_an_outlier_needs_ten_earlier_claims_of_the_provider_for_the_diagnosis(cw):
    _set(cw.scheme, variance_factor=D("2"), review_threshold=None)
    _history(cw, 9)  # 10 to 18 days ago
    # 9 claims of J06 before it: too little history, 80,000.00 is not compared
    nine = _submitted(cw, [("SURGERY", 1, "80000.00")], days_ago=1, diagnoses=("J06.1",))
    assert nine.status is ClaimStatus.APPROVED and nine.review_codes == []
    tenth = _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=19, diagnoses=("J06.8",))
    assert tenth.status is ClaimStatus.APPROVED
    # 10 claims of J06 before 2 days ago (the 80,000.00 one, 1 day ago, is not before it): mean 25,000.00 / 10
    # = 2,500.00; x 2 = 5,000.00 < 80,000.00
    ten = _submitted(cw, [("SURGERY", 1, "80000.00")], days_ago=2, diagnoses=("J06.1",))
    assert ten.status is ClaimStatus.PENDING_REVIEW and ten.review_codes == ["V03"]
    assert ten.review_details["V03"] == {"mean": "2500.00", "claims": 10, "factor": "2.00"}
    assert ten.total_approved == D("72000.00")  # 80,000.00 less the 10% copay: unchanged by the trigger
    other_category = _submitted(cw, [("SURGERY", 1, "80000.00")], days_ago=3, diagnoses=("K21.0",))
    assert other_category.status is ClaimStatus.APPROVED and other_category.review_codes == []


def test_submitting_through_the_api_answers_pending_review_with_the_code(cw, client, api_token):
    _set(cw.scheme, duplicate_score_threshold=60)
    headers = api_token(cw.clerk)
    body = {
        "member_number": "ACM-001",
        "institution_id": cw.hospital.id,
        "diagnosis_codes": ["J06.9"],
        "items": [{"service_code": "CONSULT", "quantity": 1, "unit_price": "2500.00"}],
    }
    made = []
    for days_ago in (3, 2):
        draft = client.post(
            "/api/v1/claims",
            json=body | {"service_date": (cw.today - timedelta(days=days_ago)).isoformat()},
            headers=headers,
        )
        assert draft.status_code == 201, draft.get_data(as_text=True)
        made.append(client.post(f"/api/v1/claims/{draft.get_json()['id']}/submit", headers=headers).get_json())
    assert made[0]["status"] == "approved" and made[0]["review_codes"] == []
    assert made[1]["status"] == "pending_review"
    assert made[1]["review_codes"] == ["S01"] and made[1]["reason_codes"] == ["S01"]
    assert made[1]["total_approved"] == "2250.00"
    assert engine.REASONS["S01"] in made[1]["reasons"]


def _api_submit(client, headers, cw, code, price, days_ago, diagnoses=("J06.9",)):
    body = {
        "member_number": "ACM-001",
        "institution_id": cw.hospital.id,
        "service_date": (cw.today - timedelta(days=days_ago)).isoformat(),
        "diagnosis_codes": list(diagnoses),
        "items": [{"service_code": code, "quantity": 1, "unit_price": price}],
    }
    draft = client.post("/api/v1/claims", json=body, headers=headers)
    assert draft.status_code == 201, draft.get_data(as_text=True)
    answer = client.post(f"/api/v1/claims/{draft.get_json()['id']}/submit", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_the_threshold_v02_through_the_api(cw, client, api_token):
    _set(cw.scheme, review_threshold=D("2500.00"))
    headers = api_token(cw.clerk)
    below = _api_submit(client, headers, cw, "CONSULT", "2499.99", days_ago=2)
    at = _api_submit(client, headers, cw, "CONSULT", "2500.00", days_ago=1)
    assert (below["status"], below["review_codes"]) == ("approved", [])
    assert (at["status"], at["review_codes"], at["total_approved"]) == ("pending_review", ["V02"], "2250.00")


def test_the_random_sample_v01_through_the_api(cw, client, api_token):
    headers = api_token(cw.clerk)
    # the next claim number is known once the draft exists: draw it, then set the sample just above the draw
    draft = client.post(
        "/api/v1/claims",
        json={
            "member_number": "ACM-001",
            "institution_id": cw.hospital.id,
            "service_date": (cw.today - timedelta(days=1)).isoformat(),
            "items": [{"service_code": "CONSULT", "quantity": 1, "unit_price": "2500.00"}],
        },
        headers=headers,
    ).get_json()
    draw = engine.sample_draw(draft["claim_number"])
    _set(cw.scheme, review_sample_percent=draw + 1)
    answer = client.post(f"/api/v1/claims/{draft['id']}/submit", headers=headers).get_json()
    assert (answer["status"], answer["review_codes"]) == ("pending_review", ["V01"])


def test_the_outlier_v03_through_the_api_with_9_then_10_earlier_claims(cw, client, api_token):
    _set(cw.scheme, variance_factor=D("2"), review_threshold=None)
    headers = api_token(cw.clerk)
    _history(cw, 9)  # 10 to 18 days ago
    nine = _api_submit(client, headers, cw, "SURGERY", "80000.00", days_ago=1, diagnoses=("J06.1",))
    assert (nine["status"], nine["review_codes"]) == ("approved", [])
    _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=19, diagnoses=("J06.8",))
    ten = _api_submit(client, headers, cw, "SURGERY", "80000.00", days_ago=2, diagnoses=("J06.1",))
    assert (ten["status"], ten["review_codes"], ten["total_approved"]) == ("pending_review", ["V03"], "72000.00")
    assert engine.REASONS["V03"] in ten["reasons"]


# --- the batch -----------------------------------------------------------------------------------


def _submitted_rows(cw, specs):
    """Claims put straight into ``submitted`` (as a worker finds them), in order."""
    ids = []
    for items, days_ago, diagnoses, institution in specs:
        claim = _claim(cw, items, days_ago=days_ago, diagnoses=diagnoses, institution=institution)
        claim.status = ClaimStatus.SUBMITTED
        claim.submitted_at = claim.created_at
        claim.submitted_on = cw.today
        db.session.flush()
        ids.append(claim.id)
    return ids


def _outcomes(ids):
    db.session.expire_all()
    rows = db.session.scalars(select(Claim).where(Claim.id.in_(ids)).order_by(Claim.id)).all()
    return [
        (row.status.value, row.total_approved, tuple(row.reason_codes), tuple(row.review_codes), row.review_details)
        for row in rows
    ]


def test_the_batch_with_triggers_decides_as_claim_by_claim_does(cw):
    _history(cw, 10)
    _set(cw.scheme, duplicate_score_threshold=60, variance_factor=D("3"), review_threshold=None)
    specs = [
        ([("CONSULT", 1, "2500.00")], 3, ("J06.9",), None),
        ([("CONSULT", 1, "2500.00")], 2, ("J06.9",), None),  # S01 against the one before (75)
        ([("CONSULT", 1, "2500.00")], 2, ("J06.9",), None),  # R04, and S01 against the first
        ([("SURGERY", 1, "80000.00")], 1, ("J06.2",), None),  # V03: 80,000.00 > 3 x 2,500.00
        ([("LAB-FBC", 1, "1200.00")], 1, ("K21.0",), cw.other_hospital),
        ([("CONSULT", 1, "2500.00"), ("LAB-FBC", 1, "1200.00")], 1, ("J06.9",), cw.other_hospital),
    ]
    ids = _submitted_rows(cw, specs)
    savepoint = db.session.begin_nested()
    services.decide_claims(ids)
    together = _outcomes(ids)
    savepoint.rollback()
    assert _outcomes(ids)[0][0] == "submitted"
    for claim_id in ids:
        services.decide_claims([claim_id])
    one_by_one = _outcomes(ids)
    assert together == one_by_one
    codes = [row[3] for row in together]
    assert codes[1] == ("S01",) and codes[3] == ("V03",) and "S01" in codes[2]
    assert together[0][0] == "approved"


def test_the_batch_with_triggers_reads_a_fixed_number_of_times(cw, count_queries):
    _set(cw.scheme, duplicate_window_days=0, variance_factor=D("2"), review_sample_percent=0)

    def batch(n):
        ids = _submitted_rows(
            cw,
            [([("CONSULT", 1, "2500.00"), ("LAB-FBC", 1, "1200.00")], 1 + k % 20, ("J06.9",), None) for k in range(n)],
        )
        with count_queries() as counted:
            decided = services.decide_claims(ids)
        assert len(decided) == n
        return [q for q in counted.statements if q.lstrip().upper().startswith("SELECT")]

    small, large = batch(3), batch(30)
    assert len(small) == len(large), "\n".join(q[:100].replace("\n", " ") for q in large)
    # the triggers' two reads are among them: the members' nearby claims and the providers' history
    assert sum("diagnosis_codes, claims.submitted_at, claim_items.service_code" in q for q in large) == 1
    assert sum("GROUP BY claims.institution_id, claims.diagnosis_category" in q for q in large) == 1
