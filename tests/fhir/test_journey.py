"""A FHIR client library (fhirpy) against a live gunicorn serving the demo world: the CapabilityStatement,
then eligibility for a covered member, a member whose cover has ended and an unknown one. Every answer is
validated with fhir.resources' R4B models. (The claim part of the journey is tests/fhir/test_claims_journey.)"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.coverage import Coverage
from fhir.resources.R4B.coverageeligibilityresponse import CoverageEligibilityResponse
from fhirpy import SyncFHIRClient

from medcover import clock
from tests.live_server import WebServer, app_env, flask

pytestmark = pytest.mark.contract

MEMBER = "urn:medcover:member-number"


@pytest.fixture
def db_session():
    """This test talks to a server process, not to the in-process test database."""
    yield None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fhir-journey")
    env = app_env(
        DATABASE_URL=f"sqlite:///{tmp / 'fhir.db'}",
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(tmp / "mail"),
        UPLOAD_DIR=str(tmp / "uploads"),
        SECRET_KEY="fhir-journey-secret-key-not-for-production",
    )
    flask("db", "upgrade", env=env)
    seeded = flask("seed-demo", env=env, timeout=300)
    password = re.search(r"password for all: (\S+?)\)", seeded).group(1)
    admin = re.search(r"^\s+admin\s+(\S+@\S+)\s*$", seeded, flags=re.MULTILINE).group(1)
    web = WebServer(env=env, log_path=tmp / "gunicorn.log", workers=1)
    try:
        web.wait_ready(timeout=60)
        yield web, admin, password
    finally:
        web.stop()


def _token(base: str, email: str, password: str) -> str:
    body = json.dumps({"email": email, "password": password}).encode()
    login = urllib.request.Request(  # noqa: S310 - an http URL of the test's own server
        f"{base}/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(login, timeout=10) as answer:  # noqa: S310 - the test's own server
        return json.load(answer)["access_token"]


def _eligibility(fhir: SyncFHIRClient, member_number: str) -> CoverageEligibilityResponse:
    answer = fhir.execute(
        "CoverageEligibilityRequest",
        method="post",
        data={
            "resourceType": "CoverageEligibilityRequest",
            "status": "active",
            "purpose": ["validation", "benefits"],
            "patient": {"identifier": {"system": MEMBER, "value": member_number}},
            "created": clock.now().isoformat(timespec="seconds"),
            "insurer": {"display": "The member's insurer"},
        },
    )
    return CoverageEligibilityResponse.model_validate(answer)


def test_a_fhir_client_checks_eligibility_against_a_live_server(server):
    web, admin, password = server
    fhir = SyncFHIRClient(f"{web.url}/fhir", authorization=f"Bearer {_token(web.url, admin, password)}")

    statement = CapabilityStatement.model_validate(fhir.execute("metadata", method="get"))
    assert statement.fhirVersion == "4.0.1" and statement.format == ["json"]
    offered = {entry.type for entry in statement.rest[0].resource}
    assert {"Patient", "Organization", "InsurancePlan", "Coverage", "CoverageEligibilityRequest"} <= offered

    today = clock.today()
    active = [Coverage.model_validate(c.serialize()) for c in fhir.resources("Coverage").search(status="active")]
    current = [c for c in active if c.period.start <= today <= c.period.end]
    assert current, "the demo world has a member covered today"
    covered = current[0].identifier[0].value
    answer = _eligibility(fhir, covered)
    assert answer.outcome == "complete" and answer.error is None
    assert answer.insurance[0].inforce is True
    assert answer.insurance[0].coverage.reference == f"Coverage/{current[0].id}"
    assert any(item.benefit for item in answer.insurance[0].item)

    ended = [Coverage.model_validate(c.serialize()) for c in fhir.resources("Coverage").search(status="cancelled")]
    verdicts = {c.identifier[0].value: _eligibility(fhir, c.identifier[0].value) for c in ended[:10]}
    uncovered = [v for v in verdicts.values() if [e.code.coding[0].code for e in v.error or ()] == ["R02"]]
    assert uncovered, "the demo world has a member whose cover has ended"
    assert uncovered[0].insurance[0].inforce is False

    unknown = _eligibility(fhir, "NO-SUCH-MEMBER")
    assert [e.code.coding[0].code for e in unknown.error] == ["R01"] and unknown.insurance is None
