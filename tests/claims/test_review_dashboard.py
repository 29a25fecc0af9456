"""The claims dashboard's review figures for a small known set of claims: claims sent to review by trigger and
how many of each ended cut or rejected, first-pass rate and turnaround per provider, in a fixed number of
queries; and the page showing them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update

from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimStatus
from blueprints.claims.services import review_dashboard
from medcover.extensions import db
from medcover.rbac import tenant_of

D = Decimal


def _submitted(cw, code, price, days_ago, institution=None):
    clerk = cw.clerk if institution is None else cw.other_clerk
    claim = services.create_claim(
        actor=clerk,
        values=services.ClaimInput(
            member_number="ACM-001",
            institution_id=(institution or cw.hospital).id,
            service_date=cw.today - timedelta(days=days_ago),
            items=[services.ItemInput(code, 1, price)],
            diagnosis_codes=["J06.9"],
        ),
    )
    return services.submit_claim(actor=clerk, claim_id=claim.id)


def _known(cw):
    """Hospital A: a plain approved claim (first pass); a suspect duplicate found none; a suspect duplicate
    rejected; an 80,000.00 claim (V02) approved 10,000.00 lower by hand (cut). Hospital B: a plain claim."""
    cw.scheme.duplicate_score_threshold = 60
    db.session.flush()
    plain = _submitted(cw, "LAB-FBC", "1200.00", days_ago=20)
    first = _submitted(cw, "CONSULT", "2500.00", days_ago=12)
    kept = _submitted(cw, "CONSULT", "2500.00", days_ago=11)
    dropped = _submitted(cw, "CONSULT", "2500.00", days_ago=10)
    big = _submitted(cw, "SURGERY", "80000.00", days_ago=5)
    other = _submitted(cw, "CONSULT", "2500.00", days_ago=30, institution=cw.other_hospital)
    assert [c.status for c in (plain, first, other)] == [ClaimStatus.APPROVED] * 3
    assert (kept.review_codes, dropped.review_codes, big.review_codes) == (["S01"], ["S01"], ["V02"])
    services.suspects.not_duplicate(actor=cw.adjudicator, claim_id=kept.id, note="A second visit")
    services.suspects.reject_as_duplicate(actor=cw.adjudicator, claim_id=dropped.id)
    services.approve_claim(actor=cw.adjudicator, claim_id=big.id, overrides={1: (D("62000.00"), "Two nights less")})
    # turnaround: Hospital A's five decided claims took 1, 2, 3, 4 and 5 hours; Hospital B's took 10
    at = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    for hours, claim in enumerate((plain, first, kept, dropped, big, other), start=1):
        db.session.execute(
            update(Claim)
            .where(Claim.id == claim.id)
            .values(submitted_at=at, decided_at=at + timedelta(hours=10 if claim is other else hours))
        )
    db.session.flush()
    return plain, first, kept, dropped, big, other


def test_claims_sent_to_review_by_trigger_and_how_they_ended(cw, count_queries):
    _known(cw)
    with count_queries() as counted:
        rows = review_dashboard.by_trigger(tenant_of(cw.adjudicator))
    assert counted.count == 1
    found = {r.code: (r.sent, r.decided, r.cut, r.rejected, r.caught_rate) for r in rows}
    assert found == {
        # two suspects: one approved as proposed, one rejected: 1 of 2 caught
        "V02": (1, 1, 1, 0, D("100.00")),
        "S01": (2, 2, 0, 1, D("50.00")),
    }
    assert [r.code for r in rows] == ["V02", "S01"]  # the order of the rules
    assert rows[1].name == "Suspect duplicate"


def test_first_pass_rate_and_turnaround_per_provider(cw, count_queries):
    _known(cw)
    with count_queries() as counted:
        rows = review_dashboard.by_provider(tenant_of(cw.adjudicator))
    assert counted.count == 2
    found = {r.name: (r.decided, r.first_pass, r.first_pass_rate, r.average_hours) for r in rows}
    assert found == {
        # 5 decided, 2 first pass (the lab claim, the first consultation); (1 + 2 + 3 + 4 + 5) / 5 = 3 hours
        cw.hospital.name: (5, 2, D("40.00"), D("3.00")),
        cw.other_hospital.name: (1, 1, D("100.00"), D("10.00")),
    }


def test_the_same_number_of_queries_for_more_claims(cw, count_queries):
    _known(cw)
    for days_ago in (40, 41, 42):
        _submitted(cw, "LAB-FBC", "100.00", days_ago=days_ago, institution=cw.other_hospital)
    viewer = tenant_of(cw.adjudicator)
    with count_queries() as counted:
        review_dashboard.by_trigger(viewer)
        review_dashboard.by_provider(viewer)
    assert counted.count == 3


def test_another_insurer_sees_none_of_it(cw):
    _known(cw)
    viewer = tenant_of(cw.other_adjudicator)
    assert review_dashboard.by_trigger(viewer) == [] and review_dashboard.by_provider(viewer) == []


def test_the_dashboard_page_shows_the_review_tables(cw, client, login):
    _known(cw)
    db.session.commit()
    login(cw.adjudicator)
    html = client.get("/claims/dashboard?start=&end=").get_data(as_text=True)
    triggers = html[html.index('id="dash-triggers"') :]
    triggers = triggers[: triggers.index("</table>")]
    assert "Suspect duplicate" in triggers and "50.00 %" in triggers
    providers = html[html.index('id="dash-providers"') :]
    providers = providers[: providers.index("</table>")]
    assert cw.hospital.name in providers and "40.00 %" in providers and "3.00" in providers
