"""Notification services: rendering, sending, delivery states, retries, dead letters, preferences."""

from contextlib import ExitStack
from datetime import timedelta

import pytest

from blueprints.notification import channels, services
from blueprints.notification import jobs as notification_jobs
from blueprints.notification.models import Channel, Notification, NotificationLog, Status
from blueprints.notification.services import Recipient
from medcover import clock, jobs
from medcover.errors import Conflict, Invalid
from medcover.events import OutboxEvent, dispatch_pending, publish
from medcover.extensions import db
from medcover.rbac import Role, Tenant
from tests.factories import make_user

CLAIM = {
    "claim_number": "CL-0001",
    "status": "approved",
    "total_billed": "1500.00",
    "total_approved": "1200.00",
    "member_number": "M-1",
    "service_date": "2026-11-01",
}


def _commit():
    db.session.commit()
    jobs.run_ready()


def test_send_writes_one_row_per_channel_and_delivers_email_after_commit(outbox):
    clerk = make_user(Role.BILLING_CLERK, full_name="Bill Clerk")
    rows = services.send("claim.decided", [Recipient(user_id=clerk.id)], CLAIM, [Channel.EMAIL, Channel.IN_APP])
    assert [r.channel for r in rows] == [Channel.EMAIL, Channel.IN_APP]
    assert outbox == []  # nothing leaves before commit
    _commit()
    assert len(outbox) == 1
    assert outbox[0]["To"] == clerk.email
    assert outbox[0]["Subject"] == "Claim CL-0001: approved"
    assert "Dear Bill Clerk" in outbox[0].get_content()
    email, in_app = (db.session.get(Notification, r.id) for r in rows)
    assert email.status is Status.SENT and email.attempts == 1
    assert in_app.status is Status.SENT and in_app.body == "Approved 1200.00 of 1500.00."


def test_a_message_writes_its_days_in_words(outbox):
    """Events carry days as ISO 8601 (webhooks pass them on so); an email or an SMS says "1 Nov 2026"."""
    clerk = make_user(Role.BILLING_CLERK, full_name="Bill Clerk")
    payment = {"amount": "KES 150.00", "reference": "2026-11-29", "paid_on": "2026-11-29", "description": "INV-1"}
    services.send("claim.decided", [Recipient(user_id=clerk.id)], CLAIM, [Channel.EMAIL])
    services.send("payment.received", [Recipient(user_id=clerk.id)], payment, [Channel.EMAIL])
    _commit()
    claim_email, payment_email = (message.get_content() for message in outbox)
    assert "Claim CL-0001 for the service of 1 Nov 2026 has been decided: approved." in claim_email
    # only the day is written in words: a reference that looks like one is left as it was typed
    assert "We received KES 150.00 on 29 Nov 2026 for INV-1 (reference 2026-11-29)." in payment_email
    assert CLAIM["service_date"] == "2026-11-01"  # the event's own context is left as it came


@pytest.mark.parametrize("sent", ["", "[service_date]", "next week", "2026-13-40"])
def test_a_day_that_is_not_a_day_is_written_as_it_came(sent):
    from blueprints.notification.services import rendering

    assert rendering.render("on {{ service_date }}.", {"service_date": sent}) == f"on {sent}."


def test_a_rolled_back_change_sends_nothing(outbox):
    clerk = make_user(Role.BILLING_CLERK)
    db.session.commit()
    services.send("claim.decided", [Recipient(user_id=clerk.id)], CLAIM, [Channel.EMAIL])
    db.session.rollback()
    db.session.commit()
    jobs.run_ready()
    assert outbox == []
    assert db.session.query(Notification).count() == 0


def test_hostile_context_is_rendered_as_text_and_shown_escaped(client, login):
    clerk = login(make_user(Role.BILLING_CLERK))
    services.send(
        "claim.decided",
        [Recipient(user_id=clerk.id)],
        CLAIM | {"total_approved": "<script>alert(1)</script>"},
        [Channel.IN_APP],
    )
    _commit()
    row = db.session.query(Notification).one()
    assert row.body == "Approved <script>alert(1)</script> of 1500.00."
    page = client.get("/notifications").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ recipient_name.__class__.__init__.__globals__ }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_a_template_reaching_for_python_internals_fails_safely(body):
    admin = make_user(Role.ADMIN)
    with pytest.raises(Invalid):
        services.save_template(actor=admin, code="claim.decided", channel=Channel.IN_APP, subject="x", body=body)
    from blueprints.notification.services import rendering

    with pytest.raises(rendering.RenderError):
        rendering.render(body, {"recipient_name": "x"})


