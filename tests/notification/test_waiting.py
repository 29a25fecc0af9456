"""The administrators' work waiting for the home page: notifications out of attempts (each tenant its own, in one
query) and jobs that failed in the workers (read from the job queue, which may be absent or unreachable)."""

from __future__ import annotations

import pytest

from blueprints.notification import services
from blueprints.notification.services import waiting
from medcover.rbac import Tenant
from medcover.work import Waiting
from tests import bulk
from tests.factories import make_company, make_institution

EVERYONE = Tenant(None, None)


def test_undelivered_notifications_are_those_out_of_attempts_of_the_tenant(db_session):
    hospital, other = make_institution(code="HA"), make_institution(code="HB")
    acme = make_company(code="ACME")
    bulk.notifications(2, institution_id=hospital.id)
    bulk.notifications(3, institution_id=other.id)
    bulk.notifications(1, company_id=acme.id)
    for status in ("failed", "queued", "delivered", "skipped"):  # failed: another attempt is scheduled
        bulk.notifications(1, status=status, institution_id=hospital.id)
    keys = {"undelivered_notifications"}
    assert services.work_waiting(EVERYONE, keys) == {"undelivered_notifications": 6}
    assert services.work_waiting(Tenant(hospital.id, None), keys) == {"undelivered_notifications": 2}
    assert services.work_waiting(Tenant(None, acme.id), keys) == {"undelivered_notifications": 1}


def test_the_count_is_one_query(db_session, count_queries):
    bulk.notifications(4)
    with count_queries() as counted:
        assert services.work_waiting(EVERYONE, {"undelivered_notifications"}) == {"undelivered_notifications": 4}
    assert counted.count == 1


def test_jobs_running_inline_keep_no_failures_and_the_home_says_why(app, db_session, count_queries):
    assert not app.config.get("REDIS_URL")
    assert services.failed_jobs() == 0
    with count_queries() as counted:
        found = services.work_waiting(EVERYONE, {"failed_jobs"})["failed_jobs"]
    assert counted.count == 0
    assert found.count == 0 and "jobs run inside the web process" in found.note


@pytest.mark.parametrize(
    ("failed", "count", "note"),
    [(4, 4, ""), (0, 0, ""), (None, 0, "The job queue cannot be reached; changes are kept and their jobs wait.")],
)
def test_failed_jobs_come_from_the_job_queue_when_there_is_one(app, db_session, monkeypatch, failed, count, note):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setattr(waiting, "failed_jobs", lambda: failed)
    assert services.work_waiting(EVERYONE, {"failed_jobs"}) == {"failed_jobs": Waiting(count, note=note)}


def test_an_unreachable_job_queue_is_none_not_an_error(app, db_session, monkeypatch):
    from medcover import jobs

    def refuse():
        raise ConnectionError("Redis is down")

    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(jobs, "redis_connection", refuse)
    assert services.failed_jobs() is None
