"""Money moves only once a person has read what will happen (UI.md), in a real browser as the demo users:

- the billing clerk starts a new invoice from the invoices page, enters a charge with a mistyped code (told the code
  is not on the price list), picks the service from the price list as they type, adds a second charge in the panel
  that stayed open, drafts the invoice and issues it through its confirmation (cancelled once: nothing happened);
- the insurer's finance officer settles a provider's approved claims of one day, leaving one claim out: the
  confirmation lists only the kept claims and their total, the settlement pays them, and the one left out still
  waits for payment."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class MoneyWorld:
    clerk: str
    finance: str
    #: a patient of the clerk's hospital: (first name, last name, patient number)
    patient: tuple[str, str, str]
    #: a service on the clerk's hospital's price list today: (code, description)
    service: tuple[str, str]
    #: a provider with at least two approved claims of one service day waiting for payment from the officer's insurer
    provider_id: int
    day: str
    claims: tuple[str, ...]


@pytest.fixture(scope="module")
def money_world(world, tmp_path_factory) -> MoneyWorld:
    found = sorted({path.resolve() for path in tmp_path_factory.getbasetemp().glob("e2e*/e2e.db")})
    assert len(found) == 1, found
    domain = world.admin_email.split("@", 1)[1]
    with closing(sqlite3.connect(found[0])) as conn:
        clerk, institution_id = conn.execute(
            "SELECT email, institution_id FROM users WHERE role = 'billing_clerk' AND email LIKE ? ORDER BY id",
            (f"%@{domain}",),
        ).fetchone()
        finance, company_id = conn.execute(
            "SELECT email, company_id FROM users WHERE role = 'finance_officer' AND company_id IS NOT NULL"
            " AND email LIKE ? ORDER BY id",
            (f"%@{domain}",),
        ).fetchone()
        patient = conn.execute(
            "SELECT first_name, last_name, patient_number FROM patients WHERE institution_id = ? ORDER BY id LIMIT 1",
            (institution_id,),
        ).fetchone()
        service = conn.execute(
            """SELECT service_code, description FROM service_tariffs WHERE institution_id = ?
               AND effective_from <= date('now') AND (effective_to IS NULL OR effective_to >= date('now'))
               AND length(description) > 6 ORDER BY service_code LIMIT 1""",
            (institution_id,),
        ).fetchone()
        # one service day long ago (the other journeys settle today's claims), with two or more waiting
        waiting = conn.execute(
            """SELECT institution_id, service_date, group_concat(claim_number, ' ') FROM (
                 SELECT institution_id, service_date, claim_number FROM claims
                 WHERE company_id = ? AND status IN ('approved', 'partially_approved')
                   AND total_approved > total_paid AND service_date < date('now', '-2 days')
                 ORDER BY claim_number)
               GROUP BY institution_id, service_date HAVING count(*) BETWEEN 2 AND 6
               ORDER BY service_date LIMIT 1""",
            (company_id,),
        ).fetchone()
    assert patient and service, "the demo has no patient or price list at the clerk's hospital"
    assert waiting, f"the demo has no day with two approved claims waiting for payment from company {company_id}"
    provider_id, day, numbers = waiting
    return MoneyWorld(clerk, finance, patient, service, provider_id, str(day), tuple(numbers.split()))


def _as(page, sign_in, world, email: str) -> None:
    page.context.clear_cookies()
    sign_in(email, world.demo_password)
    expect(page.locator("#sidenav")).to_be_visible()


def _start_charges(page, world, money_world: MoneyWorld) -> None:
    """New invoice, from the invoices page: find the patient, then their charges."""
    first, last, number = money_world.patient
    page.goto(world.base_url + "/billing/invoices")
    page.get_by_role("link", name="New invoice").click()
    page.wait_for_url("**/billing/invoices/new")
    with page.expect_response(lambda r: "/billing/invoices/new?" in r.url):
        page.get_by_label("Patient", exact=True).fill(number)
    page.get_by_role("link", name=f"Enter charges for {first} {last}").click()
    page.wait_for_url(re.compile(r"/billing/patients/\d+/billing"))


def _add_charge(page, code: str) -> None:
    panel = page.locator("#add-charge")
    if panel.get_attribute("open") is None:
        panel.locator("summary").click()
    box = panel.get_by_label("Service code")
    box.fill(code)
    panel.get_by_label("Quantity").fill("1")
    with page.expect_response(lambda r: r.url.endswith("/items")):
        panel.get_by_role("button", name="Add charge").click()


def test_charge_entry_says_an_unknown_code_then_picks_the_service(
    page, sign_in, world, money_world, expect_error_response
):
    code, description = money_world.service
    _as(page, sign_in, world, money_world.clerk)
    _start_charges(page, world, money_world)

    expect_error_response(422, "/billing/patients/*/items")
    _add_charge(page, "NOPE-999")
    panel = page.locator("#add-charge")
    expect(panel.locator(".error-summary")).to_contain_text("NOPE-999 is not a service on the price list")
    expect(panel.get_by_label("Service code")).to_have_attribute("aria-invalid", "true")
    expect(panel.get_by_label("Quantity")).to_have_attribute("aria-invalid", "false")
    expect(panel.get_by_label("Service code")).to_have_value("NOPE-999")  # what was typed is kept

    # the price list, by part of the description, as you type
    words = description.split()[0][:5]
    box = panel.get_by_label("Service code")
    with page.expect_response(lambda r: "/billing/price-list/options" in r.url):
        box.fill(words)
    options = page.locator("#charge-price-options option")
    expect(options.first).to_be_attached()
    expect(page.locator(f"#charge-price-options option[value='{code}']")).to_have_count(1)
    expect(page.locator("#charge-price-options-status")).to_contain_text("on the price list match")
    box.fill(code)  # what choosing the option puts in the box
    with page.expect_response(lambda r: r.url.endswith("/items")):
        panel.get_by_role("button", name="Add charge").click()
    expect(page.locator("#toast")).to_contain_text(f"{code} × 1 added to the unbilled items.")
    expect(page.locator("#unbilled-items")).to_contain_text(code)
    # the panel stays open for the next charge
    expect(page.locator("#add-charge")).to_have_attribute("open", "")
    expect(page.locator("#add-charge").get_by_label("Service code")).to_have_value("")


#: types into the service-code box in the same task as the swap that brought it back, as a scanner or a fast
#: typist can: the box must already look the price list up then
TYPE_AS_THE_FORM_COMES_BACK = """(words) => {
  const typeIn = (event) => {
    if (event.detail.xhr.status !== 422) return;  // the refused form, not the list's own lookups
    document.body.removeEventListener('htmx:afterSwap', typeIn);
    queueMicrotask(() => {
      const box = document.querySelector('#add-charge input[list="charge-price-options"]');
      box.value = words;
      box.dispatchEvent(new Event('input', {bubbles: true}));
    });
  };
  document.body.addEventListener('htmx:afterSwap', typeIn);
}"""


def test_what_is_typed_as_a_refused_charge_comes_back_still_finds_the_service(
    page, sign_in, world, money_world, expect_error_response
):
    code, description = money_world.service
    _as(page, sign_in, world, money_world.clerk)
    _start_charges(page, world, money_world)

    expect_error_response(422, "/billing/patients/*/items")
    words = description.split()[0][:5]
    page.evaluate(TYPE_AS_THE_FORM_COMES_BACK, words)
    with page.expect_response(lambda r: "/billing/price-list/options" in r.url and words in r.url):
        _add_charge(page, "NOPE-999")
    expect(page.locator("#add-charge .error-summary")).to_contain_text("NOPE-999 is not a service on the price list")
    expect(page.locator(f"#charge-price-options option[value='{code}']")).to_have_count(1)


def test_issuing_an_invoice_goes_through_its_confirmation(page, sign_in, world, money_world):
    code, _description = money_world.service
    _as(page, sign_in, world, money_world.clerk)
    _start_charges(page, world, money_world)
    _add_charge(page, code)
    expect(page.locator("#toast")).to_contain_text("added to the unbilled items")
    page.get_by_role("button", name="Create draft invoice from selected items").click()
    page.wait_for_url(re.compile(r"/billing/invoices/\d+$"))
    total = page.locator("#invoice-totals [data-amount='total']").inner_text()

    issue = page.get_by_role("button", name="Issue invoice")
    issue.click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text(f"Issue this draft invoice for {total}?")
    expect(dialog).to_contain_text("Issued invoices can't be edited; they can be voided or credited.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#invoice-number [data-status]")).to_have_text("Draft")  # nothing happened

    issue.click()
    with page.expect_navigation():
        dialog.get_by_role("button", name="Issue invoice").click()
    expect(page.locator("#invoice-number [data-status]")).to_have_text("Issued")
    number = page.locator("#invoice-number").inner_text().replace("Issued", "").strip()
    assert number.startswith("INV-") and re.search(r"-\d{6}$", number), number
    expect(page.locator("#flashes")).to_contain_text(f"Invoice {number} issued.")
    # the Void card stands apart, below the credit note, never beside the primary action
    void = page.locator("#void")
    expect(void).to_have_class(re.compile("danger-zone"))


def test_a_settlement_leaves_one_claim_out(page, sign_in, world, money_world):
    mw = money_world
    _as(page, sign_in, world, mw.finance)
    page.goto(
        f"{world.base_url}/settlements/new?institution_id={mw.provider_id}&period_start={mw.day}&period_end={mw.day}"
    )
    lines = page.locator("#settlement-lines tbody tr")
    expect(lines).to_have_count(len(mw.claims))
    left_out, *kept = mw.claims
    payable = {}
    for number in mw.claims:
        row = lines.filter(has_text=number)
        payable[number] = Decimal(row.locator("td").last.inner_text().replace(",", ""))
        expect(row.get_by_role("checkbox")).to_be_checked()
    page.get_by_role("checkbox", name=f"Pay {left_out}").uncheck()
    settle = page.locator("#settle")
    settle.get_by_label("Method").select_option("bank_transfer")
    settle.get_by_label("Reference").fill("EFT-LEAVE-ONE-OUT")
    settle.get_by_role("button", name="Check and pay the ticked claims").click()
    page.wait_for_url("**/settlements/new")

    total = sum((payable[n] for n in kept), Decimal("0.00"))
    count = f"{len(kept)} claim{'' if len(kept) == 1 else 's'}"
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{count}, KES {total:,.2f}?")
    confirm_rows = page.locator("#confirm-rows tbody tr")
    expect(confirm_rows).to_have_count(len(kept))
    expect(page.locator("#confirm-rows")).not_to_contain_text(left_out)
    expect(page.locator(".confirm-page dl")).to_contain_text("Bank transfer")
    page.get_by_role("button", name=f"Pay {count}, KES {total:,.2f}").click()
    page.wait_for_url(re.compile(r"/settlements/\d+$"))
    expect(page.locator("#flashes")).to_contain_text(
        re.compile(rf"Settlement STL-\d{{4}}-\d{{6}} pays {len(kept)} claims")
    )
    for number in kept:
        expect(page.locator("#settlement tbody")).to_contain_text(number)
    expect(page.locator("#settlement tbody")).not_to_contain_text(left_out)

    # the claim left out still waits for payment
    page.goto(
        f"{world.base_url}/settlements/new?institution_id={mw.provider_id}&period_start={mw.day}&period_end={mw.day}"
    )
    expect(page.locator("#settlement-lines tbody tr")).to_have_count(1)
    expect(page.locator("#settlement-lines")).to_contain_text(left_out)
