"""Notifications end to end, as production runs them: the app commits to PostgreSQL, jobs travel through
Redis, a real ``flask worker`` process delivers, and a local SMTP server (aiosmtpd) reads what arrived.

Every test works on committed data in a database of its own (created and dropped here), a Redis database
number of its own (flushed before and after each test) and an SMTP server on a free port; every process
it starts is ended in a ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.live_server import BIN, HttpClient, Process, WebServer, app_env, flask, free_port, missing, wait_until
from tests.platform.backing import scratch_database

pytestmark = [pytest.mark.services, pytest.mark.committed]

SECRET_KEY = "notification-delivery-secret-key-for-tests-only"
PASSWORD = "Notify-pass-2026"
DEAD_REDIS = "redis://127.0.0.1:1/0"
DELIVERY_TIMEOUT = 20  # seconds: the acceptance bound for a message to reach the SMTP server
CLAIM = {
    "claim_number": "CL-2026-0042",
    "status": "approved",
    "total_billed": "1,500.00",
    "total_approved": "1,200.00",
    "member_number": "M-0042",
    "service_date": "2026-11-20",
}


# --- the local SMTP server ---------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every message it accepted (answered 250).

    ``hold_next()`` makes the next DATA hang until ``release()``, and then refuses it with a 451: the
    client is stuck inside the send, and whatever happens to it, that attempt never counts as delivered.
    """

    received: list[Received] = field(default_factory=list)
    data_commands: int = 0
    #: the client end of the connection each accepted message came over
    peers: list[str] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)
    _hold_next: bool = False
    _released: threading.Event = field(default_factory=threading.Event)

    def hold_next(self) -> None:
        self._hold_next = True

    def release(self) -> None:
        self._released.set()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.data_commands += 1
        if self._hold_next:
            self._hold_next = False
            self.holding.set()
            deadline = time.monotonic() + 60
            while not self._released.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return "451 4.3.0 Held by the test, not accepted"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        self.peers.append(str(session.peer))
        return "250 2.0.0 Accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.rcpt_tos]


@dataclass
class Smtp:
    port: int
    box: Mailbox


@contextmanager
def smtp_server() -> Iterator[Smtp]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield Smtp(controller.port, box)
    finally:
        box.release()
        controller.stop()


# --- the site: database, Redis, the in-process app, worker processes ------------------------------


def _services_or_skip() -> tuple[str, str]:
    database_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not (database_url and redis_url):
        missing("needs PostgreSQL and Redis: set TEST_DATABASE_URL and TEST_REDIS_URL")
    if make_url(database_url).get_backend_name() != "postgresql":
        missing("TEST_DATABASE_URL must name a PostgreSQL server")
    return database_url, redis_url


def own_redis_url(redis_url: str) -> str:
    """The same Redis server, a database number of this module's own: two below TEST_REDIS_URL's (15 -> 13).

    TEST_REDIS_URL itself holds what in-process tests enqueue, and the number just below it is the other
    platform tests' (tests/platform/backing.py); a worker here must see neither, nor lose jobs to theirs.
    """
    url = make_url(redis_url)
    return url.set(database=str((int(url.database or 0) - 2) % 16)).render_as_string(hide_password=False)


def _redis(url: str):
    from redis import Redis

    return Redis.from_url(url)


@dataclass
class Site:
    database_url: str
    redis_url: str
    tmp: Path
    app: object = None
    _engine: object = None

    def settings(self) -> dict:
        """The in-process app's configuration: the same database, Redis and mail settings as the worker."""
        return {
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "REDIS_URL": self.redis_url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "SECRET_KEY": SECRET_KEY,
            "LOG_JSON": True,
        }

    def env(self, **values: str) -> dict[str, str]:
        """The environment of a worker, web server or ``flask`` command of this site."""
        settings = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": SECRET_KEY,
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "LOG_JSON": "true",
        }
        return app_env(**(settings | values))

    def rows(self, statement: str, **params) -> list:
        with self._engine.begin() as conn:
            return conn.execute(text(statement), params).all()

    def one(self, statement: str, **params):
        (row,) = self.rows(statement, **params)
        return row


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    database_server, test_redis = _services_or_skip()
    from medcover.app import create_app
    from medcover.extensions import db

    tmp = tmp_path_factory.mktemp("notify")
    with scratch_database(database_server, "medcover_notify") as database_url:
        site = Site(database_url, own_redis_url(test_redis), tmp)
        flask("db", "upgrade", env=site.env())
        site._engine = create_engine(database_url, poolclass=NullPool)
        site.app = create_app("development", site.settings())
        try:
            yield site
        finally:
            with site.app.app_context():
                db.session.remove()
                db.engine.dispose()
            site._engine.dispose()


