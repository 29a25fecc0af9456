"""Voids and replacements in a real browser: the demo billing clerk files a claim and has it decided, replaces it
from its page ("Replace this claim": a draft prefilled from its lines, corrected), submits the replacement (the
original turns void, each names the other), then voids the replacement through its confirmation, reason typed.
No script or CSP error is seen, and axe finds nothing serious on the pages visited."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from decimal import Decimal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

LINES = ("CONSULT-GP", "LAB-MALARIA")


def _clerk_and_member(world) -> tuple[str, str, dict[str, Decimal]]:
    """The demo billing clerk, a member of an insurer covered today with no claim yet, and the clerk's prices."""
    demo_domain = world.admin_email.split("@", 1)[1]
    with closing(sqlite3.connect(world.db_path)) as conn:
        clerk, institution_id = conn.execute(
            "SELECT email, institution_id FROM users WHERE role = 'billing_clerk' AND email LIKE ? ORDER BY id",
            (f"%@{demo_domain}",),
        ).fetchone()
        (member,) = conn.execute(
            """
            SELECT m.member_number FROM members m JOIN coverages c ON c.member_id = m.id
            WHERE c.status = 'active' AND c.start_date <= date('now', '-90 days') AND c.end_date >= date('now')
              AND NOT EXISTS (SELECT 1 FROM claims WHERE claims.member_number = m.member_number)
              AND (SELECT count(*) FROM coverages other WHERE other.member_id = m.id) = 1
            ORDER BY m.member_number DESC LIMIT 1
            """
        ).fetchone()
        prices = {
            code: Decimal(str(price))
            for code, price in conn.execute(
                "SELECT service_code, unit_price FROM service_tariffs WHERE institution_id = ? "
                "AND effective_from <= date('now') AND (effective_to IS NULL OR effective_to >= date('now')) "
                "ORDER BY effective_from",
                (institution_id,),
            )
        }
    assert set(LINES) <= set(prices), prices
    return clerk, member, prices


def _badge(page):
    return page.locator("#claim-panel h1 [data-status]")


def _number(page) -> tuple[int, str]:
    number = page.locator("#claim-panel h1").inner_text().split()[0]
    assert re.fullmatch(r"CL-\d{4}-\d{6}", number), number
    return int(page.url.rsplit("/", 1)[1]), number


def test_a_claim_is_replaced_and_the_replacement_voided_through_its_confirmation(
    page, page_errors, axe_check, sign_in, world
):
    clerk, member, prices = _clerk_and_member(world)
    sign_in(clerk, world.demo_password)

    # --- a claim, decided --------------------------------------------------------------------------
    page.goto(world.base_url + "/claims/new")
    form = page.locator("form.card")
    form.get_by_label("Member number", exact=True).fill(member)
    form.get_by_label("Diagnosis codes").fill("B54")
    rows = form.locator("table.claim-line-inputs tbody tr")
    for n, code in enumerate(LINES):
        rows.nth(n).get_by_label("Service code").fill(code)
        rows.nth(n).get_by_label("Qty").fill("1")
        rows.nth(n).get_by_label("Unit price").fill(f"{prices[code]:.2f}")
    form.get_by_role("button", name="Save the draft").click()
    page.wait_for_url(re.compile(r"/claims/\d+$"))
    original_id, original = _number(page)
    with page.expect_response(lambda r: r.url.endswith(f"/claims/{original_id}/submit")) as sent:
        page.get_by_role("button", name="Submit to the insurer").click()
    assert sent.value.status == 200
    expect(_badge(page)).not_to_have_attribute("data-status", re.compile("draft|submitted"))

    # --- "Replace this claim": the original's lines and diagnoses, corrected --------------------------
    zone = page.locator("#void")
    expect(zone).to_have_class(re.compile("danger-zone"))
    zone.get_by_role("link", name="Replace this claim").click()
    page.wait_for_url(f"**/claims/{original_id}/replace")
    expect(page.get_by_role("heading", name=f"Replace claim {original}")).to_be_visible()
    replace = page.locator("#replace-form")
    expect(replace.get_by_label("Diagnosis codes")).to_have_value("B54")
    lines = replace.locator("table.claim-line-inputs tbody tr")
    expect(lines.nth(0).get_by_label("Service code")).to_have_value(LINES[0])
    expect(lines.nth(1).get_by_label("Service code")).to_have_value(LINES[1])
    lines.nth(1).get_by_label("Qty").fill("2")
    axe_check()
    replace.get_by_role("button", name="Save the replacement draft").click()
    page.wait_for_url(re.compile(r"/claims/\d+$"))
    replacement_id, replacement = _number(page)
    assert replacement_id != original_id
    expect(page.locator("#claim-replaces")).to_contain_text(f"Replaces {original}")
    expect(page.locator("#total-billed")).to_contain_text(f"{prices[LINES[0]] + 2 * prices[LINES[1]]:,.2f}")

    # --- submitting the replacement voids the original -------------------------------------------------
    with page.expect_response(lambda r: r.url.endswith(f"/claims/{replacement_id}/submit")) as sent:
        page.get_by_role("button", name="Submit to the insurer").click()
    assert sent.value.status == 200
    expect(_badge(page)).not_to_have_attribute("data-status", re.compile("draft|submitted|void"))
    page.locator("#claim-replaces").get_by_role("link").click()
    page.wait_for_url(f"**/claims/{original_id}")
    expect(_badge(page)).to_have_text("Void")
    expect(page.locator("#claim-voided")).to_contain_text(f"Replaced by {replacement}.")
    expect(page.locator("#claim-replaced-by")).to_contain_text(f"Replaced by {replacement}")
    expect(page.locator("#void")).to_have_count(0)
    axe_check()

    # --- voiding the replacement: asked first, with what will happen ---------------------------------
    page.locator("#claim-replaced-by").get_by_role("link").click()
    page.wait_for_url(f"**/claims/{replacement_id}")
    zone = page.locator("#void")
    zone.get_by_label("Reason for voiding").fill("The patient paid the whole bill privately")
    page.evaluate("window.__marker = 'claim'")
    zone.get_by_role("button", name="Void the claim").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_contain_text(f"Void claim {replacement}, billed KES ")
    expect(dialog).to_contain_text("what it used of the member's cover is freed")
    with page.expect_response(lambda r: r.url.endswith(f"/claims/{replacement_id}/void")) as voided:
        dialog.get_by_role("button", name="Void the claim").click()
    assert voided.value.status == 200 and voided.value.request.headers.get("hx-request") == "true"
    expect(_badge(page)).to_have_text("Void")
    expect(page.locator("#claim-voided")).to_contain_text("The patient paid the whole bill privately")
    expect(page.locator("#toast")).to_contain_text(f"Claim {replacement} is void.")
    assert page.evaluate("window.__marker") == "claim"  # voided in place, never a reload
    expect(page.locator("#void")).to_have_count(0)
    axe_check()

    # --- the list says it in words, with the reason --------------------------------------------------
    page.goto(world.base_url + "/claims?status=void")
    row = page.locator(f"#claim-{replacement_id}")
    expect(row).to_contain_text("Void")
    expect(row).to_contain_text("The patient paid the whole bill privately")
    assert page_errors == [], page_errors