def test_sandbox_failure_at_send_time_dead_letters_instead_of_raising():
    admin = make_user(Role.ADMIN)
    from blueprints.notification.models import NotificationTemplate

    db.session.add(
        NotificationTemplate(
            code="claim.decided",
            channel=Channel.IN_APP,
            version=9,
            subject="s",
            body="{{ recipient_name.__class__.__mro__ }}",
            variables={},
            active=True,
        )
    )
    db.session.flush()
    [row] = services.send("claim.decided", [Recipient(user_id=admin.id)], CLAIM, [Channel.IN_APP])
    assert row.status is Status.DEAD
    assert "not allowed" in row.last_error


def test_saving_a_template_adds_a_version_and_uses_it():
    admin = make_user(Role.ADMIN)
    first = services.save_template(
        actor=admin,
        code="claim.decided",
        channel=Channel.SMS,
        subject="",
        body="Claim {{ claim_number }}: {{ status }}",
    )
    second = services.save_template(
        actor=admin, code="claim.decided", channel=Channel.SMS, subject="", body="{{ claim_number }} is {{ status }}"
    )
    assert (first.version, second.version) == (1, 2)
    assert not first.active and second.active
    assert services.active_template("claim.decided", Channel.SMS).body == "{{ claim_number }} is {{ status }}"
    assert len(services.template_versions("claim.decided", Channel.SMS)) == 2


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("body", {"body": "Hello {{ unknown_thing }}"}),
        ("body", {"body": "{% if %}"}),
        ("body", {"body": "   "}),
        ("body", {"body": "x" * 10_001}),
        ("subject", {"subject": "y" * 201}),
        ("code", {"code": "Not A Code"}),
        ("channel", {"channel": "pigeon"}),
    ],
)
def test_bad_templates_are_refused_with_a_field_error(field, kwargs):
    admin = make_user(Role.ADMIN)
    args = {
        "code": "claim.decided",
        "channel": "email",
        "subject": "Claim",
        "body": "Claim {{ claim_number }}",
    } | kwargs
    with pytest.raises(Invalid) as error:
        services.save_template(actor=admin, **args)
    assert field in error.value.errors


def test_failed_delivery_retries_with_exponential_backoff_then_dead_letters_and_alerts_admins(app, monkeypatch):
    admin = make_user(Role.ADMIN)
    clerk = make_user(Role.BILLING_CLERK)

    def broken(message):
        raise channels.DeliveryError("SMTP: connection refused")

    monkeypatch.setitem(notification_jobs.SENDERS, Channel.EMAIL, broken)
    [row] = services.send("claim.decided", [Recipient(user_id=clerk.id)], CLAIM, [Channel.EMAIL])
    _commit()
    row = db.session.get(Notification, row.id)
    assert (row.status, row.attempts) == (Status.FAILED, 1)
    base = app.config["NOTIFY_RETRY_BASE_SECONDS"]
    delays = []
    with ExitStack() as time_passes:
        for _attempt in range(2, app.config["NOTIFY_MAX_ATTEMPTS"] + 1):
            waited = row.next_attempt_at - clock.now()
            delays.append(round(waited.total_seconds() / base))
            assert services.due_for_retry() == []  # not before its time
            time_passes.enter_context(clock.travel(waited + timedelta(seconds=1)))
            assert services.due_for_retry() == [row.id]
            notification_jobs.deliver_notification(row.id)
            row = db.session.get(Notification, row.id)
    assert delays == [1, 2, 4, 8]
    assert row.status is Status.DEAD and row.last_error == "SMTP: connection refused"
    alert = db.session.query(Notification).filter_by(template_code="notification.dead_lettered").one()
    assert alert.recipient_user_id == admin.id and alert.channel is Channel.IN_APP
    assert f"#{row.id}" in alert.body
    steps = [entry.status for entry in services.history(row.id)]
    assert steps[0] == "queued" and steps[-1] == "dead" and steps.count("sending") == 5


