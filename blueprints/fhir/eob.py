"""A claim and its decision as an ``ExplanationOfBenefit`` (the insurer's side, for members' statements): what
was billed per line, the adjudication of each line as the ClaimResponse gives it, what the member owes and what
the insurer approved and paid. Pure: built from the same ``ClaimView`` as the ClaimResponse."""

from __future__ import annotations

from decimal import Decimal

from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from blueprints.fhir import systems
from blueprints.fhir.claim_response import (
    CLAIM_TYPE,
    ClaimView,
    adjudication,
    concept,
    disposition,
    insurer_ref,
    outcome_of,
    payment,
    process_notes,
    total,
    when,
)
from blueprints.fhir.types import identifier, literal_ref, logical_ref, money

#: the member's share of the claim (allowed less approved, or billed on a rejected line): HL7's adjudication
#: categories have none for it, so this total is named in words only
MEMBER_SHARE = {"text": "What the member owes"}


def explanation_of_benefit(view: ClaimView) -> ExplanationOfBenefit:
    claim = view.claim
    status = str(claim.status)
    member = logical_ref(systems.MEMBER_NUMBER, claim.member_number)
    member_share = sum((item.member_responsibility for item in view.items), start=Decimal("0.00"))
    found = {
        "resourceType": "ExplanationOfBenefit",
        "id": str(claim.id),
        "identifier": [identifier(systems.CLAIM_NUMBER, claim.claim_number)],
        "status": "cancelled" if status == "void" else "active",
        "type": concept(CLAIM_TYPE, "institutional"),
        "use": "claim",
        "patient": member,
        "billablePeriod": {"start": claim.service_date.isoformat(), "end": claim.service_date.isoformat()},
        "created": when(claim.decided_at or claim.submitted_at or claim.created_at),
        "insurer": insurer_ref(view),
        "provider": view.provider.ref(),
        "claim": literal_ref("Claim", claim.id),
        "claimResponse": literal_ref("ClaimResponse", claim.id),
        "outcome": outcome_of(status),
        "disposition": disposition(view),
        "diagnosis": [
            {"sequence": n, "diagnosisCodeableConcept": concept(systems.ICD10, code)}
            for n, code in enumerate(claim.diagnosis_codes or [], start=1)
        ]
        or None,
        "insurance": [{"focal": True, "coverage": member}],
        "item": [
            {
                "sequence": item.line_no,
                "productOrService": concept(systems.SERVICE_CODE, item.service_code),
                "servicedDate": claim.service_date.isoformat(),
                "quantity": {"value": item.quantity},
                "unitPrice": money(item.unit_price, view.currency),
                "net": money(item.billed, view.currency),
                "adjudication": adjudication(item, view),
            }
            for item in view.items
        ],
        "total": [
            total("submitted", claim.total_billed, view.currency),
            total("benefit", claim.total_approved, view.currency),
            {
                "category": MEMBER_SHARE,
                "amount": money(member_share, view.currency),
            },
        ],
        "payment": payment(view),
        "processNote": process_notes(view) or None,
    }
    return ExplanationOfBenefit.model_validate({k: v for k, v in found.items() if v is not None})
