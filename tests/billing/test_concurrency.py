"""Invoice numbers under concurrent issuing, on PostgreSQL with committed transactions: clerks issuing
at the same moment never share a number and leave no gap; one draft issued twice at once is issued once."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select

from blueprints.billing import services
from blueprints.billing.models import Invoice, InvoiceSequence
from blueprints.core.models import User
from medcover.errors import Conflict
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import make_institution, make_patient, make_tariff, make_user
from tests.platform.backing import scratch_app

pytestmark = [pytest.mark.services, pytest.mark.committed]

CLERKS = 8


@pytest.fixture
def site():
    with scratch_app("medcover_billing") as app:
        with app.app_context():
            hospital = make_institution(code="HA", name="Hospital A")
            patient = make_patient(hospital, first_name="Amani", last_name="Otieno")
            make_tariff(hospital, "CONSULT", "2500.00", effective_from=date(2020, 1, 1))
            clerks = [make_user(Role.BILLING_CLERK, institution_id=hospital.id) for _ in range(CLERKS)]
            drafts = [
                services.create_invoice(
                    actor=clerk,
                    institution_id=hospital.id,
                    patient_id=patient.id,
                    lines=[services.LineInput("CONSULT", 1)],
                ).id
                for clerk in clerks
            ]
            db.session.commit()
            ids = {"clerks": [c.id for c in clerks], "drafts": drafts, "hospital": hospital.id}
        yield app, ids


def _race(app, jobs):
    """Run each job in its own thread, app context and database session, all released at once."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results[index] = job()
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _issue(clerk_id: int, invoice_id: int):
    def job():
        clerk = db.session.get(User, clerk_id)
        return services.issue_invoice(actor=clerk, invoice_id=invoice_id).number

    return job


def test_clerks_issuing_at_once_get_distinct_numbers_without_gaps(site):
    app, ids = site
    results = _race(app, [_issue(c, d) for c, d in zip(ids["clerks"], ids["drafts"], strict=True)])
    assert all(isinstance(r, str) for r in results), results
    assert sorted(results) == [f"INV-HA-{n:06d}" for n in range(1, CLERKS + 1)], results
    with app.app_context():
        numbers = db.session.scalars(select(Invoice.number).where(Invoice.id.in_(ids["drafts"]))).all()
        assert sorted(numbers) == sorted(results)
        sequence = db.session.get(InvoiceSequence, (ids["hospital"], "INV"))
        assert sequence.next_number == CLERKS + 1


def test_one_draft_issued_twice_at_once_is_issued_once_and_uses_one_number(site):
    app, ids = site
    draft = ids["drafts"][0]
    results = _race(app, [_issue(ids["clerks"][0], draft), _issue(ids["clerks"][1], draft)])
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "str"], results
    assert [r for r in results if isinstance(r, str)] == ["INV-HA-000001"]
    assert isinstance(next(r for r in results if not isinstance(r, str)), Conflict)
    with app.app_context():
        assert db.session.get(InvoiceSequence, (ids["hospital"], "INV")).next_number == 2
