"""Two desks registering the same person at the same moment, on PostgreSQL with committed transactions: the
unique index stops the second, which is told who has the national id (409), never a second record or a 500."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from blueprints.core.models import User
from blueprints.hospital import services
from blueprints.hospital.models import Patient
from medcover.extensions import db
from medcover.rbac import Role
from tests.billing.test_concurrency import _race
from tests.factories import make_institution, make_user
from tests.platform.backing import scratch_app

pytestmark = [pytest.mark.services, pytest.mark.committed]

DESKS = 6


@pytest.fixture
def site():
    with scratch_app("medcover_hospital") as app:
        with app.app_context():
            hospital = make_institution("HA", "Hospital A")
            desks = [make_user(Role.RECEPTIONIST, institution_id=hospital.id) for _ in range(DESKS)]
            db.session.commit()
            ids = {"desks": [d.id for d in desks], "hospital": hospital.id}
        yield app, ids


def _register(desk_id: int, hospital_id: int, n: int):
    def job():
        details = services.PatientDetails(f"Person{n}", "Same", date(1990, 1, n + 1), "female", national_id="NID-777")
        return services.register_patient(
            actor=db.session.get(User, desk_id), institution_id=hospital_id, details=details
        )

    return job


def test_the_same_national_id_registered_at_once_makes_one_patient(site):
    app, ids = site
    results = _race(app, [_register(d, ids["hospital"], n) for n, d in enumerate(ids["desks"])])
    refused = [r for r in results if isinstance(r, services.DuplicatePatient)]
    assert len(refused) == DESKS - 1, results
    assert all(r.status == 409 for r in refused)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 1
