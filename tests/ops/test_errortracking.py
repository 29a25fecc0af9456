"""Error tracking: a Sentry transport stub receives the event of a request that failed while carrying a patient's
details, and nothing about the patient is in it; only the route rule, request id and the exception's type and stack."""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from flask_migrate import upgrade
from sentry_sdk.transport import Transport

from blueprints.hospital import services as hospital
from medcover.api import PREFIX
from medcover.app import create_app
from medcover.errortracking import scrub
from medcover.rbac import Role
from tests.factories import make_institution, make_user

PHI = {
    "first_name": "Wanjiru",
    "last_name": "Nyambura-Kamau",
    "national_id": "29384756",
    "member_number": "ACM-777",
    "email": "wanjiru.nyambura@example.org",
}
DIAGNOSIS = "J45.901"


class StubTransport(Transport):
    """Keeps what would have been sent to Sentry, serialized as it would leave."""

    def __init__(self, options=None):
        super().__init__(options)
        self.sent: list[bytes] = []

    def capture_envelope(self, envelope):
        self.sent.append(envelope.serialize())


STUB = StubTransport()


@pytest.fixture(scope="module")
def app():
    """This module's own app, reporting to the stub (Sentry's client is process-wide: switched off afterwards)."""
    reporting = create_app(
        "test", overrides={"SENTRY_DSN": "https://public@sentry.example.invalid/1", "SENTRY_TRANSPORT": STUB}
    )
    with reporting.app_context():
        upgrade()  # an in-memory SQLite of its own; on PostgreSQL the schema is there already
    yield reporting
    sentry_sdk.init()  # no DSN: nothing is reported by the rest of the run


def test_an_error_event_leaves_without_the_patient_it_concerned(client, api_token, monkeypatch):
    admin = make_user(Role.ADMIN, email="dr.admin.person@example.org")
    headers = api_token(admin)
    hospital_a = make_institution(code="HSE", name="Hospital SE")

    def fails_quoting_what_it_was_given(*, actor, institution_id, details, different_person_reason=None):
        patient = details  # a local variable full of PHI: local variables are never sent
        raise RuntimeError(f"cannot register {patient.first_name} {patient.last_name} for {DIAGNOSIS}")

    monkeypatch.setattr(hospital, "register_patient", fails_quoting_what_it_was_given)
    STUB.sent.clear()
    response = client.post(
        f"{PREFIX}/patients?member_number={PHI['member_number']}&diagnosis={DIAGNOSIS}",
        json={
            "first_name": PHI["first_name"],
            "last_name": PHI["last_name"],
            "date_of_birth": "1990-04-01",
            "gender": "female",
            "national_id": PHI["national_id"],
            "member_number": PHI["member_number"],
            "email": PHI["email"],
            "institution_id": hospital_a.id,
        },
        headers={**headers, "Cookie": f"member={PHI['member_number']}"},
    )
    assert response.status_code == 500
    sentry_sdk.flush()

    sent = b"".join(STUB.sent).decode()
    events = [json.loads(line) for line in sent.splitlines() if line.startswith("{") and '"exception"' in line]
    assert len(events) == 1
    (event,) = events
    assert [(v["type"], bool(v["stacktrace"]["frames"])) for v in event["exception"]["values"]] == [
        ("RuntimeError", True)
    ]
    assert all("vars" not in frame for frame in event["exception"]["values"][0]["stacktrace"]["frames"])
    assert event["tags"]["request_id"] == response.headers["X-Request-ID"]
    assert event["transaction"] == "POST /api/v1/patients"
    for secret in (*PHI.values(), DIAGNOSIS, admin.email, "Nyambura", "29384756"):
        assert secret not in sent, secret
    assert "Authorization" not in sent and "Bearer" not in sent


def test_the_scrubber_keeps_only_the_allowlisted_parts():
    event = {
        "event_id": "abc",
        "level": "error",
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "Wanjiru Kamau ACM-001",
                    "stacktrace": {"frames": [{"function": "f", "lineno": 3, "vars": {"name": "Wanjiru"}}]},
                }
            ]
        },
        "request": {"method": "GET", "url": "http://x/patients?q=Kamau", "cookies": "s=1", "data": {"a": "b"}},
        "user": {"email": "a@b.c"},
        "breadcrumbs": {"values": [{"message": "SELECT ... 'Kamau'"}]},
        "extra": {"member": "ACM-001"},
        "logentry": {"message": "failed for %s", "params": ["Kamau"], "formatted": "failed for Kamau"},
        "tags": {"request_id": "r1", "route": "GET /hospital/patients/<id:patient_id>", "patient": "Kamau"},
    }
    clean = scrub(event)
    assert "Kamau" not in json.dumps(clean) and "Wanjiru" not in json.dumps(clean) and "a@b.c" not in json.dumps(clean)
    assert clean["exception"]["values"] == [
        {"type": "ValueError", "stacktrace": {"frames": [{"function": "f", "lineno": 3}]}}
    ]
    assert clean["request"] == {"method": "GET"}
    assert clean["tags"] == {"request_id": "r1", "route": "GET /hospital/patients/<id:patient_id>"}
    assert clean["logentry"] == {"message": "failed for %s"}