def test_a_duplicate_job_never_sends_twice(outbox):
    clerk = make_user(Role.BILLING_CLERK)
    [row] = services.send("claim.decided", [Recipient(user_id=clerk.id)], CLAIM, [Channel.EMAIL])
    _commit()
    assert notification_jobs.deliver_notification(row.id) == "nothing to do"
    assert len(outbox) == 1


def test_a_worker_that_died_before_handing_the_message_over_is_retried_after_its_lease(outbox):
    clerk = make_user(Role.BILLING_CLERK)
    [row] = services.send("claim.decided", [Recipient(user_id=clerk.id)], CLAIM, [Channel.EMAIL])
    db.session.commit()  # jobs not run: as if the worker took it and died after marking it sending
    db.session.info.pop("medcover_ready_jobs", None)
    services.claim_for_delivery(row.id)
    db.session.commit()
    assert services.due_for_retry() == []
    with clock.travel(timedelta(minutes=11)):
        assert services.due_for_retry() == [row.id]
        assert notification_jobs.deliver_notification(row.id) == "sent"
    [sent] = outbox
    row = db.session.get(Notification, row.id)
    assert row.status is Status.SENT and row.attempts == 2 and sent["Message-ID"] == row.provider_message_id


def test_a_worker_that_died_mid_send_is_not_retried_after_its_lease_but_marked_to_check(outbox):
    clerk = make_user(Role.BILLING_CLERK)
    [row] = services.send("claim.decided", [Recipient(user_id=clerk.id)], CLAIM, [Channel.EMAIL])
    db.session.commit()  # jobs not run: as if the worker took it and died while handing it over
    db.session.info.pop("medcover_ready_jobs", None)
    services.claim_for_delivery(row.id)
    services.record_handover(row.id)
    db.session.commit()
    assert services.due_for_retry() == []
    with clock.travel(timedelta(minutes=11)):
        assert services.due_for_retry() == [row.id]
        assert notification_jobs.deliver_notification(row.id) == "nothing to do"
    assert outbox == []
    assert db.session.get(Notification, row.id).status is Status.UNSURE


def test_events_reach_recipients_once_even_when_dispatched_twice(outbox):
    clerk = make_user(Role.BILLING_CLERK)
    event = publish("claim.decided", {"recipients": [{"user_id": clerk.id}], "context": CLAIM, "institution_id": 1})
    _commit()
    assert db.session.get(OutboxEvent, event.id).dispatched_at is not None
    db.session.get(OutboxEvent, event.id).dispatched_at = None  # a redelivery
    dispatch_pending()
    _commit()
    rows = db.session.query(Notification).filter_by(template_code="claim.decided").all()
    assert sorted((r.channel.value, r.status.value) for r in rows) == [
        ("email", "sent"),
        ("in_app", "sent"),
        ("sms", "skipped"),
    ]  # no phone for a staff user
    assert len(outbox) == 1


def test_password_change_sends_a_mandatory_security_email(outbox):
    from blueprints.core import services as core
    from tests.factories import PASSWORD

    user = make_user(Role.RECEPTIONIST)
    with pytest.raises(Conflict):
        services.set_preference(actor=user, template_code="user.password_changed", channel="email", enabled=False)
    core.change_password(actor=user, current_password=PASSWORD, new_password="Another-pass-77")
    _commit()
    assert [m["Subject"] for m in outbox] == ["Your MedCover password was changed"]


def test_opted_out_channel_is_skipped_with_the_reason():
    clerk = make_user(Role.BILLING_CLERK)
    services.set_preference(actor=clerk, template_code="claim.decided", channel="email", enabled=False)
    rows = services.send("claim.decided", [Recipient(user_id=clerk.id)], CLAIM, [Channel.EMAIL, Channel.IN_APP])
    assert [(r.channel, r.status) for r in rows] == [(Channel.EMAIL, Status.SKIPPED), (Channel.IN_APP, Status.SENT)]
    assert "opted out" in rows[0].last_error


