"""Money moving at once, on PostgreSQL with committed transactions: one payment sent fifty times at the same
moment with one Idempotency-Key, through the real API view, records one payment; two refunds racing for the
last of a payment: one is taken, the other refused, and the refunds never exceed the payment."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.core.models import User
from blueprints.payment import services
from blueprints.payment.models import Payment, Refund
from medcover import clock
from medcover.api import PREFIX
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.idempotency import IdempotencyKey
from medcover.rbac import Role, Tenant
from tests.factories import PASSWORD, make_institution, make_patient, make_tariff, make_user
from tests.platform.backing import scratch_app

pytestmark = [pytest.mark.services, pytest.mark.committed]

SENDERS = 50


@pytest.fixture
def site():
    """A scratch database with an issued self-pay invoice of 2,500.00, its hospital's finance officer (and a
    colleague), and a cash payment of 1,000.00 on it already taken."""
    # Enough connections for the senders to overlap rather than queue for the pool.
    engine = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 30}
    with scratch_app("medcover_payment", SQLALCHEMY_ENGINE_OPTIONS=engine) as app:
        with app.app_context():
            hospital = make_institution(code="HA", name="Hospital A")
            patient = make_patient(hospital, first_name="Amani", last_name="Otieno")
            make_tariff(hospital, "CONSULT", "2500.00", effective_from=clock.today() - timedelta(days=365))
            officers = [make_user(Role.FINANCE_OFFICER, institution_id=hospital.id, company_id=None) for _ in range(2)]
            clerk = make_user(Role.BILLING_CLERK, institution_id=hospital.id)
            invoice = billing.create_invoice(
                actor=clerk,
                institution_id=hospital.id,
                patient_id=patient.id,
                lines=[billing.LineInput("CONSULT", 1)],
            )
            billing.issue_invoice(actor=clerk, invoice_id=invoice.id)
            payment = services.record_payment(
                actor=officers[0],
                values=services.PaymentInput(kind="invoice", reference_id=invoice.id, amount="1000.00", method="cash"),
            )
            db.session.commit()
            ids = {
                "invoice": invoice.id,
                "payment": payment.id,
                "officers": [o.id for o in officers],
                "email": officers[0].email,
            }
        yield app, ids


def _race(jobs):
    """Run each job in its own thread, all released at once; each job opens its own app context (a request
    through the test client pushes one of its own, as a server would)."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=20)
            results[index] = job()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_one_payment_sent_fifty_times_at_once_with_one_key_records_one_payment(site):
    app, ids = site
    login = app.test_client().post(f"{PREFIX}/auth/login", json={"email": ids["email"], "password": PASSWORD})
    assert login.status_code == 200, login.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}", "Idempotency-Key": "till-3-000917"}
    body = {"kind": "invoice", "reference_id": ids["invoice"], "amount": "1500.00", "method": "cash"}

    def send():
        response = app.test_client().post(f"{PREFIX}/payments", json=body, headers=headers)
        return response.status_code, response.get_json(), response.headers.get("Idempotent-Replayed")

    results = _race([send] * SENDERS)
    assert all(isinstance(r, tuple) for r in results), [r for r in results if not isinstance(r, tuple)]
    statuses = sorted({status for status, _, _ in results})
    assert set(statuses) <= {201, 409}, results
    created = [(answer, replayed) for status, answer, replayed in results if status == 201]
    assert created, results
    assert len({answer["id"] for answer, _ in created}) == 1
    replays = [replayed for _, replayed in created]
    assert replays.count(None) == 1 and replays.count("true") == len(created) - 1  # the first, then replays
    for status, answer, _ in results:
        if status == 409:
            assert answer["status"] == 409 and "still being processed" in answer["detail"]

    with app.app_context():
        new = db.session.scalars(select(Payment).where(Payment.amount == Decimal("1500.00"))).all()
        assert [p.id for p in new] == [created[0][0]["id"]]
        assert _count(Payment) == 2
        assert _count(IdempotencyKey) == 1
        summary = billing.invoice_summary(Tenant(None, None), ids["invoice"])
        assert (summary.paid, summary.status) == (Decimal("2500.00"), "paid")

    # Afterwards the key answers the first response again, and another body under it is refused.
    again = app.test_client().post(f"{PREFIX}/payments", json=body, headers=headers)
    assert (again.status_code, again.get_json()["id"], again.headers["Idempotent-Replayed"]) == (
        201,
        created[0][0]["id"],
        "true",
    )
    other = app.test_client().post(f"{PREFIX}/payments", json={**body, "amount": "1.00"}, headers=headers)
    assert other.status_code == 422


def _refund(officer_id: int, payment_id: int, amount: str, app):
    def job():
        with app.app_context():
            try:
                officer = db.session.get(User, officer_id)
                refund = services.request_refund(actor=officer, payment_id=payment_id, amount=amount, reason="Race")
                db.session.commit()
                return refund.amount
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return job


def test_two_refunds_racing_for_the_last_of_a_payment_one_is_taken_one_refused(site):
    app, ids = site
    with app.app_context():
        officer = db.session.get(User, ids["officers"][0])
        services.request_refund(actor=officer, payment_id=ids["payment"], amount="400.00", reason="First part")
        db.session.commit()
        db.session.remove()
    # 600.00 is left: each asks for all of it, at the same moment.
    results = _race([_refund(officer_id, ids["payment"], "600.00", app) for officer_id in ids["officers"]])
    assert sorted(type(r).__name__ for r in results) == ["Decimal", "Invalid"], results
    refused = next(r for r in results if isinstance(r, Invalid))
    assert "At most KES 0.00" in refused.errors["amount"][0]
    with app.app_context():
        refunded = db.session.scalar(select(func.sum(Refund.amount)).where(Refund.payment_id == ids["payment"]))
        assert refunded == Decimal("1000.00")
        assert _count(Refund) == 2
