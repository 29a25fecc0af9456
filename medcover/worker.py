"""``flask worker``: an RQ worker for the app's queues, running jobs inside the app context."""

import click
from flask import current_app
from flask.cli import with_appcontext

from medcover.jobs import PERIODIC, QUEUES, execute, redis_connection


@click.command("worker")
@click.option("--queue", "-q", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Run a worker: rq's own Worker on the app's queues, with this app's configuration."""
    from rq import Queue, Worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker is needed.")
    connection = redis_connection()
    names = queues or QUEUES
    worker = Worker([Queue(name, connection=connection) for name in names], connection=connection)
    worker.work(burst=burst, with_scheduler=True)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Enqueue the periodic jobs (outbox and retry sweeps, reminders) on their schedule; run one per site."""
    from rq.cron import CronScheduler

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: there is no queue to schedule onto.")
    scheduler = CronScheduler(connection=redis_connection(), name="medcover")
    for path, seconds, queue in PERIODIC:
        scheduler.register(execute, queue, args=(path, (), {}), interval=seconds, name=path)
        click.echo(f"every {seconds:>5} s  {path}  ({queue})")
    scheduler.start()
