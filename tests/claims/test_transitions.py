"""Claim statuses move only as ADJUDICATION.md's "Statuses" says, through one table and one guarded move: an
illegal change is refused (409 problem+json, or the page's message) and writes nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimStatus, ClaimStatusChange
from blueprints.claims.services.transitions import CLAIM_TRANSITIONS, DISPUTABLE, VOIDABLE, move_claim
from medcover.errors import Conflict
from medcover.extensions import db
from tests.api.problem import assert_problem
from tests.factories import PASSWORD

S = ClaimStatus
#: ADJUDICATION.md, "Statuses", written out by hand: the table must say exactly this
DOCUMENTED = {
    S.DRAFT: {S.SUBMITTED, S.VOID},
    S.SUBMITTED: {S.APPROVED, S.PARTIALLY_APPROVED, S.REJECTED, S.PENDING_REVIEW, S.VOID},
    S.PENDING_REVIEW: {S.APPROVED, S.PARTIALLY_APPROVED, S.REJECTED, S.VOID},
    S.APPROVED: {S.PAID, S.VOID},
    S.PARTIALLY_APPROVED: {S.PAID, S.DISPUTED, S.VOID},
    S.REJECTED: {S.DISPUTED, S.VOID},
    S.DISPUTED: {S.APPROVED, S.PARTIALLY_APPROVED, S.REJECTED},  # upheld: decided again; dismissed: it stands
    S.PAID: {S.APPROVED, S.PARTIALLY_APPROVED},  # a refund of its payment comes first
    S.VOID: set(),
}
ALL_PAIRS = [(a, b) for a in ClaimStatus for b in ClaimStatus]


def test_the_table_is_adjudication_md_exactly():
    assert {status: set(targets) for status, targets in CLAIM_TRANSITIONS.items()} == DOCUMENTED
    assert set(VOIDABLE) == {S.DRAFT, S.SUBMITTED, S.PENDING_REVIEW, S.APPROVED, S.PARTIALLY_APPROVED, S.REJECTED}
    assert set(DISPUTABLE) == {S.REJECTED, S.PARTIALLY_APPROVED}


def _draft(cw, days_ago: int = 1) -> Claim:
    return services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            member_number="ACM-001",
            institution_id=cw.hospital.id,
            service_date=cw.today - timedelta(days=days_ago),
            items=[services.ItemInput("CONSULT", 1, "2500.00")],
        ),
    )


def _force(claim: Claim, status: ClaimStatus) -> None:
    """Put the claim in a status without the table (only to set up each starting point)."""
    db.session.execute(update(Claim).where(Claim.id == claim.id).values(status=status))
    db.session.refresh(claim)


def _history(claim: Claim) -> int:
    return db.session.scalar(select(func.count()).where(ClaimStatusChange.claim_id == claim.id))


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_each_change_is_allowed_or_refused_as_the_table_says(cw, current, target):
    claim = _draft(cw)
    _force(claim, current)
    before, version = _history(claim), claim.version
    if target in DOCUMENTED[current]:
        move_claim(claim, target, by_id=cw.clerk.id)
        db.session.refresh(claim)
        assert claim.status is target and claim.version == version + 1
        assert _history(claim) == before + 1
    else:
        with pytest.raises(Conflict) as refused:
            move_claim(claim, target, by_id=cw.clerk.id)
        assert refused.value.status == 409
        assert "cannot become" in refused.value.detail
        db.session.refresh(claim)
        assert claim.status is current and claim.version == version and _history(claim) == before


def test_no_claims_code_changes_a_claim_status_except_through_the_one_move():
    """Every status write in the claims domain is ``move_claim`` (a new claim starts as a draft)."""
    root = Path(__file__).resolve().parents[2] / "blueprints" / "claims"
    writes = re.compile(r"claim\.status\s*=[^=]|update\(Claim\)[^\n]*\n?[^\n]*values\([^)]*\bstatus=")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "transitions.py" and writes.search(path.read_text())
    ]
    assert offenders == []


# --- through the API and the pages ---------------------------------------------------------------


def test_a_submitted_claim_is_voided_by_its_provider_while_no_payment_stands(cw, clerk_api):
    claim = _draft(cw)
    services.submit_claim(actor=cw.clerk, claim_id=claim.id)
    db.session.commit()
    voided = clerk_api.post(f"/claims/{claim.id}/void", {"reason": "entered at the wrong hospital"})
    assert voided["status"] == "void"


@pytest.mark.parametrize("status", [S.PAID, S.DISPUTED, S.VOID])
def test_voiding_a_paid_disputed_or_void_claim_is_a_409_problem_and_changes_nothing(cw, clerk_api, status):
    claim = _draft(cw)
    _force(claim, status)
    db.session.commit()
    before = _history(claim)
    problem = assert_problem(clerk_api("POST", f"/claims/{claim.id}/void", {"reason": "x"}), 409)
    assert claim.claim_number in problem["detail"]
    db.session.refresh(claim)
    assert claim.status is status and _history(claim) == before


def test_a_claim_with_money_paid_against_it_cannot_be_voided(cw, clerk_api):
    claim = _draft(cw)
    _force(claim, S.APPROVED)
    db.session.execute(update(Claim).where(Claim.id == claim.id).values(total_paid=100, total_approved=100))
    db.session.commit()
    problem = assert_problem(clerk_api("POST", f"/claims/{claim.id}/void", {"reason": "x"}), 409)
    assert "refund of its payment comes first" in problem["detail"]


def test_submitting_a_void_claim_on_the_page_says_why_and_changes_nothing(cw, client, login):
    claim = _draft(cw)
    _force(claim, S.VOID)
    db.session.commit()
    login(cw.clerk)
    response = client.post(f"/claims/{claim.id}/submit", data={})
    assert response.status_code in (409, 422)
    page = response.get_data(as_text=True)
    assert f"{claim.claim_number} is void; only drafts change." in page
    db.session.refresh(claim)
    assert claim.status is S.VOID


@pytest.fixture
def clerk_api(client, cw):
    """``clerk_api.post(path, body)`` -> JSON (asserting 2xx); ``clerk_api(method, path, body)`` -> response."""
    response = client.post("/api/v1/auth/login", json={"email": cw.clerk.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    class Api:
        def __call__(self, method, path, body=None):
            return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)

        def post(self, path, body=None):
            answer = self("POST", path, body)
            assert answer.status_code < 300, answer.get_data(as_text=True)
            return answer.get_json()

    return Api()