def test_sms_goes_through_the_provider_adapter_and_receipts_mark_delivery():
    channels.LogSmsProvider.sent.clear()
    [row] = services.send("claim.decided", [Recipient(phone="+254700000001", name="Jane")], CLAIM, [Channel.SMS])
    _commit()
    row = db.session.get(Notification, row.id)
    assert channels.LogSmsProvider.sent == [("+254700000001", "MedCover: claim CL-0001 approved, approved 1200.00.")]
    assert row.status is Status.SENT and row.provider_message_id == f"log-n{row.id}"
    services.record_receipt("log", row.provider_message_id, "delivered")
    assert db.session.get(Notification, row.id).status is Status.DELIVERED


def test_http_sms_adapter_posts_json_and_reads_the_message_id():
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen = {}

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen["auth"] = self.headers["Authorization"]
            seen["body"] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(201)
            self.end_headers()
            self.wfile.write(b'{"id": "gw-77"}')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.handle_request, daemon=True).start()
    provider = channels.HttpSmsProvider(f"http://127.0.0.1:{server.server_port}/sms", "key-1", "MedCover")
    assert provider.send("+254700000002", "hello", "n5") == "gw-77"
    server.server_close()
    assert seen == {
        "auth": "Bearer key-1",
        "body": {"to": "+254700000002", "from": "MedCover", "text": "hello", "reference": "n5"},
    }
    dead = channels.HttpSmsProvider("http://127.0.0.1:1/sms", "k", "M", timeout=2)
    with pytest.raises(channels.DeliveryError, match="unreachable"):
        dead.send("+254700000002", "hello", "n6")


def test_inbox_counts_and_mark_read_are_per_user():
    me, other = make_user(Role.BILLING_CLERK), make_user(Role.BILLING_CLERK)
    rows = services.send(
        "claim.decided", [Recipient(user_id=me.id), Recipient(user_id=other.id)], CLAIM, [Channel.IN_APP]
    )
    assert services.unread_count(me.id) == 1
    from medcover.errors import NotFound

    with pytest.raises(NotFound):
        services.mark_read(user_id=me.id, notification_id=rows[1].id)
    assert services.mark_read(user_id=me.id, notification_id=rows[0].id) == 1
    assert services.unread_count(me.id) == 0 and services.unread_count(other.id) == 1


def test_delivery_list_is_scoped_to_the_tenant():
    make_user(Role.ADMIN)
    a = services.send(
        "payment.received", [Recipient(email="a@example.com")], {"amount": "1.00"}, [Channel.EMAIL], institution_id=1
    )
    services.send(
        "payment.received", [Recipient(email="b@example.com")], {"amount": "2.00"}, [Channel.EMAIL], institution_id=2
    )
    ids = db.session.scalars(services.delivery_query(Tenant(institution_id=1, company_id=None))).all()
    assert [r.id for r in ids] == [a[0].id]
    assert len(db.session.scalars(services.delivery_query(Tenant(None, None))).all()) == 2


def test_log_entries_record_each_step():
    clerk = make_user(Role.BILLING_CLERK)
    [row] = services.send("claim.decided", [Recipient(user_id=clerk.id)], CLAIM, [Channel.EMAIL])
    _commit()
    assert [e.status for e in db.session.query(NotificationLog).filter_by(notification_id=row.id)] == [
        "queued",
        "sending",
        "sent",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        {"email": "a@b.com, other@evil.com"},
        {"email": "a@b.com\r\nBcc: x@evil.com"},
        {"email": "not-an-address"},
        {"phone": "12"},
        {},
        {"user_id": True},
    ],
)
def test_recipients_must_be_one_plain_address_or_user(raw):
    with pytest.raises(Invalid) as error:
        Recipient.parse(raw)
    assert "recipients" in error.value.errors


def test_a_message_that_loses_its_worker_every_time_before_the_handover_is_dead_lettered_at_the_limit(app):
    admin = make_user(Role.ADMIN)
    [row] = services.send("payment.received", [Recipient(email="p@example.com")], {"amount": "1.00"}, [Channel.EMAIL])
    db.session.commit()
    db.session.info.pop("medcover_ready_jobs", None)
    with ExitStack() as time_passes:
        for _ in range(app.config["NOTIFY_MAX_ATTEMPTS"]):
            assert services.claim_for_delivery(row.id) is not None  # the worker then dies before the handover
            time_passes.enter_context(clock.travel(timedelta(minutes=11)))
        assert services.claim_for_delivery(row.id) is None
    row = db.session.get(Notification, row.id)
    assert row.status is Status.DEAD and row.attempts == app.config["NOTIFY_MAX_ATTEMPTS"]
    alert = db.session.query(Notification).filter_by(template_code="notification.dead_lettered").one()
    assert alert.recipient_user_id == admin.id and alert.subject == "Delivery failed: Email message"


