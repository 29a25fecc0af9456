"""What the background workers are doing, for the admins' jobs page: queues, running and failed jobs."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select

from blueprints.core import services as core
from blueprints.notification.models import Notification, Status
from medcover import jobs
from medcover.errors import Conflict, NotFound
from medcover.events import OutboxEvent
from medcover.extensions import db


@dataclass
class JobRow:
    id: str
    description: str
    status: str
    enqueued_at: str
    error: str = ""


@dataclass
class QueueInfo:
    name: str
    queued: int = 0
    started: int = 0
    scheduled: int = 0
    failed: int = 0
    failed_jobs: list[JobRow] = field(default_factory=list)


@dataclass
class Overview:
    mode: str  # "redis" or "inline"
    reachable: bool
    workers: int
    queues: list[QueueInfo]
    outbox_pending: int
    notifications_waiting: int


def _describe(job) -> str:
    args = job.args or ()
    return str(args[0]) if args else job.func_name


def jobs_overview() -> Overview:
    outbox = db.session.scalar(select(func.count()).where(OutboxEvent.dispatched_at.is_(None))) or 0
    waiting = (
        db.session.scalar(
            select(func.count()).where(Notification.status.in_((Status.QUEUED, Status.FAILED, Status.SENDING)))
        )
        or 0
    )
    if not current_app.config.get("REDIS_URL"):
        return Overview("inline", True, 0, [], outbox, waiting)
    from rq import Queue, Worker
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    try:
        connection = jobs.redis_connection()
        queues = []
        for name in jobs.QUEUES:
            queue = Queue(name, connection=connection)
            failed = FailedJobRegistry(queue=queue)
            info = QueueInfo(
                name,
                queued=len(queue),
                started=len(StartedJobRegistry(queue=queue)),
                scheduled=len(ScheduledJobRegistry(queue=queue)),
                failed=len(failed),
            )
            for job in queue.job_class.fetch_many(failed.get_job_ids(0, 19), connection=connection):
                if job is None:
                    continue
                error = (job.latest_result().exc_string if job.latest_result() else "") or ""
                info.failed_jobs.append(
                    JobRow(
                        job.id,
                        _describe(job),
                        job.get_status() or "failed",
                        job.enqueued_at.isoformat() if job.enqueued_at else "",
                        error.strip().splitlines()[-1][:300] if error else "",
                    )
                )
            queues.append(info)
        return Overview("redis", True, len(Worker.all(connection=connection)), queues, outbox, waiting)
    except Exception:  # Redis down: the page says so instead of failing
        return Overview("redis", False, 0, [], outbox, waiting)


def failed_jobs() -> int | None:
    """How many jobs sit in the workers' failed registries (the jobs page lists them per queue): 0 when jobs run
    inline (nothing is kept), None when the queue cannot be reached."""
    if not current_app.config.get("REDIS_URL"):
        return 0
    from rq import Queue
    from rq.registry import FailedJobRegistry

    try:
        connection = jobs.redis_connection()
        return sum(len(FailedJobRegistry(queue=Queue(name, connection=connection))) for name in jobs.QUEUES)
    except Exception:  # Redis down: the home page says so instead of failing
        return None


def retry_failed_job(queue_name: str, job_id: str, *, actor) -> None:
    if queue_name not in jobs.QUEUES or not current_app.config.get("REDIS_URL"):
        raise NotFound("No such queue.")
    from rq import Queue
    from rq.registry import FailedJobRegistry

    queue = Queue(queue_name, connection=jobs.redis_connection())
    registry = FailedJobRegistry(queue=queue)
    if job_id not in registry.get_job_ids():
        raise Conflict("That job is no longer failed.")
    registry.requeue(job_id)
    core.record_audit(actor, "retry", "job", job_id[:64], summary=f"queue {queue_name}")
