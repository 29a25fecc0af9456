"""Reading a FHIR Claim into MedCover's words (pure), and the providers' Claim identifiers held once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fhir.resources.R4B.claim import Claim

from blueprints.fhir import claim_ids
from blueprints.fhir.claim_ids import SentAs
from blueprints.fhir.claim_mapping import ClaimRefused, expression_for, read_claim
from tests.fhir.claims_world import fhir_claim

DAY = date(2026, 11, 30)


def parsed(**kw) -> Claim:
    return Claim.model_validate(fhir_claim([("CONSULT", 2, "2500.50"), ("LAB-FBC", 1, "1200.00")], day=DAY, **kw))


def test_a_claim_reads_as_member_provider_diagnoses_and_lines():
    asked = read_claim(parsed(ident="HA-1", preauth="pa-1a2b", total="6201.00"))
    assert (asked.use, asked.member_number, asked.institution_code) == ("claim", "ACM-001", "HA")
    assert asked.identifier == ("urn:oid:1.2.3.4.hospital-a.claims", "HA-1")
    assert (asked.service_date, asked.diagnosis_codes, asked.preauth_code) == (DAY, ["J06.9"], "PA-1A2B")
    assert [(line.service_code, line.quantity, line.unit_price) for line in asked.lines] == [
        ("CONSULT", 2, Decimal("2500.50")),
        ("LAB-FBC", 1, Decimal("1200.00")),
    ]
    assert asked.total == Decimal("6201.00")


def test_lines_of_two_days_are_two_claims():
    claim = parsed()
    claim.item[1].servicedDate = date(2026, 11, 29)
    with pytest.raises(ClaimRefused) as refused:
        read_claim(claim)
    assert (refused.value.status, refused.value.expression) == (422, "Claim.item[1].servicedDate")


@pytest.mark.parametrize(
    ("price", "status"),
    [("-1.00", 422), ("10.005", 422)],
)
def test_a_price_below_zero_or_with_part_cents_is_refused(price, status):
    claim = parsed()
    claim.item[0].unitPrice.value = Decimal(price)
    with pytest.raises(ClaimRefused) as refused:
        read_claim(claim)
    assert (refused.value.status, refused.value.expression) == (status, "Claim.item[0].unitPrice")


def test_the_claims_fields_name_their_elements():
    assert expression_for("items.2.quantity") == "Claim.item[2].quantity"
    assert expression_for("items.0.unit_price") == "Claim.item[0].unitPrice"
    assert expression_for("items.1.preauth_code") == "Claim.insurance[0].preAuthRef"
    assert expression_for("service_date") == "Claim.item[0].servicedDate"
    assert expression_for("member_number") == "Claim.patient.identifier"
    assert expression_for("something_else") == "Claim"


def test_an_identifier_is_held_once_per_provider(db_session):
    first = claim_ids.hold(1, "urn:x", "C-1", SentAs.CLAIM)
    assert first is not None
    assert claim_ids.hold(1, "urn:x", "C-1", SentAs.CLAIM) is None
    assert claim_ids.hold(2, "urn:x", "C-1", SentAs.CLAIM) is not None  # another provider's own numbering
    assert claim_ids.sent_before(1, "urn:x", "C-1") is None  # held, nothing made from it yet
    first.target_id = 42
    assert claim_ids.sent_before(1, "urn:x", "C-1") == claim_ids.Sent(SentAs.CLAIM, 42)
