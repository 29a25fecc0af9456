"""Assertions on FHIR answers: the body validates against the R4B model of its resourceType."""

from __future__ import annotations

import json

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.operationoutcome import OperationOutcome

FHIR_JSON = "application/fhir+json"


def resource(response, status: int = 200, resource_type: str | None = None):
    """The answer as its fhir.resources model (which validates it), after checking status and media type."""
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:1000]
    assert response.mimetype == FHIR_JSON, response.mimetype
    data = json.loads(body)
    if resource_type is not None:
        assert data["resourceType"] == resource_type, data
    return get_fhir_model_class(data["resourceType"]).model_validate(data)


def assert_outcome(response, status: int, code: str | None = None) -> OperationOutcome:
    """An error answer: an OperationOutcome with ``status``; ``code`` the first issue's issue-type."""
    outcome = resource(response, status, "OperationOutcome")
    assert outcome.issue and all(found.severity == "error" for found in outcome.issue)
    if code is not None:
        assert outcome.issue[0].code == code, outcome.issue
    return outcome


def expressions(outcome: OperationOutcome) -> list[str]:
    return [path for found in outcome.issue for path in (found.expression or [])]
