"""What clerks and adjudicators can trust (issue 13), in a real browser on the demo world: a claim submitted with
what was typed into its draft; an invoice whose estimate includes the member's unmet deductible (page and PDF),
then the decision's parts; a waiting-period rejection waived in review; a dispute upheld with a changed line.

The schemes, members and prices these journeys need are made through the JSON API by the demo admin (codes
starting ``J13``), so the amounts below are worked by hand from known terms:

- J13 Deductible: 2,000.00 deductible, no review threshold; J13 Review: no deductible, review from 1,000.00.
- Both: outpatient (J13-OP) with a 10% copay; dental (J13-DENT) with a 10% copay and a 365-day waiting period.
- Hospital prices: J13-CONSULT 2,500.00 (J13-OP), J13-FILL 1,500.00 (J13-DENT).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

API = "/api/v1"


@dataclass(frozen=True)
class MoneyWorld:
    clerk: str
    adjudicator: str
    institution_id: int
    #: member number -> patient id at the clerk's hospital
    patients: dict[str, int]


class Api:
    def __init__(self, request, base_url: str):
        self.request, self.base = request, base_url + API
        self.headers: dict[str, str] = {}

    def login(self, email: str, password: str) -> Api:
        answer = self.request.post(self.base + "/auth/login", data={"email": email, "password": password})
        assert answer.status == 200, answer.text()
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return self

    def get(self, path: str) -> dict:
        answer = self.request.get(self.base + path, headers=self.headers)
        assert answer.status == 200, f"GET {path}: {answer.status} {answer.text()}"
        return answer.json()

    def post(self, path: str, body: dict) -> dict:
        answer = self.request.post(self.base + path, data=body, headers=self.headers)
        assert answer.status in (200, 201), f"POST {path}: {answer.status} {answer.text()}"
        return answer.json()


@pytest.fixture(scope="module")
def money_world(world, browser) -> MoneyWorld:
    context = browser.new_context()
    try:
        admin = Api(context.request, world.base_url).login(world.admin_email, world.demo_password)
        demo = world.admin_email.split("@", 1)[1]
        clerk, adjudicator = f"billing@{demo}", f"adjudicator@{demo}"
        clerk_api = Api(context.request, world.base_url).login(clerk, world.demo_password)
        institution_id = clerk_api.get("/auth/profile")["institution_id"]
        company_id = (
            Api(context.request, world.base_url)
            .login(adjudicator, world.demo_password)
            .get("/auth/profile")["company_id"]
        )
        today = date.today()
        category = admin.post("/benefit-categories", {"code": "J13CAT", "name": "J13 care"})
        outpatient = admin.post(
            "/benefits", {"code": "J13-OP", "name": "J13 outpatient", "category_id": category["id"]}
        )
        dental = admin.post("/benefits", {"code": "J13-DENT", "name": "J13 dental", "category_id": category["id"]})
        schemes = {}
        for code, terms in (
            ("J13DED", {"deductible": "2000.00"}),
            ("J13REV", {"review_threshold": "1000.00"}),
        ):
            scheme = admin.post(
                "/schemes", {"company_id": company_id, "code": code, "name": f"J13 {code[3:].title()}", **terms}
            )
            admin.post(f"/schemes/{scheme['id']}/benefits", {"benefit_id": outpatient["id"], "copay_percent": "10"})
            admin.post(
                f"/schemes/{scheme['id']}/benefits",
                {"benefit_id": dental["id"], "copay_percent": "10", "waiting_period_days": 365},
            )
            schemes[code] = scheme["id"]
        for code, price, benefit in (("J13-CONSULT", "2500.00", "J13-OP"), ("J13-FILL", "1500.00", "J13-DENT")):
            admin.post(
                "/tariffs",
                {
                    "institution_id": institution_id,
                    "service_code": code,
                    "description": f"{code.title()} service",
                    "benefit_code": benefit,
                    "unit_price": price,
                    "effective_from": (today - timedelta(days=60)).isoformat(),
                },
            )
        patients = {}
        for number, first, last, scheme in (
            ("J13-0001", "Akinyi", "Deductible", "J13DED"),
            ("J13-0002", "Baraka", "Waiting", "J13REV"),
            ("J13-0003", "Chebet", "Dispute", "J13DED"),
            ("J13-0004", "Dalmas", "Typing", "J13DED"),
        ):
            admin.post(
                "/members",
                {
                    "member_number": number,
                    "first_name": first,
                    "last_name": last,
                    "date_of_birth": "1985-04-02",
                    "gender": "female",
                    "company_id": company_id,
                },
            )
            admin.post(
                "/coverages",
                {
                    "member_number": number,
                    "scheme_id": schemes[scheme],
                    "start_date": (today - timedelta(days=30)).isoformat(),
                    "end_date": (today + timedelta(days=300)).isoformat(),
                },
            )
            patient = clerk_api.post(
                "/patients",
                {
                    "first_name": first,
                    "last_name": last,
                    "date_of_birth": "1985-04-02",
                    "gender": "female",
                    "member_number": number,
                    "institution_id": institution_id,
                },
            )
            patients[number] = patient["id"]
    finally:
        context.close()
    return MoneyWorld(clerk, adjudicator, institution_id, patients)


def _badge(page):
    return page.locator("#claim-panel h1 [data-status]")


def _pdf_text(page, url: str) -> str:
    answer = page.request.get(url)
    assert answer.status == 200 and answer.body().startswith(b"%PDF"), answer.status
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=answer.body(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return " ".join(done.stdout.decode().split())


def _api_for(page, world, email: str) -> Api:
    return Api(page.request, world.base_url).login(email, world.demo_password)


def test_typing_into_a_draft_claim_then_submitting_sends_what_was_typed(page, page_errors, sign_in, world, money_world):
    mw = money_world
    clerk = _api_for(page, world, mw.clerk)
    draft = clerk.post(
        "/claims",
        {
            "member_number": "J13-0004",
            "institution_id": mw.institution_id,
            "service_date": date.today().isoformat(),
            "items": [{"service_code": "J13-CONSULT", "quantity": 1, "unit_price": "2500.00"}],
        },
    )
    sign_in(mw.clerk, world.demo_password)
    page.goto(world.base_url + f"/claims/{draft['id']}")
    expect(_badge(page)).to_have_attribute("data-status", "draft")
    form = page.locator("#draft-form")
    form.get_by_label("Diagnosis codes").fill("J06.9")
    rows = form.locator("table.claim-line-inputs tbody tr")
    rows.nth(0).get_by_label("Qty").fill("2")
    # Straight to Submit, never "Save the draft": what is on the screen goes.
    with page.expect_response(lambda r: r.url.endswith(f"/claims/{draft['id']}/submit")) as sent:
        page.get_by_role("button", name="Submit to the insurer").click()
    assert sent.value.status == 200
    expect(_badge(page)).to_have_attribute("data-status", "approved")
    expect(page.locator("#claim-panel .claim-facts")).to_contain_text("J06.9")
    claim = clerk.get(f"/claims/{draft['id']}")
    assert claim["diagnosis_codes"] == ["J06.9"]
    # 2 x 2,500.00 = 5,000.00: 2,000.00 deductible, 10% copay on 3,000.00 = 300.00, approved 2,700.00
    assert (claim["items"][0]["quantity"], claim["total_billed"], claim["total_approved"]) == (2, "5000.00", "2700.00")
    assert page_errors == [], page_errors


def test_an_invoice_estimate_includes_the_unmet_deductible_then_shows_the_decision(
    page, page_errors, sign_in, world, money_world
):
    mw = money_world
    clerk = _api_for(page, world, mw.clerk)
    invoice = clerk.post(
        "/invoices",
        {
            "patient_id": mw.patients["J13-0001"],
            "institution_id": mw.institution_id,
            "lines": [{"service_code": "J13-CONSULT", "quantity": 2}],
        },
    )
    # 5,000.00: 2,000.00 deductible, 10% copay on 3,000.00 = 300.00; the insurer 2,700.00, the patient 2,300.00
    assert (invoice["total"], invoice["insurer_part"], invoice["patient_part"]) == ("5000.00", "2700.00", "2300.00")
    sign_in(mw.clerk, world.demo_password)
    page.goto(world.base_url + f"/billing/invoices/{invoice['id']}")
    totals = page.locator("#invoice-totals")
    expect(totals.locator('[data-amount="insurer_part"]')).to_have_text("KES 2,700.00")
    expect(totals.locator('[data-amount="patient_part"]')).to_have_text("KES 2,300.00")
    expect(totals).to_contain_text("Insurer part (estimate)")
    expect(page.locator("#panel-claims-invoice_claim")).to_contain_text("KES 2,700.00, an estimate")

    # A line edit moves every amount in the same answer, the claim panel's too.
    page.locator("#line-1").get_by_label("Quantity").fill("1")
    with page.expect_response(lambda r: r.url.endswith(f"/billing/invoices/{invoice['id']}/lines/1")) as saved:
        page.locator("#line-1").get_by_label("Quantity").press("Tab")
    assert saved.value.status == 200
    # 2,500.00: 2,000.00 deductible, copay 50.00: the insurer 450.00
    expect(totals.locator('[data-amount="insurer_part"]')).to_have_text("KES 450.00")
    expect(page.locator("#panel-claims-invoice_claim")).to_contain_text("KES 450.00, an estimate")
    expect(page.locator("#line-1-insurer")).to_have_text("450.00")
    page.locator("#line-1").get_by_label("Quantity").fill("2")
    with page.expect_response(lambda r: r.url.endswith(f"/billing/invoices/{invoice['id']}/lines/1")):
        page.locator("#line-1").get_by_label("Quantity").press("Tab")
    expect(totals.locator('[data-amount="insurer_part"]')).to_have_text("KES 2,700.00")

    pdf = _pdf_text(page, world.base_url + f"/billing/invoices/{invoice['id']}.pdf")
    assert "Insurer pays" in pdf and "estimate KES 2,700.00" in pdf and "KES 2,300.00" in pdf, pdf
    assert "an estimate from the member's cover" in pdf

    page.get_by_role("button", name="Issue invoice").click()
    with page.expect_navigation():  # money moves only once confirmed (UI.md)
        page.locator("dialog.confirm-dialog [data-confirm-yes]").click()
    expect(page.locator("#invoice-number [data-status]")).to_have_attribute("data-status", "issued")
    claim_button = page.get_by_role("button", name=re.compile(r"Claim the insurer's part"))
    with page.expect_navigation():
        claim_button.click()
    page.wait_for_url(re.compile(r"/claims/\d+$"))
    claim_id = int(page.url.rsplit("/", 1)[1])
    with page.expect_response(lambda r: r.url.endswith(f"/claims/{claim_id}/submit")):
        page.get_by_role("button", name="Submit to the insurer").click()
    expect(_badge(page)).to_have_attribute("data-status", "approved")
    approved = clerk.get(f"/claims/{claim_id}")["total_approved"]
    assert approved == "2700.00"

    page.goto(world.base_url + f"/billing/invoices/{invoice['id']}")
    expect(totals).to_contain_text("Insurer part (claim decided)")
    expect(totals.locator('[data-amount="insurer_part"]')).to_have_text("KES 2,700.00")
    expect(totals.locator('[data-amount="insurer_owes"]')).to_have_text("KES 2,700.00")
    expect(totals.locator('[data-amount="patient_owes"]')).to_have_text("KES 2,300.00")
    pdf = _pdf_text(page, world.base_url + f"/billing/invoices/{invoice['id']}.pdf")
    assert "claim decided KES 2,700.00" in pdf and "Insurer still owes KES 2,700.00" in pdf, pdf
    assert "Patient still owes KES 2,300.00" in pdf and "the insurance claim's decision" in pdf
    assert page_errors == [], page_errors


def test_an_adjudicator_waives_a_waiting_period_rejection_in_review(page, page_errors, sign_in, world, money_world):
    mw = money_world
    clerk = _api_for(page, world, mw.clerk)
    claim = clerk.post(
        "/claims",
        {
            "member_number": "J13-0002",
            "institution_id": mw.institution_id,
            "service_date": date.today().isoformat(),
            "items": [
                {"service_code": "J13-CONSULT", "quantity": 1, "unit_price": "2500.00"},
                {"service_code": "J13-FILL", "quantity": 1, "unit_price": "1500.00"},
            ],
        },
    )
    decided = clerk.post(f"/claims/{claim['id']}/submit", {})
    assert decided["status"] == "pending_review"
    assert decided["items"][1]["reason_codes"] == ["R11"]
    sign_in(mw.adjudicator, world.demo_password)
    page.goto(world.base_url + f"/claims/{claim['id']}")
    waivable = page.locator('#decide tr[data-waivable="2"]')
    # Without the waiting period: 1,500.00 allowed, no deductible, copay 150.00, payable 1,350.00
    expect(waivable).to_contain_text("allowed 1,500.00")
    expect(waivable).to_contain_text("copay 150.00")
    expect(waivable).to_contain_text("payable 1,350.00")
    page.get_by_label("Waive and approve, line 2").fill("1350.00")
    page.get_by_label("Note, line 2").fill("Emergency filling: waiting period waived")
    page.locator("#decide").get_by_role("button", name="Approve", exact=True).click()
    with page.expect_response(lambda r: r.url.endswith(f"/claims/{claim['id']}/approve")) as sent:
        page.locator("dialog.confirm-dialog [data-confirm-yes]").click()
    assert sent.value.status == 200
    expect(_badge(page)).to_have_attribute("data-status", "approved")
    expect(page.locator("#line-2")).to_contain_text("Adjusted")
    expect(page.locator("#line-2")).to_contain_text("1,350.00")
    expect(page.locator("#line-2 + tr.line-why")).to_contain_text("M02")
    # 2,500.00 less the 10% copay, and the waived filling
    expect(page.locator("#total-approved")).to_have_text("3,600.00")
    assert page_errors == [], page_errors


def test_an_adjudicator_upholds_a_dispute_changing_a_line(page, page_errors, sign_in, world, money_world):
    mw = money_world
    clerk = _api_for(page, world, mw.clerk)
    claim = clerk.post(
        "/claims",
        {
            "member_number": "J13-0003",
            "institution_id": mw.institution_id,
            "service_date": date.today().isoformat(),
            "items": [
                {"service_code": "J13-CONSULT", "quantity": 1, "unit_price": "2500.00"},
                {"service_code": "J13-FILL", "quantity": 1, "unit_price": "1500.00"},
            ],
        },
    )
    decided = clerk.post(f"/claims/{claim['id']}/submit", {})
    # 2,500.00: 2,000.00 deductible, copay 50.00, approved 450.00; the filling rejected R11
    assert (decided["status"], decided["total_approved"]) == ("partially_approved", "450.00")
    dispute = clerk.post(
        "/disputes", {"claim_id": claim["id"], "reason": "The filling was an emergency.", "line_nos": [2]}
    )
    sign_in(mw.adjudicator, world.demo_password)
    page.goto(world.base_url + f"/disputes/{dispute['id']}")
    line = page.locator("#resolve-line-2")
    expect(line.locator("[data-earlier]")).to_contain_text("Rejected 0.00")
    # The deductible went to line 1: the filling could be paid 1,500.00 less the 150.00 copay
    expect(line.locator("[data-proposal]")).to_contain_text("payable 1,350.00")
    page.get_by_label("Uphold: decide the claim again").check()
    page.get_by_label("Resolution").fill("Emergency treatment: the waiting period is waived.")
    page.get_by_label("Approved amount of line 2").fill("1350.00")
    page.get_by_label("Note for line 2").fill("Waiting period waived on appeal")
    with page.expect_navigation():
        page.get_by_role("button", name="Resolve dispute").click()
    after = clerk.get(f"/claims/{claim['id']}")
    assert (after["status"], after["total_approved"]) == ("approved", "1800.00")
    assert [(i["decision"], i["approved"], i["reason_codes"]) for i in after["items"]] == [
        ("approved", "450.00", []),
        ("adjusted", "1350.00", ["R11", "M02"]),
    ]
    page.goto(world.base_url + f"/claims/{claim['id']}")
    expect(page.locator("#line-2")).to_contain_text("1,350.00")
    assert page_errors == [], page_errors
