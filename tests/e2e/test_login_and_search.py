"""Staff journeys in a real browser: sign in with the printed demo login, search users as you type,
deactivate from the list, and a wrong password."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DOCS = Path(__file__).resolve().parents[2] / "docs"
ROWS = "#user-results tbody tr"


def _write_docs_screenshots() -> bool:
    """docs/*.png are committed, so they are rewritten only on request: MEDCOVER_DOCS_SCREENSHOTS=1."""
    return os.environ.get("MEDCOVER_DOCS_SCREENSHOTS") == "1"


def _shown_emails(page) -> set[str]:
    return set(page.locator(f"{ROWS} td:nth-child(2)").all_inner_texts())


def _query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_printed_admin_login_signs_in_and_lands_on_the_dashboard(page, page_errors, sign_in, world):
    page.goto(world.base_url + "/auth/login")
    expect(page.get_by_label("Email")).to_be_focused()
    if _write_docs_screenshots():
        page.screenshot(path=str(DOCS / "login.png"))

    sign_in(world.admin_email, world.demo_password)

    assert urlsplit(page.url).path == "/"
    expect(page.get_by_role("heading", level=1)).to_contain_text(world.admin_name)
    expect(page.locator(".usermenu summary")).to_contain_text(world.admin_name)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_be_visible()
    assert page_errors == []


def test_typing_in_the_search_box_filters_the_user_list_in_place(page, page_errors, sign_in, world):
    sign_in(world.admin_email, world.demo_password)
    page.goto(world.base_url + "/admin/users")
    assert world.user_count <= 50, "the world should fit on one page of the list"
    expect(page.locator(ROWS)).to_have_count(world.user_count)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "users.png"), full_page=True)
    if _write_docs_screenshots():
        page.screenshot(path=str(DOCS / "users.png"))

    page.evaluate("window.__marker = 1")
    # Keyboard only: "/" jumps to the search box, then type.
    page.keyboard.press("/")
    expect(page.locator("#user-search")).to_be_focused()
    with page.expect_response(lambda r: _query_of(r.url).get("q") == ["mwangi"]) as answer:
        page.keyboard.type("mwangi", delay=40)

    response = answer.value
    assert response.request.headers.get("hx-request") == "true"  # an htmx swap, not a navigation
    assert response.status == 200
    expected = {p["email"] for p in world.people if "mwangi" in p["full_name"].lower() or "mwangi" in p["email"]}
    assert len(expected) == 5
    expect(page.locator(ROWS)).to_have_count(len(expected))
    assert _shown_emails(page) == expected
    assert _query_of(page.url).get("q") == ["mwangi"]  # hx-push-url: the address can be shared and reloaded
    assert page.evaluate("window.__marker") == 1  # the page was never reloaded
    expect(page.locator("#user-search")).to_be_focused()  # typing can go on

    # Narrowing further swaps again, still in place.
    with page.expect_response(lambda r: _query_of(r.url).get("q") == ["mwangi-"]):
        page.keyboard.type("-")
    expect(page.locator(ROWS)).to_have_count(1)
    assert _shown_emails(page) == {p["email"] for p in world.people if "mwangi-" in p["email"]}
    assert page.evaluate("window.__marker") == 1

    # The pushed address serves the same filtered list as a whole page.
    page.reload()
    assert page.evaluate("window.__marker") is None
    expect(page.locator("#user-search")).to_have_value("mwangi-")
    expect(page.locator(ROWS)).to_have_count(1)
    assert page_errors == []


def test_deactivating_a_user_swaps_the_row_and_shows_a_toast(page, page_errors, sign_in, world):
    target = next(p for p in world.people if p["full_name"] == "Zawadi Mumbi")
    sign_in(world.admin_email, world.demo_password)
    page.goto(world.base_url + f"/admin/users?q={target['email']}")
    row = page.locator(f"#user-{target['id']}")
    expect(row.locator(".badge")).to_have_text("Active")
    page.evaluate("window.__marker = 1")

    asked = []

    def confirm(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    with page.expect_response(lambda r: r.url.endswith(f"/admin/users/{target['id']}/active")) as answer:
        row.get_by_role("button", name="Deactivate").click()

    assert answer.value.status == 200
    assert asked and target["full_name"] in asked[0]
    expect(row.locator(".badge")).to_have_text("Deactivated")
    expect(row.get_by_role("button", name="Reactivate")).to_be_visible()
    expect(page.locator("#toast")).to_be_visible()
    expect(page.locator("#toast")).to_have_text("Deactivated.")
    assert page.evaluate("window.__marker") == 1  # swapped in place, no reload
    expect(page.locator(f"{ROWS}")).to_have_count(1)  # one row replaced, not appended

    page.reload()
    expect(page.locator(f"#user-{target['id']} .badge")).to_have_text("Deactivated")
    assert page_errors == []


def test_wrong_password_shows_the_error_and_stays_signed_out(page, page_errors, expect_error_response, sign_in, world):
    someone = next(p for p in world.people if p["full_name"] == "Amina Hassan")
    expect_error_response(401, "/auth/login")  # the form comes back refused, with its message
    sign_in(someone["email"], "not-the-password-1")

    assert urlsplit(page.url).path == "/auth/login"
    expect(page.get_by_role("alert")).to_contain_text("Email or password is incorrect.")
    expect(page.get_by_label("Password")).to_have_value("")  # the password is never sent back
    page.goto(world.base_url + "/")
    assert urlsplit(page.url).path == "/auth/login"
    assert page_errors == []
