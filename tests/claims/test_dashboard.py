"""The insurers' claims dashboard: the numbers for a small known set of claims, the page, and its tenant."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from blueprints.claims import services
from blueprints.claims.engine import REASONS
from blueprints.claims.services import dashboard
from medcover import clock
from medcover.extensions import db
from medcover.rbac import tenant_of
from tests.core.conftest import RequestScopedClient
from tests.factories import PASSWORD, make_coverage, make_member

D = Decimal


def _submitted(cw, items, days_ago, member="ACM-001"):
    claim = services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            member_number=member,
            institution_id=cw.hospital.id,
            service_date=cw.today - timedelta(days=days_ago),
            items=[services.ItemInput(*item) for item in items],
        ),
    )
    return services.submit_claim(actor=cw.clerk, claim_id=claim.id)


def _known_claims(cw):
    """Gold (annual limit 100,000.00 a member, two members covered):
    approved 2,250.00; rejected (R12); partially approved 2,250.00 (R12 on its MRI line); one pending review
    decided 5 hours later for 72,000.00; and one claim of a number nobody has (no insurer: nobody's dashboard)."""
    cw.scheme.annual_limit = D("100000.00")
    second = make_member(cw.company, member_number="ACM-002", first_name="Achieng", last_name="Odhiambo")
    make_coverage(second, cw.scheme, cw.today - timedelta(days=10), cw.today + timedelta(days=300))
    db.session.flush()
    approved = _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=5)
    rejected = _submitted(cw, [("MRI-HEAD", 1, "30000.00")], days_ago=4)
    partial = _submitted(cw, [("CONSULT", 1, "2500.00"), ("MRI-HEAD", 1, "30000.00")], days_ago=3)
    pending = _submitted(cw, [("SURGERY", 1, "80000.00")], days_ago=2)
    _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=1, member="NOBODY-9")
    with clock.travel(timedelta(hours=5)):
        services.approve_claim(actor=cw.adjudicator, claim_id=pending.id)
    assert [c.status.value for c in (approved, rejected, partial, pending)] == [
        "approved",
        "rejected",
        "partially_approved",
        "approved",
    ]
    db.session.commit()


def test_the_numbers_of_a_known_set_of_claims(cw):
    _known_claims(cw)
    tenant = tenant_of(cw.adjudicator)
    counts = dashboard.by_status(tenant)
    assert [(r.status, r.claims, r.billed, r.approved) for r in counts] == [
        ("approved", 2, D("82500.00"), D("74250.00")),
        ("partially_approved", 1, D("32500.00"), D("2250.00")),
        ("rejected", 1, D("30000.00"), D("0.00")),
    ]
    rate = dashboard.approval(counts)
    assert (rate.decided, rate.approved, rate.rate) == (4, 3, D("75.00"))
    assert rate.amount_rate == D("52.76")  # 76,500.00 of 145,000.00

    overall = dashboard.turnaround(tenant)
    assert (overall.decided, overall.median_hours, overall.average_hours) == (4, D("0.00"), D("1.25"))
    reviewed = dashboard.turnaround(tenant, reviewed_only=True)
    assert (reviewed.decided, reviewed.median_hours, reviewed.average_hours) == (1, D("5.00"), D("5.00"))

    reasons = dashboard.top_rejection_reasons(tenant)
    assert [(r.code, r.lines, r.words) for r in reasons] == [("R12", 2, REASONS["R12"])]

    [gold] = dashboard.spend_by_scheme(tenant)
    assert (gold.code, gold.claims, gold.approved, gold.members) == ("GOLD", 3, D("76500.00"), 2)
    assert (gold.pool, gold.used_percent) == (D("200000.00"), D("38.25"))


def test_the_date_range_and_the_tenant_bound_the_numbers(cw):
    _known_claims(cw)
    tomorrow = cw.today + timedelta(days=1)
    assert dashboard.by_status(tenant_of(cw.adjudicator), tomorrow, tomorrow + timedelta(days=9)) == []
    assert dashboard.by_status(tenant_of(cw.other_adjudicator)) == []
    assert dashboard.top_rejection_reasons(tenant_of(cw.other_adjudicator)) == []
    # the hospital's admin sees its own claims, the one of nobody's member included
    hospital = dashboard.by_status(tenant_of(cw.clerk))
    assert {r.status: r.claims for r in hospital}["rejected"] == 2


def test_the_dashboard_page_draws_charts_and_tables(app, cw, client, login):
    _known_claims(cw)
    login(cw.adjudicator)
    page = client.get("/claims/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('<figure class="chart') == 3  # by status, by rejection reason, spend per scheme
    # each bar says what it is and how much in words, not only by its length or colour
    labelled = re.findall(
        r'<span class="chart-label" title="([^"]+)">[^<]+</span>\s*<svg[^>]*>.*?</svg>\s*'
        r'<span class="chart-value">([^<]+)</span>',
        html,
        re.S,
    )
    assert labelled == [
        ("Approved", "2"),
        ("Partially approved", "1"),
        ("Rejected", "1"),
        (f"R12 {REASONS['R12']}".replace("'", "&#39;"), "2"),
        ("GOLD · Gold", "76,500.00"),
    ]
    assert "75.00 %" in html and "52.76 %" in html and "5.00 h median" in html
    assert REASONS["R12"].replace("'", "&#39;") in html
    assert "200,000.00" in html and "38.25 %" in html and "76,500.00" in html
    later = cw.today + timedelta(days=1)
    empty = client.get(f"/claims/dashboard?start={later}&end={later}", headers={"HX-Request": "true"})
    assert empty.get_data(as_text=True).lstrip().startswith('<div id="claims-dashboard">')
    assert "No claims in this range." in empty.get_data(as_text=True)
    clerk = RequestScopedClient(app, app.response_class, use_cookies=True)
    clerk.post("/auth/login", data={"email": cw.clerk.email, "password": PASSWORD})
    assert clerk.get("/claims/dashboard").status_code == 403
