"""Background work: ``enqueue`` puts a job on RQ when REDIS_URL is set, else runs it inline after commit.

Either way nothing runs before the transaction that asked for it commits, so a job never sees
half-written data and a rolled-back request sends nothing. Jobs are named by import path, must be
idempotent, and are retried by RQ with backoff.
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from medcover import tracing
from medcover.context import Origin, current_origin, new_request_id, reset_origin, set_origin

log = logging.getLogger(__name__)

QUEUES = ("default", "notifications", "pdf", "adjudication", "reconciliation")
#: seconds a job of the queue may run before RQ stops it (RQ's own default, 180, elsewhere): a print run of
#: 2,000 invoices on one core takes up to twenty minutes
TIMEOUTS = {"pdf": 3600}
RETRY_INTERVALS = [10, 60, 300]
_PENDING = "medcover_pending_jobs"
_READY = "medcover_ready_jobs"


@dataclass
class JobRequest:
    path: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    #: seconds to wait before running; inline mode leaves delayed work to the sweepers
    delay: int = 0
    #: run in-process when Redis cannot take it: for work nothing else could redo later
    inline_fallback: bool = False
    #: the trace context of the request that asked (``traceparent``), continued by the job
    trace: dict[str, str] = field(default_factory=dict)


def _path_of(fn: Any) -> str:
    if isinstance(fn, str):
        return fn
    return f"{fn.__module__}:{fn.__qualname__}"


def _resolve(path: str):
    module, _, name = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def enqueue(fn, *args, queue: str = "default", delay: int = 0, inline_fallback: bool = False, **kwargs) -> None:
    """Run ``fn(*args, **kwargs)`` in the background once the current transaction commits.

    ``inline_fallback``: when Redis is unreachable, run it in this process instead of dropping it. For
    jobs whose arguments exist nowhere else (an email carrying a one-time link); work backed by a table
    (the outbox, notifications) is picked up by the sweepers instead.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    from medcover.extensions import db

    session = db.session()
    # Remember the innermost transaction that asked: a savepoint that rolls back takes its jobs with it.
    asked_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append(
        (asked_in, JobRequest(_path_of(fn), args, kwargs, queue, delay, inline_fallback, tracing.carrier()))
    )


def _within(transaction, ended) -> bool:
    """Whether ``transaction`` is ``ended`` or one of the savepoints inside it."""
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


#: periodic work: (import path, seconds, queue), run by ``flask scheduler``
PERIODIC: list[tuple[str, int, str]] = []


#: import path -> the setting that, when set, overrides its interval (short sweeps in tests, a busy site's choice)
INTERVAL_SETTINGS: dict[str, str] = {}


def every(seconds: int, fn, queue: str = "default", *, setting: str | None = None) -> None:
    """Run ``fn()`` every ``seconds`` (or every ``config[setting]`` seconds when that is set) on a worker
    (registered by domains at start-up)."""
    entry = (_path_of(fn), seconds, queue)
    if entry not in PERIODIC:
        PERIODIC.append(entry)
    if setting:
        INTERVAL_SETTINGS[entry[0]] = setting


def interval_of(path: str, seconds: int, config) -> int:
    setting = INTERVAL_SETTINGS.get(path)
    return int(config.get(setting) or seconds) if setting else seconds


def redis_connection():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"])


def _send_to_rq(job: JobRequest) -> None:
    from rq import Queue, Retry

    queue = Queue(job.queue, connection=redis_connection())
    retry, timeout = Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS), TIMEOUTS.get(job.queue)
    if job.delay:
        queue.enqueue_in(
            timedelta(seconds=job.delay),
            execute,
            job.path,
            job.args,
            job.kwargs,
            job.trace or None,
            retry=retry,
            job_timeout=timeout,
        )
    else:
        queue.enqueue(execute, job.path, job.args, job.kwargs, job.trace or None, retry=retry, job_timeout=timeout)


def install(session_class=Session) -> None:
    """Hook the ORM session: queued jobs leave at commit and are dropped at rollback."""

    @event.listens_for(session_class, "after_commit")
    def _after_commit(session):
        if session.in_nested_transaction():
            return  # a savepoint was released: its jobs wait for the transaction around it
        jobs = [job for _, job in session.info.pop(_PENDING, [])]
        if not jobs:
            return
        if has_app_context() and current_app.config.get("REDIS_URL"):
            for job in jobs:
                try:
                    _send_to_rq(job)
                except Exception:  # Redis down: the sweepers re-send what a table records
                    log.warning("could not enqueue job %s: Redis unreachable", job.path)
                    if job.inline_fallback:
                        session.info.setdefault(_READY, []).append(job)
        else:
            session.info.setdefault(_READY, []).extend(job for job in jobs if not job.delay)

    @event.listens_for(session_class, "after_soft_rollback")
    def _after_rollback(session, previous_transaction):
        if previous_transaction.parent is None:
            session.info.pop(_PENDING, None)
            return
        pending = session.info.get(_PENDING)
        if pending:  # a savepoint rolled back: only the jobs asked for inside it go
            pending[:] = [(asked_in, job) for asked_in, job in pending if not _within(asked_in, previous_transaction)]


def run_ready() -> int:
    """Run the inline jobs whose transaction has committed (embedded mode). Returns how many ran."""
    from medcover.extensions import db

    ran = 0
    while True:
        ready = db.session.info.pop(_READY, [])
        if not ready:
            return ran
        for job in ready:
            ran += 1
            try:
                _run(job.path, job.args, job.kwargs, job.trace)
            except Exception:
                log.exception("inline job %s failed", job.path)


def _run(path: str, args, kwargs, trace: dict | None = None) -> Any:
    from medcover import metrics
    from medcover.extensions import db

    started = time.perf_counter()
    origin = current_origin()
    with tracing.job_span(path, trace, origin.request_id if origin else ""):
        try:
            result = _resolve(path)(*args, **kwargs)
            db.session.commit()
        except Exception:
            db.session.rollback()
            metrics.job_ran(path, "failed", time.perf_counter() - started)
            raise
    metrics.job_ran(path, "done", time.perf_counter() - started)
    return result


def execute(path: str, args=(), kwargs=None, trace: dict | None = None) -> Any:
    """The function RQ runs: the job inside an app context, committed once, rolled back on error, continuing the
    trace of the request that queued it."""
    kwargs = kwargs or {}
    token = set_origin(Origin(request_id=new_request_id(), channel="job"))
    try:
        if has_app_context():
            return _run(path, args, kwargs, trace)
        from medcover.app import create_app

        with create_app().app_context():
            result = _run(path, args, kwargs, trace)
            run_ready()
            return result
    finally:
        reset_origin(token)
