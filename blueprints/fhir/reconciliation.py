"""A settlement as a ``PaymentReconciliation``: the insurer paid a provider the approved claims of a period in
one batch, one ``detail`` per claim paid (the claim, its ClaimResponse, the payment's number and amount)."""

from __future__ import annotations

from dataclasses import dataclass

from fhir.resources.R4B.paymentreconciliation import PaymentReconciliation

from blueprints.fhir.claim_response import Party, concept, when
from blueprints.fhir.types import identifier, literal_ref, money
from medcover.labels import label

PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/payment-type"
#: the settlement's and each payment's own number (STL-2026-000007, PAY-2026-000031)
SETTLEMENT_NUMBER = "urn:medcover:settlement-number"
PAYMENT_NUMBER = "urn:medcover:payment-number"


@dataclass(frozen=True)
class PaidClaim:
    claim_id: int
    claim_number: str | None
    payment_number: str | None
    amount: object


@dataclass(frozen=True)
class SettlementView:
    #: the settlement as ``payment.get_settlement`` reads it
    settlement: object
    paid: list[PaidClaim]
    provider: Party
    insurer: Party
    currency: str


def payment_reconciliation(view: SettlementView) -> PaymentReconciliation:
    row = view.settlement
    method = label(str(row.method)).lower()
    found = {
        "resourceType": "PaymentReconciliation",
        "id": str(row.id),
        "identifier": [identifier(SETTLEMENT_NUMBER, row.number)] if row.number else None,
        "status": "active",
        "period": {"start": row.period_start.isoformat(), "end": row.period_end.isoformat()},
        "created": when(row.created_at),
        "paymentIssuer": view.insurer.ref(),
        "requestor": view.provider.ref(),
        "outcome": "complete",
        "disposition": f"{row.claims} {'claim' if row.claims == 1 else 'claims'} of {row.period_start.isoformat()} "
        f"to {row.period_end.isoformat()} paid by {method}",
        "paymentDate": row.paid_on.isoformat(),
        "paymentAmount": money(row.total, view.currency),
        "paymentIdentifier": {"value": row.reference} if row.reference else None,
        "detail": [
            {
                "identifier": identifier(PAYMENT_NUMBER, paid.payment_number) if paid.payment_number else None,
                "type": concept(PAYMENT_TYPE, "payment"),
                "request": literal_ref("Claim", paid.claim_id, paid.claim_number),
                "response": literal_ref("ClaimResponse", paid.claim_id),
                "submitter": view.provider.ref(),
                "payee": view.provider.ref(),
                "date": row.paid_on.isoformat(),
                "amount": money(paid.amount, view.currency),
            }
            for paid in view.paid
        ]
        or None,
    }
    found["detail"] = [{k: v for k, v in d.items() if v is not None} for d in found["detail"] or []] or None
    return PaymentReconciliation.model_validate({k: v for k, v in found.items() if v is not None})
