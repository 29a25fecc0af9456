"""Helpers for the FHIR claim tests: a Claim as a hospital's system sends it, and callers with a user's token."""

from __future__ import annotations

import json
from datetime import date

from blueprints.fhir import systems

FHIR_JSON = "application/fhir+json"


def fhir_claim(
    lines,
    *,
    member: str = "ACM-001",
    day: date,
    use: str = "claim",
    ident: str | None = None,
    provider: str | None = "HA",
    diagnoses=("J06.9",),
    preauth: str | None = None,
    total: str | None = None,
) -> dict:
    """A FHIR Claim: ``lines`` are (service code, quantity, unit price as a string)."""
    member_ref = {"identifier": {"system": systems.MEMBER_NUMBER, "value": member}}
    insurance = {"sequence": 1, "focal": True, "coverage": {"identifier": dict(member_ref["identifier"])}}
    if preauth:
        insurance["preAuthRef"] = [preauth]
    claim = {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "use": use,
        "patient": member_ref,
        "created": day.isoformat(),
        "provider": {"identifier": {"system": systems.INSTITUTION_CODE, "value": provider}} if provider else {},
        "priority": {"coding": [{"code": "normal"}]},
        "diagnosis": [
            {"sequence": n, "diagnosisCodeableConcept": {"coding": [{"system": systems.ICD10, "code": code}]}}
            for n, code in enumerate(diagnoses, start=1)
        ],
        "insurance": [insurance],
        "item": [
            {
                "sequence": n,
                "productOrService": {"coding": [{"system": systems.SERVICE_CODE, "code": code}]},
                "servicedDate": day.isoformat(),
                "quantity": {"value": quantity},
                "unitPrice": {"value": price, "currency": "KES"},
            }
            for n, (code, quantity, price) in enumerate(lines, start=1)
        ],
    }
    if not diagnoses:
        del claim["diagnosis"]
    if ident:
        claim["identifier"] = [{"system": "urn:oid:1.2.3.4.hospital-a.claims", "value": ident}]
    if total:
        claim["total"] = {"value": total, "currency": "KES"}
    return claim


def raw(claim: dict) -> str:
    """The Claim as JSON text with its prices as JSON numbers (``"2500.00"`` -> ``2500.00``), as FHIR writes money."""
    text = json.dumps(claim)
    for item in claim.get("item", []):
        price = item.get("unitPrice", {}).get("value")
        if isinstance(price, str):
            text = text.replace(f'"value": "{price}"', f'"value": {price}')
    if claim.get("total"):
        text = text.replace(f'"value": "{claim["total"]["value"]}"', f'"value": {claim["total"]["value"]}')
    return text


class Caller:
    """One user's bearer token against /fhir and /api/v1."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def post_claim(self, claim: dict):
        return self.client.post("/fhir/Claim", data=raw(claim), headers={**self.headers, "Content-Type": FHIR_JSON})

    def get(self, path: str):
        return self.client.get(path, headers=self.headers)

    def api(self, method: str, path: str, body=None):
        response = self.client.open("/api/v1" + path, method=method, json=body, headers=self.headers)
        assert response.status_code < 300, response.get_data(as_text=True)[:800]
        return response.get_json()
