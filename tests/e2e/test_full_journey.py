"""One patient's money trail across every domain in a real browser, as the demo users: the receptionist registers an
insured member and checks them in; the clinical side (the demo admin) records an encounter, orders a blood count
and a head MRI, enters both results and asks the insurer to pre-authorise the MRI; the billing clerk invoices the
charges, prints the PDF and claims the insurer's part with the pre-authorisation's code on the MRI line. The
pre-authorisation is not approved yet, so the engine rejects that line (R12) and the claim is partially approved;
the clerk disputes it, the insurer's adjudicator approves the pre-authorisation and upholds the dispute, so the
claim is decided again and approved in full. The insurer's finance officer settles it, the invoice's insurer part
is paid, and the clerk takes the patient's copay: the invoice is paid, balance 0.00. The clerk's and the
adjudicator's inboxes tell them of each turn."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from blueprints.claims.engine import REASONS
from medcover.labels import day

pytestmark = pytest.mark.e2e

LAB = "LAB-FBC"
MRI = "RAD-MRI-HEAD"
DIAGNOSES = "R51, D64.9"
#: the server runs with the default MEDCOVER_TIMEZONE: dates and typed times are on its calendar and clock
SITE = ZoneInfo("Africa/Nairobi")


@dataclass(frozen=True)
class Member:
    number: str
    first_name: str
    last_name: str
    date_of_birth: str
    gender: str
    scheme: str


@dataclass(frozen=True)
class JourneyWorld:
    #: role -> the demo login of that role (the hospital's staff at the clerk's hospital, the insurer's at JHI)
    logins: dict[str, str]
    institution_id: int
    institution_code: str
    #: an insurer's member covered today on a scheme with no deductible whose MRI needs a pre-authorisation
    member: Member
    prices: dict[str, Decimal]
    #: the member's copay on MRI scans, in percent
    mri_copay: Decimal

    @property
    def insurer_part(self) -> Decimal:
        return self.prices[LAB] + self.prices[MRI] - self.patient_part

    @property
    def patient_part(self) -> Decimal:
        return (self.prices[MRI] * self.mri_copay / 100).quantize(Decimal("0.01"))

    @property
    def estimated_insurer_part(self) -> Decimal:
        """Before the claim is decided the parts are the engine's estimate (ADJUDICATION.md "Estimates"): the MRI's
        pre-authorisation is not approved yet, so the estimate leaves the scan to the patient (R12)."""
        return self.prices[LAB]

    @property
    def total(self) -> Decimal:
        return self.prices[LAB] + self.prices[MRI]


@pytest.fixture(scope="module")
def journey_world(world, tmp_path_factory) -> JourneyWorld:
    """Read from the e2e world's database (the one file ``world`` made): who acts, for whom, at what price."""
    found = sorted({path.resolve() for path in tmp_path_factory.getbasetemp().glob("e2e*/e2e.db")})
    assert len(found) == 1, found
    demo_domain = world.admin_email.split("@", 1)[1]
    with closing(sqlite3.connect(found[0])) as conn:

        def demo_login(role: str, **tenant: int) -> tuple[str, int | None, int | None]:
            where = "".join(f" AND {column} = {int(value)}" for column, value in tenant.items())
            row = conn.execute(
                f"SELECT email, institution_id, company_id FROM users WHERE role = ? AND email LIKE ?{where}"  # noqa: S608
                " ORDER BY id",
                (role, f"%@{demo_domain}"),
            ).fetchone()
            assert row, f"seed-demo made no {role} login ({tenant or 'any tenant'})"
            return row

        clerk, institution_id, _ = demo_login("billing_clerk")
        adjudicator, _, company_id = demo_login("adjudicator")
        reception, _, _ = demo_login("receptionist", institution_id=institution_id)
        finance, _, _ = demo_login("finance_officer", company_id=company_id)
        (institution_code,) = conn.execute(
            "SELECT code FROM medical_institutions WHERE id = ?", (institution_id,)
        ).fetchone()
        # Nobody's patient yet, never claimed, no pre-authorisation: a clean slate; the newest numbers first, as
        # the claims journey takes the oldest.
        member = conn.execute(
            """
            SELECT m.member_number, m.first_name, m.last_name, m.date_of_birth, m.gender, s.name, sb.copay_percent
            FROM members m
            JOIN coverages c ON c.member_id = m.id
            JOIN schemes s ON s.id = c.scheme_id
            JOIN scheme_benefits sb ON sb.scheme_id = s.id
            JOIN benefits b ON b.id = sb.benefit_id AND b.code = 'RAD-MRI'
            JOIN scheme_benefits lab ON lab.scheme_id = s.id
            JOIN benefits lb ON lb.id = lab.benefit_id AND lb.code = 'LAB-TEST'
            WHERE m.company_id = ? AND c.status = 'active' AND s.deductible = 0
              AND sb.covered AND sb.requires_preauth AND sb.waiting_period_days = 0 AND sb.copay_fixed = 0
              AND lab.covered AND NOT lab.requires_preauth AND lab.waiting_period_days = 0
              AND lab.copay_percent = 0 AND lab.copay_fixed = 0
              AND c.start_date <= date('now') AND c.end_date >= date('now', '+1 day')
              AND (SELECT count(*) FROM coverages other WHERE other.member_id = m.id) = 1
              AND NOT EXISTS (SELECT 1 FROM claims WHERE claims.member_number = m.member_number)
              AND NOT EXISTS (SELECT 1 FROM patients p WHERE p.member_number = m.member_number)
              AND NOT EXISTS (SELECT 1 FROM preauthorizations pa WHERE pa.member_id = m.id)
            ORDER BY m.member_number DESC
            LIMIT 1
            """,
            (company_id,),
        ).fetchone()
        assert member, f"the demo has no fresh member of company {company_id} whose MRI needs a pre-authorisation"
        prices = dict(
            conn.execute(
                """
                SELECT service_code, unit_price FROM service_tariffs
                WHERE institution_id = ? AND service_code IN (?, ?) AND effective_from <= date('now')
                  AND (effective_to IS NULL OR effective_to >= date('now'))
                ORDER BY effective_from
                """,
                (institution_id, LAB, MRI),
            ).fetchall()
        )
    assert set(prices) == {LAB, MRI}, prices
    number, first, last, born, gender, scheme, copay = member
    return JourneyWorld(
        logins={
            "receptionist": reception,
            "billing_clerk": clerk,
            "adjudicator": adjudicator,
            "finance_officer": finance,
            "admin": world.admin_email,
        },
        institution_id=institution_id,
        institution_code=institution_code,
        member=Member(number, first, last, str(born), gender, scheme),
        prices={code: Decimal(str(price)).quantize(Decimal("0.01")) for code, price in prices.items()},
        mri_copay=Decimal(str(copay)),
    )


