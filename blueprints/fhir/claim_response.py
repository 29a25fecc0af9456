"""A claim as the claims domain decided it, as FHIR resources: the ``ClaimResponse`` (FHIR.md: outcome,
disposition in words, per item the adjudication categories submitted / eligible / deductible / copay / benefit
with the reasons, totals, payment once paid, the adjudicators' notes) and the ``Claim`` it answers. The same
numbers as ``/api/v1/claims/{id}``, to the cent: both read the claim's stored lines. Pure: it builds from a
``ClaimView`` that ``claim_reads`` assembles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse

from blueprints.fhir import refs, systems
from blueprints.fhir.types import identifier, literal_ref, logical_ref, money
from medcover.labels import label

CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
#: statuses still waiting for a decision: ClaimResponse.outcome ``queued``; every other one is ``complete``
QUEUED = ("draft", "submitted", "pending_review")
#: the adjudication categories of a line, in order, with the line's amount each one carries
#: reasons that concern the claim as a whole: who and when (R01-R03) and what sent it to review
CLAIM_LEVEL = ("R01", "R02", "R03", "V01", "V02", "V03", "S01")
CATEGORIES = (("submitted", "billed"), ("eligible", "allowed"), ("deductible", "deductible"), ("copay", "copay"))


@dataclass(frozen=True)
class Party:
    """An organisation named in a resource: the provider (an institution) or the insurer, referred to as this
    server's ``Organization`` with its code as identifier."""

    system: str
    id: int
    code: str
    name: str

    def ref(self):
        if self.system == systems.INSURER_CODE:
            return refs.insurer_ref(self.id, self.code, self.name)
        return refs.institution_ref(self.id, self.code, self.name)


@dataclass(frozen=True)
class ClaimView:
    """Everything a claim's FHIR resources show, read through the services."""

    #: the claim as ``claims.claim_row`` reads it, and its lines (``claims.items_of``)
    claim: object
    items: list
    provider: Party
    #: None: the member number is nobody's, so no insurer (the claim was rejected R01)
    insurer: Party | None
    currency: str
    #: reason code -> words (the engine's table)
    reasons: dict[str, str]
    #: the day of the last payment on the claim, once one stands
    paid_on: date | None = None
    #: the adjudicators' claim-level notes (a manual rejection's reason ...), oldest first
    notes: list[str] = field(default_factory=list)
    #: the provider's own identifier of the Claim it sent to /fhir (system, value)
    sent_as: tuple[str, str] | None = None


def concept(system: str, code: str, display: str | None = None) -> dict:
    return {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}


