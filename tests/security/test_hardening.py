"""Hostile or careless requests that once answered 500, and responses a cache must never keep."""

from __future__ import annotations

import pytest

from medcover.api import MAX_JSON_DEPTH, json_depth
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_institution, make_patient, make_user


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_missing_static_file_is_a_plain_404(client):
    response = client.get("/static/no-such-file.css")
    assert response.status_code == 404
    assert response.mimetype == "text/plain"


def test_json_nested_100000_deep_is_a_400_problem_not_a_crash(client):
    response = client.post("/api/v1/auth/login", data=_nested(100_000), content_type="application/json")
    body = assert_problem(response, 400)
    assert str(MAX_JSON_DEPTH) in body["detail"]


def test_json_as_deep_as_allowed_goes_on_to_ordinary_validation(client):
    body = '{"email": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert response.status_code == 422


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert json_depth(b'{"a": "[[[[{{{{ \\" [[["}') == 1
    assert json_depth(_nested(5).encode()) == 5
    assert json_depth(b'"just a string"') == 0


@pytest.fixture
def clerk_headers(api_token):
    institution = make_institution()
    make_patient(institution)
    clerk = make_user(Role.BILLING_CLERK, institution_id=institution.id)
    return api_token(clerk)


def test_patient_json_from_the_api_is_never_cached(client, clerk_headers):
    response = client.get("/api/v1/patients", headers=clerk_headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_csv_and_errors_are_never_cached_but_static_files_may_be(client, login_as):
    login_as(Role.ADMIN)
    for url in ("/", "/admin/audit.csv", "/no-such-page"):
        assert client.get(url).headers.get("Cache-Control") == "no-store", url
    assert client.get("/static/css/app.css").headers.get("Cache-Control") != "no-store"
