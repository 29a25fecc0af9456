"""Hospital page fixtures: the per-request client (each request in its own app context and session, so a test
sees exactly what a request committed) and a small world: two hospitals, a clinician each, an insured member."""

from __future__ import annotations

from datetime import timedelta

import pytest

from medcover import clock
from tests.core.conftest import RequestScopedClient
from tests.factories import make_company, make_coverage, make_institution, make_member, make_personnel, make_scheme


@pytest.fixture
def client(app):
    return RequestScopedClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def hospital():
    return make_institution(code="HA", name="Hospital A")


@pytest.fixture
def other_hospital():
    return make_institution(code="HB", name="Hospital B")


@pytest.fixture
def clinician(hospital):
    return make_personnel(hospital, full_name="Dr Achieng Odhiambo", department="Outpatient", specialty="GP")


@pytest.fixture
def insured():
    """A member with cover today, and one whose cover has lapsed."""
    company = make_company(code="ACME", name="Acme Insurance")
    scheme = make_scheme(company, code="GOLD", name="Gold")
    today = clock.today()
    covered = make_member(company, member_number="ACM-001", first_name="Wanjiru", last_name="Kamau")
    make_coverage(covered, scheme, today - timedelta(days=30), today + timedelta(days=300))
    lapsed = make_member(company, member_number="ACM-002", first_name="Baraka", last_name="Mutua")
    make_coverage(lapsed, scheme, today - timedelta(days=400), today - timedelta(days=40))
    return {"covered": covered, "lapsed": lapsed, "scheme": scheme}
