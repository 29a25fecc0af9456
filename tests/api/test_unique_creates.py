"""Every create that takes a unique code or number: the same one twice is a 409 problem+json naming the field,
and the first record stays as it was (both passes of make test: SQLite, then PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.exceptions import HTTPException

from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_benefit, make_category, make_company, make_institution, make_scheme, make_user


def _company_world():
    return {"company": make_company(code="UQ-INS")}


def _scheme_world():
    company = make_company(code="UQ-INS")
    return {"company": company, "scheme": make_scheme(company), "benefit": make_benefit(code="UQ-BEN")}


def _hospital_world():
    return {"institution": make_institution(code="UQ-HOSP"), "benefit": make_benefit(code="UQ-BEN")}


#: (path, the world it needs, body from that world, the unique field)
CREATES = [
    ("/api/v1/companies", dict, lambda w: {"code": "FAMILY-PLUS", "name": "Family Plus"}, "code"),
    ("/api/v1/benefit-categories", dict, lambda w: {"code": "0", "name": "Zero"}, "code"),
    (
        "/api/v1/benefits",
        lambda: {"category": make_category(code="UQ-CAT")},
        lambda w: {"code": "UQ-DENTAL", "name": "Dental", "category_id": w["category"].id},
        "code",
    ),
    (
        "/api/v1/schemes",
        _company_world,
        lambda w: {"company_id": w["company"].id, "code": "GOLD", "name": "Gold"},
        "code",
    ),
    ("/api/v1/institutions", dict, lambda w: {"code": "UQ-CLINIC", "name": "Clinic"}, "code"),
    (
        "/api/v1/members",
        _company_world,
        lambda w: {
            "member_number": "UQ-000001",
            "first_name": "Amina",
            "last_name": "Otieno",
            "date_of_birth": "1990-04-01",
            "gender": "female",
            "company_id": w["company"].id,
        },
        "member_number",
    ),
    (
        "/api/v1/users",
        dict,
        lambda w: {
            "email": "twice@example.com",
            "full_name": "Twice",
            "role": "auditor",
            "password": "A-long-enough-pass-2026",
        },
        "email",
    ),
    (
        "/api/v1/tariffs",
        _hospital_world,
        lambda w: {
            "institution_id": w["institution"].id,
            "service_code": "UQ-XRAY",
            "description": "Chest X-ray",
            "benefit_code": w["benefit"].code,
            "unit_price": "1500.00",
            "effective_from": date.today().isoformat(),
        },
        "effective_from",  # a price list keeps one price per code and day: the day is what to change
    ),
    (
        "/api/v1/personnel",
        _hospital_world,
        lambda w: {
            "full_name": "Dr Wanjiru",
            "kind": "clinician",
            "department": "General",
            "licence_number": "UQ-LIC-1",
            "institution_id": w["institution"].id,
        },
        "licence_number",
    ),
    ("/api/v1/agents", _company_world, lambda w: {"code": "AG-UQ", "name": "Uniq Agency"}, "code"),
    (
        "/api/v1/patients",
        _hospital_world,
        lambda w: {
            "first_name": "Amina",
            "last_name": "Otieno",
            "date_of_birth": "1990-04-01",
            "gender": "female",
            "national_id": "UQ12345678",
            "institution_id": w["institution"].id,
        },
        "national_id",  # one registration per national id and hospital
    ),
    (
        "/api/v1/oauth/clients",
        _hospital_world,
        lambda w: {"name": "Lab gateway", "scopes": ["integration"], "institution_id": w["institution"].id},
        "name",  # one live client of a name per organisation (a webhook subscription has no unique value)
    ),
    (
        "/api/v1/payment-methods",
        _company_world,
        lambda w: {"kind": "bank_transfer", "label": "Main account"},
        "label",  # one method of a kind and name per hospital or insurer
    ),
    (
        "/api/v1/commission-rates",
        _scheme_world,
        lambda w: {"scheme_id": w["scheme"].id, "rate_percent": "7.5", "effective_from": "2026-01-01"},
        "effective_from",  # a scheme has one rate from a day: the day is what to change
    ),
    (
        "/api/v1/schemes/{scheme}/benefits",
        _scheme_world,
        lambda w: {"benefit_id": w["benefit"].id, "covered": True, "annual_limit": "50000.00"},
        "benefit_id",  # a benefit is in a scheme once, with one set of terms
    ),
]
#: what a duplicate answer adds beside the problem's own keys (the patient already registered, to open instead)
EXTENSIONS = {"/api/v1/patients": frozenset({"existing_patient"})}
#: creates that only a tenant's staff make (an insurer's finance officer manages its agents); the rest: an admin
CALLERS = {
    path: lambda w: make_user(Role.FINANCE_OFFICER, company_id=w["company"].id)
    for path in ("/api/v1/agents", "/api/v1/payment-methods", "/api/v1/commission-rates")
}


@pytest.mark.parametrize(
    ("path", "world", "body", "field"), CREATES, ids=[c[0].removeprefix("/api/v1/") for c in CREATES]
)
def test_the_same_unique_code_twice_is_a_409_naming_the_field(app, client, api_token, path, world, body, field):
    built = world()
    caller = CALLERS.get(path, lambda w: make_user(Role.ADMIN))(built)
    db.session.commit()
    headers = api_token(caller)
    sent = body(built)
    where = path.format(**{name: getattr(row, "id", row) for name, row in built.items()})

    first = client.post(where, json=sent, headers=headers)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = client.post(where, json={**sent, **_another_name(sent, field)}, headers=headers)

    problem = assert_problem(again, 409, EXTENSIONS.get(path, frozenset()))
    assert field in problem["errors"], problem
    one = f"{where}/{first.get_json()['id']}"
    if _readable(app, one):  # some records are read only in their list
        follow = client.get(one, headers=headers)
        assert follow.status_code == 200
        kept = follow.get_json()
        assert kept[field] == first.get_json()[field]
        changed = _another_name(sent, field)
        assert all(kept[key] == sent[key] for key in changed if key in kept), "the second one overwrote it"


def _readable(app, path: str) -> bool:
    try:
        app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return False
    return True


def _another_name(sent: dict, field: str) -> dict:
    """The second request differs in everything but the unique value, as a careless integrator's would."""
    for key in ("name", "full_name", "description"):
        if key in sent and key != field:
            return {key: sent[key] + " again"}
    return {}
