"""The staff shell in a real browser, for each role's home page at a laptop's 1366x768 and a tablet's 768x1024:
the identity bar stays within 56 px, the side navigation sits beside the content (not above it) on the laptop
and folds behind a menu button on the tablet, no page scrolls sideways, and printing leaves only the content.
With MEDCOVER_DOCS_SCREENSHOTS=1 it also rewrites the README's screenshots of each role's main screen."""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}
#: the demo roles, each with the screen it spends the day on (for the README)
MAIN_SCREENS = {
    "admin": "/admin/users",
    "receptionist": "/hospital/patients",
    "billing_clerk": "/billing/invoices",
    "adjudicator": "/claims/queue",
    "finance_officer": "/settlements",
    "auditor": "/admin/audit",
}


def _write_docs_screenshots() -> bool:
    """docs/*.png are committed, so they are rewritten only on request: MEDCOVER_DOCS_SCREENSHOTS=1."""
    return os.environ.get("MEDCOVER_DOCS_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def accounts(world, tmp_path_factory) -> dict[str, tuple[str, str]]:
    """name -> (email, password): each demo role (hospital staff at a hospital, insurer staff at an insurer, the
    admin and auditor of the platform), plus a hospital's own admin and another insurer's finance officer."""
    found = sorted({path.resolve() for path in tmp_path_factory.getbasetemp().glob("e2e*/e2e.db")})
    assert len(found) == 1, found
    demo_domain = world.admin_email.split("@", 1)[1]
    with closing(sqlite3.connect(found[0])) as conn:
        first_of_each_role = """
            SELECT role, email FROM users WHERE id IN (
                SELECT min(id) FROM users WHERE email LIKE ? AND role != 'integration' GROUP BY role)
        """
        demo = dict(conn.execute(first_of_each_role, (f"%@{demo_domain}",)).fetchall())
    assert set(demo) == set(MAIN_SCREENS), demo
    chosen = {role: (email, world.demo_password) for role, email in demo.items()}
    for person in world.people:
        if person["full_name"] in ("Oscar Maina", "Daniel Mwangi"):  # a hospital's admin, insurer 2's finance
            chosen[f"{person['role']} ({person['full_name']})"] = (person["email"], world.people_password)
    assert len(chosen) == len(MAIN_SCREENS) + 2
    return chosen


def _box(page, selector: str) -> dict:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box


def _no_sideways_scroll(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths}"


@pytest.mark.parametrize(
    "who",
    [*MAIN_SCREENS, "admin (Oscar Maina)", "finance_officer (Daniel Mwangi)"],
)
def test_each_roles_home_fits_the_laptop_and_the_tablet(page, page_errors, sign_in, world, accounts, who):
    sign_in(*accounts[who])
    assert urlsplit(page.url).path == "/"
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="Menu")

    # Laptop: a slim bar, the navigation beside the content, which starts at the top.
    page.set_viewport_size(LAPTOP)
    page.reload()
    header = _box(page, "header.idbar")
    assert header["height"] <= 56
    expect(nav).to_be_visible()
    expect(menu).to_be_hidden()
    side, main = _box(page, "#sidenav"), _box(page, "main")
    assert main["x"] >= side["x"] + side["width"] - 1  # beside it, not below it
    assert main["y"] <= header["y"] + header["height"] + 1  # the content starts right under the bar
    assert main["y"] < side["y"] + side["height"]
    _no_sideways_scroll(page)

    # Tablet: the same bar; the navigation behind the menu button, opened and closed by it (and by Escape).
    page.set_viewport_size(TABLET)
    page.reload()
    assert _box(page, "header.idbar")["height"] <= 56
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    _no_sideways_scroll(page)
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Home")).to_be_visible()
    _no_sideways_scroll(page)
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    menu.click()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    assert page_errors == []


def test_a_page_prints_without_the_shell_or_the_forms(page, page_errors, sign_in, world, accounts):
    sign_in(*accounts["billing_clerk"])
    page.goto(world.base_url + "/billing/invoices")
    heading = page.get_by_role("heading", level=1)
    page.emulate_media(media="print")
    for hidden in ("header.idbar", "#sidenav", "footer.footer", "form.filters, .filters"):
        assert not page.locator(hidden).first.is_visible(), hidden
    expect(heading).to_be_visible()
    expect(page.locator("main table").first).to_be_visible()
    assert page.locator("main button:visible").count() == 0
    page.emulate_media(media="screen")
    expect(page.locator("header.idbar")).to_be_visible()
    assert page_errors == []


def test_the_global_search_opens_a_claim_by_its_number(page, page_errors, sign_in, world, accounts):
    email, password = accounts["adjudicator"]
    sign_in(email, password)
    page.goto(world.base_url + "/claims")
    number = page.locator("main table tbody tr a").first.inner_text().strip()
    assert number.startswith("CL-"), number
    page.get_by_role("searchbox", name="Find a patient, member, claim or invoice by its number").fill(number.lower())
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/claims/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    page.get_by_role("searchbox").fill("NO-SUCH-0001")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("Nothing you can open has the number NO-SUCH-0001.")
    expect(page.get_by_role("searchbox")).to_have_value("NO-SUCH-0001")
    assert page_errors == []


@pytest.mark.skipif(not _write_docs_screenshots(), reason="docs screenshots only with MEDCOVER_DOCS_SCREENSHOTS=1")
def test_docs_screenshots_of_each_roles_main_screen(page, page_errors, sign_in, world, accounts):
    """The README's pictures, as the journeys left the demo world: each role's main screen on a laptop, and the
    tablet's folded navigation opened."""
    for role, path in MAIN_SCREENS.items():
        if role == "admin":
            continue  # the admin's screen is docs/users.png, from the users journey
        page.context.clear_cookies()
        page.set_viewport_size(LAPTOP)
        sign_in(*accounts[role])
        page.goto(world.base_url + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(DOCS / f"{role.replace('_', '-')}.png"), caret="initial")
    page.set_viewport_size(TABLET)
    page.goto(world.base_url + "/")
    page.get_by_role("button", name="Menu").click()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(DOCS / "menu-tablet.png"), caret="initial")
    assert page_errors == []
