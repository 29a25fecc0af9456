"""The notification domain's part of the home page, for administrators: jobs that failed in the workers and
notifications that ran out of attempts (one query, and a look at the job queue when there is one)."""

from __future__ import annotations

from flask import current_app

from blueprints.notification.models import Status
from blueprints.notification.services.tracking import delivery_query
from blueprints.notification.services.workers import failed_jobs
from medcover.rbac import Tenant
from medcover.work import Waiting, counted, read_together


def _failed_jobs() -> Waiting:
    if not current_app.config.get("REDIS_URL"):
        return Waiting(0, note="No job queue is set up: jobs run inside the web process, so none wait here.")
    count = failed_jobs()
    if count is None:
        return Waiting(0, note="The job queue cannot be reached; changes are kept and their jobs wait.")
    return Waiting(count)


def work_waiting(tenant: Tenant, keys) -> dict[str, int | Waiting]:
    found: dict[str, int | Waiting] = {}
    if "undelivered_notifications" in keys:
        found |= read_together({"undelivered_notifications": counted(delivery_query(tenant, Status.DEAD.value))})
    if "unsure_notifications" in keys:
        found |= read_together({"unsure_notifications": counted(delivery_query(tenant, Status.UNSURE.value))})
    if "failed_jobs" in keys:
        found["failed_jobs"] = _failed_jobs()
    return found
