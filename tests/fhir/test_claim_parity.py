"""The ClaimResponse says what /api/v1/claims/{id} says, to the cent: for eight claims covering the rules (approved,
deductible and copay, A01, an A03 cut, R-rejections, partial, pending review, a manual M01/M02 decision), every
line's billed / allowed / deductible / copay / approved and reasons, the totals and the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from blueprints.insurance import services as insurance
from tests.claims.conftest import client, cw  # noqa: F401 - shared fixtures
from tests.factories import add_benefit, make_coverage, make_member, make_scheme
from tests.fhir.claims_world import Caller, fhir_claim
from tests.fhir.outcome import resource

#: FHIR adjudication category -> the API's line field
CATEGORY_FIELDS = {
    "submitted": "billed",
    "eligible": "allowed",
    "deductible": "deductible",
    "copay": "copay",
    "benefit": "approved",
}


@dataclass(frozen=True)
class Case:
    lines: list
    status: str
    #: a reason code the case exists for (on some line), or None for a clean approval
    code: str | None
    member: str = "ACM-001"
    #: manual decision sent to /api/v1 approve before comparing
    overrides: list | None = None


CASES = {
    "approved": Case([("LAB-FBC", 1, "1200.00")], "approved", None),
    "deductible-copay": Case([("CONSULT", 1, "2500.00")], "approved", None, member="ACM-SAV"),
    "a01-price-cut": Case([("LAB-FBC", 1, "1300.00")], "approved", "A01"),
    "a03-limit-cut": Case([("LAB-FBC", 3, "1200.00")], "approved", "A03"),
    "r-rejections": Case([("MRI-HEAD", 1, "30000.00"), ("NO-PRICE", 1, "100.00")], "rejected", "R07"),
    "partial": Case([("CONSULT", 1, "2500.00"), ("MRI-HEAD", 1, "30000.00")], "partially_approved", "R12"),
    "pending-review": Case([("SURGERY", 1, "80000.00")], "pending_review", None),
    "manual-m01-m02": Case(
        [("SURGERY", 1, "80000.00"), ("MRI-HEAD", 1, "30000.00")],
        "approved",
        "M02",
        overrides=[
            {"line_no": 1, "approved": "60000.00", "note": "Day surgery capped as agreed with the hospital"},
            {"line_no": 2, "approved": "30000.00", "note": "Emergency scan: pre-authorisation waived"},
        ],
    ),
}


@pytest.fixture
def saver_member(cw):  # noqa: F811
    """A member of a scheme with a 1,000.00 deductible and a 10% copay on outpatient care."""
    scheme = make_scheme(cw.company, code="SAVER", name="Saver", deductible=Decimal("1000.00"))
    add_benefit(scheme, insurance.benefit_by_code("OUTPATIENT"), copay_percent=Decimal("10"))
    member = make_member(cw.company, member_number="ACM-SAV", first_name="Achieng", last_name="Odhiambo")
    make_coverage(member, scheme, cw.today - timedelta(days=30), cw.today + timedelta(days=330))
    return member


def amounts(item) -> dict[str, Decimal]:
    return {a.category.coding[0].code: a.amount.value for a in item.adjudication}


def reasons(item) -> list[str]:
    benefit = [a for a in item.adjudication if a.category.coding[0].code == "benefit"]
    return [c.code for c in benefit[0].reason.coding] if benefit and benefit[0].reason else []


@pytest.mark.parametrize("name", list(CASES))
def test_the_claim_response_equals_the_api_to_the_cent(name, client, api_token, cw, saver_member):  # noqa: F811
    case = CASES[name]
    clerk, adjudicator = Caller(client, api_token(cw.clerk)), Caller(client, api_token(cw.adjudicator))
    day = cw.today - timedelta(days=1)
    made = resource(clerk.post_claim(fhir_claim(case.lines, member=case.member, day=day)), 201, "ClaimResponse")
    if case.overrides:
        adjudicator.api("POST", f"/claims/{made.id}/approve", {"overrides": case.overrides})
    fhir = resource(adjudicator.get(f"/fhir/ClaimResponse/{made.id}"), 200, "ClaimResponse")
    api = adjudicator.api("GET", f"/claims/{made.id}")

    assert api["status"] == case.status
    codes = {code for line in api["items"] for code in line["reason_codes"]}
    assert case.code in codes if case.code else not codes - {"M01"}
    assert fhir.outcome == ("queued" if case.status == "pending_review" else "complete")
    assert fhir.identifier[0].value == api["claim_number"]
    assert [item.itemSequence for item in fhir.item] == [line["line_no"] for line in api["items"]]
    for item, line in zip(fhir.item, api["items"], strict=True):
        assert amounts(item) == {category: Decimal(line[field]) for category, field in CATEGORY_FIELDS.items()}
        assert reasons(item) == line["reason_codes"]
    totals = {t.category.coding[0].code: t.amount.value for t in fhir.total}
    assert totals == {"submitted": Decimal(api["total_billed"]), "benefit": Decimal(api["total_approved"])}
    if name == "deductible-copay":
        assert (api["items"][0]["deductible"], api["items"][0]["copay"], api["total_approved"]) == (
            "1000.00",
            "150.00",
            "1350.00",
        )
    if case.overrides:
        assert [n.text for n in fhir.processNote] == [o["note"] for o in case.overrides]
        assert [item.noteNumber for item in fhir.item] == [[1], [2]]