def when(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def outcome_of(status: str) -> str:
    return "queued" if status in QUEUED else "complete"


def disposition(view: ClaimView) -> str:
    """The status in words, with the claim-level reasons (R01-R03, review triggers); line reasons are the items'."""
    claim = view.claim
    words = label(str(claim.status))
    reasons = [view.reasons.get(code, code) for code in claim.reason_codes or () if code in CLAIM_LEVEL]
    return f"{words}: {' '.join(reasons)}" if reasons else words


def reason_concept(codes, reasons: dict[str, str]) -> dict | None:
    """The line's reason codes as one concept: a coding per code (adjudication-reason system), the words as text."""
    if not codes:
        return None
    return {
        "coding": [{"system": systems.ADJUDICATION_REASON, "code": c, "display": reasons.get(c, c)} for c in codes],
        "text": "; ".join(reasons.get(c, c) for c in codes),
    }


def adjudication(item, view: ClaimView) -> list[dict]:
    """A line's amounts by adjudication category; undecided lines carry what was billed only. The reasons (and the
    decision in words) ride on the ``benefit`` entry, the amount the insurer approved."""
    amount = {category: getattr(item, name) for category, name in CATEGORIES}
    if item.decision is None:
        return [_category("submitted", amount["submitted"], view.currency)]
    entries = [_category(category, value, view.currency) for category, value in amount.items()]
    benefit = _category("benefit", item.approved, view.currency)
    reason = reason_concept(item.reason_codes, view.reasons)
    if reason is not None:
        benefit["reason"] = reason
    entries.append(benefit)
    return entries


def _category(code: str, amount, currency: str) -> dict:
    return {"category": concept(systems.ADJUDICATION, code), "amount": money(amount, currency)}


def total(code: str, amount, currency: str) -> dict:
    """A ``total[]`` entry: the claim's amount of one adjudication category."""
    return _category(code, amount, currency)


def item_notes(view: ClaimView) -> list[tuple[int, str]]:
    """(line number, note) of the lines an adjudicator decided with a note (M01, M02, M03)."""
    return [(item.line_no, item.note) for item in view.items if item.note]


def process_notes(view: ClaimView) -> list[dict]:
    notes = [text for _, text in item_notes(view)] + list(view.notes)
    return [{"number": n, "type": "display", "text": text} for n, text in enumerate(notes, start=1)]


def claim_items(view: ClaimView) -> list[dict]:
    numbered = {line_no: n for n, (line_no, _) in enumerate(item_notes(view), start=1)}
    items = []
    for item in view.items:
        entry = {"itemSequence": item.line_no, "adjudication": adjudication(item, view)}
        if item.line_no in numbered:
            entry["noteNumber"] = [numbered[item.line_no]]
        items.append(entry)
    return items


def payment(view: ClaimView) -> dict | None:
    claim = view.claim
    if not claim.total_paid or claim.total_paid <= 0:
        return None
    kind = "complete" if claim.total_paid >= claim.total_approved else "partial"
    found = {"type": concept(PAYMENT_TYPE, kind), "amount": money(claim.total_paid, view.currency)}
    if view.paid_on is not None:
        found["date"] = view.paid_on.isoformat()
    return found


def insurer_ref(view: ClaimView):
    if view.insurer is None:
        return {"display": "No insurer: no member has this member number"}
    return view.insurer.ref()


def claim_response(view: ClaimView) -> ClaimResponse:
    claim = view.claim
    status = str(claim.status)
    found = {
        "resourceType": "ClaimResponse",
        "id": str(claim.id),
        "identifier": [identifier(systems.CLAIM_NUMBER, claim.claim_number)],
        "status": "cancelled" if status == "void" else "active",
        "type": concept(CLAIM_TYPE, "institutional"),
        "use": "claim",
        "patient": logical_ref(systems.MEMBER_NUMBER, claim.member_number),
        "created": when(claim.decided_at or claim.submitted_at or claim.created_at),
        "insurer": insurer_ref(view),
        "requestor": view.provider.ref(),
        "request": literal_ref("Claim", claim.id),
        "outcome": outcome_of(status),
        "disposition": disposition(view),
        "item": claim_items(view),
        "total": [
            total("submitted", claim.total_billed, view.currency),
            total("benefit", claim.total_approved, view.currency),
        ],
        "payment": payment(view),
        "processNote": process_notes(view) or None,
    }
    return ClaimResponse.model_validate({k: v for k, v in found.items() if v not in (None, [])})


def claim_resource(view: ClaimView) -> Claim:
    """The claim as a FHIR Claim: what the provider sent (or filed through /api/v1), nothing decided."""
    claim = view.claim
    identifiers = [identifier(systems.CLAIM_NUMBER, claim.claim_number)]
    if view.sent_as is not None:
        identifiers.insert(0, identifier(*view.sent_as))
    member = logical_ref(systems.MEMBER_NUMBER, claim.member_number)
    found = {
        "resourceType": "Claim",
        "id": str(claim.id),
        "identifier": identifiers,
        "status": "cancelled" if str(claim.status) == "void" else "active",
        "type": concept(CLAIM_TYPE, "institutional"),
        "use": "claim",
        "patient": member,
        "created": when(claim.created_at),
        "insurer": view.insurer.ref() if view.insurer else None,
        "provider": view.provider.ref(),
        "priority": concept(PROCESS_PRIORITY, "normal"),
        "diagnosis": [
            {"sequence": n, "diagnosisCodeableConcept": concept(systems.ICD10, code)}
            for n, code in enumerate(claim.diagnosis_codes or [], start=1)
        ]
        or None,
        "insurance": [{"sequence": 1, "focal": True, "coverage": member}],
        "item": [
            {
                "sequence": item.line_no,
                "productOrService": concept(systems.SERVICE_CODE, item.service_code),
                "servicedDate": claim.service_date.isoformat(),
                "quantity": {"value": item.quantity},
                "unitPrice": money(item.unit_price, view.currency),
                "net": money(item.billed, view.currency),
            }
            for item in view.items
        ],
        "total": money(claim.total_billed, view.currency),
    }
    preauths = sorted({item.preauth_code for item in view.items if item.preauth_code})
    if preauths:
        found["insurance"][0]["preAuthRef"] = preauths
    return Claim.model_validate({k: v for k, v in found.items() if v is not None})
