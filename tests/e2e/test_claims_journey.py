"""A claim's life in a real browser: the demo billing clerk files a claim and sees the engine's decision, files two
more big enough to wait for review; the demo adjudicator finds one in the work queue, overrides a line (M01),
approves it, prints the member's claim letter and moves to the next claim by key. Every step on a page that uses htmx
swaps in place, and no script or CSP error is seen."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from blueprints.claims.engine import REASONS

pytestmark = pytest.mark.e2e

#: a service no demo hospital has a price for: its line is rejected (R07) and the claim partially approved
NO_TARIFF = "TELECONSULT"


@dataclass(frozen=True)
class ClaimsWorld:
    clerk: str
    adjudicator: str
    adjudicator_name: str
    #: two members of the adjudicator's insurer, covered today, whose ward stays are past their waiting period
    members: tuple[str, str]
    #: the member's scheme's review threshold (billed totals from it wait for an adjudicator)
    thresholds: dict[str, Decimal]
    #: service code -> unit price at the clerk's hospital today
    prices: dict[str, Decimal]


@pytest.fixture(scope="module")
def claims_world(world, tmp_path_factory) -> ClaimsWorld:
    """Read from the e2e world's database (the one file ``world`` made): who files, who decides, for whom."""
    found = sorted({path.resolve() for path in tmp_path_factory.getbasetemp().glob("e2e*/e2e.db")})
    assert len(found) == 1, found
    demo_domain = world.admin_email.split("@", 1)[1]
    with closing(sqlite3.connect(found[0])) as conn:

        def demo_login(role: str) -> tuple[str, int | None, int | None, str]:
            row = conn.execute(
                "SELECT email, institution_id, company_id, full_name FROM users WHERE role = ? AND email LIKE ?"
                " ORDER BY id",
                (role, f"%@{demo_domain}"),
            ).fetchone()
            assert row, f"seed-demo made no {role} login"
            return row

        clerk, institution_id, _, _ = demo_login("billing_clerk")
        adjudicator, _, company_id, adjudicator_name = demo_login("adjudicator")
        # Members with no claim yet (no limit used, no duplicate line), covered today on a scheme with a review
        # threshold, and long enough for the inpatient ward's waiting period to be over.
        members = conn.execute(
            """
            SELECT m.member_number, s.review_threshold
            FROM members m
            JOIN coverages c ON c.member_id = m.id
            JOIN schemes s ON s.id = c.scheme_id
            JOIN scheme_benefits sb ON sb.scheme_id = s.id
            JOIN benefits b ON b.id = sb.benefit_id AND b.code = 'IP-WARD'
            WHERE m.company_id = ? AND c.status = 'active' AND s.review_threshold IS NOT NULL AND sb.covered
              AND c.start_date <= date('now', '-' || sb.waiting_period_days || ' days')
              AND c.end_date >= date('now')
              AND NOT EXISTS (SELECT 1 FROM claims WHERE claims.member_number = m.member_number)
              AND (SELECT count(*) FROM coverages other WHERE other.member_id = m.id) = 1
            ORDER BY m.member_number
            LIMIT 2
            """,
            (company_id,),
        ).fetchall()
        assert len(members) == 2, f"the demo has no two unclaimed members of company {company_id} to claim for"
        prices = dict(
            conn.execute(
                """
                SELECT service_code, unit_price FROM service_tariffs
                WHERE institution_id = ? AND effective_from <= date('now')
                  AND (effective_to IS NULL OR effective_to >= date('now'))
                ORDER BY effective_from
                """,
                (institution_id,),
            ).fetchall()
        )
    assert NO_TARIFF not in prices
    return ClaimsWorld(
        clerk=clerk,
        adjudicator=adjudicator,
        adjudicator_name=adjudicator_name,
        members=(members[0][0], members[1][0]),
        thresholds={number: Decimal(str(threshold)) for number, threshold in members},
        prices={code: Decimal(str(price)) for code, price in prices.items()},
    )


