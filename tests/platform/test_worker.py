"""Background work on a real RQ worker: jobs leave only with a committed transaction, the worker delivers
them, and with Redis gone the request still commits and the outbox keeps what was not dispatched."""

from __future__ import annotations

import email
import email.policy
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_server import BIN, HttpClient, Process, WebServer, app_env, flask, free_port, wait_until
from tests.platform.backing import private_redis_url, query, scratch_database, unique_loopback

pytestmark = pytest.mark.services

EMAIL = "wendy.worker@hospital.example"
PASSWORD = "Worker-pass-2026"
DEAD_REDIS = "redis://127.0.0.1:1/0"
EVENT = "user.password_reset_requested"


@dataclass(frozen=True)
class Site:
    database_url: str
    redis_url: str
    tmp: Path

    def env(self, **values: str) -> dict[str, str]:
        settings = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "worker-secret-key-for-tests-only",
            "MAIL_BACKEND": "file",
            "MAIL_FILE_DIR": str(self.tmp / "mail"),
            "PUBLIC_BASE_URL": "",
        }
        return app_env(**(settings | values))


@pytest.fixture(scope="module")
def site(services, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("worker")
    with scratch_database(services.database_url, "medcover_worker") as database_url:
        site = Site(database_url, private_redis_url(services.redis_url), tmp)
        flask("db", "upgrade", env=site.env())
        flask(
            "users",
            "create",
            EMAIL,
            "--role",
            "admin",
            "--password",
            PASSWORD,
            "--name",
            "Wendy Worker",
            env=site.env(),
        )
        _empty_queues(site.redis_url)
        try:
            yield site
        finally:
            _empty_queues(site.redis_url)


def _queues(redis_url: str):
    from redis import Redis
    from rq import Queue

    from medcover.jobs import QUEUES

    connection = Redis.from_url(redis_url)
    return {name: Queue(name, connection=connection) for name in QUEUES}


def _empty_queues(redis_url: str) -> None:
    for queue in _queues(redis_url).values():
        queue.empty()


def _ask_for_reset(server: WebServer, headers: dict | None = None) -> int:
    client = HttpClient(source_ip=unique_loopback())
    token = client.csrf_token(server.url + "/auth/reset-password")
    reply = client.post(server.url + "/auth/reset-password", {"csrf_token": token, "email": EMAIL}, headers=headers)
    assert reply.status == 303, reply.text[:800]
    return reply.status


def _last_event_id(site: Site) -> int:
    return query(site.database_url, "SELECT coalesce(max(id), 0) FROM outbox_events")[0][0]


def _events_after(site: Site, event_id: int):
    return query(
        site.database_url,
        "SELECT id, dispatched_at FROM outbox_events WHERE name = :name AND id > :id",
        name=EVENT,
        id=event_id,
    )


def test_the_worker_delivers_the_reset_email_that_a_web_request_enqueued(site):
    worker_mail, web_mail = site.tmp / "worker-mail", site.tmp / "web-mail"
    worker = Process(
        [str(BIN / "flask"), "--app", "wsgi", "worker"],
        env=site.env(MAIL_FILE_DIR=str(worker_mail)),
        log_path=site.tmp / "rq-worker.log",
    )
    port = free_port()
    public = f"http://localhost:{port}"  # what the emails say, whatever Host a request came with
    server = WebServer(
        env=site.env(MAIL_FILE_DIR=str(web_mail), PUBLIC_BASE_URL=public),
        port=port,
        log_path=site.tmp / "web.log",
        workers=1,
    )
    try:
        server.wait_ready()
        before = _last_event_id(site)

        _ask_for_reset(server, headers={"Host": "attacker.example"})

        def delivered():
            assert worker.alive(), worker.log()
            return sorted(worker_mail.glob("*.eml"))

        (eml,) = wait_until(delivered, timeout=30, what="the worker to write the .eml")
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert message["To"] == EMAIL
        body = message.get_body(("plain",)).get_content()
        link = re.search(r"https?://\S+/auth/reset-password/[\w-]+", body)
        assert link and link.group(0).startswith(public + "/"), body  # not attacker.example
        opened = HttpClient().get(link.group(0).replace(public, server.url))
        assert opened.status == 200 and "New password" in opened.text  # the emailed link opens the reset form
        assert not web_mail.exists() or not list(web_mail.iterdir())  # the web process sent nothing itself

        # The outbox event is dispatched by the worker too (the dispatch job rides the same queues).
        def dispatched():
            events = _events_after(site, before)
            return events and all(row.dispatched_at for row in events)

        wait_until(dispatched, timeout=30, what="the worker to dispatch the outbox event")
    finally:
        server.stop()
        worker.stop()


def test_nothing_is_enqueued_when_the_requests_transaction_rolls_back(site):
    from blueprints.core import services
    from medcover.app import create_app
    from medcover.extensions import db

    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": site.database_url, "REDIS_URL": site.redis_url})
    queues = _queues(site.redis_url)
    _empty_queues(site.redis_url)
    resets_before = query(site.database_url, "SELECT count(*) FROM password_resets")[0][0]
    with app.app_context():
        services.request_password_reset(EMAIL, lambda token: f"http://medcover.test/reset/{token}")
        db.session.rollback()

        assert {name: q.count for name, q in queues.items()} == dict.fromkeys(queues, 0)
        assert query(site.database_url, "SELECT count(*) FROM password_resets")[0][0] == resets_before

        # The same call committed does enqueue: the mail and the outbox dispatch.
        services.request_password_reset(EMAIL, lambda token: f"http://medcover.test/reset/{token}")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    try:
        mail_jobs = queues["notifications"].get_jobs()
        assert [job.args[0] for job in mail_jobs] == ["medcover.mail:send_email"]
        assert mail_jobs[0].args[2]["to"] == EMAIL
        assert [job.args[0] for job in queues["default"].get_jobs()] == ["medcover.events:dispatch_pending"]
    finally:
        _empty_queues(site.redis_url)


def test_with_redis_down_a_reset_request_commits_and_the_outbox_keeps_the_event(site):
    # The reset email carries a one-time link that exists nowhere else, so with no queue the web
    # process sends it itself rather than lose it; the outbox event waits for Redis.
    dead_mail = site.tmp / "mail-dead-redis"
    server = WebServer(
        env=site.env(REDIS_URL=DEAD_REDIS, MAIL_FILE_DIR=str(dead_mail)),
        log_path=site.tmp / "web-dead-redis.log",
        workers=1,
    )
    try:
        server.wait_ready()
        before = _last_event_id(site)
        resets_before = query(site.database_url, "SELECT count(*) FROM password_resets")[0][0]
        started = time.monotonic()

        _ask_for_reset(server)

        assert time.monotonic() - started < 10
        assert query(site.database_url, "SELECT count(*) FROM password_resets")[0][0] == resets_before + 1
        (event,) = _events_after(site, before)
        assert event.dispatched_at is None
        (eml,) = sorted(dead_mail.glob("*.eml"))
        assert "/auth/reset-password/" in eml.read_text()
        ready = HttpClient().get(server.url + "/readyz")
        assert ready.status == 503 and '"redis":"unavailable"' in ready.text.replace(" ", "")
    finally:
        server.stop()

    # Later, with Redis back, the outbox is swept and the event goes out.
    output = flask("outbox", "dispatch", env=site.env())
    assert re.search(r"dispatched [1-9]\d* event", output), output
    (event,) = _events_after(site, before)
    assert event.dispatched_at is not None
    _empty_queues(site.redis_url)
