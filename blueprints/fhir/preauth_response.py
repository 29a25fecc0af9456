"""A pre-authorisation request as FHIR: the ``ClaimResponse`` of a Claim sent with ``use`` preauthorization
(``queued`` while the insurer has not decided; ``complete`` with ``preAuthRef``, the code to quote on the claim,
once approved) and the ``Claim`` it answers. Ids are ``pa-<id>``, apart from the claims' numeric ones."""

from __future__ import annotations

from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.claimresponse import ClaimResponse

from blueprints.fhir import systems
from blueprints.fhir.claim_reads import PreauthView
from blueprints.fhir.claim_response import CLAIM_TYPE, PROCESS_PRIORITY, concept, when
from blueprints.fhir.types import identifier, literal_ref, logical_ref

PREFIX = "pa-"
DISPOSITIONS = {
    "requested": "Requested: waiting for the insurer's decision",
    "approved": "Approved: quote the pre-authorisation code on the claim",
    "declined": "Declined by the insurer",
}


def preauth_id(view: PreauthView) -> str:
    return f"{PREFIX}{view.id}"


def parse_preauth_id(resource_id: str) -> int | None:
    """The pre-authorisation's id in ``pa-<id>``, or None when the id is a claim's."""
    rest = resource_id[len(PREFIX) :] if resource_id.startswith(PREFIX) else ""
    return int(rest) if rest.isascii() and rest.isdigit() and 1 <= int(rest[:11]) <= 2**31 - 1 else None


def _period(view: PreauthView) -> dict:
    return {"start": view.valid_from.isoformat(), "end": view.valid_to.isoformat()}


def _provider(view: PreauthView):
    return view.provider.ref() if view.provider else {"display": "Recorded by the insurer"}


def preauth_response(view: PreauthView) -> ClaimResponse:
    found = {
        "resourceType": "ClaimResponse",
        "id": preauth_id(view),
        "status": "active",
        "type": concept(CLAIM_TYPE, "institutional"),
        "use": "preauthorization",
        "patient": logical_ref(systems.MEMBER_NUMBER, view.member_number),
        "created": when(view.created_at),
        "insurer": view.insurer.ref(),
        "requestor": _provider(view),
        "request": literal_ref("Claim", preauth_id(view)),
        "outcome": "queued" if view.status == "requested" else "complete",
        "disposition": f"{DISPOSITIONS.get(view.status, view.status)} ({view.benefit_name})",
        "preAuthPeriod": _period(view),
    }
    if view.status == "approved":
        found["preAuthRef"] = view.code
    if view.notes:
        found["processNote"] = [{"number": 1, "type": "display", "text": view.notes}]
    return ClaimResponse.model_validate(found)


def preauth_claim(view: PreauthView) -> Claim:
    """The request as a Claim (``use`` preauthorization): the member, the benefit asked for, the period."""
    member = logical_ref(systems.MEMBER_NUMBER, view.member_number)
    identifiers = [identifier(*view.sent_as)] if view.sent_as else []
    return Claim.model_validate(
        {
            "resourceType": "Claim",
            "id": preauth_id(view),
            "identifier": identifiers or None,
            "status": "active",
            "type": concept(CLAIM_TYPE, "institutional"),
            "use": "preauthorization",
            "patient": member,
            "billablePeriod": _period(view),
            "created": when(view.created_at),
            "insurer": view.insurer.ref(),
            "provider": _provider(view),
            "priority": concept(PROCESS_PRIORITY, "normal"),
            "insurance": [{"sequence": 1, "focal": True, "coverage": member}],
            "item": [
                {
                    "sequence": 1,
                    "category": concept(systems.BENEFIT, view.benefit_code, view.benefit_name),
                    "productOrService": concept(systems.BENEFIT, view.benefit_code, view.benefit_name),
                }
            ],
        }
    )
