"""A FHIR client library (fhirpy) files claims against a live gunicorn: a claim decided with a deductible and a
copay, the same Claim sent again (200, still one claim), a pre-authorisation asked for, approved and quoted, and
after the insurer's settlement the ExplanationOfBenefit and the PaymentReconciliation. The world is made through
/api/v1 by an administrator; every FHIR answer is validated with fhir.resources' R4B models."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.claimresponse import ClaimResponse
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit
from fhir.resources.R4B.paymentreconciliation import PaymentReconciliation
from fhirpy import SyncFHIRClient

from blueprints.fhir import systems
from medcover import clock
from tests.live_server import WebServer, app_env, flask

pytestmark = pytest.mark.contract

PASSWORD = "Journey-Passw0rd-2026!"
ADMIN = "fhir-admin@journey.example"


@pytest.fixture
def db_session():
    """This test talks to a server process, not to the in-process test database."""
    yield None


class Api:
    """/api/v1 with one user's token (urllib: the world's setup is not the FHIR client's business)."""

    def __init__(self, base: str, email: str):
        self.base = base
        self.token = None
        self.token = self.call("POST", "/auth/login", {"email": email, "password": PASSWORD})["access_token"]

    def call(self, method: str, path: str, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - an http URL of the test's own server
            f"{self.base}/api/v1{path}",
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the test's own server
                return json.load(answer)
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()[:600]}") from None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fhir-claims-journey")
    env = app_env(
        DATABASE_URL=f"sqlite:///{tmp / 'fhir.db'}",
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(tmp / "mail"),
        UPLOAD_DIR=str(tmp / "uploads"),
        SECRET_KEY="fhir-claims-journey-secret-key-not-for-production",
        MEDCOVER_PASSWORD=PASSWORD,
    )
    flask("db", "upgrade", env=env)
    flask("users", "create", ADMIN, "--role", "admin", env=env)
    web = WebServer(env=env, log_path=tmp / "gunicorn.log", workers=1)
    try:
        web.wait_ready(timeout=60)
        yield web, build(web.url)
    finally:
        web.stop()


def build(base: str) -> dict:
    """An insurer (a 500.00 deductible, 10% copay on outpatient care, MRI only with a pre-authorisation), a member
    covered today, a hospital with its price list, and the accounts: the hospital's integration, the insurer's
    adjudicator and finance officer."""
    admin = Api(base, ADMIN)
    today = clock.today()
    company = admin.call("POST", "/companies", {"code": "JRN", "name": "Journey Insurance"})
    category = admin.call("POST", "/benefit-categories", {"code": "JMED", "name": "Medical"})
    outpatient = admin.call("POST", "/benefits", {"code": "JOUT", "name": "Outpatient", "category_id": category["id"]})
    mri = admin.call("POST", "/benefits", {"code": "JMRI", "name": "MRI scans", "category_id": category["id"]})
    scheme = admin.call(
        "POST", "/schemes", {"company_id": company["id"], "code": "JSAVER", "name": "Saver", "deductible": "500.00"}
    )
    admin.call("POST", f"/schemes/{scheme['id']}/benefits", {"benefit_id": outpatient["id"], "copay_percent": "10"})
    admin.call("POST", f"/schemes/{scheme['id']}/benefits", {"benefit_id": mri["id"], "requires_preauth": True})
    member = {"member_number": "JRN-0001", "first_name": "Njeri", "last_name": "Mwangi", "gender": "female"}
    admin.call("POST", "/members", {**member, "date_of_birth": "1988-04-12", "company_id": company["id"]})
    admin.call(
        "POST",
        "/coverages",
        {
            "member_number": "JRN-0001",
            "scheme_id": scheme["id"],
            "start_date": (today - timedelta(days=30)).isoformat(),
            "end_date": (today + timedelta(days=300)).isoformat(),
        },
    )
    hospital = admin.call("POST", "/institutions", {"code": "JH", "name": "Journey Hospital"})
    for code, benefit, price in (("CONSULT", "JOUT", "2000.00"), ("MRI-HEAD", "JMRI", "20000.00")):
        admin.call(
            "POST",
            "/tariffs",
            {
                "institution_id": hospital["id"],
                "service_code": code,
                "description": code.title(),
                "benefit_code": benefit,
                "unit_price": price,
                "effective_from": (today - timedelta(days=60)).isoformat(),
            },
        )
    accounts = {
        "integration": {"institution_id": hospital["id"]},
        "adjudicator": {"company_id": company["id"]},
        "finance_officer": {"company_id": company["id"]},
    }
    for role, tenant in accounts.items():
        email = f"{role}@journey.example"
        admin.call("POST", "/users", {"email": email, "full_name": role, "role": role, "password": PASSWORD, **tenant})
    return {"hospital_id": hospital["id"], "today": today}


def fhir_client(base: str, role: str) -> SyncFHIRClient:
    return SyncFHIRClient(f"{base}/fhir", authorization=f"Bearer {Api(base, f'{role}@journey.example').token}")


