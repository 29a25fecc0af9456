"""FHIR claims: a Claim posted is filed, submitted and decided as /api/v1 does and answered with a ClaimResponse
(201; the same Claim again 200 and nothing written); malformed Claims write nothing; pre-authorisations; reads and
searches of Claim, ClaimResponse and ExplanationOfBenefit; tenancy and roles. Every answer validates with the
R4B models (``tests.fhir.outcome.resource``)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.claims.models import Claim, ClaimItem
from blueprints.fhir.claim_ids import FhirClaimIdentifier
from blueprints.insurance.models import Preauthorization
from medcover.extensions import db
from medcover.rbac import Role
from tests.claims.conftest import client, cw  # noqa: F401 - shared fixtures
from tests.factories import make_user
from tests.fhir.claims_world import Caller, fhir_claim
from tests.fhir.outcome import assert_outcome, expressions, resource

TABLES = (Claim, ClaimItem, FhirClaimIdentifier, Preauthorization)


@pytest.fixture
def caller(client, api_token):  # noqa: F811
    return lambda user: Caller(client, api_token(user))


@pytest.fixture
def clerk(caller, cw):  # noqa: F811
    return caller(cw.clerk)


@pytest.fixture
def adjudicator(caller, cw):  # noqa: F811
    return caller(cw.adjudicator)


def counts() -> dict[str, int]:
    db.session.expire_all()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in TABLES}


def adjudication(item) -> dict[str, Decimal]:
    return {a.category.coding[0].code: a.amount.value for a in item.adjudication}


def reason_codes(item) -> list[str]:
    benefit = [a for a in item.adjudication if a.category.coding[0].code == "benefit"]
    if not benefit or benefit[0].reason is None:
        return []
    return [coding.code for coding in benefit[0].reason.coding]


def members(claim: dict) -> list[dict]:
    return [claim["patient"], claim["insurance"][0]["coverage"]]


def yesterday(cw):  # noqa: F811
    return cw.today - timedelta(days=1)


# --- filing ---------------------------------------------------------------------------------------------


def test_a_claim_is_decided_and_answered_201_with_its_adjudication(clerk, cw):  # noqa: F811
    claim = fhir_claim([("CONSULT", 1, "2500.00"), ("LAB-FBC", 3, "1300.00")], day=yesterday(cw), ident="HA-0001")
    response = clerk.post_claim(claim)
    answer = resource(response, 201, "ClaimResponse")
    assert response.headers["Location"] == f"ClaimResponse/{answer.id}"
    assert (answer.outcome, answer.use, answer.status) == ("complete", "claim", "active")
    assert answer.disposition == "Approved"
    assert answer.request.reference == f"Claim/{answer.id}"
    assert answer.insurer.identifier.value == "ACME" and answer.requestor.identifier.value == "HA"
    assert answer.insurer.reference == f"Organization/insurer-{cw.company.id}"
    assert answer.requestor.reference == f"Organization/institution-{cw.hospital.id}"
    first, second = answer.item
    assert adjudication(first) == {
        "submitted": Decimal("2500.00"),
        "eligible": Decimal("2500.00"),
        "deductible": Decimal("0.00"),
        "copay": Decimal("250.00"),
        "benefit": Decimal("2250.00"),
    }
    assert adjudication(second)["eligible"] == Decimal("3600.00")
    assert adjudication(second)["benefit"] == Decimal("3000.00")
    assert reason_codes(first) == [] and reason_codes(second) == ["A01", "A03"]
    totals = {t.category.coding[0].code: t.amount.value for t in answer.total}
    assert totals == {"submitted": Decimal("6400.00"), "benefit": Decimal("5250.00")}
    assert all(a.amount.currency == "KES" for a in first.adjudication)


def test_the_same_claim_sent_again_answers_200_with_the_same_response_and_writes_nothing(clerk, cw):  # noqa: F811
    claim = fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw), ident="HA-0002")
    first = clerk.post_claim(claim)
    assert first.status_code == 201
    before = counts()
    again = clerk.post_claim(claim)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert counts() == before and before["Claim"] == 1


def test_a_claim_without_an_identifier_is_a_new_claim_each_time(clerk, cw):  # noqa: F811
    claim = fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw))
    assert clerk.post_claim(claim).status_code == 201
    assert clerk.post_claim(claim).status_code == 201
    assert counts()["Claim"] == 2


def test_the_provider_is_implied_for_the_hospitals_own_staff(clerk, cw):  # noqa: F811
    answer = resource(clerk.post_claim(fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw), provider=None)), 201)
    assert answer.requestor.identifier.value == "HA"


@pytest.mark.parametrize(
    ("change", "status", "path"),
    [
        (lambda c: c.update(item=[]), 422, "Claim.item"),
        (lambda c: c["item"][0].update(servicedDate="2026-13-45"), 400, "Claim.item[0].servicedDate"),
        (lambda c: [r["identifier"].update(value="NOBODY-9") for r in members(c)], 422, "Claim.patient.identifier"),
        (lambda c: c["insurance"][0]["coverage"]["identifier"].update(value="ZEN-001"), 422, None),
        (lambda c: c["item"][0]["quantity"].update(value=1.5), 422, "Claim.item[0].quantity"),
        (lambda c: c.update(total={"value": "99.00", "currency": "KES"}), 422, "Claim.total"),
        (lambda c: c["provider"]["identifier"].update(value="HB"), 422, "Claim.provider"),
        (lambda c: c["item"][0].update(servicedDate="2099-01-01"), 422, "Claim.item[0].servicedDate"),
        (lambda c: c["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0].update(code="not icd"), 422, None),
        (lambda c: c.update(use="predetermination"), 422, "Claim.use"),
        (lambda c: c.pop("patient"), 400, "Claim.patient"),
    ],
    ids=[
        "no-items",
        "bad-date",
        "unknown-member",
        "another-members-coverage",
        "part-quantity",
        "wrong-total",
        "another-provider",
        "future-date",
        "bad-diagnosis",
        "predetermination",
        "no-patient",
    ],
)
def test_a_malformed_claim_writes_nothing_and_names_the_element(clerk, cw, change, status, path):  # noqa: F811
    claim = fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw), ident="HA-BAD")
    change(claim)
    before = counts()
    outcome = assert_outcome(clerk.post_claim(claim), status)
    if path is not None:
        assert path in expressions(outcome), outcome.issue
    else:
        assert expressions(outcome), outcome.issue
    assert counts() == before


def test_an_auditor_posting_a_claim_gets_403_and_nothing_is_written(caller, cw):  # noqa: F811
    auditor = caller(make_user(Role.AUDITOR))
    before = counts()
    assert_outcome(auditor.post_claim(fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw))), 403, "forbidden")
    assert counts() == before


def test_an_insurers_adjudicator_may_not_file_a_claim(adjudicator, cw):  # noqa: F811
    assert_outcome(adjudicator.post_claim(fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw))), 403)


def test_no_token_is_a_401_operation_outcome(client, cw):  # noqa: F811
    assert_outcome(client.get("/fhir/ClaimResponse"), 401)


# --- pre-authorisations ---------------------------------------------------------------------------------


def test_a_preauthorization_is_a_request_of_the_members_insurer_until_it_approves(clerk, adjudicator, cw):  # noqa: F811
    claim = fhir_claim([("MRI-HEAD", 1, "30000.00")], day=cw.today, use="preauthorization", ident="HA-PA-1")
    response = clerk.post_claim(claim)
    asked = resource(response, 201, "ClaimResponse")
    assert (asked.use, asked.outcome, asked.preAuthRef) == ("preauthorization", "queued", None)
    assert asked.id.startswith("pa-") and asked.insurer.identifier.value == "ACME"
    assert str(asked.preAuthPeriod.start) == cw.today.isoformat()
    assert str(asked.preAuthPeriod.end) == (cw.today + timedelta(days=30)).isoformat()
    assert clerk.post_claim(claim).status_code == 200 and counts()["Preauthorization"] == 1
    preauth_id = int(asked.id.removeprefix("pa-"))
    adjudicator.api("POST", f"/preauthorizations/{preauth_id}/approve", {})
    decided = resource(clerk.get(f"/fhir/ClaimResponse/{asked.id}"), 200, "ClaimResponse")
    row = db.session.get(Preauthorization, preauth_id)
    assert (decided.outcome, decided.preAuthRef) == ("complete", row.code)
    sent = resource(clerk.get(f"/fhir/Claim/{asked.id}"), 200, "Claim")
    assert sent.use == "preauthorization" and sent.identifier[0].value == "HA-PA-1"
    # the code quoted on the claim lets the MRI through (R12 otherwise)
    paid = fhir_claim([("MRI-HEAD", 1, "30000.00")], day=cw.today, preauth=row.code)
    answer = resource(clerk.post_claim(paid), 201, "ClaimResponse")
    assert adjudication(answer.item[0])["benefit"] == Decimal("30000.00") and reason_codes(answer.item[0]) == []


def test_a_preauthorization_for_two_benefits_is_refused(clerk, cw):  # noqa: F811
    claim = fhir_claim([("MRI-HEAD", 1, "30000.00"), ("LAB-FBC", 1, "1200.00")], day=cw.today, use="preauthorization")
    outcome = assert_outcome(clerk.post_claim(claim), 422)
    assert expressions(outcome) == ["Claim.item[1].productOrService"]
    assert counts()["Preauthorization"] == 0


# --- reading and searching ------------------------------------------------------------------------------


def test_the_claim_reads_back_as_sent_with_the_providers_identifier(clerk, cw):  # noqa: F811
    made = resource(clerk.post_claim(fhir_claim([("LAB-FBC", 2, "1200.00")], day=yesterday(cw), ident="HA-7")), 201)
    claim = resource(clerk.get(f"/fhir/Claim/{made.id}"), 200, "Claim")
    assert [(i.system, i.value) for i in claim.identifier][0] == ("urn:oid:1.2.3.4.hospital-a.claims", "HA-7")
    assert claim.item[0].productOrService.coding[0].code == "LAB-FBC" and claim.item[0].quantity.value == 2
    assert claim.total.value == Decimal("2400.00")
    assert claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code == "J06.9"


def test_claim_responses_are_searched_by_identifier_patient_request_and_outcome(clerk, adjudicator, cw):  # noqa: F811
    decided = resource(clerk.post_claim(fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw))), 201)
    review = resource(clerk.post_claim(fhir_claim([("SURGERY", 1, "80000.00")], day=yesterday(cw))), 201)
    assert review.outcome == "queued" and review.disposition.startswith("Pending review")
    number = decided.identifier[0].value
    for query, ids in [
        (f"identifier=urn:medcover:claim-number|{number}", [decided.id]),
        ("patient=ACM-001", [review.id, decided.id]),
        (f"request=Claim/{review.id}", [review.id]),
        ("outcome=queued", [review.id]),
        ("outcome=complete&patient=urn:medcover:member-number|ACM-001", [decided.id]),
        ("patient=ZEN-001", []),
    ]:
        bundle = resource(adjudicator.get(f"/fhir/ClaimResponse?{query}"), 200, "Bundle")
        assert [e.resource.id for e in bundle.entry or []] == ids, query
        assert bundle.total == len(ids)
    assert_outcome(adjudicator.get("/fhir/ClaimResponse?outcome=maybe"), 400)
    assert_outcome(adjudicator.get("/fhir/ClaimResponse?status=active"), 400)


def test_another_insurers_claim_response_and_eob_are_404(clerk, caller, cw):  # noqa: F811
    made = resource(clerk.post_claim(fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw))), 201)
    other = caller(cw.other_adjudicator)
    for path in (f"/fhir/ClaimResponse/{made.id}", f"/fhir/ExplanationOfBenefit/{made.id}", f"/fhir/Claim/{made.id}"):
        assert_outcome(other.get(path), 404, "not-found")
    assert_outcome(caller(cw.other_clerk).get(f"/fhir/ClaimResponse/{made.id}"), 404)
    assert_outcome(other.get("/fhir/ClaimResponse/abc"), 404)
    assert resource(other.get("/fhir/ClaimResponse?patient=ACM-001"), 200, "Bundle").total == 0


def test_the_explanation_of_benefit_shows_the_decision_and_what_the_member_owes(clerk, adjudicator, cw):  # noqa: F811
    made = resource(
        clerk.post_claim(fhir_claim([("CONSULT", 1, "2500.00"), ("MRI-HEAD", 1, "30000.00")], day=yesterday(cw))), 201
    )
    eob = resource(adjudicator.get(f"/fhir/ExplanationOfBenefit/{made.id}"), 200, "ExplanationOfBenefit")
    assert eob.outcome == "complete" and eob.disposition == "Partially approved"
    assert eob.claim.reference == f"Claim/{made.id}" and eob.claimResponse.reference == f"ClaimResponse/{made.id}"
    assert [reason_codes(item) for item in eob.item] == [[], ["R12"]]
    totals = {(t.category.coding[0].code if t.category.coding else t.category.text): t.amount.value for t in eob.total}
    # CONSULT: the member owes the 250.00 copay; MRI-HEAD: rejected, the member owes the 30000.00 billed
    assert totals == {
        "submitted": Decimal("32500.00"),
        "benefit": Decimal("2250.00"),
        "What the member owes": Decimal("30250.00"),
    }
    bundle = resource(adjudicator.get("/fhir/ExplanationOfBenefit?patient=ACM-001"), 200, "Bundle")
    assert [e.resource.id for e in bundle.entry] == [made.id]
    bundle = resource(adjudicator.get(f"/fhir/ExplanationOfBenefit?claim=Claim/{made.id}"), 200, "Bundle")
    assert bundle.total == 1


def test_the_capability_statement_lists_the_claim_resources(client):  # noqa: F811
    statement = resource(client.get("/fhir/metadata"), 200, "CapabilityStatement")
    found = {r.type: r for r in statement.rest[0].resource}
    assert {i.code for i in found["Claim"].interaction} == {"read", "create"}
    assert {p.name for p in found["ClaimResponse"].searchParam} == {"request", "identifier", "patient", "outcome"}
    assert {p.name for p in found["ExplanationOfBenefit"].searchParam} == {"patient", "claim"}
    assert {p.name for p in found["PaymentReconciliation"].searchParam} == {"requestor", "created"}


@pytest.mark.parametrize(
    "path",
    ["/fhir/ClaimResponse/99999999999", "/fhir/ClaimResponse/0", "/fhir/Claim/pa-99999999999", "/fhir/Claim/١٢"],
)
def test_ids_out_of_range_are_404(clerk, path):
    assert_outcome(clerk.get(path), 404)


def test_an_overlong_identifier_is_refused_and_nothing_written(clerk, cw):  # noqa: F811
    claim = fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw), ident="X" * 121)
    outcome = assert_outcome(clerk.post_claim(claim), 422)
    assert expressions(outcome) == ["Claim.identifier[0]"] and counts()["Claim"] == 0


def test_a_page_of_claim_responses_costs_the_same_queries_for_2_or_6_claims(clerk, adjudicator, cw, count_queries):  # noqa: F811
    def search_cost() -> int:
        with count_queries() as counter:
            bundle = resource(adjudicator.get("/fhir/ClaimResponse?patient=ACM-001"), 200, "Bundle")
        return bundle.total, counter.count

    for _ in range(2):
        clerk.post_claim(fhir_claim([("CONSULT", 1, "2500.00")], day=yesterday(cw)))
    two = search_cost()
    for _ in range(4):
        clerk.post_claim(fhir_claim([("LAB-FBC", 1, "1200.00")], day=yesterday(cw)))
    six = search_cost()
    assert (two[0], six[0]) == (2, 6) and two[1] == six[1]


def test_a_draft_filed_on_api_v1_is_queued_for_its_provider_and_unseen_by_the_insurer(clerk, adjudicator, cw):  # noqa: F811
    draft = clerk.api(
        "POST",
        "/claims",
        {
            "member_number": "ACM-001",
            "institution_id": cw.hospital.id,
            "service_date": yesterday(cw).isoformat(),
            "items": [{"service_code": "CONSULT", "quantity": 1, "unit_price": "2500.00"}],
        },
    )
    answer = resource(clerk.get(f"/fhir/ClaimResponse/{draft['id']}"), 200, "ClaimResponse")
    assert (answer.outcome, answer.disposition) == ("queued", "Draft")
    assert [[a.category.coding[0].code for a in item.adjudication] for item in answer.item] == [["submitted"]]
    assert_outcome(adjudicator.get(f"/fhir/ClaimResponse/{draft['id']}"), 404)
