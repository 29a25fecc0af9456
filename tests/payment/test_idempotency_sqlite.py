"""The embedded default: six identical payments sent at once with one Idempotency-Key on SQLite (a file, as
`make run` has it) record one payment; the others are replays of it or 409 "still being processed", never 500."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.payment.models import Payment
from medcover import clock
from medcover.api import PREFIX
from medcover.app import create_app
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import PASSWORD, make_institution, make_patient, make_tariff, make_user
from tests.payment.test_concurrency import _race

pytestmark = [pytest.mark.committed]

SENDERS = 6


@pytest.fixture
def site(tmp_path):
    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'medcover.db'}"})
    with app.app_context():
        upgrade()
        hospital = make_institution(code="HA", name="Hospital A")
        patient = make_patient(hospital, first_name="Amani", last_name="Otieno")
        make_tariff(hospital, "CONSULT", "2500.00", effective_from=clock.today() - timedelta(days=365))
        officer = make_user(Role.FINANCE_OFFICER, institution_id=hospital.id, company_id=None)
        clerk = make_user(Role.BILLING_CLERK, institution_id=hospital.id)
        invoice = billing.create_invoice(
            actor=clerk, institution_id=hospital.id, patient_id=patient.id, lines=[billing.LineInput("CONSULT", 1)]
        )
        billing.issue_invoice(actor=clerk, invoice_id=invoice.id)
        db.session.commit()
        ids = {"invoice": invoice.id, "email": officer.email}
    try:
        yield app, ids
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_six_identical_payments_at_once_on_sqlite_record_one_and_never_answer_500(site):
    app, ids = site
    login = app.test_client().post(f"{PREFIX}/auth/login", json={"email": ids["email"], "password": PASSWORD})
    assert login.status_code == 200, login.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}", "Idempotency-Key": "till-1-000042"}
    body = {"kind": "invoice", "reference_id": ids["invoice"], "amount": "2500.00", "method": "cash"}

    def send():
        response = app.test_client().post(f"{PREFIX}/payments", json=body, headers=headers)
        return response.status_code, response.get_json()

    results = _race([send] * SENDERS)
    assert all(isinstance(r, tuple) for r in results), results
    assert {status for status, _ in results} <= {201, 409}, results
    created = {answer["id"] for status, answer in results if status == 201}
    assert len(created) == 1, results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
        assert db.session.scalar(select(Payment.amount)) == Decimal("2500.00")
