"""The FHIR tests' world: two insurers, a scheme with its benefit terms, members covered and not, a
hospital with a patient and a tariff; and ``fhir(user)``, a client calling /fhir with the user's token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import (
    add_benefit,
    make_benefit,
    make_company,
    make_coverage,
    make_institution,
    make_member,
    make_patient,
    make_scheme,
    make_tariff,
    make_user,
)

DAY = "2026-04-10"


@pytest.fixture
def world():
    a = make_company("AAR", "Afya Assurance")
    b = make_company("BRT", "Bima Trust")
    opd = make_benefit("OPD", "Outpatient")
    mat = make_benefit("MAT", "Maternity")
    dental = make_benefit("DENTAL", "Dental")
    gold = make_scheme(a, code="GOLD", name="Gold A", deductible=Decimal("500.00"), annual_limit=Decimal("200000.00"))
    add_benefit(
        gold,
        opd,
        annual_limit=Decimal("50000.00"),
        per_visit_limit=Decimal("5000.00"),
        copay_percent=Decimal("10.00"),
        copay_fixed=Decimal("200.00"),
        max_visits=12,
    )
    add_benefit(gold, mat, requires_preauth=True, waiting_period_days=30)
    add_benefit(gold, dental, covered=False)
    silver = make_scheme(b, code="SILVER", name="Silver B")
    add_benefit(silver, opd, annual_limit=Decimal("10000.00"))
    covered = make_member(a, member_number="A-0001", first_name="Amani", last_name="Wanjiru")
    lapsed = make_member(a, member_number="A-0002", first_name="Baraka", last_name="Mwangi")
    other = make_member(b, member_number="B-0001", first_name="Chebet", last_name="Kiprop")
    cover = make_coverage(covered, gold, date(2026, 1, 1), date(2026, 12, 31))
    old = make_coverage(lapsed, gold, date(2025, 1, 1), date(2025, 12, 31), status="lapsed")
    cover_b = make_coverage(other, silver, date(2026, 1, 1), date(2026, 12, 31))
    hospital = make_institution("NRB", "Nairobi West Hospital")
    other_hospital = make_institution("MSA", "Mombasa Clinic")
    patient = make_patient(
        hospital, first_name="Amani", last_name="Wanjiru", member_number="A-0001", national_id="12345678"
    )
    stranger = make_patient(other_hospital, first_name="Amani", last_name="Wanjiru")
    make_tariff(hospital, "CONSULT", "1500.00", benefit_code="OPD")
    make_tariff(hospital, "ANC-VISIT", "2500.00", benefit_code="MAT")
    make_tariff(hospital, "FILLING", "3000.00", benefit_code="DENTAL")
    db.session.commit()
    return World(**{name: value for name, value in locals().items() if name in World.__annotations__})


@dataclass
class World:
    a: object
    b: object
    opd: object
    mat: object
    gold: object
    silver: object
    covered: object
    lapsed: object
    other: object
    cover: object
    old: object
    cover_b: object
    hospital: object
    other_hospital: object
    patient: object
    stranger: object


class FhirClient:
    def __init__(self, client, headers):
        self.client = client
        self.headers = headers

    def get(self, path: str, **kwargs):
        return self.client.get(f"/fhir{path}", headers=self.headers, **kwargs)

    def post(self, path: str, body=None, *, data=None, content_type: str = "application/fhir+json"):
        import json

        raw = data if data is not None else json.dumps(body)
        return self.client.post(f"/fhir{path}", data=raw, headers={**self.headers, "Content-Type": content_type})


@pytest.fixture
def fhir(client, api_token, world):
    """``fhir(role, **tenant)`` -> a FhirClient for a new user of that role (tenant: the world's defaults)."""

    def as_role(role: Role, **tenant) -> FhirClient:
        if not tenant:
            if role in (Role.RECEPTIONIST, Role.BILLING_CLERK):
                tenant = {"institution_id": world.hospital.id}
            elif role in (Role.ADJUDICATOR, Role.FINANCE_OFFICER):
                tenant = {"company_id": world.a.id}
            else:
                tenant = {"institution_id": None, "company_id": None}
        user = make_user(role, **tenant)
        db.session.commit()
        return FhirClient(client, api_token(user))

    return as_role


@pytest.fixture
def make_app(app):
    """``make_app(**config)`` -> a new app with those settings, sharing the test's database transaction."""
    from medcover.app import create_app
    from tests.conftest import CsrfClient

    def build(**overrides):
        fresh = create_app("test", overrides)
        fresh.test_client_class = CsrfClient
        return fresh

    return build