def claim(lines, *, use: str = "claim", ident: str | None = None, preauth: str | None = None, day) -> dict:
    member = {"identifier": {"system": systems.MEMBER_NUMBER, "value": "JRN-0001"}}
    insurance = {"sequence": 1, "focal": True, "coverage": member, **({"preAuthRef": [preauth]} if preauth else {})}
    return {
        "resourceType": "Claim",
        **({"identifier": [{"system": "urn:oid:2.16.840.1.113883.99.7.claims", "value": ident}]} if ident else {}),
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "use": use,
        "patient": member,
        "created": day.isoformat(),
        "provider": {"identifier": {"system": systems.INSTITUTION_CODE, "value": "JH"}},
        "priority": {"coding": [{"code": "normal"}]},
        "diagnosis": [
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": systems.ICD10, "code": "J06.9"}]}}
        ],
        "insurance": [insurance],
        "item": [
            {
                "sequence": n,
                "productOrService": {"coding": [{"system": systems.SERVICE_CODE, "code": code}]},
                "servicedDate": day.isoformat(),
                "quantity": {"value": 1},
                "unitPrice": {"value": price, "currency": "KES"},
            }
            for n, (code, price) in enumerate(lines, start=1)
        ],
    }


def post(fhir: SyncFHIRClient, body: dict) -> tuple[ClaimResponse, int]:
    data, status = fhir._do_request("post", "Claim", data=body, returning_status=True)
    return ClaimResponse.model_validate(data), status


def amounts(item) -> dict[str, Decimal]:
    return {a.category.coding[0].code: a.amount.value for a in item.adjudication}


def test_a_fhir_client_files_claims_and_reads_decisions_and_settlements(world):
    web, facts = world
    day = facts["today"] - timedelta(days=1)
    hospital = fhir_client(web.url, "integration")

    statement = CapabilityStatement.model_validate(hospital.execute("metadata", method="get"))
    offered = {entry.type for entry in statement.rest[0].resource}
    assert {"Claim", "ClaimResponse", "ExplanationOfBenefit", "PaymentReconciliation"} <= offered

    # a claim decided with the deductible (500.00) and the 10% copay on the rest (150.00): 1,350.00 approved
    # (two days before the MRI below: the same provider, day and diagnosis would score 65, a suspect duplicate, S01)
    sent = claim([("CONSULT", 2000.00)], ident="JH-2026-0001", day=day - timedelta(days=2))
    decided, status = post(hospital, sent)
    assert status == 201 and decided.outcome == "complete" and decided.disposition == "Approved"
    assert amounts(decided.item[0]) == {
        "submitted": Decimal("2000.00"),
        "eligible": Decimal("2000.00"),
        "deductible": Decimal("500.00"),
        "copay": Decimal("150.00"),
        "benefit": Decimal("1350.00"),
    }

    # the same Claim again: 200, the same answer, still one claim
    again, status = post(hospital, sent)
    assert status == 200 and again == decided
    number = decided.identifier[0].value
    found = hospital.resources("ClaimResponse").search(identifier=f"{systems.CLAIM_NUMBER}|{number}").fetch_all()
    assert [r.id for r in found] == [decided.id]
    assert len(hospital.resources("ClaimResponse").search(patient="JRN-0001").fetch_all()) == 1

    # a pre-authorisation: queued until the insurer approves it, then its code lets the MRI through
    asked, status = post(hospital, claim([("MRI-HEAD", 20000.00)], use="preauthorization", ident="JH-PA-1", day=day))
    assert status == 201 and (asked.use, asked.outcome, asked.preAuthRef) == ("preauthorization", "queued", None)
    adjudicator = Api(web.url, "adjudicator@journey.example")
    adjudicator.call("POST", f"/preauthorizations/{asked.id.removeprefix('pa-')}/approve", {})
    approved = ClaimResponse.model_validate(hospital.reference("ClaimResponse", asked.id).to_resource().serialize())
    assert approved.outcome == "complete" and approved.preAuthRef
    mri, status = post(hospital, claim([("MRI-HEAD", 20000.00)], preauth=approved.preAuthRef, day=day))
    assert status == 201 and mri.outcome == "complete" and amounts(mri.item[0])["benefit"] == Decimal("20000.00")

    # the insurer settles the provider's approved claims: 1,350.00 + 20,000.00
    finance = Api(web.url, "finance_officer@journey.example")
    settlement = finance.call(
        "POST",
        "/settlements",
        {
            "institution_id": facts["hospital_id"],
            "period_start": (day - timedelta(days=7)).isoformat(),
            "period_end": facts["today"].isoformat(),
            "method": "bank_transfer",
            "reference": "FT-JOURNEY-1",
        },
    )
    insurer = fhir_client(web.url, "finance_officer")
    reconciliations = insurer.resources("PaymentReconciliation").search(requestor="JH").fetch_all()
    assert [r.id for r in reconciliations] == [str(settlement["id"])]
    paid = PaymentReconciliation.model_validate(reconciliations[0].serialize())
    assert paid.paymentAmount.value == Decimal("21350.00")
    assert sorted(d.request.reference for d in paid.detail) == sorted([f"Claim/{decided.id}", f"Claim/{mri.id}"])

    eobs = fhir_client(web.url, "adjudicator").resources("ExplanationOfBenefit").search(claim=f"Claim/{decided.id}")
    eob = ExplanationOfBenefit.model_validate(eobs.fetch_all()[0].serialize())
    assert eob.disposition == "Paid" and eob.payment.amount.value == Decimal("1350.00")
    assert amounts(eob.item[0])["deductible"] == Decimal("500.00")
