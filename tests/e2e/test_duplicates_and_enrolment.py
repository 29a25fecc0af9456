"""Front-desk and enrolment safeguards in a real browser: a patient already registered (same national id) is
refused with a link to the existing record and nothing typed is lost; a lookalike (same name and date of birth)
is registered only after "This is a different person" with a reason; and on the enrolment page, choosing an
insurer narrows the scheme list to that insurer's schemes."""

from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import expect

from tests.live_server import BIN, REPO, app_env, flask

pytestmark = pytest.mark.e2e

PASSWORD = "Duplicate-journey-2026"  # noqa: S105
DESK = "desk.duplicates@hospital.example"
ENROLLER = "admin.enrol@platform.example"

SEED = """
from datetime import date

from blueprints.hospital.models import MedicalInstitution
from blueprints.insurance.models import Company, Scheme, SchemeStatus
from medcover.app import create_app
from medcover.extensions import db

app = create_app()
with app.app_context():
    if db.session.query(MedicalInstitution).filter_by(code="E2E-DUP").first() is None:
        db.session.add(MedicalInstitution(code="E2E-DUP", name="Duplicate Check Hospital", kind="hospital",
                                          active=True))
    for code, name, scheme_code, scheme_name in (
        ("E2E-ALPHA", "Alpha Assurance", "ALPHA-GOLD", "Alpha Gold"),
        ("E2E-BETA", "Beta Health", "BETA-SILVER", "Beta Silver"),
    ):
        if db.session.query(Company).filter_by(code=code).first() is None:
            company = Company(code=code, name=name, active=True)
            db.session.add(company)
            db.session.flush()
            db.session.add(Scheme(company_id=company.id, code=scheme_code, name=scheme_name, currency="KES",
                                  status=SchemeStatus.ACTIVE, deductible=0, effective_from=date(2020, 1, 1)))
    db.session.commit()
"""


@pytest.fixture(scope="module")
def dup_world(world, tmp_path_factory):
    found = sorted({path.resolve() for path in tmp_path_factory.getbasetemp().glob("e2e*/e2e.db")})
    assert len(found) == 1, found
    env = app_env(DATABASE_URL=f"sqlite:///{found[0]}", SECRET_KEY="e2e-secret-key-not-for-production")
    done = subprocess.run(
        [str(BIN / "python"), "-c", SEED], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    flask(
        "users", "create", DESK, "--role", "receptionist", "--password", PASSWORD,
        "--name", "Desk Duplicates", "--institution", "E2E-DUP", env=env,
    )  # fmt: skip
    flask("users", "create", ENROLLER, "--role", "admin", "--password", PASSWORD, "--name", "Enrol Admin", env=env)
    return env


def _fill(panel, first: str, last: str, born: str, national_id: str) -> None:
    panel.get_by_label("First name").fill(first)
    panel.get_by_label("Last name").fill(last)
    panel.get_by_label("Date of birth").fill(born)
    panel.get_by_label("Gender").select_option("female")
    panel.get_by_label("National id").fill(national_id)


def _register(page):
    with page.expect_response(lambda r: r.url.endswith("/hospital/patients") and r.request.method == "POST") as sent:
        page.locator("#register-panel").get_by_role("button", name="Register patient").click()
    return sent.value


def test_a_duplicate_is_refused_with_a_link_and_a_lookalike_needs_a_reason(
    page, page_errors, axe_check, sign_in, world, dup_world, expect_error_response
):
    sign_in(DESK, PASSWORD)
    page.goto(world.base_url + "/hospital/patients")
    _fill(page.locator("#register-panel"), "Imani", "Wekesa", "1991-02-03", "DUP-1001")
    assert _register(page).status == 200
    expect(page.locator("#toast")).to_contain_text("Registered E2E-DUP-")
    first_number = page.locator("#toast").inner_text().split()[-1].rstrip(".")

    # The same national id again, under another name: refused, with the existing patient one click away.
    page.goto(world.base_url + "/hospital/patients")
    panel = page.locator("#register-panel")
    _fill(panel, "Baraka", "Otieno", "1985-07-08", "dup-1001")
    panel.get_by_label("Phone").fill("0722 555 010")
    expect_error_response(422, "/hospital/patients")
    assert _register(page).status == 422
    refusal = page.locator("#already-registered")
    expect(refusal).to_contain_text("Already registered")
    expect(refusal.get_by_role("link", name=first_number)).to_be_visible()
    panel = page.locator("#register-panel")
    expect(panel.get_by_label("First name")).to_have_value("Baraka")  # nothing typed is lost
    expect(panel.get_by_label("Phone")).to_have_value("0722 555 010")
    axe_check()
    refusal.get_by_role("link", name=first_number).click()
    expect(page.get_by_role("heading", name="Imani Wekesa")).to_be_visible()

    # A lookalike: same name and date of birth, another national id. It asks; a reason lets it through.
    page.goto(world.base_url + "/hospital/patients")
    _fill(page.locator("#register-panel"), "Imani", "Wekesa", "1991-02-03", "DUP-2002")
    expect_error_response(422, "/hospital/patients")
    assert _register(page).status == 422
    step = page.locator("#different-person")
    expect(step).to_contain_text("Is this the same person?")
    expect(step.get_by_role("link", name=first_number)).to_be_visible()
    expect(page.locator("#register-panel").get_by_label("National id")).to_have_value("DUP-2002")
    axe_check()
    step.get_by_label("This is a different person").check()
    step.get_by_label("Why is this a different person?").fill("Cousin with the same name and birthday")
    assert _register(page).status == 200
    expect(page.locator("#toast")).to_contain_text("Registered E2E-DUP-")
    assert page.locator("#toast").inner_text().split()[-1].rstrip(".") != first_number
    assert page_errors == [], page_errors


def test_choosing_an_insurer_filters_the_schemes_on_the_enrolment_page(page, page_errors, sign_in, world, dup_world):
    sign_in(ENROLLER, PASSWORD)
    page.goto(world.base_url + "/insurance/members/new")
    page.evaluate("window.__marker = 1")
    company = page.get_by_label("Insurance company")
    scheme = page.locator("#scheme_id")

    with page.expect_response(lambda r: "/insurance/members/new/schemes" in r.url):
        company.select_option(label="Alpha Assurance")
    expect(scheme.locator("option", has_text="ALPHA-GOLD")).to_have_count(1)
    expect(scheme.locator("option", has_text="BETA-SILVER")).to_have_count(0)

    with page.expect_response(lambda r: "/insurance/members/new/schemes" in r.url):
        company.select_option(label="Beta Health")
    expect(scheme.locator("option", has_text="BETA-SILVER")).to_have_count(1)
    expect(scheme.locator("option", has_text="ALPHA-GOLD")).to_have_count(0)
    scheme.select_option(label="BETA-SILVER · Beta Silver")
    assert page.evaluate("window.__marker") == 1  # swapped in place
    assert page_errors == [], page_errors
