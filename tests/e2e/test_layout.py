"""Tables that fit, in a real browser at the two screens staff use (a 1366x768 laptop, a 768x1024 tablet): each role's
main list pages never scroll sideways and their tables are not cut off; a claim's Decision and Member pays columns
are on screen without scrolling; the charts' words are readable and say what colour alone would not.

The header's height is the shell's business (its own checks); these checks hold whatever it is.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.live_server import BIN, REPO, app_env

pytestmark = pytest.mark.e2e

SIZES = {"laptop": {"width": 1366, "height": 768}, "tablet": {"width": 768, "height": 1024}}
#: each role's main lists; "{claim}" is a decided claim of the adjudicator's insurer
PAGES = {
    "billing_clerk": ["/billing/invoices", "/billing/receivables", "/billing/receivables/items"],
    "adjudicator": ["/claims/queue", "/claims", "/claims/{claim}", "/claims/dashboard"],
    "finance_officer": ["/payments", "/settlements", "/refunds"],
    "receptionist": ["/hospital/patients?q=ka", "/hospital/appointments"],
    "admin": ["/admin/users", "/admin/audit"],
}

# How far the page and each list's box scroll sideways, and any table cut off by its box.
OVERFLOW = """() => {
  const root = document.documentElement;
  const cut = [...document.querySelectorAll('.table-scroll, .table-wrap')]
    .filter(box => box.scrollWidth > box.clientWidth + 1)
    .map(box => (box.querySelector('table[id]') || box.querySelector('table') || box).id || box.className);
  return {page: root.scrollWidth - root.clientWidth, cut};
}"""

# Where a cell is, and whether something between it and the page clips it (a scroller the keyboard can't reach).
PLACE = """(cell) => {
  const box = cell.getBoundingClientRect();
  let clipped = false;
  for (let up = cell.parentElement; up; up = up.parentElement) {
    if (getComputedStyle(up).overflowX === 'visible') continue;
    const frame = up.getBoundingClientRect();
    if (box.left < frame.left - 1 || box.right > frame.right + 1) clipped = true;
  }
  return {left: box.left, right: box.right, viewport: document.documentElement.clientWidth, clipped,
          scrolled: window.scrollX};
}"""


@dataclass(frozen=True)
class LayoutWorld:
    logins: dict[str, str]
    password: str
    claim_id: int


def _database(tmp_path_factory) -> Path:
    found = sorted({path.resolve() for path in tmp_path_factory.getbasetemp().glob("e2e*/e2e.db")})
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def layout_world(world, tmp_path_factory) -> LayoutWorld:
    """The demo logins, a decided claim with several lines, and money on the finance lists (tests.e2e.ledger)."""
    database = _database(tmp_path_factory)
    env = app_env(
        DATABASE_URL=f"sqlite:///{database}",
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(database.parent / "mail"),
        SECRET_KEY="e2e-secret-key-not-for-production",
    )
    made = subprocess.run(
        [str(BIN / "python"), "-m", "tests.e2e.ledger"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout.strip().splitlines()[-1])["payments"] > 1
    demo_domain = world.admin_email.split("@", 1)[1]
    with closing(sqlite3.connect(database)) as conn:
        logins: dict[str, str] = {}
        for role, email in conn.execute(
            "SELECT role, email FROM users WHERE email LIKE ? ORDER BY id", (f"%@{demo_domain}",)
        ).fetchall():
            logins.setdefault(role, email)
        company_id = conn.execute("SELECT company_id FROM users WHERE email = ?", (logins["adjudicator"],)).fetchone()[
            0
        ]
        (claim_id,) = conn.execute(
            """
            SELECT c.id FROM claims c JOIN claim_items i ON i.claim_id = c.id
            WHERE c.company_id = ? AND c.status = 'partially_approved'
            GROUP BY c.id HAVING count(*) >= 2 ORDER BY c.id LIMIT 1
            """,
            (company_id,),
        ).fetchone()
    return LayoutWorld(logins, world.demo_password, claim_id)


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
@pytest.mark.parametrize("role", PAGES)
def test_main_lists_fit_the_screen_without_sideways_scrolling(
    page, page_errors, sign_in, layout_world, world, role, size
):
    page.set_viewport_size(SIZES[size])
    sign_in(layout_world.logins[role], layout_world.password)
    for path in PAGES[role]:
        page.goto(world.base_url + path.format(claim=layout_world.claim_id))
        expect(page.locator("main h1").first).to_be_visible()
        overflow = page.evaluate(OVERFLOW)
        assert overflow["page"] <= 0, f"{path} at {size} scrolls sideways by {overflow['page']} px"
        assert overflow["cut"] == [], f"{path} at {size}: a table wider than its box: {overflow['cut']}"
    assert page_errors == [], page_errors


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_a_claims_decision_and_member_pays_are_on_screen_and_its_details_fold_out(
    page, page_errors, sign_in, layout_world, world, size
):
    page.set_viewport_size(SIZES[size])
    sign_in(layout_world.logins["adjudicator"], layout_world.password)
    page.goto(world.base_url + f"/claims/{layout_world.claim_id}")
    lines = page.locator("#claim-lines")
    headers = lines.locator("thead th").all_inner_texts()
    first_row = lines.locator("tbody tr").first
    for name in ("Member pays", "Decision"):
        column = [text.strip() for text in headers].index(name)
        for cell in (lines.locator("thead th").nth(column), first_row.locator("td").nth(column)):
            expect(cell).to_be_visible()
            place = cell.evaluate(PLACE)
            assert place["scrolled"] == 0 and not place["clipped"], (name, size, place)
            assert place["left"] >= 0 and place["right"] <= place["viewport"], (name, size, place)
    expect(first_row.locator("td").nth(headers.index("Decision"))).to_have_text(
        re.compile(r"^(Approved|Adjusted|Rejected)$")
    )

    # Allowed, deductible, copay and the reasons wait behind the line's Details button, which the keyboard reaches.
    details = page.locator("#line-1-details")
    expect(details).to_be_hidden()
    toggle = first_row.get_by_role("button", name="Details of line 1")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(details).to_be_visible()
    expect(details).to_contain_text("Allowed")
    expect(details).to_contain_text("Deductible")
    expect(details).to_contain_text("Copay")
    assert page_errors == [], page_errors


def test_without_javascript_a_claims_details_are_shown_in_place(browser, layout_world, world):
    context = browser.new_context(viewport=SIZES["tablet"], java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(world.base_url + "/auth/login")
        page.get_by_label("Email").fill(layout_world.logins["adjudicator"])
        page.get_by_label("Password").fill(layout_world.password)
        page.get_by_role("button", name="Sign in").click()
        page.goto(world.base_url + f"/claims/{layout_world.claim_id}")
        expect(page.locator("#line-1-details")).to_be_visible()
        expect(page.locator("#line-1-details")).to_contain_text("Allowed")
        expect(page.get_by_role("button", name="Details of line 1")).to_have_count(0)  # hidden: nothing to toggle
    finally:
        context.close()


# Every piece of text in a chart: its font size in px as drawn, and the text.
CHART_TEXT = """(figure) => [...figure.querySelectorAll('.chart-label, .chart-value, .chart-legend li, text')]
  .map(el => [parseFloat(getComputedStyle(el).fontSize) * (el.getScreenCTM ? el.getScreenCTM().a : 1),
              el.textContent.trim()])"""


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_charts_have_readable_labels_and_name_what_colour_shows(page, page_errors, sign_in, layout_world, world, size):
    page.set_viewport_size(SIZES[size])
    sign_in(layout_world.logins["billing_clerk"], layout_world.password)
    page.goto(world.base_url + "/billing/receivables")
    chart = page.locator("figure.chart#aging-chart")
    expect(chart).to_be_visible()
    for px, text in chart.evaluate(CHART_TEXT):
        assert px >= 12, f"'{text}' is drawn at {px:.1f} px at {size}"
    # Payers apart in words: each bar is labelled with a payer of the table above, and carries its total.
    payers = [name.strip() for name in page.locator("#aging-table tbody th").all_inner_texts()]
    assert chart.locator(".chart-label").all_inner_texts() == payers
    totals = page.locator("#aging-table tbody td:last-child").all_inner_texts()
    assert chart.locator(".chart-value").all_inner_texts() == [t.strip() for t in totals]
    # Ages apart by pattern as well as colour: each key in the legend fills with a pattern of its own.
    fills = chart.locator(".chart-legend rect").evaluate_all("(rects) => rects.map(r => r.getAttribute('fill'))")
    assert len(fills) == 5 and len(set(fills)) == 5
    for fill in fills:
        assert page.locator(fill.removeprefix("url(").removesuffix(")")).count() == 1, fill

    page.context.clear_cookies()
    sign_in(layout_world.logins["adjudicator"], layout_world.password)
    page.goto(world.base_url + "/claims/dashboard")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(3)
    for n in range(3):
        for px, text in charts.nth(n).evaluate(CHART_TEXT):
            assert px >= 12, f"dashboard chart {n}: '{text}' is drawn at {px:.1f} px at {size}"
        values = charts.nth(n).locator(".chart-value").all_inner_texts()
        assert values and all(value.strip() for value in values)  # every bar says its number
    assert page_errors == [], page_errors
