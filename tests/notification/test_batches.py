"""Delivery in batches: one SMTP connection (and one HTTP connection for SMS) per batch, each message sent exactly
once whatever happens to the others, a job repeated, the connection dropping, or the worker lost; and the states
of a batch recorded in the same few statements whether it holds 10 messages or 200.

A real SMTP server (aiosmtpd, on a free port) takes the mail; the suite runs these on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from blueprints.notification import jobs as notification_jobs
from blueprints.notification import services
from blueprints.notification.models import Channel as Ch
from blueprints.notification.models import Notification, Status
from blueprints.notification.services import Recipient
from medcover import clock
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import make_user
from tests.live_server import free_port

CLAIM = {"claim_number": "CL-0042", "status": "approved", "total_billed": "1500.00", "total_approved": "1200.00"}


@dataclass
class Server:
    """Accepts every message (and remembers it with the connection it came on), except: a recipient in
    ``refuse`` is answered 550, and at a recipient in ``drop`` the connection is cut without an answer."""

    received: list[tuple[str, str]] = field(default_factory=list)  # (connection, Message-ID)
    connections: set[str] = field(default_factory=set)
    refuse: set[str] = field(default_factory=set)
    drop: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if address in self.drop:
            self.drop.discard(address)
            server.transport.close()
            return "250 OK"
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        import email
        import email.policy

        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        peer = str(session.peer)
        self.connections.add(peer)
        self.received.append((peer, str(message["Message-ID"])))
        return "250 2.0.0 Accepted"

    def message_ids(self) -> list[str]:
        return [message_id for _, message_id in self.received]


@pytest.fixture
def smtp(app) -> Iterator[Server]:
    from aiosmtpd.controller import Controller

    box = Server()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    saved = {key: app.config[key] for key in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        yield box
    finally:
        app.config.update(saved)
        controller.stop()


def _written(count: int, prefix: str = "reader") -> list[int]:
    """``count`` email notifications written and committed, their delivery jobs not run (the test runs them)."""
    recipients = [Recipient(email=f"{prefix}{n}@example.com", name=f"Reader {n}") for n in range(count)]
    rows = services.send("claim.decided", recipients, CLAIM, [Ch.EMAIL])
    db.session.commit()
    db.session.info.pop("medcover_ready_jobs", None)
    return [row.id for row in rows]


def _states(ids: list[int]) -> dict[int, Notification]:
    db.session.expire_all()
    return {row.id: row for row in db.session.query(Notification).filter(Notification.id.in_(ids))}


def _statements(count_queries, run) -> list[str]:
    with count_queries() as counter:
        run()
    return [s for s in counter.statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]


def test_a_batch_goes_out_over_one_connection_and_a_repeated_job_sends_nothing_twice(smtp):
    ids = _written(10)

    assert notification_jobs.deliver_batch(ids) == "sent 10"
    assert notification_jobs.deliver_batch(ids) == "nothing to do"  # the same job again (RQ's retry, a duplicate)

    assert len(smtp.connections) == 1
    rows = _states(ids)
    assert {row.status for row in rows.values()} == {Status.SENT}
    assert sorted(smtp.message_ids()) == sorted(row.provider_message_id for row in rows.values())  # each once
    assert all(row.attempts == 1 and row.sent_at for row in rows.values())


@pytest.mark.parametrize("size", [10, 200])
def test_a_batch_records_its_states_in_the_same_few_statements_whatever_its_size(smtp, app, count_queries, size):
    parts = app.config["NOTIFY_HANDOVER_PARTS"]
    ids = _written(size)
    statements = _statements(count_queries, lambda: notification_jobs.deliver_batch(ids))
    assert len(smtp.received) == size
    # 10 or 200: the same statements. The claim's UPDATE and log rows (no read for a lost worker's messages: the
    # UPDATE took them all); per part, its handover, and the part before's sent UPDATE and log rows (the last part's
    # at the end); on PostgreSQL, the claim's commit told not to wait for the disk.
    kinds = sorted(s.split()[0].upper() for s in statements)
    waits = ["SET"] if db.engine.dialect.name == "postgresql" else []
    assert kinds == ["INSERT"] * (1 + parts) + waits + ["UPDATE"] * (1 + 2 * parts), statements


def test_send_reads_the_same_number_of_times_for_10_and_200_recipients(count_queries):
    """The users, their preferences, the templates and the dedupe keys are read once, however many recipients. (On
    PostgreSQL the rows and their log entries are one INSERT each too; SQLite's driver inserts row by row where the
    ids must come back in order.)"""
    clerks = [make_user(Role.BILLING_CLERK) for _ in range(3)]

    def write(count: int) -> list[str]:
        recipients = [Recipient(user_id=clerk.id) for clerk in clerks] + [
            Recipient(email=f"member{count}.{n}@example.com", name=f"Member {n}") for n in range(count)
        ]
        return _statements(
            count_queries,
            lambda: services.send("claim.decided", recipients, CLAIM, dedupe=f"run{count}") and db.session.flush(),
        )

    few, many = write(10), write(200)
    reads = [s for s in few if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == len([s for s in many if s.lstrip().upper().startswith("SELECT")]) <= 8, reads
    if db.engine.dialect.name == "postgresql":
        assert len(few) == len(many), (few, many)


def test_a_refused_recipient_fails_alone_and_is_retried_later(smtp, app):
    ids = _written(5)
    smtp.refuse.add("reader2@example.com")

    assert notification_jobs.deliver_batch(ids) == "sent 4, failed 1"

    rows = _states(ids)
    refused = rows[ids[2]]
    assert refused.status is Status.FAILED and "550" in refused.last_error and refused.next_attempt_at > clock.now()
    assert [rows[i].status for i in ids if i != ids[2]] == [Status.SENT] * 4
    assert len(smtp.connections) == 1  # the refusal did not cost the others their connection

    smtp.refuse.clear()
    with clock.travel(timedelta(seconds=app.config["NOTIFY_RETRY_BASE_SECONDS"] + 1)):
        assert services.due_for_retry() == [ids[2]]
        assert notification_jobs.deliver_batch([ids[2]]) == "sent 1"
    assert sorted(smtp.message_ids()) == sorted(row.provider_message_id for row in _states(ids).values())


def test_a_connection_dropped_mid_batch_costs_only_the_message_in_flight(smtp, app):
    ids = _written(6)
    smtp.drop.add("reader3@example.com")  # the server goes away while the fourth message is being handed over

    assert notification_jobs.deliver_batch(ids) == "sent 5, failed 1"

    rows = _states(ids)
    assert rows[ids[3]].status is Status.FAILED and "SMTP" in rows[ids[3]].last_error
    assert [rows[i].status for i in ids if i != ids[3]] == [Status.SENT] * 5
    assert len(smtp.connections) == 2  # the rest of the batch went over a new connection

    with clock.travel(timedelta(seconds=app.config["NOTIFY_RETRY_BASE_SECONDS"] + 1)):
        notification_jobs.sweep()  # inline: the sweep's batch runs after its commit
        db.session.commit()
        from medcover import jobs

        jobs.run_ready()
    rows = _states(ids)
    assert {row.status for row in rows.values()} == {Status.SENT}
    delivered = smtp.message_ids()
    assert sorted(delivered) == sorted(row.provider_message_id for row in rows.values())  # each exactly once


def test_a_batch_whose_worker_was_lost_before_the_handover_is_sent_whole_after_the_lease(smtp, app):
    ids = _written(4)
    services.claim(ids)  # the worker took the batch, then died before anything left
    db.session.commit()
    assert notification_jobs.deliver_batch(ids) == "nothing to do"  # held under its lease

    with clock.travel(timedelta(seconds=app.config["NOTIFY_SENDING_LEASE"] + 1)):
        assert services.due_for_retry() == ids
        assert notification_jobs.deliver_batch(ids) == "sent 4"
    rows = _states(ids)
    assert {(row.status, row.attempts) for row in rows.values()} == {(Status.SENT, 2)}
    assert len(smtp.received) == 4


def test_a_batch_of_queued_messages_and_a_lost_worker_s_takes_both_once(smtp, app):
    ids = _written(4)
    services.claim(ids[:2])  # a worker took two of them, then died before anything left
    db.session.commit()
    with clock.travel(timedelta(seconds=app.config["NOTIFY_SENDING_LEASE"] + 1)):
        assert notification_jobs.deliver_batch(ids) == "sent 4"
        assert notification_jobs.deliver_batch(ids) == "nothing to do"
    rows = _states(ids)
    assert [(rows[i].status, rows[i].attempts) for i in ids] == [(Status.SENT, 2)] * 2 + [(Status.SENT, 1)] * 2
    assert sorted(smtp.message_ids()) == sorted(row.provider_message_id for row in rows.values())  # each once


def test_a_batch_whose_worker_was_lost_while_handing_it_over_is_never_sent_again_but_marked_to_check(smtp, app):
    admin = make_user(Role.ADMIN)
    ids = _written(3)
    services.claim(ids)
    services.record_batch_handover(ids)  # the worker died inside the SMTP exchange
    db.session.commit()

    with clock.travel(timedelta(seconds=app.config["NOTIFY_SENDING_LEASE"] + 1)):
        assert notification_jobs.deliver_batch(ids) == "nothing to do"
        db.session.commit()
        assert notification_jobs.deliver_batch(ids) == "nothing to do"
    assert smtp.received == []
    assert {row.status for row in _states(ids).values()} == {Status.UNSURE}
    alerts = db.session.query(Notification).filter_by(template_code="notification.may_have_been_sent").all()
    assert {a.recipient_user_id for a in alerts} == {admin.id} and len(alerts) == 3


def test_a_worker_lost_mid_batch_leaves_only_the_part_it_was_handing_over_to_check(smtp, app, monkeypatch):
    """Parts before the lost one are on record as sent, the lost part is marked to check (never sent twice), the
    parts after it go out once the lease is over."""
    make_user(Role.ADMIN)
    monkeypatch.setitem(app.config, "NOTIFY_HANDOVER_PARTS", 4)
    ids = _written(12)  # parts of 3
    sent = notification_jobs._send

    def dies_at_the_eighth(channel, message):
        if message.notification_id == ids[7]:
            message.before_handover()  # the part's handover is on record, then the worker is killed
            raise SystemExit("worker killed")
        return sent(channel, message)

    monkeypatch.setattr(notification_jobs, "_send", dies_at_the_eighth)
    with pytest.raises(SystemExit):
        notification_jobs.deliver_batch(ids)
    db.session.rollback()
    monkeypatch.setattr(notification_jobs, "_send", sent)
    assert len(smtp.received) == 7
    states = _states(ids)
    assert [states[i].status for i in ids[:6]] == [Status.SENT] * 6  # parts 1 and 2, recorded as part 3 began
    assert [states[i].status for i in ids[6:]] == [Status.SENDING] * 6

    with clock.travel(timedelta(seconds=app.config["NOTIFY_SENDING_LEASE"] + 1)):
        assert notification_jobs.deliver_batch(ids) == "sent 3"  # part 4, never begun
    states = _states(ids)
    assert [states[i].status for i in ids[6:9]] == [Status.UNSURE] * 3  # part 3: the 7th went, the 8th may have
    assert [states[i].status for i in ids[9:]] == [Status.SENT] * 3
    assert len(smtp.received) == 10 and len(set(smtp.message_ids())) == 10  # nothing twice


@dataclass
class Gateway:
    connections: set = field(default_factory=set)
    texts: list = field(default_factory=list)


def test_a_batch_of_sms_goes_over_one_http_connection(app):
    gateway = Gateway()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the connection outlives a request

        def do_POST(self):  # noqa: N802
            gateway.connections.add(self.client_address)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            gateway.texts.append(body["to"])
            answer = json.dumps({"id": f"gw-{body['reference']}"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    saved = {key: app.config.get(key) for key in ("SMS_BACKEND", "SMS_HTTP_URL")}
    app.config.update(SMS_BACKEND="http", SMS_HTTP_URL=f"http://127.0.0.1:{server.server_port}/sms")
    try:
        phones = [f"+25470000{n:04d}" for n in range(5)]
        rows = services.send("claim.decided", [Recipient(phone=p) for p in phones], CLAIM, [Ch.SMS])
        db.session.commit()
        db.session.info.pop("medcover_ready_jobs", None)
        ids = [row.id for row in rows]
        assert notification_jobs.deliver_batch(ids) == "sent 5"
    finally:
        app.config.update(saved)
        server.shutdown()
        server.server_close()
    assert sorted(gateway.texts) == phones and len(gateway.connections) == 1
    assert {row.provider_message_id for row in _states(ids).values()} == {f"gw-n{i}" for i in ids}
