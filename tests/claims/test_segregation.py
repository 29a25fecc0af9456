"""Segregation of duties (ADJUDICATION.md): nobody decides a claim they created or submitted, a platform
administrator included; on the page, through the API and when a dispute is upheld."""

from __future__ import annotations

import pytest

from blueprints.claims import services
from blueprints.claims.models import ClaimStatus
from medcover.errors import Forbidden
from medcover.extensions import db
from medcover.rbac import Role, Tenant
from tests.api.problem import assert_problem
from tests.factories import make_user

EVERYONE = Tenant(None, None)


def _pending_claim(cw, actor):
    """A day surgery over the Gold scheme's review threshold: it waits for an adjudicator."""
    claim = services.create_claim(
        actor=actor,
        values=services.ClaimInput(
            member_number="ACM-001",
            institution_id=cw.hospital.id,
            service_date=cw.today,
            items=[services.ItemInput("SURGERY", 1, "80000.00")],
            diagnosis_codes=["K35.8"],
        ),
    )
    services.submit_claim(actor=actor, claim_id=claim.id)
    db.session.commit()
    claim = services.claim_row(EVERYONE, claim.id)
    assert claim.status is ClaimStatus.PENDING_REVIEW
    return claim


@pytest.fixture
def admin():
    user = make_user(Role.ADMIN)
    db.session.commit()
    return user


def test_an_administrator_who_filed_and_submitted_a_claim_cannot_approve_or_reject_it(cw, admin):
    claim = _pending_claim(cw, admin)
    with pytest.raises(Forbidden, match=claim.claim_number):
        services.approve_claim(actor=admin, claim_id=claim.id)
    with pytest.raises(Forbidden):
        services.reject_claim(actor=admin, claim_id=claim.id, reason="Mine")
    result = services.bulk_approve(actor=admin, claim_ids=[claim.id])
    assert result.approved == [] and str(claim.id) in result.refused


def test_the_clerk_who_submitted_is_refused_and_the_insurers_adjudicator_decides(cw):
    claim = _pending_claim(cw, cw.clerk)
    with pytest.raises(Forbidden):
        services.approve_claim(actor=cw.clerk, claim_id=claim.id)
    approved = services.approve_claim(actor=cw.adjudicator, claim_id=claim.id)
    assert approved.status is ClaimStatus.APPROVED


def test_another_administrator_may_decide_it(cw, admin):
    claim = _pending_claim(cw, admin)
    colleague = make_user(Role.ADMIN)
    assert services.approve_claim(actor=colleague, claim_id=claim.id).status is ClaimStatus.APPROVED


def test_the_api_answers_403_to_the_submitter(cw, admin, client, api_token):
    claim = _pending_claim(cw, admin)
    response = client.post(f"/api/v1/claims/{claim.id}/approve", json={}, headers=api_token(admin))
    body = assert_problem(response, 403)
    assert claim.claim_number in body["detail"]


def test_the_page_answers_403_to_the_submitter(cw, admin, client, login):
    claim = _pending_claim(cw, admin)
    login(admin)
    response = client.post(f"/claims/{claim.id}/approve", data={"version": claim.version})
    assert response.status_code == 403
    assert services.claim_row(EVERYONE, claim.id).status is ClaimStatus.PENDING_REVIEW