@dataclass(frozen=True)
class Ref:
    """Something the journey made: its id (for URLs) and the number people see."""

    id: int
    number: str


def test_patient_to_paid_invoice_through_claim_dispute_and_settlement(page, page_errors, sign_in, world, journey_world):
    jw = journey_world
    as_user = _switcher(page, sign_in, world, jw)

    as_user("receptionist")
    patient = _register_book_and_check_in(page, world, jw)

    as_user("admin")  # the demo has no clinician login; an admin may do the clinical work (records.py)
    _treat(page, world, patient)
    preauth = _request_mri_preauthorisation(page, world, jw)  # hospital staff have no page for this; admins do

    as_user("billing_clerk")
    invoice = _invoice_the_charges(page, world, jw, patient)
    claim = _claim_the_insurer_part(page, world, jw, invoice, preauth)
    dispute = _dispute_the_mri_line(page, world, claim, preauth)

    as_user("adjudicator")
    _inbox_shows(page, f"Dispute opened on claim {claim.number}", f"Claim {claim.number} is disputed.")
    _approve_preauthorisation(page, world, preauth)
    _uphold(page, world, jw, dispute, claim)

    as_user("finance_officer")
    _settle(page, world, jw, claim)

    as_user("billing_clerk")
    _inbox_shows(
        page,
        f"Claim {claim.number} partially approved",
        f"Dispute on claim {claim.number} upheld",
        f"Claim {claim.number} approved",
    )
    _take_the_patients_part(page, world, jw, invoice)
    assert page_errors == [], page_errors


# --- the steps ---------------------------------------------------------------------------------------------------


