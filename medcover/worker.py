"""``flask worker`` and ``flask scheduler``: RQ's worker and cron scheduler for the app's queues, kept running
through Redis outages (they wait and reconnect with backoff instead of exiting), inside the app context.

The worker forks for some jobs and not for others, on purpose (``Worker``). RQ's own worker forks a work horse
for every job: a crash or a leak dies with the horse, at the price of a fork, fresh database connections and
cold caches for each job. That suits the heavy jobs (a print run's WeasyPrint layout, a month-end adjudication):
their memory goes back with the horse, a crash in C code takes only the horse. The jobs of the ``notifications``
queue are many, short and I/O-bound (delivery batches, the sweeps, single emails), written to survive a lost
worker (claims under a lease, see blueprints.notification.jobs); there the fork was most of the work (the
issue measured 4.5-8 emails/s). They run in the worker's own process, as RQ's SimpleWorker does, each in an app
context of its own (its own database session), with the worker's connection pool and compiled templates kept
warm; RQ's job time-out still applies (the same SIGALRM death penalty as in a horse).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable

import click
from flask import current_app
from flask.cli import with_appcontext

from medcover.jobs import PERIODIC, QUEUES, execute, interval_of, redis_connection

log = logging.getLogger(__name__)


def wait_for_redis(what: str, *, first_wait: float = 1.0) -> None:
    """Block until Redis answers a PING, waiting 1, 2, 4 ... seconds (at most REDIS_RECONNECT_MAX_SECONDS)."""
    ceiling = float(current_app.config.get("REDIS_RECONNECT_MAX_SECONDS") or 30)
    wait = min(first_wait, ceiling)
    while True:
        try:
            redis_connection().ping()
            return
        except Exception as exc:  # ConnectionError, TimeoutError, a Redis still loading its data ...
            log.warning(
                "%s: Redis unreachable, trying again in %.0f s", what, wait, extra={"error": type(exc).__name__}
            )
            time.sleep(wait)
            wait = min(wait * 2, ceiling)


def keep_running(what: str, run: Callable[[], bool]) -> None:
    """Call ``run()`` until it says it is finished (True: stopped on request, or a burst is done). When it
    returns False or raises (Redis went away under it), wait for Redis and start it again."""
    while True:
        wait_for_redis(what)
        try:
            if run():
                return
            log.warning("%s stopped without being asked to: starting again once Redis answers", what)
        except Exception:
            log.warning("%s lost Redis: starting again once it answers", what, exc_info=True)
        time.sleep(1)


#: queues whose jobs run in the worker's own process (no fork per job); see the module's docstring
IN_PROCESS_QUEUES = frozenset({"notifications"})


def _worker_class():
    from rq import Worker as RqWorker
    from rq.worker import SimpleWorker, WorkerStatus

    class Worker(RqWorker):
        """RQ's forking worker, except for the jobs of ``IN_PROCESS_QUEUES``, which it runs itself."""

        app = None  # set before work starts: the app whose fresh context each in-process job gets

        def execute_job(self, job, queue):
            if queue.name not in IN_PROCESS_QUEUES:
                return super().execute_job(job, queue)
            execution = self.prepare_execution(job)
            with self.app.app_context():  # a session of its own, removed when the job ends
                self.perform_job(job, queue, execution)
            self.set_state(WorkerStatus.IDLE)
            return None

        def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
            if job.origin in IN_PROCESS_QUEUES:  # no horse monitor beats for it: cover the whole job
                return SimpleWorker.get_heartbeat_ttl(self, job, working_time)
            return super().get_heartbeat_ttl(job, working_time)

    return Worker


def _forget_connections_in_children() -> None:
    """The worker now holds database connections of its own (the in-process jobs'): a forked horse must not use
    them (two processes on one socket), so the child drops the pool it inherited and opens its own."""
    from medcover.extensions import db

    engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


@click.command("worker")
@click.option("--queue", "-q", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run a worker: rq's own Worker on the app's queues, with this app's configuration; it outlives Redis
    outages (a worker that loses Redis mid-job starts again once Redis is back)."""
    from rq import Queue

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker is needed.")
    names = queues or QUEUES
    from medcover import metrics

    metrics.count_forks_as_this_process()
    _forget_connections_in_children()
    worker_class = _worker_class()
    worker_class.app = current_app._get_current_object()

    def run() -> bool:
        connection = redis_connection()
        worker = worker_class([Queue(name, connection=connection) for name in names], connection=connection)
        # Round robin: a queue kept busy (the sweeps, a big print) never starves the others (notifications).
        worker.work(burst=burst, with_scheduler=True, dequeue_strategy="round_robin")
        # rq's loop ends on a stop request, on a finished burst, and on any error it meets (Redis gone).
        return burst or bool(getattr(worker, "_stop_requested", False))

    from rq.exceptions import StopRequested

    try:
        keep_running("worker", run)
    except StopRequested:  # a signal while waiting for Redis
        return


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Enqueue the periodic jobs (outbox and retry sweeps, reminders) on their schedule; run one per site. It
    outlives Redis outages."""
    from rq.cron import CronScheduler
    from rq.exceptions import StopRequested

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: there is no queue to schedule onto.")
    for path, seconds, queue in PERIODIC:
        click.echo(f"every {interval_of(path, seconds, current_app.config):>5} s  {path}  ({queue})")

    def run() -> bool:
        scheduler = CronScheduler(connection=redis_connection(), name="medcover")
        for path, seconds, queue in PERIODIC:
            interval = interval_of(path, seconds, current_app.config)
            scheduler.register(execute, queue, args=(path, (), {}), interval=interval, name=path)
        with contextlib.suppress(StopRequested):
            scheduler.start()  # returns on SIGTERM / SIGINT; raises when Redis goes away
        return True

    try:
        keep_running("scheduler", run)
    except StopRequested:  # a signal while waiting for Redis
        return
