"""Notifications delivered per second by ONE worker (``flask --app wsgi worker``) to a local SMTP server, beside
bare ``smtplib`` sending the same messages over one connection to the same server in the same run.

N email notifications are written by ``notification.services.send`` in one transaction (``write_s``); the clock
runs from that commit (which hands the delivery jobs, one per NOTIFY_BATCH_SIZE messages, to RQ) until the SMTP
server (aiosmtpd, in this process) has accepted all N. The limit: the same N messages (recipients, subjects,
bodies, Message-IDs read back from the database), built as ``EmailMessage`` bytes before its clock starts, then
sent with ``smtplib.SMTP.sendmail`` over one connection from a process of its own (as the worker is): the bare
transport, with nothing to read, render, build or record.

    .venv/bin/python -m bench.notifications [-n 2000] [--quick]

BENCH_DATABASE_URL names a PostgreSQL server (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
a database of the benchmark's own is created there and dropped afterwards. BENCH_REDIS_URL names a Redis
database the benchmark may empty (default redis://127.0.0.1:6379/12): it is flushed before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.platform.backing import scratch_database

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
N = 2000
QUICK_N = 500
WARMUP = 10
GOAL_RATE = 500  # emails/s per worker
GOAL_SHARE = 0.5  # of bare smtplib
GOAL = ">= 500 emails/s per worker and >= 50 %"
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
SECRET_KEY = "bench-notifications-secret-key-not-for-production"  # noqa: S105 - a throwaway site
CONTEXT = {
    "claim_number": "CL-2026-0042",
    "status": "approved",
    "total_billed": "1,500.00",
    "total_approved": "1,200.00",
    "member_number": "M-0042",
    "service_date": "2026-11-20",
}


class Counter:
    """aiosmtpd handler: accepts every message and counts it (nothing is parsed or kept). The waiting thread is
    woken once, when the count it waits for is reached, not at every message (that would compete with the server
    for this process)."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.count += len(envelope.rcpt_tos)
        if self.count >= self.target:
            with self.changed:
                self.changed.notify_all()
        return "250 2.0.0 Accepted"

    def wait_for(self, total: int, timeout: float) -> bool:
        with self.changed:
            self.target = total
            return self.changed.wait_for(lambda: self.count >= total, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _smtp() -> Iterator[tuple[int, Counter]]:
    from aiosmtpd.controller import Controller

    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, handler
    finally:
        controller.stop()


@contextmanager
def _redis_database(url: str) -> Iterator[str]:
    from redis import Redis

    Redis.from_url(url).flushdb()
    try:
        yield url
    finally:
        Redis.from_url(url).flushdb()


def _env(database_url: str, redis_url: str, smtp_port: int) -> dict[str, str]:
    config_names = set(
        re.findall(r'(?:environ\.get|_bool|_int|_list)\(\s*"([A-Z][A-Z0-9_]*)"', (REPO / "config.py").read_text())
    )
    env = {k: v for k, v in os.environ.items() if k not in config_names and not k.startswith("FLASK_")}
    env.update(
        {
            "MEDCOVER_ENV": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp_port),
            "SECRET_KEY": SECRET_KEY,
            "LOG_JSON": "true",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, from /proc/PID/stat; None once it is gone."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _descendants(pid: int) -> list[tuple[int, int]]:
    children: dict[int, list[tuple[int, int]]] = {}
    if Path("/proc").is_dir():
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (stat := _stat(int(entry.name))):
                children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child[0])
    return found


@contextmanager
def _worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """One ``flask worker``; stopped afterwards with everything it started (rq's work horses leave its
    process group, so they are found through /proc)."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "worker"],
            cwd=REPO,
            env=env,  # noqa: S603
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            below = _descendants(proc.pid)
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            for pid, started in below:  # a work horse still running, if it is still the same process
                if (stat := _stat(pid)) and stat[1] == started:
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)


def _wait_for_worker(proc: subprocess.Popen, redis_url: str, log_path: Path, timeout: float = 60) -> None:
    from redis import Redis
    from rq import Worker

    deadline = time.monotonic() + timeout
    while Worker.count(connection=Redis.from_url(redis_url)) == 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


def _send(app, count: int, prefix: str) -> tuple[float, float]:
    """Write ``count`` email notifications in one transaction. Returns (seconds ``send`` took to write them, the
    moment the commit, which hands their delivery jobs to RQ, began)."""
    from blueprints.notification import services
    from blueprints.notification.models import Channel
    from medcover.extensions import db

    with app.app_context():
        recipients = [services.Recipient(email=f"{prefix}{i}@bench.example", name=f"Reader {i}") for i in range(count)]
        started = time.perf_counter()
        rows = services.send("claim.decided", recipients, CONTEXT, [Channel.EMAIL])
        assert len(rows) == count
        committing = time.perf_counter()
        db.session.commit()
        db.session.remove()
    return committing - started, committing


BARE_SENDER = """
import json, smtplib, sys, time
from email.message import EmailMessage

port, rows = int(sys.argv[1]), json.load(open(sys.argv[2]))
ready = []
for address, subject, body, message_id in rows:  # built before the clock starts: the limit is the sending
    message = EmailMessage()
    message["From"] = "MedCover <no-reply@medcover.local>"
    message["To"] = address
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    ready.append((address, message.as_bytes()))
started = time.perf_counter()
with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
    for address, data in ready:
        smtp.sendmail("no-reply@medcover.local", [address], data)
print(time.perf_counter() - started)
"""


def _bare_smtplib(database_url: str, smtp_port: int, inbox: Counter, prefix: str, folder: Path) -> float:
    """Seconds bare smtplib takes to send the benchmark's messages again over one connection, in a process of its
    own as the worker is (the SMTP server runs in this one): built beforehand, then ``sendmail`` each."""
    import json

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT recipient_address, subject, body, provider_message_id FROM notifications"
                    " WHERE recipient_address LIKE :prefix ORDER BY id"
                ),
                {"prefix": f"{prefix}%"},
            ).all()
    finally:
        engine.dispose()
    messages = folder / "messages.json"
    messages.write_text(json.dumps([list(row) for row in rows]))
    before = inbox.count
    done = subprocess.run(
        [sys.executable, "-c", BARE_SENDER, str(smtp_port), str(messages)],  # noqa: S603
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    if not inbox.wait_for(before + len(rows), timeout=60):
        raise RuntimeError("bare smtplib: not every message arrived")
    return float(done.stdout.strip())


def measure(n: int) -> dict:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from medcover.app import create_app
    from medcover.extensions import db

    server_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS
    with (
        tempfile.TemporaryDirectory(prefix="medcover-bench-notify-") as tmp,
        scratch_database(server_url, "medcover_bench_notify") as database_url,
        _redis_database(redis_url),
        _smtp() as (smtp_port, inbox),
    ):
        env = _env(database_url, redis_url, smtp_port)
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=REPO,
            env=env,  # noqa: S603
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            raise RuntimeError(f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}")
        app = create_app(
            "development",
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "REDIS_URL": redis_url,
                "RATELIMIT_STORAGE_URI": "memory://",
                "SECRET_KEY": SECRET_KEY,
                "LOG_LEVEL": "WARNING",
            },
        )
        log_path = Path(tmp) / "worker.log"
        try:
            with _worker(env, log_path) as proc:
                _wait_for_worker(proc, redis_url, log_path)
                # Warm-up: the first jobs pay for imports and the first connections.
                _send(app, WARMUP, "warmup")
                if not inbox.wait_for(WARMUP, timeout=60):
                    raise RuntimeError(f"warm-up not delivered:\n{log_path.read_text(errors='replace')[-3000:]}")

                write_seconds, started = _send(app, n, "reader")
                if not inbox.wait_for(WARMUP + n, timeout=max(120, n)):
                    raise RuntimeError(
                        f"only {inbox.count - WARMUP} of {n} arrived:\n{log_path.read_text(errors='replace')[-3000:]}"
                    )
                seconds = time.perf_counter() - started
            bare_seconds = _bare_smtplib(database_url, smtp_port, inbox, "reader", Path(tmp))
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                sent = conn.execute(text("SELECT count(*) FROM notifications WHERE status = 'sent'")).scalar()
        finally:
            engine.dispose()
    figure, limit = n / seconds, n / bare_seconds
    return {
        "benchmark": "notifications",
        "work": "emails, 1 worker, local SMTP",
        "size": n,
        "figure": round(figure, 1),
        "unit": "emails/s",
        "limit": round(limit, 1),
        "of_limit": f"{figure / limit:.0%}".replace("%", " %"),
        "goal": GOAL,
        "met": "yes" if figure >= GOAL_RATE and figure >= GOAL_SHARE * limit else "no",
        "seconds": round(seconds, 2),
        "bare_s": round(bare_seconds, 2),
        "write_s": round(write_seconds, 2),
        "recorded_sent": sent - WARMUP,
    }


def run(quick: bool = False) -> list[dict]:
    """For ``python -m bench``: one row."""
    return [measure(QUICK_N if quick else N)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notifications", description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=None, help=f"messages to send (default {N}; {QUICK_N} with --quick)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N} messages")
    args = parser.parse_args(argv)
    n = args.n or (QUICK_N if args.quick else N)
    result = measure(n)
    print(
        f"{result['size']} notifications, 1 worker, local SMTP: {result['seconds']} s from commit -> "
        f"{result['figure']} emails/s; bare smtplib {result['bare_s']} s -> {result['limit']} emails/s "
        f"({result['of_limit']}; goal {result['goal']}: {result['met']}); written by send() in {result['write_s']} s"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