def _register_book_and_check_in(page, world, jw: JourneyWorld) -> Ref:
    """Reception: the member's cover verdict while typing, then a booking and a check-in that records the cover."""
    member = jw.member
    page.goto(world.base_url + "/hospital/patients")
    panel = page.locator("#register-panel")
    panel.get_by_label("First name").fill(member.first_name)
    panel.get_by_label("Last name").fill(member.last_name)
    panel.get_by_label("Date of birth").fill(member.date_of_birth)
    panel.get_by_label("Gender").select_option(member.gender)
    panel.get_by_label("Insurance member number").fill(member.number)
    expect(page.locator("#intake-check [data-verdict]")).to_have_text("ELIGIBLE")
    expect(page.locator("#intake-check")).to_contain_text(member.scheme)
    panel.get_by_role("button", name="Register patient").click()

    registered = page.locator("#register-panel")
    expect(registered.get_by_role("heading", name="Registered")).to_be_visible()
    expect(registered.locator("[data-verdict]")).to_have_text("ELIGIBLE")
    expect(page.locator("#toast")).to_contain_text(f"Registered {jw.institution_code}-")
    link = registered.locator(".registered-line a")
    number = link.inner_text().strip()
    patient_id = int(link.get_attribute("href").rstrip("/").rsplit("/", 1)[1])

    # After the clinicians' hours (none keeps any past 19:00), so the slot is free whenever the test runs.
    registered.get_by_label("Clinician").select_option(index=1)
    registered.get_by_label("Starts").fill(_evening_slot().strftime("%Y-%m-%dT%H:%M"))
    registered.get_by_label("Room").fill("Room 4")
    registered.get_by_label("Reason for the visit").fill("Headaches for three weeks; tired")
    registered.get_by_role("button", name="Book appointment").click()
    row = page.locator("#patient-appointments tr.appointment")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Booked")

    row.get_by_role("button", name="Check in").click()
    expect(row).to_contain_text("Checked in")
    expect(row.locator(".badge.ok", has_text="Covered")).to_be_visible()
    return Ref(patient_id, number)