def test_claim_is_decided_then_reviewed_overridden_approved_and_its_letter_printed(
    page, page_errors, axe_check, sign_in, world, claims_world
):
    cw = claims_world
    first, second = cw.members

    # --- the billing clerk: a claim the engine decides at once --------------------------------------
    sign_in(cw.clerk, world.demo_password)
    small = _file_claim(
        page,
        world,
        member=first,
        diagnoses="J06.9",
        lines=[("CONSULT-GP", 1, cw.prices["CONSULT-GP"]), ("LAB-MALARIA", 1, cw.prices["LAB-MALARIA"]),
               (NO_TARIFF, 1, Decimal("1500.00"))],
    )  # fmt: skip
    page.evaluate("window.__marker = 'clerk'")
    _submit(page, small)
    expect(_badge(page)).to_have_attribute("data-status", "partially_approved")
    expect(_badge(page)).to_have_text("Partially approved")
    expect(page.locator("#claim-panel .claim-reasons")).to_contain_text(f"R07 {REASONS['R07']}")
    expect(page.locator("#line-3")).to_contain_text("Rejected")
    expect(page.locator("#line-3 + tr.line-why")).to_contain_text(REASONS["R07"])
    expect(page.locator("#line-1")).to_contain_text("Approved")
    expect(page.locator("#toast")).to_contain_text(f"Claim {small.number} submitted: partially approved.")
    assert page.evaluate("window.__marker") == "clerk"  # submitted and decided in place, never a reload
    axe_check()  # the decided panel, swapped in

    # Two stays on the ward, each billed at the member's scheme's review threshold or more: they wait.
    waiting = []
    for member in (first, second):
        ward = cw.prices["WARD-GENERAL"]
        nights = int(cw.thresholds[member] // ward) + 1
        claim = _file_claim(
            page,
            world,
            member=member,
            diagnoses="A09",
            lines=[("WARD-GENERAL", nights, ward), ("CONSULT-SPEC", 1, cw.prices["CONSULT-SPEC"])],
        )
        page.evaluate("window.__marker = 'clerk'")
        _submit(page, claim)
        expect(_badge(page)).to_have_attribute("data-status", "pending_review")
        expect(page.locator("#review-why")).to_contain_text("reached the scheme's review threshold")
        expect(page.locator("#toast")).to_contain_text(f"Claim {claim.number} submitted: pending review.")
        assert page.evaluate("window.__marker") == "clerk"
        waiting.append((claim, nights, ward))
    (review, nights, ward), (after, _, _) = waiting

    # --- the adjudicator: the work queue ------------------------------------------------------------
    page.context.clear_cookies()
    sign_in(cw.adjudicator, world.demo_password)
    page.goto(world.base_url + "/claims/queue")
    expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
    page.evaluate("window.__marker = 'queue'")
    with page.expect_response(lambda r: "/claims/queue?" in r.url and r.request.method == "GET") as sorted_:
        page.get_by_label("Sort").select_option("-age")
    assert sorted_.value.status == 200 and sorted_.value.request.headers.get("hx-request") == "true"
    expect(page).to_have_url(re.compile(r"/claims/queue\?.*sort=-age"))
    row = page.locator(f"#queue-{review.id}")
    expect(row).to_contain_text(review.number)
    expect(row).to_contain_text(first)
    expect(row).to_contain_text(_money(nights * ward + cw.prices["CONSULT-SPEC"]))
    expect(page.locator(f"#queue-{after.id}")).to_be_visible()
    assert page.evaluate("window.__marker") == "queue"  # the filters swapped the rows in place

    row.get_by_role("link", name=review.number).click()
    page.wait_for_url(f"**/claims/{review.id}")
    expect(_badge(page)).to_have_attribute("data-status", "pending_review")
    page.evaluate("window.__marker = 'claim'")

    # Override the ward line: two nights fewer than billed, with a note; approve by keyboard.
    decide = page.locator("#decide")
    proposed_line = _amount(decide.locator("table.overrides tbody tr").first.locator("td.num").nth(1).inner_text())
    proposed_total = _amount(page.locator("#total-approved").inner_text())
    instead = (nights - 2) * ward
    note = "Discharged two nights earlier than billed (nursing notes)."
    decide.get_by_label("Approve instead, line 1").fill(f"{instead:.2f}")
    decide.get_by_label("Note, line 1").fill(note)
    page.locator("#claim-panel h1").click()  # out of the inputs, so the page's keys apply
    page.keyboard.press("a")
    expect(decide.get_by_role("button", name="Approve", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    confirm = page.locator("dialog.confirm-dialog")
    expect(confirm).to_contain_text(f"Approve claim {review.number} for KES ")
    with page.expect_response(lambda r: r.url.endswith(f"/claims/{review.id}/approve")) as approved:
        confirm.get_by_role("button", name="Approve").click()
    assert approved.value.status == 200 and approved.value.request.headers.get("hx-request") == "true"

    expect(_badge(page)).to_have_attribute("data-status", "approved")
    expect(page.locator("#decide")).to_have_count(0)
    expect(page.locator("#line-1")).to_contain_text("Adjusted")
    expect(page.locator("#line-1")).to_contain_text(_money(instead))
    why = page.locator("#line-1 + tr.line-why")
    expect(why).to_contain_text(f"M01 {REASONS['M01']}")
    expect(why).to_contain_text(f"Note: {note}")
    expect(page.locator("#claim-panel .claim-reasons")).to_contain_text(f"M01 {REASONS['M01']}")
    expect(page.locator("#total-approved")).to_have_text(_money(proposed_total - proposed_line + instead))
    decided = page.locator("#timeline li.timeline-decision").last
    expect(decided).to_contain_text(f"Decided: approved, {_money(proposed_total - proposed_line + instead)} approved")
    expect(decided).to_contain_text(f"by {cw.adjudicator_name}")
    expect(decided.locator("abbr", has_text="M01")).to_have_attribute("title", REASONS["M01"])
    expect(page.locator("#toast")).to_have_text(f"Claim {review.number} is approved.")
    assert page.evaluate("window.__marker") == "claim"  # decided in place, never a reload
    axe_check()
    assert page_errors == [], page_errors

    # Print the member's letter: the decided claim's panel offers it; the browser fetches it with its session.
    letter_link = page.locator("#claim-panel [data-letter='member']")
    expect(letter_link).to_have_attribute("href", f"/claims/{review.id}/letter.pdf?for=member")
    letter = page.request.get(world.base_url + letter_link.get_attribute("href"))
    assert letter.status == 200, f"GET /claims/{review.id}/letter.pdf?for=member answered {letter.status}"
    assert letter.headers["content-type"].split(";")[0].strip() == "application/pdf", letter.headers
    assert letter.body().startswith(b"%PDF"), letter.body()[:40]

    # "n": the next claim waiting for review, the one filed after it.
    next_claim = page.locator("[data-next-claim]")
    expect(next_claim).to_have_attribute("href", f"/claims/{after.id}")
    page.keyboard.press("n")
    page.wait_for_url(f"**/claims/{after.id}")
    expect(page.locator("#claim-panel h1")).to_contain_text(after.number)
    expect(_badge(page)).to_have_attribute("data-status", "pending_review")
    expect(page.locator("#decide").get_by_role("button", name="Approve", exact=True)).to_be_visible()
    assert page_errors == [], page_errors


@dataclass(frozen=True)
class Filed:
    id: int
    number: str


def _file_claim(page, world, *, member: str, diagnoses: str, lines) -> Filed:
    """Key a claim in on /claims/new (a plain form: saving redirects to the draft's page); the draft."""
    page.goto(world.base_url + "/claims/new")
    form = page.locator("form.card")
    form.get_by_label("Member number", exact=True).fill(member)
    form.get_by_label("Diagnosis codes").fill(diagnoses)
    rows = form.locator("table.claim-line-inputs tbody tr")
    for n, (code, quantity, price) in enumerate(lines):
        rows.nth(n).get_by_label("Service code").fill(code)
        rows.nth(n).get_by_label("Qty").fill(str(quantity))
        rows.nth(n).get_by_label("Unit price").fill(f"{price:.2f}")
    form.get_by_role("button", name="Save the draft").click()
    page.wait_for_url(re.compile(r"/claims/\d+$"))
    expect(_badge(page)).to_have_attribute("data-status", "draft")
    number = page.locator("#claim-panel h1").inner_text().split()[0]
    assert re.fullmatch(r"CL-\d{4}-\d{6}", number), number
    return Filed(int(page.url.rsplit("/", 1)[1]), number)


def _submit(page, claim: Filed) -> None:
    with page.expect_response(lambda r: r.url.endswith(f"/claims/{claim.id}/submit")) as sent:
        page.get_by_role("button", name="Submit to the insurer").click()
    assert sent.value.status == 200 and sent.value.request.headers.get("hx-request") == "true"


def _badge(page):
    return page.locator("#claim-panel h1 [data-status]")


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _amount(text: str) -> Decimal:
    return Decimal(text.strip().replace(",", ""))
