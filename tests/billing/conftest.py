"""Billing fixtures: two hospitals with price lists, an insurer whose Gold scheme covers outpatient care
with a 10% copay and lab tests in full up to 3,000.00, an insured and a self-paying patient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

from blueprints.billing import services as billing
from medcover import clock
from medcover.rbac import Role
from tests.core.conftest import RequestScopedClient
from tests.factories import (
    add_benefit,
    make_benefit,
    make_category,
    make_company,
    make_coverage,
    make_institution,
    make_member,
    make_patient,
    make_scheme,
    make_tariff,
    make_user,
)


@pytest.fixture
def client(app):
    return RequestScopedClient(app, app.response_class, use_cookies=True)


@dataclass
class World:
    hospital: object
    other_hospital: object
    company: object
    other_company: object
    scheme: object
    insured: object
    self_pay: object
    other_patient: object
    clerk: object
    other_clerk: object


@pytest.fixture
def world(db_session) -> World:
    hospital = make_institution(code="HA", name="Hospital A")
    other_hospital = make_institution(code="HB", name="Hospital B")
    company = make_company(code="ACME", name="Acme Insurance")
    other_company = make_company(code="ZEN", name="Zenith Assurance")
    category = make_category(code="MED", name="Medical")
    outpatient = make_benefit(code="OUTPATIENT", name="Outpatient", category=category)
    lab = make_benefit(code="LAB", name="Laboratory", category=category)
    make_benefit(code="DENTAL", name="Dental", category=category)
    scheme = make_scheme(company, code="GOLD", name="Gold")
    add_benefit(scheme, outpatient, copay_percent=Decimal("10"))
    add_benefit(scheme, lab, annual_limit=Decimal("3000.00"))
    today = clock.today()
    member = make_member(company, member_number="ACM-001", first_name="Wanjiru", last_name="Kamau")
    make_coverage(member, scheme, today - timedelta(days=30), today + timedelta(days=300))
    insured = make_patient(
        hospital, first_name="Wanjiru", last_name="Kamau", member_number="ACM-001", email="wanjiru@example.com"
    )
    self_pay = make_patient(hospital, first_name="Baraka", last_name="Mutua")
    other_patient = make_patient(other_hospital, first_name="Zawadi", last_name="Njeri")
    for institution in (hospital, other_hospital):
        make_tariff(institution, "CONSULT", "2500.00", benefit_code="OUTPATIENT", description="GP consultation")
        make_tariff(institution, "LAB-FBC", "1200.00", benefit_code="LAB", description="Full blood count")
        make_tariff(institution, "DENT-X", "800.00", benefit_code="DENTAL", description="Dental X-ray")
    return World(
        hospital,
        other_hospital,
        company,
        other_company,
        scheme,
        insured,
        self_pay,
        other_patient,
        make_user(Role.BILLING_CLERK, institution_id=hospital.id),
        make_user(Role.BILLING_CLERK, institution_id=other_hospital.id),
    )


@pytest.fixture
def day() -> date:
    return clock.today()


@pytest.fixture
def letterhead(world):
    world.hospital.address = "Hospital Road 1, Nairobi"
    world.hospital.phone = "+254700000001"
    billing.update_settings(
        actor=world.clerk,
        institution_id=world.hospital.id,
        values=billing.SettingsInput(
            "HA",
            bank_name="Equity Bank",
            bank_account="0123456789",
            bank_branch="Upper Hill",
            payment_instructions="M-Pesa paybill 123456, account = invoice number.",
        ),
    )
    return world.hospital


@pytest.fixture
def prints(app, monkeypatch, tmp_path):
    """Batch prints go to a folder of the test's own."""
    monkeypatch.setitem(app.config, "PRINT_DIR", str(tmp_path / "prints"))
    return tmp_path / "prints"
