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
