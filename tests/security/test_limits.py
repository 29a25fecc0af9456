"""Bodies too big to accept answer 413 (problem+json for the API, a kind page for a form), and what carries
patient data (pages, JSON, CSV, PDF) is never kept by a cache."""

from __future__ import annotations

import json
import re

import pytest

from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_institution, make_patient, make_user

PATIENTS = "/api/v1/patients"


@pytest.fixture
def clerk(api_token):
    institution = make_institution()
    user = make_user(Role.RECEPTIONIST, institution_id=institution.id)
    return institution, api_token(user)


def _patient_body(institution, **values) -> dict:
    body = {
        "institution_id": institution.id,
        "first_name": "Amina",
        "last_name": "Otieno",
        "date_of_birth": "1990-01-01",
        "gender": "female",
    }
    return body | values


def _patients_named(name: str) -> int:
    from sqlalchemy import func, select

    from blueprints.hospital.models import Patient
    from medcover.extensions import db

    return db.session.scalar(select(func.count()).select_from(Patient).where(Patient.last_name == name))


def test_json_over_the_api_limit_is_a_413_problem_and_nothing_is_created(client, clerk, app):
    institution, headers = clerk
    limit = app.config["API_MAX_JSON_BYTES"]
    raw = json.dumps(_patient_body(institution, notes="x" * limit)).encode()
    response = client.post(PATIENTS, data=raw, headers=headers, content_type="application/json")
    body = assert_problem(response, 413)
    assert "1 MB" in body["detail"]
    assert _patients_named("Otieno") == 0


def test_json_under_the_limit_goes_on_to_ordinary_validation(client, clerk):
    institution, headers = clerk
    raw = json.dumps(_patient_body(institution, unknown="x" * 10_000)).encode()
    response = client.post(PATIENTS, data=raw, headers=headers, content_type="application/json")
    assert assert_problem(response, 422)["errors"] == {"unknown": ["Unknown field."]}


@pytest.fixture
def small_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)


def test_an_oversized_form_gets_a_kind_page_that_leads_back_to_the_form(client, login_as, small_limit):
    login_as(Role.RECEPTIONIST, institution_id=make_institution().id)
    form = {"first_name": "A" * 1_200_000, "last_name": "Otieno", "date_of_birth": "1990-01-01", "gender": "female"}
    response = client.post(
        "/hospital/patients", data=form, headers={"Referer": "http://localhost/hospital/patients?q=ot"}
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "files up to 1 MB" in page and "Nothing was saved" in page and "what you typed is still in the form" in page
    assert 'href="/hospital/patients?q=ot"' in page
    assert "Traceback" not in page
    assert _patients_named("Otieno") == 0


def test_the_413_page_never_links_back_to_another_site(client, login_as, small_limit):
    login_as(Role.RECEPTIONIST, institution_id=make_institution().id)
    form = {"first_name": "A" * 1_200_000}
    response = client.post("/hospital/patients", data=form, headers={"Referer": "https://evil.example/phish"})
    assert response.status_code == 413
    assert "evil.example" not in response.get_data(as_text=True)


# --- caches ----------------------------------------------------------------------------------------


def test_every_csv_and_pdf_route_answers_no_store_whatever_the_outcome(app, client, login_as):
    login_as(Role.ADMIN)
    routes = [r for r in app.url_map.iter_rules() if r.rule.endswith((".csv", ".pdf")) and "GET" in r.methods]
    assert len(routes) >= 8  # invoices, letters, settlements, receivables, reconciliation, audit
    for rule in routes:
        url = re.sub(r"<[^>]+>", "999999", rule.rule)
        response = client.get(url)
        assert response.status_code != 500, url
        assert response.headers.get("Cache-Control") == "no-store", (url, response.status_code)


def test_the_receivables_csv_with_rows_is_not_cached(client, login_as):
    institution = make_institution()
    make_patient(institution)
    login_as(Role.BILLING_CLERK, institution_id=institution.id)
    for url in ("/billing/receivables.csv", "/billing/receivables/items.csv"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/csv"
        assert response.headers["Cache-Control"] == "no-store"
