"""Nothing lost in an outage, nothing done twice: PostgreSQL, a Redis server this module starts on a port of its own
(so it can stop and start it), real ``flask worker`` and ``flask scheduler`` processes, and an SMTP server.

- Redis stopped: claims submitted, invoices issued (their emails) and a batch print requested through the pages
  all commit; Redis started again: the worker and the scheduler, which stayed up, decide, print and deliver each
  exactly once, without anyone re-running anything.
- ``kill -9`` of a worker in the middle of a notification batch and of a print job: no email sent twice (the batch
  is marked for a person to check), one copy of each invoice in one PDF, and the progress says the print was
  interrupted and is retrying.

The sweeps run every second and the leases are seconds long (settings below), so each test takes seconds.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.live_server import BIN, Process, app_env, flask, free_port, missing, wait_until
from tests.platform.backing import scratch_database
from tests.platform.test_notification_delivery import descendants, kill_everything

pytestmark = [pytest.mark.services, pytest.mark.committed]

SECRET_KEY = "outage-recovery-secret-key-for-tests-only"
#: short sweeps and leases: a lost job is sent again within seconds
FAST = {
    "SWEEP_SECONDS": "2",
    "REQUESTED_WORK_RESEND_AFTER": "2",
    "REQUESTED_WORK_LEASE": "4",
    "NOTIFY_REQUEUE_AFTER": "2",
    "NOTIFY_SENDING_LEASE": "3",
    "REDIS_RECONNECT_MAX_SECONDS": "1",
}
SETTLE = 60  # seconds: the bound for everything to be done once Redis is back


# --- Redis and SMTP servers of the test's own ---------------------------------------------------------------


class RedisServer:
    """``redis-server`` on a free port, without persistence; stop and start it again on the same port."""

    def __init__(self, folder: Path):
        self.port, self.folder = free_port(), folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Process | None = None

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(self.folder)]
        self.process = Process(argv, env=dict(os.environ), log_path=self.folder / "redis.log")
        wait_until(self.answers, timeout=10, interval=0.05, what="redis-server to answer")

    def answers(self) -> bool:
        from redis import Redis

        try:
            return bool(Redis.from_url(self.url, socket_timeout=0.5).ping())
        except Exception:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@dataclass
class Mailbox:
    """Keeps every message it accepts. With ``slow_reply`` set it accepts the message and then waits that long
    before answering 250: a client killed meanwhile sent a message it never heard was accepted."""

    received: list[email.message.EmailMessage] = field(default_factory=list)
    slow_reply: float = 0.0
    replying: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        if self.slow_reply:
            self.replying.set()
            await asyncio.sleep(self.slow_reply)
            self.replying.clear()
        return "250 2.0.0 Accepted"

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.received]


@contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, box
    finally:
        controller.stop()


# --- the site --------------------------------------------------------------------------------------------------


@dataclass
class Site:
    database_url: str
    redis: RedisServer
    prints: Path
    smtp_port: int
    box: Mailbox
    app: object = None
    engine: object = None
    processes: list[Process] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return app_env(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis.url,
            SECRET_KEY=SECRET_KEY,
            MAIL_BACKEND="smtp",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(self.smtp_port),
            PRINT_DIR=str(self.prints),
            LOG_JSON="true",
            **FAST,
        )

    def settings(self) -> dict:
        return {
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "REDIS_URL": self.redis.url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SECRET_KEY": SECRET_KEY,
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.smtp_port,
            "PRINT_DIR": str(self.prints),
            "WTF_CSRF_ENABLED": False,
            **{name: int(value) for name, value in FAST.items()},
        }

    def start(self, command: str) -> Process:
        """``flask --app wsgi worker`` or ``scheduler`` for this site, stopped after the test."""
        n = len(self.processes) + 1
        process = Process(
            [str(BIN / "flask"), "--app", "wsgi", command],
            env=self.env(),
            log_path=self.prints.parent / f"{command}-{n}.log",
        )
        self.processes.append(process)
        return process

    def rows(self, statement: str, **params) -> list:
        with self.engine.begin() as conn:
            return conn.execute(text(statement), params).all()

    def client(self, user_email: str):
        from tests.factories import PASSWORD

        client = self.app.test_client()
        answer = client.post("/auth/login", data={"email": user_email, "password": PASSWORD})
        assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
        return client


@pytest.fixture
def site(services, tmp_path) -> Iterator[Site]:
    if make_url(services.database_url).get_backend_name() != "postgresql":
        missing("TEST_DATABASE_URL must name a PostgreSQL server")
    from medcover.app import create_app
    from medcover.extensions import db

    redis = RedisServer(tmp_path)
    redis.start()
    (tmp_path / "prints").mkdir()
    try:
        with scratch_database(services.database_url, "medcover_outage") as database_url, smtp_server() as (port, box):
            site = Site(database_url, redis, tmp_path / "prints", port, box)
            flask("db", "upgrade", env=site.env())
            site.engine = create_engine(database_url, poolclass=NullPool)
            site.app = create_app("development", site.settings())
            try:
                yield site
            finally:
                for process in site.processes:
                    below = descendants(process.proc.pid) if process.alive() else []
                    process.stop()
                    kill_everything(below)  # a work horse the warm shutdown left behind
                with site.app.app_context():
                    db.session.remove()
                    db.engine.dispose()
                site.engine.dispose()
    finally:
        redis.stop()


@dataclass(frozen=True)
class World:
    clerk_email: str
    patient_email: str
    claim_ids: list[int]
    invoice_ids: list[int]


def build_world(site: Site, *, claims: int, invoices: int, issued: bool) -> World:
    """A hospital, an insurer covering GP visits, a billing clerk, a patient with an email, draft claims and
    invoices (issued already, or drafts for the pages to issue)."""
    from decimal import Decimal

    from blueprints.billing import services as billing
    from blueprints.claims import services as claims_services
    from medcover import clock
    from medcover.extensions import db
    from medcover.rbac import Role
    from tests import factories as f

    with site.app.app_context():
        today = clock.today()
        hospital = f.make_institution(code="HA", name="Hospital A")
        company = f.make_company(code="ACME", name="Acme Insurance")
        outpatient = f.make_benefit(code="OUTPATIENT", name="Outpatient", category=f.make_category(code="MED"))
        # the claims are one member's consultations on consecutive days: a suspect duplicate (S01) at the default
        # threshold, so this scheme takes none, and every claim is decided, not sent to review
        scheme = f.make_scheme(
            company, code="GOLD", name="Gold", review_threshold=Decimal("50000.00"), duplicate_score_threshold=100
        )
        f.add_benefit(scheme, outpatient, copay_percent=Decimal("10"))
        member = f.make_member(company, member_number="ACM-001", first_name="Wanjiru", last_name="Kamau")
        f.make_coverage(member, scheme, today - timedelta(days=60), today + timedelta(days=300))
        f.make_tariff(hospital, "CONSULT", "2500.00", benefit_code="OUTPATIENT", description="GP consultation")
        patient = f.make_patient(
            hospital, first_name="Wanjiru", last_name="Kamau", member_number="ACM-001", email="wanjiru@example.com"
        )
        clerk = f.make_user(Role.BILLING_CLERK, institution_id=hospital.id, email="clerk@hospital.example")
        drafts = [
            claims_services.create_claim(
                actor=clerk,
                values=claims_services.ClaimInput(
                    member_number="ACM-001",
                    institution_id=hospital.id,
                    service_date=today - timedelta(days=n + 1),
                    items=[claims_services.ItemInput("CONSULT", 1, "2500.00")],
                ),
            ).id
            for n in range(claims)
        ]
        invoice_ids = []
        for _ in range(invoices):
            invoice = billing.create_invoice(
                actor=clerk,
                institution_id=hospital.id,
                patient_id=patient.id,
                lines=[billing.LineInput("CONSULT", 1, None)],
            )
            if issued:
                billing.issue_invoice(actor=clerk, invoice_id=invoice.id)
            invoice_ids.append(invoice.id)
        db.session.commit()
        return World(clerk.email, patient.email, drafts, invoice_ids)


def pdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages]


def invoice_numbers(site: Site, invoice_ids: list[int]) -> list[str]:
    rows = site.rows("SELECT number FROM invoices WHERE id = ANY(:ids) ORDER BY id", ids=invoice_ids)
    return [r.number for r in rows]


def wait_alive(process: Process, check, *, what: str, timeout: float = SETTLE):
    def checked():
        assert process.alive(), process.log()
        return check()

    return wait_until(checked, timeout=timeout, interval=0.2, what=what)


# --- acceptance ---------------------------------------------------------------------------------------------------


def test_with_redis_stopped_what_people_ask_for_through_the_pages_is_done_exactly_once_when_it_returns(site):
    from rq import Worker

    from medcover import clock

    world = build_world(site, claims=4, invoices=3, issued=False)
    worker, scheduler = site.start("worker"), site.start("scheduler")
    wait_alive(worker, lambda: Worker.count(connection=_redis(site)) > 0, what="the worker to register", timeout=30)

    site.redis.stop()
    time.sleep(1.5)  # both are now without Redis, and stay up
    assert worker.alive(), worker.log()
    assert scheduler.alive(), scheduler.log()

    clerk = site.client(world.clerk_email)
    started = time.monotonic()
    for invoice_id in world.invoice_ids:  # each sends the patient an email once issued (confirmed)
        answer = clerk.post(f"/billing/invoices/{invoice_id}/issue", data={"confirmed": "yes"})
        assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    for claim_id in world.claim_ids:
        answer = clerk.post(f"/claims/{claim_id}/submit")
        assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    answer = clerk.post("/billing/print", data={"day": clock.today().isoformat()})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    progress_url = answer.headers["Location"]
    assert time.monotonic() - started < 30  # Redis refusing never holds a request up for long

    # Everything is recorded, nothing is done, and the pages say it waits.
    statuses = site.rows("SELECT status FROM claims WHERE id = ANY(:ids)", ids=world.claim_ids)
    assert [s.status for s in statuses] == ["submitted"] * 4
    page = clerk.get(f"/claims/{world.claim_ids[0]}").get_data(as_text=True)
    assert "Waiting to be decided since" in page
    assert "0 of 3 pages</strong> waiting to start" in clerk.get(progress_url).get_data(as_text=True)
    time.sleep(3)  # several sweeps' worth: the scheduler cannot reach Redis, the worker cannot either
    assert site.box.received == []
    assert worker.alive(), worker.log()
    assert scheduler.alive(), scheduler.log()
    waiting = site.rows("SELECT about_kind, state, attempts FROM requested_work ORDER BY id")
    assert [(w.about_kind, w.state, w.attempts) for w in waiting] == [("claim", "waiting", 0)] * 4 + [
        ("invoice_print", "waiting", 0)
    ]

    # Redis is back: nobody re-runs anything; the scheduler's sweeps and the worker do it all.
    site.redis.start()

    seen: list = []

    def all_done():
        decided = site.rows("SELECT status FROM claims WHERE id = ANY(:ids)", ids=world.claim_ids)
        work = site.rows("SELECT state FROM requested_work")
        mails = site.rows("SELECT status FROM notifications WHERE channel = 'email'")
        seen[:] = [decided, work, mails, site.rows("SELECT name, dispatched_at FROM outbox_events")]
        return (
            all(d.status == "approved" for d in decided)
            and all(w.state == "done" for w in work)
            and len(mails) == 7  # 3 invoices to the patient, 4 decisions to the clerk
            and all(m.status == "sent" for m in mails)
        )

    try:
        wait_alive(worker, all_done, what="every claim decided, the print done and every email sent")
    except AssertionError:
        raise AssertionError(f"{seen}\n{worker.log()}\n{scheduler.log()}") from None
    assert scheduler.alive(), scheduler.log()
    time.sleep(3)  # more sweeps pass: nothing is done again

    work = site.rows("SELECT about_kind, state, attempts FROM requested_work ORDER BY id")
    assert [(w.about_kind, w.state, w.attempts) for w in work] == [("claim", "done", 1)] * 4 + [
        ("invoice_print", "done", 1)
    ]
    sent = site.rows(
        "SELECT provider_message_id, recipient_address, attempts FROM notifications WHERE channel = 'email'"
    )
    assert sorted(s.provider_message_id for s in sent) == sorted(site.box.message_ids())  # each exactly once
    assert len(set(site.box.message_ids())) == 7 and all(s.attempts == 1 for s in sent)
    to = sorted(str(m["To"]) for m in site.box.received)
    assert to == [world.clerk_email] * 4 + [world.patient_email] * 3
    history = site.rows("SELECT claim_id, to_status FROM claim_statuses ORDER BY id")
    assert [h.to_status for h in history if h.claim_id == world.claim_ids[0]] == ["draft", "submitted", "approved"]

    done = clerk.get(progress_url).get_data(as_text=True)
    assert "Done: 3 of 3 pages" in done
    token = progress_url.rsplit("/", 1)[-1]
    pages = pdf_pages(clerk.get(f"/billing/print/{token}.pdf").data)
    numbers = invoice_numbers(site, world.invoice_ids)
    assert [sum(n in page for page in pages) for n in numbers] == [1, 1, 1]
    assert sorted(p.name for p in site.prints.iterdir()) == [f"{token}.json", f"{token}.pdf"]


def test_a_worker_killed_mid_batch_sends_no_notification_twice_and_marks_the_part_in_flight_for_a_person(site):
    """The six emails are one delivery batch (one job, one SMTP connection), handed over in parts of two
    (NOTIFY_HANDOVER_PARTS 4). The worker dies while handing a part over: that part's messages may have left, so
    each is marked "may have been sent: check" once its lease is over; the parts before it are on record as sent,
    those after it are sent by the next worker, and none is sent a second time."""
    from blueprints.notification import services
    from blueprints.notification.models import Channel
    from medcover.extensions import db
    from medcover.rbac import Role
    from tests.factories import make_user

    with site.app.app_context():
        admin_id = make_user(Role.ADMIN, email="admin@medcover.example").id
        rows = services.send(
            "payment.received",
            [services.Recipient(email=f"payer{n}@example.com") for n in range(6)],
            {"amount": "1,000.00"},
            [Channel.EMAIL],
            institution_id=1,
        )
        ids = [row.id for row in rows]
        db.session.commit()  # one delivery job for the six waits in Redis
    site.box.slow_reply = 1.0  # the server takes each message, then takes its time to say so
    first = site.start("worker")
    site.start("scheduler")
    wait_alive(first, lambda: len(site.box.received) >= 2 and site.box.replying.is_set(), what="the batch underway")
    below = descendants(first.proc.pid)
    first.proc.kill()  # kill -9, work horse and all, while a message is accepted but not yet answered
    kill_everything(below)
    first.proc.wait(timeout=10)
    site.box.slow_reply = 0.0
    second = site.start("worker")

    def settled():
        found = site.rows("SELECT id, status FROM notifications WHERE id = ANY(:ids)", ids=ids)
        return found if all(r.status in ("sent", "unsure") for r in found) else None

    final = wait_alive(second, settled, what="every notification sent or marked to check")
    unsure = sorted(r.id for r in final if r.status == "unsure")
    ids = sorted(ids)
    assert unsure in (ids[0:2], ids[2:4], ids[4:6]), final  # the part being handed over when its worker died
    time.sleep(3)  # sweeps pass: nothing is sent again
    delivered = site.box.message_ids()
    assert len(delivered) == len(set(delivered))  # each at most once
    ids_of = dict(site.rows("SELECT provider_message_id, id FROM notifications WHERE id = ANY(:ids)", ids=ids))
    # every message on record as sent arrived, under its own Message-ID; the part to check arrived in part at most
    assert set(ids) - set(unsure) <= {ids_of[m] for m in delivered} <= set(ids)
    alerts = site.rows(
        "SELECT subject FROM notifications WHERE template_code = 'notification.may_have_been_sent'"
        " AND recipient_user_id = :admin",
        admin=admin_id,
    )
    assert [a.subject for a in alerts] == ["Check: Email message may have been sent"] * 2
    page = site.client("admin@medcover.example").get(f"/admin/notifications/{unsure[0]}").get_data(as_text=True)
    assert "May have been sent: check" in page and "It arrived: mark sent" in page


def test_a_worker_killed_mid_print_shows_interrupted_retrying_and_the_retry_prints_each_invoice_once(site):
    from medcover import clock

    world = build_world(site, claims=0, invoices=12, issued=True)
    first = site.start("worker")
    site.start("scheduler")
    clerk = site.client(world.clerk_email)
    answer = clerk.post("/billing/print", data={"day": clock.today().isoformat()})
    assert answer.status_code == 303
    progress_url = answer.headers["Location"]
    token = progress_url.rsplit("/", 1)[-1]
    status_file = site.prints / f"{token}.json"

    def printing():
        import json

        status = json.loads(status_file.read_text())
        return status["state"] == "running" and 2 <= status["done"] < status["total"]

    wait_alive(first, printing, what="the print to be under way", timeout=60)
    below = descendants(first.proc.pid)
    first.proc.kill()
    kill_everything(below)
    first.proc.wait(timeout=10)
    stuck = clerk.get(progress_url).get_data(as_text=True)
    assert "laid out" in stuck and "Done" not in stuck

    def interrupted():
        html = clerk.get(progress_url).get_data(as_text=True)
        return html if 'id="print-interrupted"' in html else None

    shown = wait_until(interrupted, timeout=20, interval=0.3, what="the progress to say interrupted")
    assert "Interrupted at" in shown and "retrying" in shown and "every 1s" in shown
    second = site.start("worker")

    def finished():
        html = clerk.get(progress_url).get_data(as_text=True)
        return html if "Done: 12 of 12 pages" in html else None

    wait_alive(second, finished, what="the retried print to finish", timeout=120)
    [work] = site.rows("SELECT state, attempts, interrupted_at FROM requested_work")
    assert work.state == "done" and work.attempts == 2 and work.interrupted_at is not None
    pages = pdf_pages(clerk.get(f"/billing/print/{token}.pdf").data)
    numbers = invoice_numbers(site, world.invoice_ids)
    assert [sum(n in page for page in pages) for n in numbers] == [1] * 12  # one copy of each invoice
    assert sorted(p.name for p in site.prints.iterdir()) == [f"{token}.json", f"{token}.pdf"]


def _redis(site: Site):
    from redis import Redis

    return Redis.from_url(site.redis.url)
