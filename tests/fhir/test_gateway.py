"""The FHIR gateway: metadata, errors as OperationOutcomes, parsing with FHIRPath expressions."""

from __future__ import annotations

from tests.fhir.outcome import assert_outcome, resource


def test_metadata_is_a_capability_statement_for_r4(client):
    statement = resource(client.get("/fhir/metadata"), 200, "CapabilityStatement")
    assert statement.fhirVersion == "4.0.1"
    assert statement.format == ["json"]
    assert statement.rest[0].mode == "server"


def test_an_unknown_path_is_a_404_operation_outcome(client):
    outcome = assert_outcome(client.get("/fhir/NoSuchResource/1"), 404, "not-found")
    assert outcome.issue[0].diagnostics


def test_a_wrong_method_is_a_405_operation_outcome_with_allow(client):
    response = client.post("/fhir/metadata", json={})
    assert_outcome(response, 405, "not-supported")
    assert "GET" in response.headers["Allow"]


def test_the_api_keeps_its_problem_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


SECRET = "hunter2 at db-primary"


def _app_with_failing_routes(make_app):
    """Routes under /fhir that fail in each way a view can (added before the app's first request)."""
    from sqlalchemy.exc import IntegrityError

    from medcover.errors import Conflict, Invalid
    from medcover.rbac import public

    fresh = make_app()

    @public
    def boom():
        raise RuntimeError(SECRET)

    @public
    def conflict():
        raise Conflict("That code is taken.", {"code": ["Another scheme uses it."]})

    @public
    def invalid():
        raise Invalid("The request has invalid fields.", {"member_number": ["No such member."]})

    @public
    def integrity():
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed: schemes.code"))

    for name, view in (("boom", boom), ("conflict", conflict), ("invalid", invalid), ("integrity", integrity)):
        fresh.add_url_rule(f"/fhir/test-{name}", f"test_fhir_{name}", view)
    return fresh


def test_an_unexpected_error_is_a_500_outcome_without_its_details(make_app):
    client = _app_with_failing_routes(make_app).test_client()
    response = client.get("/fhir/test-boom", headers={"X-Request-ID": "trace-fhir-500"})
    outcome = assert_outcome(response, 500, "exception")
    text = response.get_data(as_text=True)
    for leak in ("hunter2", "db-primary", "RuntimeError", "Traceback"):
        assert leak not in text
    assert "request id" in outcome.issue[0].diagnostics
    assert response.headers["X-Request-ID"] == "trace-fhir-500"


def test_domain_and_integrity_errors_are_outcomes_with_their_fields(make_app):
    client = _app_with_failing_routes(make_app).test_client()
    conflict = assert_outcome(client.get("/fhir/test-conflict"), 409, "conflict")
    assert [i.diagnostics for i in conflict.issue] == ["That code is taken.", "code: Another scheme uses it."]
    invalid = assert_outcome(client.get("/fhir/test-invalid"), 422, "business-rule")
    assert "member_number: No such member." in [i.diagnostics for i in invalid.issue]
    taken = assert_outcome(client.get("/fhir/test-integrity"), 409, "conflict")
    assert any(i.diagnostics.startswith("code: ") for i in taken.issue)


def test_too_many_requests_is_a_429_outcome_with_retry_after(make_app):
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_API="2 per minute").test_client()
    for _ in range(2):
        assert client.get("/fhir/metadata").status_code == 200
    response = client.get("/fhir/metadata")
    assert_outcome(response, 429, "throttled")
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_metadata_lists_each_resource_with_its_search_parameters(client):
    statement = resource(client.get("/fhir/metadata"), 200, "CapabilityStatement")
    offered = {entry.type: entry for entry in statement.rest[0].resource}
    assert {"Patient", "Organization", "InsurancePlan", "Coverage", "CoverageEligibilityRequest"} <= set(offered)
    assert {p.name for p in offered["Patient"].searchParam} == {"identifier", "name", "birthdate"}
    assert {p.name for p in offered["Coverage"].searchParam} == {"identifier", "beneficiary", "status"}
    assert [i.code for i in offered["CoverageEligibilityRequest"].interaction] == ["create"]


def test_a_cookie_session_does_not_authenticate_fhir(client, login):
    from medcover.rbac import Role
    from tests.factories import make_user

    login(make_user(Role.ADMIN))
    assert_outcome(client.get("/fhir/Coverage"), 401, "login")
