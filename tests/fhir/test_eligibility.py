"""CoverageEligibilityRequest -> CoverageEligibilityResponse: the numbers of /api/v1/coverage/verify."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from blueprints.insurance.services import verification
from medcover.extensions import db
from medcover.rbac import Role
from tests.fhir.conftest import DAY
from tests.fhir.outcome import assert_outcome, expressions, resource

MEMBER = "urn:medcover:member-number"


def request(member: str = "A-0001", *, day: str | None = DAY, purpose=("validation", "benefits"), items=None):
    body = {
        "resourceType": "CoverageEligibilityRequest",
        "identifier": [{"system": "urn:hospital:eligibility", "value": "E-1"}],
        "status": "active",
        "purpose": list(purpose),
        "patient": {"identifier": {"system": MEMBER, "value": member}},
        "created": "2026-04-10T08:00:00+03:00",
        "insurer": {"display": "Whoever covers the member"},
    }
    if day:
        body["servicedDate"] = day
    if items is not None:
        body["item"] = items
    return body


def service(code: str) -> dict:
    return {"productOrService": {"coding": [{"system": "urn:medcover:service-code", "code": code}]}}


def _items(response) -> dict:
    return {item.category.coding[0].code: item for item in response.insurance[0].item or ()}


def _errors(response) -> list[str]:
    return [error.code.coding[0].code for error in response.error or ()]


@pytest.fixture
def used(monkeypatch, world):
    """1,250.50 approved on outpatient in the benefit period (as the claims domain would report it)."""
    monkeypatch.setattr(verification, "usage", lambda *_args: {world.opd.id: Decimal("1250.50")})


def test_a_covered_member_is_in_force_with_limits_and_usage(fhir, world, used):
    response = fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", request())
    text = response.get_data(as_text=True)  # money to the cent, as /api/v1 writes it
    assert '"allowedMoney":{"value":50000.00,"currency":"KES"}' in text
    assert '"usedMoney":{"value":1250.50,"currency":"KES"}' in text
    answer = resource(response, 200)
    assert answer.get_resource_type() == "CoverageEligibilityResponse"
    assert answer.outcome == "complete" and answer.error is None
    assert answer.insurance[0].inforce is True
    assert answer.insurance[0].coverage.reference == f"Coverage/{world.cover.id}"
    assert answer.insurer.reference == f"Organization/insurer-{world.a.id}"
    assert answer.request.identifier.value == "E-1" and str(answer.servicedDate) == DAY
    items = _items(answer)
    assert set(items) == {"OPD", "MAT", "DENTAL"}
    opd = items["OPD"].benefit[0]
    assert opd.type.coding[0].code == "benefit"
    assert (opd.allowedMoney.value, opd.allowedMoney.currency) == (Decimal("50000.00"), "KES")
    assert (opd.usedMoney.value, opd.usedMoney.currency) == (Decimal("1250.50"), "KES")
    assert items["MAT"].authorizationRequired is True and items["OPD"].authorizationRequired is False
    assert items["DENTAL"].excluded is True


def test_the_numbers_equal_the_apis(fhir, world, used, client, api_token):
    from tests.factories import make_user

    user = make_user(Role.RECEPTIONIST, institution_id=world.hospital.id)
    db.session.commit()
    headers = api_token(user)
    api = client.post("/api/v1/coverage/verify", json={"member_number": "A-0001", "service_date": DAY}, headers=headers)
    assert api.status_code == 200
    remaining = {b["benefit_code"]: b["remaining_limit"] for b in api.get_json()["benefits"]}
    fhir_client = type(fhir(Role.RECEPTIONIST))(client, headers)
    answer = resource(fhir_client.post("/CoverageEligibilityRequest", request()), 200)
    for code, item in _items(answer).items():
        amounts = item.benefit[0]
        if remaining[code] is None:
            assert amounts.allowedMoney is None
        else:
            left = Decimal(str(amounts.allowedMoney.value)) - Decimal(str(amounts.usedMoney.value))
            assert f"{left:.2f}" == remaining[code]
    assert remaining["OPD"] == "48749.50"


def test_an_unknown_member_is_r01_and_not_in_force(fhir, world):
    answer = resource(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", request("NOBODY-1")), 200)
    assert _errors(answer) == ["R01"] and answer.insurance is None
    assert answer.error[0].code.coding[0].system == "urn:medcover:adjudication-reason"


def test_a_member_without_cover_that_day_is_r02(fhir, world):
    answer = resource(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", request("A-0002")), 200)
    assert _errors(answer) == ["R02"]
    assert answer.insurance[0].inforce is False
    assert answer.insurance[0].coverage.reference == f"Coverage/{world.old.id}"


def test_another_insurers_member_is_r01_for_insurer_staff(fhir, world):
    answer = resource(fhir(Role.ADJUDICATOR).post("/CoverageEligibilityRequest", request("B-0001")), 200)
    assert _errors(answer) == ["R01"]
    # a hospital may ask about any insurer's member
    answer = resource(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", request("B-0001")), 200)
    assert _errors(answer) == [] and answer.insurance[0].inforce is True


def test_requested_services_say_whether_authorisation_is_needed(fhir, world):
    body = request(purpose=["auth-requirements"], items=[service("ANC-VISIT"), service("CONSULT")])
    body["servicedDate"] = "2026-03-01"
    answer = resource(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", body), 200)
    items = answer.insurance[0].item
    assert [(i.productOrService.coding[0].code, i.category.coding[0].code, i.authorizationRequired) for i in items] == [
        ("ANC-VISIT", "MAT", True),
        ("CONSULT", "OPD", False),
    ]
    assert _errors(answer) == []


def test_a_service_in_the_waiting_period_or_not_covered_is_reported(fhir, world):
    body = request(day="2026-01-15", purpose=["auth-requirements"], items=[service("ANC-VISIT"), service("FILLING")])
    answer = resource(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", body), 200)
    assert _errors(answer) == ["R11", "R10"]
    assert answer.insurance[0].inforce is True


def test_the_service_day_defaults_to_today(fhir, world):
    from medcover import clock

    answer = resource(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", request(day=None)), 200)
    assert answer.servicedDate == clock.today()


def test_a_hospital_patient_reference_is_read_as_its_member_number(fhir, world):
    body = request()
    body["patient"] = {"reference": f"Patient/{world.patient.id}"}
    answer = resource(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", body), 200)
    assert answer.patient.identifier.value == "A-0001" and answer.insurance[0].inforce is True


def _counts():
    return db.session.scalar(select(func.count()).select_from(AuditLog))


@pytest.mark.parametrize(
    ("body", "status", "expression"),
    [
        ({**request(), "servicedDate": "2026-13-01"}, 400, "CoverageEligibilityRequest.servicedDate"),
        ({**request(), "patient": {"display": "Amani"}}, 400, "CoverageEligibilityRequest.patient"),
        ({k: v for k, v in request().items() if k != "insurer"}, 400, "CoverageEligibilityRequest.insurer"),
        ({**request(), "purpose": ["everything"]}, 400, "CoverageEligibilityRequest.purpose[0]"),
        ({**request(), "resourceType": "Claim"}, 400, "CoverageEligibilityRequest.resourceType"),
        ({**request(), "colour": "blue"}, 400, "CoverageEligibilityRequest.colour"),
        (request(items=[{"quantity": {"value": 1}}]), 400, "CoverageEligibilityRequest.item[0].productOrService"),
        (request(items=[service("NO-SUCH")]), 422, "CoverageEligibilityRequest.item[0].productOrService"),
    ],
)
def test_malformed_requests_are_400_outcomes_naming_the_element(fhir, world, body, status, expression):
    client = fhir(Role.RECEPTIONIST)
    before = _counts()
    outcome = assert_outcome(client.post("/CoverageEligibilityRequest", body), status)
    assert expression in expressions(outcome), outcome.issue
    assert _counts() == before


def test_a_bad_date_says_what_a_date_looks_like(fhir, world):
    body = {**request(), "servicedDate": "10/04/2026"}
    outcome = assert_outcome(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", body), 400, "value")
    assert outcome.issue[0].diagnostics == "Not a valid date: use YYYY, YYYY-MM or YYYY-MM-DD."


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"null", b"{"])
def test_a_body_that_is_not_a_resource_is_a_400_outcome(fhir, world, raw):
    assert_outcome(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", data=raw), 400, "structure")


def test_plain_json_is_accepted(fhir, world):
    import json

    client = fhir(Role.RECEPTIONIST)
    raw = json.dumps(request())
    answer = resource(client.post("/CoverageEligibilityRequest", data=raw, content_type="application/json"), 200)
    assert answer.insurance[0].inforce is True


def test_the_auditor_may_not_ask(fhir, world):
    assert_outcome(fhir(Role.AUDITOR).post("/CoverageEligibilityRequest", request()), 403, "forbidden")


def test_a_too_large_body_is_a_413_outcome(fhir, world, app):
    big = b'{"resourceType": "CoverageEligibilityRequest", "x": "' + b"a" * app.config["API_MAX_JSON_BYTES"] + b'"}'
    assert_outcome(fhir(Role.RECEPTIONIST).post("/CoverageEligibilityRequest", data=big), 413, "too-costly")