def test_a_message_whose_worker_was_lost_mid_send_is_marked_for_a_person_and_never_sent_twice(app, outbox):
    admin = make_user(Role.ADMIN)
    [row] = services.send("payment.received", [Recipient(email="p@example.com")], {"amount": "1.00"}, [Channel.EMAIL])
    db.session.commit()
    db.session.info.pop("medcover_ready_jobs", None)
    taken = services.claim_for_delivery(row.id)
    db.session.refresh(row)
    assert taken is not None and row.status is Status.SENDING
    services.record_handover(row.id)  # the worker then dies inside the SMTP exchange
    message_id = taken.provider_message_id
    assert message_id == f"<notification.{row.id}.{int(row.created_at.timestamp())}@medcover.local>"
    db.session.commit()
    assert services.claim_for_delivery(row.id) is None  # a duplicate job under the lease: nothing to do
    assert services.due_for_retry() == []
    with clock.travel(timedelta(seconds=app.config["NOTIFY_SENDING_LEASE"] + 1)):
        assert services.due_for_retry() == [row.id]
        assert services.claim_for_delivery(row.id) is None  # the sweep's job: no second copy
        db.session.commit()
        assert services.claim_for_delivery(row.id) is None
        assert services.due_for_retry() == []
    row = db.session.get(Notification, row.id)
    assert row.status is Status.UNSURE and row.attempts == 1 and row.provider_message_id == message_id
    assert row.status.label == "May have been sent: check"
    assert outbox == []
    alert = db.session.query(Notification).filter_by(template_code="notification.may_have_been_sent").one()
    assert alert.recipient_user_id == admin.id and alert.subject == "Check: Email message may have been sent"
    assert "It will not be sent again on its own" in alert.body


def test_a_message_that_may_have_been_sent_goes_out_again_only_when_a_person_says_so(app, outbox):
    admin = make_user(Role.ADMIN)
    [row] = services.send("payment.received", [Recipient(email="q@example.com")], {"amount": "1.00"}, [Channel.EMAIL])
    db.session.commit()
    db.session.info.pop("medcover_ready_jobs", None)
    message_id = services.claim_for_delivery(row.id).provider_message_id
    services.record_handover(row.id)
    db.session.commit()
    with clock.travel(timedelta(seconds=app.config["NOTIFY_SENDING_LEASE"] + 1)):
        services.claim_for_delivery(row.id)
        db.session.commit()
    jobs.run_ready()
    assert outbox == []
    services.resend(actor=admin, notification_id=row.id, tenant=Tenant(None, None))
    db.session.commit()
    jobs.run_ready()
    [sent] = outbox
    assert sent["Message-ID"] == message_id  # the same message: a copy that did arrive is recognisable
    assert db.session.get(Notification, row.id).status is Status.SENT


def test_a_message_that_may_have_been_sent_is_marked_sent_by_a_person_and_not_sent(outbox):
    admin = make_user(Role.ADMIN)
    [row] = services.send("payment.received", [Recipient(email="r@example.com")], {"amount": "1.00"}, [Channel.EMAIL])
    db.session.commit()
    db.session.info.pop("medcover_ready_jobs", None)
    services.claim_for_delivery(row.id)
    services.record_handover(row.id)
    db.session.commit()
    with pytest.raises(Conflict):
        services.mark_sent(actor=admin, notification_id=row.id, tenant=Tenant(None, None))
    with clock.travel(timedelta(hours=1)):
        services.claim_for_delivery(row.id)
    services.mark_sent(actor=admin, notification_id=row.id, tenant=Tenant(None, None))
    db.session.commit()
    jobs.run_ready()
    assert db.session.get(Notification, row.id).status is Status.SENT and outbox == []
    assert [e.status for e in db.session.query(NotificationLog).filter_by(notification_id=row.id)] == [
        "queued",
        "sending",
        "unsure",
        "sent",
    ]