@contextmanager
def machine_lock(timeout: float = 300) -> Iterator[None]:
    """One test of this module at a time on this machine: two runs at once (another checkout, pytest -n)
    would share the Redis database number, and their workers would take each other's jobs."""
    import fcntl
    import tempfile

    with open(Path(tempfile.gettempdir()) / "medcover-notification-delivery.lock", "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"another run held {handle.name} for {timeout}s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def redis_db(site) -> Iterator[str]:
    """The site's Redis database, this test's alone: empty at the start and at the end."""
    with machine_lock():
        _redis(site.redis_url).flushdb()
        try:
            yield site.redis_url
        finally:
            _redis(site.redis_url).flushdb()


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    with smtp_server() as server:
        yield server


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, from /proc/PID/stat; None once it is gone."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def descendants(pid: int) -> list[tuple[int, int]]:
    """Every process below ``pid``, as (pid, start time), from Linux /proc. rq runs each job in a work horse
    that it moves into a process group of its own, so ending the worker's group does not reach the horse."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child[0])
    return found


def kill_everything(processes: list[tuple[int, int]]) -> None:
    """SIGKILL each (pid, start time) that is still that same process (a pid can be reused once it exits)."""
    for pid, started in processes:
        stat = _stat(pid)
        if stat and stat[1] == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def workers(site, redis_db, tmp_path):
    """``start(**env)`` runs ``flask --app wsgi worker`` for this site; every one started, and every process it
    started, is stopped after the test (before its Redis database is flushed)."""
    started: list[Process] = []

    def start(**env: str) -> Process:
        log_path = tmp_path / f"worker-{len(started) + 1}.log"
        worker = Process([str(BIN / "flask"), "--app", "wsgi", "worker"], env=site.env(**env), log_path=log_path)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            below = descendants(worker.proc.pid) if worker.alive() else []
            worker.stop()
            kill_everything(below)  # a work horse the warm shutdown left behind


def kill_worker(worker: Process) -> None:
    """SIGKILL a worker with its work horse and its scheduler, all at once: the machine died."""
    below = descendants(worker.proc.pid)
    worker.proc.kill()
    kill_everything(below)
    worker.proc.wait(timeout=10)
    assert below, "the worker had no work horse to kill"


def worker_listening(site: Site, worker: Process, timeout: float = 20) -> None:
    """Wait until the worker has registered with Redis (it is then taking jobs)."""
    from rq import Worker

    def registered():
        assert worker.alive(), worker.log()
        return Worker.count(connection=_redis(site.redis_url)) > 0

    wait_until(registered, timeout=timeout, what="the worker to register with Redis")


def make_user(site: Site, role: str, email_address: str, full_name: str, **tenant) -> int:
    from blueprints.core import services as core
    from medcover.extensions import db

    with site.app.app_context():
        user = core.create_user(
            actor=None, email=email_address, full_name=full_name, role=role, password=PASSWORD, **tenant
        )
        db.session.commit()
        return user.id


def unique(name: str) -> str:
    return f"{name}.{time.monotonic_ns()}@hospital.example"


def notification(site: Site, notification_id: int):
    return site.one(
        "SELECT id, status, attempts, last_error, next_attempt_at, next_attempt_at > now() AS in_future,"
        " sent_at FROM notifications WHERE id = :id",
        id=notification_id,
    )


def history(site: Site, notification_id: int) -> list:
    return site.rows(
        "SELECT status, detail FROM notification_logs WHERE notification_id = :id ORDER BY id", id=notification_id
    )


def send_claim_email(site: Site, user_id: int, **context) -> int:
    """``services.send`` of the claim email to one user, committed; the notification's id."""
    from blueprints.notification import services
    from blueprints.notification.models import Channel
    from medcover.extensions import db

    with site.app.app_context():
        [row] = services.send(
            "claim.decided", [services.Recipient(user_id=user_id)], CLAIM | context, [Channel.EMAIL], institution_id=1
        )
        db.session.commit()
        return row.id


def enqueue_sweep(redis_url: str) -> None:
    """What ``flask scheduler`` does every minute: put the notification sweep on the notifications queue."""
    from rq import Queue

    from medcover.jobs import execute

    Queue("notifications", connection=_redis(redis_url)).enqueue(execute, "blueprints.notification.jobs:sweep", (), {})


def post_json(url: str, payload: dict, headers: dict | None = None) -> tuple[int, dict]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(
            "POST",
            parts.path,
            body=json.dumps(payload),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


# --- acceptance --------------------------------------------------------------------------------------


def test_a_claim_decision_reaches_the_smtp_server_and_the_recipients_inbox(site, smtp, workers, tmp_path):
    clerk_email = unique("bill.clerk")
    clerk_id = make_user(site, "billing_clerk", clerk_email, "Bill Notify", institution_id=1)
    env = site.env(MAIL_PORT=str(smtp.port))
    worker = workers(MAIL_PORT=str(smtp.port))
    server = WebServer(env=env, log_path=tmp_path / "web.log", workers=1)
    try:
        from medcover.events import publish
        from medcover.extensions import db

        with site.app.app_context():
            event = publish(
                "claim.decided", {"recipients": [{"user_id": clerk_id}], "context": CLAIM, "institution_id": 1}
            )
            event_id = event.id
            db.session.commit()

        def arrived():
            assert worker.alive(), worker.log()
            return smtp.box.to(clerk_email)

        [message] = wait_until(arrived, timeout=DELIVERY_TIMEOUT, interval=0.05, what="the claim email")
        assert message["To"] == clerk_email
        assert message["Subject"] == "Claim CL-2026-0042: approved"
        assert "no-reply@medcover.local" in message["From"]
        body = message.get_body(("plain",)).get_content()
        assert body.startswith("Dear Bill Notify,")
        assert "Claim CL-2026-0042 for the service of 20 Nov 2026 has been decided: approved." in body
        assert "Billed: 1,500.00. Approved: 1,200.00." in body

        def recorded():
            rows = site.rows(
                "SELECT channel, status, attempts, recipient_address, sent_at FROM notifications"
                " WHERE dedupe_key LIKE :key ORDER BY channel",
                key=f"event:{event_id}:%",
            )
            return rows if rows and all(r.status != "sending" and r.status != "queued" for r in rows) else None

        rows = wait_until(recorded, timeout=DELIVERY_TIMEOUT, what="the notification rows to be final")
        assert [(r.channel, r.status) for r in rows] == [("email", "sent"), ("in_app", "sent"), ("sms", "skipped")]
        email_row = rows[0]
        assert email_row.attempts == 1 and email_row.recipient_address == clerk_email and email_row.sent_at
        assert site.one("SELECT dispatched_at FROM outbox_events WHERE id = :id", id=event_id).dispatched_at
        assert len(smtp.box.received) == 1

        # The recipient sees the in-app notification: the page over HTTP, and the JSON API with a token.
        server.wait_ready()
        browser = HttpClient()
        assert browser.sign_in(server.url, clerk_email, PASSWORD).status == 303
        inbox = browser.get(server.url + "/notifications")
        assert inbox.status == 200
        assert "Claim CL-2026-0042 approved" in inbox.text
        assert "Approved 1,200.00 of 1,500.00." in inbox.text
        bell = browser.get(server.url + "/notifications/bell")
        assert bell.status == 200 and "Notifications: 1 unread" in bell.text

        status, tokens = post_json(server.url + "/api/v1/auth/login", {"email": clerk_email, "password": PASSWORD})
        assert status == 200, tokens
        api = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            api.request("GET", "/api/v1/notifications", headers={"Authorization": f"Bearer {tokens['access_token']}"})
            response = api.getresponse()
            listing = json.loads(response.read())
        finally:
            api.close()
        assert response.status == 200, listing
        assert listing["total"] == 1
        [item] = listing["items"]
        assert (item["channel"], item["status"], item["recipient_user_id"]) == ("in_app", "sent", clerk_id)
        assert item["subject"] == "Claim CL-2026-0042 approved" and item["read_at"] is None
    finally:
        server.stop()


def test_a_batch_of_emails_goes_out_over_one_connection_each_exactly_once(site, smtp, workers):
    from blueprints.notification import services
    from blueprints.notification.models import Channel
    from medcover.extensions import db

    worker = workers(MAIL_PORT=str(smtp.port))
    worker_listening(site, worker, timeout=60)
    stamp = time.monotonic_ns()
    with site.app.app_context():
        rows = services.send(
            "payment.received",
            [services.Recipient(email=f"payer{n}.{stamp}@example.com") for n in range(30)],
            {"amount": "1,000.00"},
            [Channel.EMAIL],
            institution_id=1,
        )
        ids = [row.id for row in rows]
        db.session.commit()  # one delivery job for the thirty

    def recorded():
        assert worker.alive(), worker.log()
        found = site.rows(
            "SELECT status, attempts, provider_message_id FROM notifications WHERE id = ANY(:ids)", ids=ids
        )
        return found if all(r.status == "sent" for r in found) else None

    rows = wait_until(recorded, timeout=DELIVERY_TIMEOUT, what="the batch to be recorded sent")
    assert {r.attempts for r in rows} == {1}
    delivered = [str(r.message["Message-ID"]) for r in smtp.box.received]
    assert sorted(delivered) == sorted(r.provider_message_id for r in rows)  # each exactly once
    assert len(set(smtp.box.peers)) == 1  # over one SMTP connection


def test_with_redis_down_the_change_commits_and_the_outbox_delivers_once_redis_is_back(site, smtp, workers):
    from medcover.app import create_app
    from medcover.events import publish
    from medcover.extensions import db

    clerk_email = unique("rita.redis")
    clerk_id = make_user(site, "billing_clerk", clerk_email, "Rita Redis", institution_id=1)
    # A worker is up the whole time: had anything reached the queues, it would have been delivered.
    worker = workers(MAIL_PORT=str(smtp.port))
    worker_listening(site, worker)

    cut_off = create_app("development", site.settings() | {"REDIS_URL": DEAD_REDIS})
    with cut_off.app_context():
        try:
            started = time.monotonic()
            event = publish(
                "claim.decided", {"recipients": [{"user_id": clerk_id}], "context": CLAIM, "institution_id": 1}
            )
            event_id = event.id
            db.session.commit()  # Redis refuses the job: the commit stands, nothing is raised
            assert time.monotonic() - started < 5
        finally:
            db.session.remove()
            db.engine.dispose()

    waiting = site.one("SELECT dispatched_at, attempts FROM outbox_events WHERE id = :id", id=event_id)
    assert waiting.dispatched_at is None and waiting.attempts == 0
    assert site.rows("SELECT id FROM notifications WHERE dedupe_key LIKE :key", key=f"event:{event_id}:%") == []
    from rq import Queue

    from medcover.jobs import QUEUES

    assert sum(Queue(name, connection=_redis(site.redis_url)).count for name in QUEUES) == 0
    time.sleep(1)
    assert smtp.box.received == [] and smtp.box.data_commands == 0

    # Redis is back: the periodic sweep (as `flask scheduler` enqueues it) dispatches the waiting event.
    enqueue_sweep(site.redis_url)

    def arrived():
        assert worker.alive(), worker.log()
        return smtp.box.to(clerk_email)

    [message] = wait_until(arrived, timeout=DELIVERY_TIMEOUT, interval=0.05, what="the email after recovery")
    assert message["Subject"] == "Claim CL-2026-0042: approved"
    assert site.one("SELECT dispatched_at FROM outbox_events WHERE id = :id", id=event_id).dispatched_at

    def email_sent():
        return site.rows(
            "SELECT id, attempts FROM notifications WHERE dedupe_key LIKE :key AND channel = 'email'"
            " AND status = 'sent'",
            key=f"event:{event_id}:%",
        )

    [row] = wait_until(email_sent, timeout=DELIVERY_TIMEOUT, what="the email notification to be recorded sent")
    assert row.attempts == 1

    # Another sweep finds nothing left to do; exactly one email went out.
    enqueue_sweep(site.redis_url)
    wait_until(
        lambda: sum(Queue(n, connection=_redis(site.redis_url)).count for n in QUEUES) == 0,
        timeout=10,
        what="the second sweep to be taken",
    )
    time.sleep(1.5)
    assert len(smtp.box.received) == 1 and smtp.box.data_commands == 1


def test_a_worker_killed_mid_send_is_never_sent_twice_but_marked_for_a_person_after_its_lease(site, smtp, workers):
    from rq import Queue
    from rq.job import Job, JobStatus
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    from blueprints.notification import jobs as notification_jobs
    from medcover.extensions import db

    clerk_email = unique("kim.killed")
    clerk_id = make_user(site, "billing_clerk", clerk_email, "Kim Killed", institution_id=1)
    smtp.box.hold_next()  # the first DATA hangs: the worker is inside the send when it dies
    first = workers(MAIL_PORT=str(smtp.port))

    notification_id = send_claim_email(site, clerk_id)

    def inside_the_send():
        assert first.alive(), first.log()
        return smtp.box.holding.is_set()

    wait_until(inside_the_send, timeout=DELIVERY_TIMEOUT, interval=0.05, what="the worker to reach DATA")
    row = notification(site, notification_id)
    assert (row.status, row.attempts, row.in_future) == ("sending", 1, True)  # under a 10-minute lease
    queue = Queue("notifications", connection=_redis(site.redis_url))
    [killed_job_id] = StartedJobRegistry(queue=queue).get_job_ids()

    kill_worker(first)
    second = workers(MAIL_PORT=str(smtp.port))
    smtp.box.release()  # the held DATA is answered 451, to a connection nobody holds any more
    time.sleep(0.5)
    assert smtp.box.received == [] and smtp.box.data_commands == 1
    row = notification(site, notification_id)
    assert (row.status, row.attempts) == ("sending", 1)

    # While the lease runs, a sweep leaves the row alone: the dead worker might still have been sending.
    with site.app.app_context():
        assert notification_jobs.sweep() == 0
        db.session.remove()

    # The lease runs out (simulated: ten minutes are not waited). The message may have gone out (the worker died
    # inside DATA, and nothing here can know what the server did with it): the sweep's job marks it for a person
    # and sends no second copy.
    env = site.env(MAIL_PORT=str(smtp.port))
    site.rows(
        "UPDATE notifications SET next_attempt_at = now() - interval '1 minute' WHERE id = :id RETURNING id",
        id=notification_id,
    )
    assert "re-queued 1 notification(s)" in flask("notifications", "sweep", env=env)

    def marked():
        assert second.alive(), second.log()
        found = notification(site, notification_id)
        return found if found.status == "unsure" else None

    row = wait_until(marked, timeout=DELIVERY_TIMEOUT, what="the notification to be marked for a person")
    assert row.attempts == 1 and row.sent_at is None and row.next_attempt_at is None
    assert [h.status for h in history(site, notification_id)] == ["queued", "sending", "unsure"]
    assert "re-queued 0 notification(s)" in flask("notifications", "sweep", env=env)

    # The dead worker's RQ job: once rq notices it was abandoned, it retries it (with backoff; brought
    # forward here). The retry finds the message marked and does nothing.
    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 24 * 3600)
    scheduled = ScheduledJobRegistry(queue=queue)
    assert killed_job_id in scheduled.get_job_ids()
    job = Job.fetch(killed_job_id, connection=queue.connection)
    scheduled.remove(job)
    queue.enqueue_job(job)

    def retried():
        job.refresh()
        return job.get_status() in (JobStatus.FINISHED, JobStatus.FAILED)

    wait_until(retried, timeout=DELIVERY_TIMEOUT, what="the abandoned job's retry to run")
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == "nothing to do"
    time.sleep(1)
    assert smtp.box.received == [] and smtp.box.data_commands == 1
    assert notification(site, notification_id).status == "unsure"


def test_an_unreachable_smtp_server_is_retried_with_backoff_then_dead_lettered_with_an_admin_alert(site, workers):
    from blueprints.notification import services
    from medcover.extensions import db

    admin_id = make_user(site, "admin", unique("ada.admin"), "Ada Admin")
    clerk_id = make_user(site, "billing_clerk", unique("dee.dead"), "Dee Dead", institution_id=1)
    closed_port = free_port()  # nothing listens there: every connection is refused
    worker = workers(MAIL_PORT=str(closed_port), NOTIFY_MAX_ATTEMPTS="3", NOTIFY_RETRY_BASE_SECONDS="1")

    notification_id = send_claim_email(site, clerk_id)

    def failed_once():
        assert worker.alive(), worker.log()
        found = notification(site, notification_id)
        return found if found.status == "failed" else None

    row = wait_until(failed_once, timeout=DELIVERY_TIMEOUT, interval=0.02, what="the first failed attempt")
    assert row.attempts == 1
    assert row.last_error.startswith("SMTP: ConnectionRefusedError"), row.last_error
    assert row.in_future  # the retry is scheduled, not immediate

    def dead():
        assert worker.alive(), worker.log()
        found = notification(site, notification_id)
        return found if found.status == "dead" else None

    row = wait_until(dead, timeout=DELIVERY_TIMEOUT, interval=0.1, what="the notification to be dead-lettered")
    assert row.attempts == 3 and row.next_attempt_at is None and row.sent_at is None
    assert "ConnectionRefusedError" in row.last_error
    steps = history(site, notification_id)
    assert [s.status for s in steps] == ["queued", "sending", "failed", "sending", "failed", "sending", "dead"]
    assert "next try in 1 s" in steps[2].detail and "next try in 2 s" in steps[4].detail  # exponential backoff
    assert steps[-1].detail.startswith("gave up after 3 attempts")

    with site.app.app_context():
        inbox = db.session.scalars(services.inbox_query(admin_id)).all()
        alerts = [n for n in inbox if n.template_code == "notification.dead_lettered"]
        assert len(alerts) == 1
        assert alerts[0].subject == "Delivery failed: Email message"
        assert f"Notification #{notification_id} (claim.decided) failed 3 times" in alerts[0].body
        assert services.unread_count(admin_id) >= 1
        db.session.remove()