def _treat(page, world, patient: Ref) -> None:
    """The encounter with its diagnoses, a lab and a radiology order from it, and both results entered in the
    queues: each result is a charge for billing (``charge.created``)."""
    page.goto(f"{world.base_url}/hospital/patients/{patient.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(patient.number)
    encounter = page.locator("#encounter-new")
    encounter.locator("summary").click()
    encounter.get_by_label("Encounter date").fill(_today().isoformat())
    encounter.get_by_label("Diagnoses (ICD-10)").fill(DIAGNOSES)
    encounter.get_by_label("Notes").fill("Three weeks of headaches, pale. Blood count and MRI of the head.")
    encounter.get_by_role("button", name="Record encounter").click()
    expect(page.locator("#flashes")).to_contain_text(f"Encounter of {day(_today())} recorded.")
    record = page.locator("#records tbody tr[id^='record-']:not(.record-orders)")
    expect(record).to_have_count(1)
    expect(record).to_contain_text("R51, D64.9")
    record_id = int(record.get_attribute("id").removeprefix("record-"))

    orders = {}
    for kind, code, description in (("lab", LAB, "Full blood count"), ("radiology", MRI, "MRI head, no contrast")):
        box = page.locator(f"#record-{record_id}-orders details.order-new")
        box.locator("summary").click()
        box.get_by_label("Kind").select_option(kind)
        box.get_by_label("Service code").fill(code)
        box.get_by_label("Description").fill(description)
        box.get_by_label("Quantity").fill("1")
        box.get_by_role("button", name="Place order").click()
        expect(page.locator("#flashes")).to_contain_text(f"order {code} × 1 placed.")
        placed = page.locator(f"#record-{record_id}-orders li", has_text=code)
        expect(placed).to_contain_text("Ordered")
        orders[code] = int(placed.get_attribute("id").removeprefix("placed-order-"))

    page.goto(world.base_url + "/hospital/lab")
    row = page.locator(f"#order-{orders[LAB]}")
    row.locator("summary", has_text="Enter result").click()
    for n, (test, value, unit, reference) in enumerate(
        [
            ("HB", "10.9", "g/dL", "12.0-16.0"),
            ("WBC", "6.1", "10^9/L", "4.0-11.0"),
            ("PLT", "250", "10^9/L", "150-400"),
        ],
        start=1,
    ):
        row.get_by_label(f"Test {n}", exact=True).fill(test)
        row.get_by_label(f"Value {n}", exact=True).fill(value)
        row.get_by_label(f"Unit {n}", exact=True).fill(unit)
        row.get_by_label(f"Reference range {n}", exact=True).fill(reference)
    row.get_by_role("button", name="Save result").click()
    expect(page.locator(f"#order-{orders[LAB]}")).to_contain_text("Resulted")
    expect(page.locator("#toast")).to_have_text("Result saved.")

    page.goto(world.base_url + "/hospital/radiology")
    row = page.locator(f"#order-{orders[MRI]}")
    row.locator("summary", has_text="Enter result").click()
    row.get_by_label("Report").fill("No intracranial lesion. Mild maxillary sinus mucosal thickening.")
    row.get_by_role("button", name="Save result").click()
    expect(page.locator(f"#order-{orders[MRI]}")).to_contain_text("Resulted")
    expect(page.locator("#toast")).to_have_text("Result saved.")


def _request_mri_preauthorisation(page, world, jw: JourneyWorld) -> str:
    """Asked for now, decided by the insurer later: its code goes on the claim's MRI line."""
    page.goto(world.base_url + "/insurance/preauthorizations")
    form = page.locator("form", has=page.get_by_role("button", name="Request"))
    form.get_by_label("Member number").fill(jw.member.number)
    form.get_by_label("Benefit").select_option("RAD-MRI")
    form.get_by_label("Valid from").fill(_today().isoformat())
    form.get_by_label("Valid to").fill((_today() + timedelta(days=30)).isoformat())
    form.get_by_label("Notes").fill("MRI head for three weeks of headaches; requested by phone.")
    form.get_by_role("button", name="Request").click()
    flash = page.locator("#flashes .flash-success")
    expect(flash).to_contain_text("requested.")
    code = re.search(r"Pre-authorisation (PA-[0-9A-F]{8}) requested\.", flash.inner_text())
    assert code, flash.inner_text()
    return code.group(1)


def _invoice_the_charges(page, world, jw: JourneyWorld, patient: Ref) -> Ref:
    """The charges from the lab and radiology on the patient page; a draft, issued; its PDF."""
    page.goto(f"{world.base_url}/hospital/patients/{patient.id}")
    billing = page.locator("#patient-billing")
    unbilled = billing.locator("#unbilled-items tbody tr")
    expect(unbilled).to_have_count(2)
    expect(unbilled.filter(has_text=LAB)).to_contain_text(_money(jw.prices[LAB]))
    expect(unbilled.filter(has_text=MRI)).to_contain_text(_money(jw.prices[MRI]))
    billing.get_by_role("button", name="Create draft invoice from selected items").click()
    page.wait_for_url(re.compile(r"/billing/invoices/\d+$"))
    expect(page.locator("#flashes")).to_contain_text("Draft invoice created with 2 lines.")
    invoice_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#invoice-number [data-status]")).to_have_text("Draft")
    totals = page.locator("#invoice-totals")
    expect(totals.locator("[data-amount='total']")).to_have_text(_money(jw.total, "KES"))
    expect(totals.locator("[data-amount='insurer_part']")).to_have_text(_money(jw.estimated_insurer_part, "KES"))
    expect(totals.locator("[data-amount='patient_part']")).to_have_text(
        _money(jw.total - jw.estimated_insurer_part, "KES")
    )
    expect(totals).to_contain_text("Insurer part (estimate)")

    page.get_by_role("button", name="Issue invoice").click()
    confirm = page.locator("dialog.confirm-dialog")
    expect(confirm).to_contain_text("Issued invoices can't be edited")
    with page.expect_navigation():
        confirm.get_by_role("button", name="Issue invoice").click()
    expect(page.locator("#flashes")).to_contain_text(" issued.")
    expect(page.locator("#invoice-number [data-status]")).to_have_text("Issued")
    number = page.locator("#invoice-number").inner_text().replace("Issued", "").strip()
    assert number.startswith(f"INV-{jw.institution_code}") and re.search(r"-\d{6}$", number), number
    expect(page.locator("#flashes")).to_contain_text(f"Invoice {number} issued.")
    expect(page.locator("#invoice-header")).to_contain_text(f"member {jw.member.number}")

    printed = page.get_by_role("link", name="Print", exact=True)
    expect(printed).to_have_attribute("href", f"/billing/invoices/{invoice_id}.pdf")
    pdf = page.request.get(world.base_url + printed.get_attribute("href"))
    assert pdf.status == 200, f"GET /billing/invoices/{invoice_id}.pdf answered {pdf.status}"
    assert pdf.headers["content-type"].split(";")[0].strip() == "application/pdf", pdf.headers
    assert pdf.body().startswith(b"%PDF"), pdf.body()[:40]
    return Ref(invoice_id, number)


def _claim_the_insurer_part(page, world, jw: JourneyWorld, invoice: Ref, preauth: str) -> Ref:
    """One click from the invoice makes the draft; the clerk adds the diagnoses and the pre-authorisation's code
    and submits it. The code names a request the insurer has not approved: the MRI line is rejected (R12)."""
    claim_panel = page.locator("#invoice-claim")
    claim_panel.get_by_role("button", name=f"Claim the insurer's part ({_money(jw.estimated_insurer_part)})").click()
    page.wait_for_url(re.compile(r"/claims/\d+$"))
    claim_id = int(page.url.rsplit("/", 1)[1])
    expect(_claim_badge(page)).to_have_attribute("data-status", "draft")
    number = page.locator("#claim-panel h1").inner_text().split()[0]
    assert re.fullmatch(r"CL-\d{4}-\d{6}", number), number
    expect(page.locator("#flashes")).to_contain_text(f"Draft {number} holds the insurer's part.")
    expect(page.locator("#total-billed")).to_have_text(_money(jw.total))

    draft = page.locator("#draft-form")
    draft.get_by_label("Diagnosis codes").fill(DIAGNOSES)
    lines = draft.locator("table.claim-line-inputs tbody tr")
    codes = [lines.nth(n).get_by_label("Service code").input_value() for n in range(2)]
    assert sorted(codes) == sorted([LAB, MRI]), codes
    mri_line = codes.index(MRI) + 1
    lines.nth(mri_line - 1).get_by_label("Pre-auth code").fill(preauth)
    page.evaluate("window.__marker = 'claim'")
    draft.get_by_role("button", name="Save the draft").click()
    expect(page.locator("#toast")).to_have_text(f"Draft {number} saved.")
    expect(page.locator(f"#line-{mri_line}")).to_contain_text(f"pre-auth {preauth}")

    page.get_by_role("button", name="Submit to the insurer").click()
    expect(_claim_badge(page)).to_have_attribute("data-status", "partially_approved")
    expect(_claim_badge(page)).to_have_text("Partially approved")
    expect(page.locator("#toast")).to_have_text(f"Claim {number} submitted: partially approved.")
    expect(page.locator(f"#line-{mri_line}")).to_contain_text("Rejected")
    expect(page.locator(f"#line-{mri_line} + tr.line-why")).to_contain_text(f"R12 {REASONS['R12']}")
    expect(page.locator(f"#line-{3 - mri_line}")).to_contain_text("Approved")
    expect(page.locator("#total-approved")).to_have_text(_money(jw.prices[LAB]))
    assert page.evaluate("window.__marker") == "claim"  # saved and decided in place, never a reload
    return Ref(claim_id, number)


def _dispute_the_mri_line(page, world, claim: Ref, preauth: str) -> int:
    """The clerk contests the rejected line: the pre-authorisation was asked for before the scan."""
    page.goto(f"{world.base_url}/claims/{claim.id}/disputes/new")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dispute claim {claim.number}")
    form = page.locator("#dispute-form")
    form.get_by_label("Why the decision should change").fill(
        f"The MRI was pre-authorised: {preauth} was requested before the scan and the insurer has confirmed it by "
        "phone. Please decide the line again."
    )
    form.get_by_role("checkbox", name=re.compile(rf"Line \d+: {MRI} · rejected \(R12\)")).check()
    form.get_by_role("button", name="Open dispute").click()
    page.wait_for_url(re.compile(r"/disputes/\d+$"))
    dispute_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#flashes")).to_contain_text(f"Dispute opened on claim {claim.number}.")
    expect(page.locator("#dispute-header [data-status]")).to_have_attribute("data-status", "disputed")
    expect(page.locator("#dispute-lines tr", has_text=MRI)).to_contain_text("yes")
    return dispute_id


def _approve_preauthorisation(page, world, preauth: str) -> None:
    page.goto(world.base_url + "/insurance/preauthorizations?status=requested")
    row = page.locator("tr[id^='preauth-']", has_text=preauth)
    expect(row).to_contain_text("RAD-MRI")
    page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm asks "Approve PA-…?"
    row.get_by_role("button", name="Approve").click()
    expect(page.locator("#toast")).to_have_text(f"{preauth} approved.")
    expect(page.locator("tr[id^='preauth-']", has_text=preauth)).to_contain_text("Approved")


def _uphold(page, world, jw: JourneyWorld, dispute: int, claim: Ref) -> None:
    """Upheld: the engine decides the claim again on today's facts, where the pre-authorisation is approved."""
    page.goto(f"{world.base_url}/disputes/{dispute}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Dispute on claim {claim.number}")
    expect(page.locator("#dispute-reason")).to_contain_text("The MRI was pre-authorised")
    resolve = page.locator("#resolve")
    resolve.get_by_label("Uphold: decide the claim again").check()
    resolve.get_by_label("Resolution").fill("Pre-authorisation approved for the service date; the MRI is covered.")
    resolve.get_by_role("button", name="Resolve dispute").click()
    expect(page.locator("#flashes")).to_contain_text(f"Dispute on claim {claim.number} upheld.")
    expect(page.locator("#resolve")).to_have_count(0)
    header = page.locator("#dispute-header")
    expect(header.locator("[data-status]")).to_have_attribute("data-status", "approved")
    expect(header).to_contain_text(f"{_money(jw.total)} / {_money(jw.insurer_part)}")
    mri = page.locator("#dispute-lines tr", has_text=MRI)
    expect(mri).to_contain_text("approved")
    expect(mri).to_contain_text(_money(jw.prices[MRI] - jw.patient_part))

    page.locator("#dispute-header").get_by_role("link", name=claim.number).click()
    page.wait_for_url(f"**/claims/{claim.id}")
    expect(_claim_badge(page)).to_have_text("Approved")
    expect(page.locator("#total-approved")).to_have_text(_money(jw.insurer_part))


def _settle(page, world, jw: JourneyWorld, claim: Ref) -> None:
    """The insurer pays the hospital the approved claims of the day by bank transfer: this one among them."""
    today = _today().isoformat()
    page.goto(world.base_url + "/settlements/new")
    filters = page.locator("form.filters")
    for label in ("Claims from", "to"):
        field = filters.get_by_label(label, exact=True)
        if field.input_value() != today:  # each change asks for the preview again: one answer at a time
            with page.expect_response(lambda r: "/settlements/new?" in r.url):
                field.fill(today)
    with page.expect_response(
        lambda r: "/settlements/new?" in r.url and f"institution_id={jw.institution_id}" in r.url
    ):
        filters.get_by_label("Provider").select_option(str(jw.institution_id))
    line = page.locator("#settlement-lines tbody tr", has_text=claim.number)
    expect(line).to_contain_text(jw.member.number)
    expect(line.locator("td").last).to_have_text(_money(jw.insurer_part))

    settle = page.locator("#settle")
    settle.get_by_label("Method").select_option("bank_transfer")
    settle.get_by_label("Reference").fill(f"JHI-EFT-{claim.number}")
    settle.get_by_role("button", name="Check and pay the ticked claims").click()
    expect(page.locator("#confirm-rows")).to_contain_text(claim.number)
    page.get_by_role("button", name=re.compile(r"^Pay \d+ claims?, KES ")).click()
    page.wait_for_url(re.compile(r"/settlements/\d+$"))
    expect(page.locator("#flashes")).to_contain_text(re.compile(r"Settlement STL-\d{4}-\d{6} pays \d+ claims"))
    paid = page.locator("#settlement tbody tr", has_text=claim.number)
    expect(paid.locator("td").last).to_have_text(_money(jw.insurer_part))

    paid.get_by_role("link", name=claim.number).click()
    page.wait_for_url(f"**/claims/{claim.id}")
    expect(_claim_badge(page)).to_have_attribute("data-status", "paid")
    expect(page.locator("#total-paid")).to_have_text(_money(jw.insurer_part))


def _take_the_patients_part(page, world, jw: JourneyWorld, invoice: Ref) -> None:
    """The insurer's part arrived with the settlement; the patient pays the MRI copay in cash and the invoice is
    paid."""
    page.goto(f"{world.base_url}/billing/invoices/{invoice.id}")
    expect(page.locator("#invoice-number [data-status]")).to_have_text("Partially paid")
    received = page.locator("#transactions tbody tr", has_text="Insurer")
    expect(received).to_contain_text("JHI-EFT-")
    expect(received).to_contain_text(_money(jw.insurer_part, "KES"))
    expect(page.locator("#invoice-totals [data-amount='balance']")).to_have_text(_money(jw.patient_part, "KES"))

    page.locator("#invoice-payments").get_by_role("link", name="Record payment").click()
    page.wait_for_url(re.compile(rf"/payments/new\?kind=invoice&reference_id={invoice.id}$"))
    expect(page.locator("#owed h2")).to_have_text(f"Invoice {invoice.number} (patient's part)")
    expect(page.locator("#owed-outstanding")).to_have_text(_money(jw.patient_part, "KES"))
    form = page.locator("#record-form")
    form.get_by_label("Amount").fill(f"{jw.patient_part:.2f}")
    expect(form.get_by_label("Method")).to_have_value("cash")
    form.get_by_label("Reference").fill("RCPT-0042")
    form.get_by_role("button", name="Record payment").click()
    page.wait_for_url(re.compile(r"/payments/\d+$"))
    expect(page.locator("#flashes")).to_contain_text(
        re.compile(rf"Payment PAY-\d{{4}}-\d{{6}} of KES {re.escape(_money(jw.patient_part))} recorded\.")
    )

    page.goto(f"{world.base_url}/billing/invoices/{invoice.id}")
    expect(page.locator("#invoice-number [data-status]")).to_have_text("Paid")
    expect(page.locator("#invoice-totals [data-amount='paid']")).to_have_text(_money(jw.total, "KES"))
    expect(page.locator("#invoice-totals [data-amount='balance']")).to_have_text(_money(Decimal(0), "KES"))
    expect(page.locator("#transactions tbody tr", has_text="Patient")).to_contain_text(_money(jw.patient_part, "KES"))


# --- helpers -----------------------------------------------------------------------------------------------------


def _switcher(page, sign_in, world, jw: JourneyWorld):
    """``as_user(role)``: sign out whoever was signed in (a fresh cookie jar) and sign in as that demo user."""

    def as_user(role: str) -> None:
        page.context.clear_cookies()
        sign_in(jw.logins[role], world.demo_password)
        expect(page).not_to_have_url(re.compile(r"/auth/login"))

    return as_user


def _inbox_shows(page, *subjects: str) -> None:
    """The bell counts unread notifications; the inbox it opens lists each subject (newest first)."""
    expect(page.locator("#bell .count")).to_be_visible()
    page.locator("#bell").click()
    page.wait_for_url("**/notifications")
    for subject in subjects:
        expect(page.locator("#inbox li.inbox-item", has_text=subject).first).to_be_visible()


def _claim_badge(page):
    return page.locator("#claim-panel h1 [data-status]")


def _today() -> date:
    """Today on the site's calendar (the server runs with the default MEDCOVER_TIMEZONE)."""
    return datetime.now(SITE).date()


def _evening_slot() -> datetime:
    """21:10 on the site's wall clock, as the booking form takes it."""
    now = datetime.now(SITE).replace(tzinfo=None)
    slot = now.replace(hour=21, minute=10, second=0, microsecond=0)
    return slot if slot > now + timedelta(minutes=10) else slot + timedelta(days=1)


def _money(amount: Decimal, currency: str | None = None) -> str:
    text = f"{amount:,.2f}"
    return f"{currency} {text}" if currency else text
