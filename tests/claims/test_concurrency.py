"""Adjudicators deciding at once, on PostgreSQL with committed transactions: of two approving the same claim
at the same moment one wins, the other gets a Conflict, and exactly one adjudicator's decision is kept."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimAuditTrail, ClaimStatusChange
from blueprints.core.models import User
from medcover import clock
from medcover.errors import Conflict
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import (
    add_benefit,
    make_benefit,
    make_category,
    make_company,
    make_coverage,
    make_institution,
    make_member,
    make_scheme,
    make_tariff,
    make_user,
)
from tests.platform.backing import scratch_app

pytestmark = [pytest.mark.services, pytest.mark.committed]


@pytest.fixture
def site():
    """A scratch database with a claim pending review (80,000.00 reaches the 50,000.00 threshold) and two
    adjudicators of the member's insurer."""
    with scratch_app("medcover_claims") as app:
        with app.app_context():
            today = clock.today()
            hospital = make_institution(code="HA", name="Hospital A")
            company = make_company(code="ACME", name="Acme Insurance")
            outpatient = make_benefit(code="OUTPATIENT", name="Outpatient", category=make_category(code="MED"))
            scheme = make_scheme(company, code="GOLD", name="Gold", review_threshold=Decimal("50000.00"))
            add_benefit(scheme, outpatient, copay_percent=Decimal("10"))
            member = make_member(company, member_number="ACM-001")
            make_coverage(member, scheme, today - timedelta(days=60), today + timedelta(days=300))
            make_tariff(
                hospital, "SURGERY", "80000.00", benefit_code="OUTPATIENT", effective_from=today - timedelta(days=365)
            )
            clerk = make_user(Role.BILLING_CLERK, institution_id=hospital.id)
            adjudicators = [make_user(Role.ADJUDICATOR, company_id=company.id) for _ in range(2)]
            claim = services.create_claim(
                actor=clerk,
                values=services.ClaimInput(
                    member_number="ACM-001",
                    institution_id=hospital.id,
                    service_date=today - timedelta(days=1),
                    items=[services.ItemInput("SURGERY", 1, "80000.00")],
                ),
            )
            services.submit_claim(actor=clerk, claim_id=claim.id)
            assert claim.status.value == "pending_review"
            db.session.commit()
            ids = {"claim": claim.id, "adjudicators": [a.id for a in adjudicators]}
        yield app, ids


def _race(app, jobs):
    """Run each job in its own thread, app context and database session, all released at once."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results[index] = job()
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _approve(adjudicator_id: int, claim_id: int, amount: str):
    def job():
        adjudicator = db.session.get(User, adjudicator_id)
        claim = services.approve_claim(
            actor=adjudicator, claim_id=claim_id, overrides={1: (amount, f"agreed {amount}")}
        )
        return (claim.status.value, claim.total_approved)

    return job


def test_two_adjudicators_approving_at_once_one_wins_and_one_decision_is_kept(site):
    app, ids = site
    first, second = ids["adjudicators"]
    results = _race(app, [_approve(first, ids["claim"], "60000.00"), _approve(second, ids["claim"], "65000.00")])
    wins = [r for r in results if isinstance(r, tuple)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert (len(wins), len(losses)) == (1, 1), results
    winner = ids["adjudicators"][results.index(wins[0])]
    with app.app_context():
        claim = db.session.get(Claim, ids["claim"])
        trail = db.session.scalars(
            select(ClaimAuditTrail).where(ClaimAuditTrail.claim_id == claim.id).order_by(ClaimAuditTrail.id)
        ).all()
        assert [(t.source, t.by_id) for t in trail] == [("engine", None), ("adjudicator", winner)]
        # The claim and its line hold the winner's amount, not a mix of both.
        assert (claim.status.value, claim.total_approved) == wins[0] == ("approved", trail[1].total_approved)
        assert services.items_of(claim.id)[0].approved == trail[1].total_approved
        to_approved = db.session.scalar(
            select(func.count()).where(
                ClaimStatusChange.claim_id == claim.id, ClaimStatusChange.to_status == "approved"
            )
        )
        assert to_approved == 1
