"""``flask worker`` and ``flask scheduler``: RQ's worker and cron scheduler for the app's queues, kept running
through Redis outages (they wait and reconnect with backoff instead of exiting), inside the app context."""

from __future__ import annotations

import contextlib
import logging
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


@click.command("worker")
@click.option("--queue", "-q", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run a worker: rq's own Worker on the app's queues, with this app's configuration; it outlives Redis
    outages (a worker that loses Redis mid-job starts again once Redis is back)."""
    from rq import Queue, Worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker is needed.")
    names = queues or QUEUES
    from medcover import metrics

    metrics.count_forks_as_this_process()

    def run() -> bool:
        connection = redis_connection()
        worker = Worker([Queue(name, connection=connection) for name in names], connection=connection)
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
