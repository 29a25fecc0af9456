"""The scheme builder in a real browser: an admin creates a scheme, adds a benefit inline and sees it in the
list without a reload, with no script or CSP errors."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.live_server import BIN, REPO, app_env

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# Run in the server's environment: an insurer and a small benefit catalogue, unless already there.
SEED = """
from blueprints.insurance.models import Benefit, BenefitCategory, Company
from medcover.app import create_app
from medcover.extensions import db

app = create_app()
with app.app_context():
    if not db.session.query(Company).filter_by(code="E2E-INS").first():
        db.session.add(Company(code="E2E-INS", name="Journey Assurance", active=True))
    category = db.session.query(BenefitCategory).filter_by(code="E2E-OUT").first()
    if category is None:
        category = BenefitCategory(code="E2E-OUT", name="Outpatient (journey)")
        db.session.add(category)
        db.session.flush()
    for code, name in [("E2E-GP", "GP consultation"), ("E2E-LAB", "Laboratory tests")]:
        if not db.session.query(Benefit).filter_by(code=code).first():
            db.session.add(Benefit(code=code, name=name, category_id=category.id))
    db.session.commit()
"""


@pytest.fixture(scope="module")
def catalogue(world, tmp_path_factory):
    """The e2e world's database is the one file ``world`` made under the session's temporary folder."""
    found = sorted(
        {path.resolve() for path in tmp_path_factory.getbasetemp().glob("e2e*/e2e.db")}
    )  # e2ecurrent: a link
    assert len(found) == 1, found
    env = app_env(DATABASE_URL=f"sqlite:///{found[0]}", SECRET_KEY="e2e-secret-key-not-for-production")
    done = subprocess.run(
        [str(BIN / "python"), "-c", SEED], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return {"company": "Journey Assurance", "benefit": "E2E-GP"}


def test_admin_adds_a_benefit_inline_and_sees_it_without_a_reload(
    page, page_errors, expect_error_response, axe_check, sign_in, world, catalogue
):
    sign_in(world.admin_email, world.demo_password)
    page.goto(world.base_url + "/insurance/schemes/new")
    page.get_by_label("Insurance company").select_option(label=catalogue["company"])
    page.get_by_label("Code", exact=True).fill("JRNY-GOLD")
    page.get_by_label("Name", exact=True).fill("Journey Gold")
    page.get_by_label("Annual limit (blank: none)").fill("500000")
    page.get_by_role("button", name="Create and add benefits").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path.startswith("/insurance/schemes/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("JRNY-GOLD")
    expect(page.locator("#benefit-rows tr.benefit")).to_have_count(0)
    expect(page.locator("#benefit-rows tr.none")).to_be_visible()

    page.evaluate("window.__marker = 1")
    add = page.locator("#benefit-add")
    add.get_by_label("Benefit to add").select_option(label="E2E-GP · GP consultation")
    add.get_by_label("Annual limit").fill("20000")
    add.get_by_label("Copay %").fill("10")
    with page.expect_response(lambda r: r.url.endswith("/benefits") and r.request.method == "POST") as answer:
        add.get_by_role("button", name="Add benefit").click()
    assert answer.value.status == 200
    assert answer.value.request.headers.get("hx-request") == "true"

    rows = page.locator("#benefit-rows tr.benefit")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("E2E-GP")
    expect(rows.first).to_contain_text("10%")
    expect(page.locator("#benefit-rows tr.none")).to_be_hidden()
    expect(page.locator("#toast")).to_have_text("Benefit added.")
    # a fresh add row follows, no longer offering the benefit just added
    expect(page.locator("#benefit-add")).to_be_visible()
    expect(page.locator("#benefit-add option", has_text="E2E-GP")).to_have_count(0)
    assert page.evaluate("window.__marker") == 1  # swapped in place, never reloaded

    # A bad copay comes back as the add row with the message (htmx swaps the 422), still without a reload.
    add = page.locator("#benefit-add")
    add.get_by_label("Benefit to add").select_option(label="E2E-LAB · Laboratory tests")
    add.get_by_label("Copay %").fill("101")
    expect_error_response(422, "/insurance/schemes/*/benefits")
    with page.expect_response(lambda r: r.url.endswith("/benefits")) as refused:
        add.get_by_role("button", name="Add benefit").click()
    assert refused.value.status == 422
    expect(page.locator("#benefit-add .errors")).to_contain_text("from 0 to 100")
    expect(rows).to_have_count(1)
    axe_check()  # the add row as it came back, with its message

    # Inline edit: the row becomes a form and comes back as a row.
    row = rows.first
    row.get_by_role("link", name="Edit").click()
    expect(row.get_by_label("Copay %")).to_be_visible()
    row.get_by_label("Copay %").fill("15")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#benefit-rows tr.benefit").first).to_contain_text("15%")
    assert page.evaluate("window.__marker") == 1

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "scheme-builder.png"), full_page=True)

    page.reload()
    expect(page.locator("#benefit-rows tr.benefit")).to_have_count(1)
    assert page_errors == []
