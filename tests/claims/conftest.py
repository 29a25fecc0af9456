"""Claims fixtures: a provider (Hospital A) with a price list; an insurer whose Gold scheme pays outpatient
care with a 10% copay, lab tests up to 3,000.00 a year, MRI only with a pre-authorisation, and sends claims
of 50,000.00 or more to review; a second insurer and hospital for tenant checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

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
class ClaimsWorld:
    hospital: object
    other_hospital: object
    company: object
    other_company: object
    scheme: object
    member: object
    other_member: object
    patient: object
    clerk: object
    other_clerk: object
    adjudicator: object
    other_adjudicator: object
    today: date


@pytest.fixture
def cw(db_session) -> ClaimsWorld:
    today = clock.today()
    hospital = make_institution(code="HA", name="Hospital A")
    other_hospital = make_institution(code="HB", name="Hospital B")
    company = make_company(code="ACME", name="Acme Insurance")
    other_company = make_company(code="ZEN", name="Zenith Assurance")
    category = make_category(code="MED", name="Medical")
    outpatient = make_benefit(code="OUTPATIENT", name="Outpatient", category=category)
    lab = make_benefit(code="LAB", name="Laboratory", category=category)
    mri = make_benefit(code="MRI", name="MRI scans", category=category)
    # The claims tests bill one member's services on nearby days; a score of 100 keeps S01 (suspect duplicate) out
    # of them. S01 has tests of its own (test_review_triggers*.py).
    scheme = make_scheme(
        company, code="GOLD", name="Gold", review_threshold=Decimal("50000.00"), duplicate_score_threshold=100
    )
    add_benefit(scheme, outpatient, copay_percent=Decimal("10"))
    add_benefit(scheme, lab, annual_limit=Decimal("3000.00"))
    add_benefit(scheme, mri, requires_preauth=True)
    member = make_member(company, member_number="ACM-001", first_name="Wanjiru", last_name="Kamau")
    make_coverage(member, scheme, today - timedelta(days=60), today + timedelta(days=300))
    other_scheme = make_scheme(other_company, code="BASIC", name="Basic")
    add_benefit(other_scheme, outpatient)
    other_member = make_member(other_company, member_number="ZEN-001", first_name="Otieno", last_name="Ochieng")
    make_coverage(other_member, other_scheme, today - timedelta(days=60), today + timedelta(days=300))
    for institution in (hospital, other_hospital):
        make_tariff(institution, "CONSULT", "2500.00", benefit_code="OUTPATIENT", description="GP consultation")
        make_tariff(institution, "LAB-FBC", "1200.00", benefit_code="LAB", description="Full blood count")
        make_tariff(institution, "MRI-HEAD", "30000.00", benefit_code="MRI", description="MRI head")
        make_tariff(institution, "SURGERY", "80000.00", benefit_code="OUTPATIENT", description="Day surgery")
    patient = make_patient(hospital, first_name="Wanjiru", last_name="Kamau", member_number="ACM-001")
    return ClaimsWorld(
        hospital=hospital,
        other_hospital=other_hospital,
        company=company,
        other_company=other_company,
        scheme=scheme,
        member=member,
        other_member=other_member,
        patient=patient,
        clerk=make_user(Role.BILLING_CLERK, institution_id=hospital.id),
        other_clerk=make_user(Role.BILLING_CLERK, institution_id=other_hospital.id),
        adjudicator=make_user(Role.ADJUDICATOR, company_id=company.id),
        other_adjudicator=make_user(Role.ADJUDICATOR, company_id=other_company.id),
        today=today,
    )
