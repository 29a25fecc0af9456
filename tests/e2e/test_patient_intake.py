"""Patient intake in a real browser: a receptionist registers a patient with a member number, sees the cover
verdict, books an appointment and checks the patient in, all without a full page reload, with no script or
CSP errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.live_server import BIN, REPO, app_env, flask

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "Intake-journey-2026"  # noqa: S105
DESK = "desk.intake@hospital.example"

# Run in the server's environment: a hospital with a clinician, and an insured member, unless already there.
SEED = """
from datetime import timedelta

from blueprints.hospital.models import MedicalInstitution, MedicalPersonnel, PersonnelKind
from blueprints.insurance.models import Company, Coverage, CoverageStatus, Member, Scheme, SchemeStatus
from medcover import clock
from medcover.app import create_app
from medcover.extensions import db

app = create_app()
with app.app_context():
    hospital = db.session.query(MedicalInstitution).filter_by(code="E2E-H").first()
    if hospital is None:
        hospital = MedicalInstitution(code="E2E-H", name="Journey Hospital", kind="hospital", active=True)
        db.session.add(hospital)
        db.session.flush()
        db.session.add(MedicalPersonnel(
            institution_id=hospital.id, full_name="Dr Journey Clinician", kind=PersonnelKind.CLINICIAN,
            department="Outpatient", specialty="GP", licence_number="E2E/001", schedule={}, active=True))
    company = db.session.query(Company).filter_by(code="E2E-CO").first()
    if company is None:
        company = Company(code="E2E-CO", name="Journey Cover", active=True)
        db.session.add(company)
        db.session.flush()
        scheme = Scheme(company_id=company.id, code="E2E-SCH", name="Journey Gold", currency="KES",
                        status=SchemeStatus.ACTIVE, deductible=0)
        db.session.add(scheme)
        db.session.flush()
        member = Member(member_number="E2E-M-001", company_id=company.id, first_name="Neema", last_name="Journey",
                        date_of_birth=clock.today().replace(year=1988), gender="female")
        db.session.add(member)
        db.session.flush()
        today = clock.today()
        db.session.add(Coverage(member_id=member.id, scheme_id=scheme.id, company_id=company.id,
                                start_date=today - timedelta(days=30), end_date=today + timedelta(days=300),
                                status=CoverageStatus.ACTIVE))
    db.session.commit()
"""


@pytest.fixture(scope="module")
def intake_world(world, tmp_path_factory):
    """The e2e world's database is the one file ``world`` made under the session's temporary folder."""
    found = sorted({path.resolve() for path in tmp_path_factory.getbasetemp().glob("e2e*/e2e.db")})
    assert len(found) == 1, found
    env = app_env(DATABASE_URL=f"sqlite:///{found[0]}", SECRET_KEY="e2e-secret-key-not-for-production")
    done = subprocess.run(
        [str(BIN / "python"), "-c", SEED], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    flask(
        "users", "create", DESK, "--role", "receptionist", "--password", PASSWORD,
        "--name", "Desk Journey", "--institution", "E2E-H", env=env,
    )  # fmt: skip
    return {"member": "E2E-M-001", "clinician": "Dr Journey Clinician"}


def test_receptionist_registers_checks_cover_books_and_checks_in_without_a_reload(
    page, page_errors, axe_check, sign_in, world, intake_world
):
    sign_in(DESK, PASSWORD)
    page.goto(world.base_url + "/hospital/patients")
    expect(page.get_by_role("heading", name="Register a new patient")).to_be_visible()
    page.evaluate("window.__marker = 1")

    # Searching first: nobody by that name yet.
    page.get_by_label("Search patients").fill("Neema")
    expect(page.locator("#patient-results")).to_contain_text("No patient matches")

    panel = page.locator("#register-panel")
    panel.get_by_label("First name").fill("Neema")
    panel.get_by_label("Last name").fill("Journey")
    panel.get_by_label("Date of birth").fill("1988-06-01")
    panel.get_by_label("Gender").select_option("female")
    panel.get_by_label("Phone").fill("0722 123 456")
    panel.get_by_label("Insurance member number").fill(intake_world["member"])
    # The cover verdict arrives while typing, before anything is saved.
    expect(page.locator("#intake-check [data-verdict]")).to_have_text("ELIGIBLE")
    expect(page.locator("#intake-check")).to_contain_text("Journey Gold")

    page.screenshot(path=str(_artifact("patient-intake.png")), full_page=True, caret="initial")
    with page.expect_response(lambda r: r.url.endswith("/hospital/patients") and r.request.method == "POST") as sent:
        panel.get_by_role("button", name="Register patient").click()
    assert sent.value.status == 200 and sent.value.request.headers.get("hx-request") == "true"
    registered = page.locator("#register-panel")
    expect(registered.get_by_role("heading", name="Registered")).to_be_visible()
    expect(registered.locator("[data-verdict]")).to_have_text("ELIGIBLE")
    expect(page.locator("#toast")).to_contain_text("Registered E2E-H-")
    axe_check()  # the registered panel with its booking form, swapped in

    # Book: the appointments list and form swap in place.
    registered.get_by_label("Clinician").select_option(label=f"{intake_world['clinician']} · GP")
    registered.get_by_label("Room").fill("Room 7")
    registered.get_by_role("button", name="Book appointment").click()
    row = page.locator("#patient-appointments tr.appointment")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Booked")
    expect(page.locator("#toast")).to_contain_text("Booked")

    # Check in: the row swaps and shows the cover recorded today.
    row.get_by_role("button", name="Check in").click()
    expect(row).to_contain_text("Checked in")
    expect(row.locator(".badge.ok", has_text="Covered")).to_be_visible()
    expect(page.locator("#toast")).to_have_text("Checked in; cover recorded.")
    page.screenshot(path=str(_artifact("patient-intake-done.png")), full_page=True, caret="initial")

    assert page.evaluate("window.__marker") == 1  # every step swapped in place, never a reload
    assert page_errors == [], page_errors


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
