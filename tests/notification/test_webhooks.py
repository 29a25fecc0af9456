"""Signed webhooks: subscriptions for one's own organisation, refused private targets, deliveries from the outbox
verified with ``standardwebhooks`` by a real receiver, retries with backoff into a dead letter, resend, secret
rotation, and tenant B's events never reaching tenant A."""

from __future__ import annotations

import itertools
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from blueprints.notification.models import WebhookDelivery, WebhookStatus, WebhookSubscription
from blueprints.notification.services import webhook_delivery, webhook_targets
from medcover import clock
from medcover.rbac import Role
from tests.factories import make_institution, make_patient, make_tariff, make_user


class Receiver:
    """A webhook receiver on a free local port: records what arrives and answers ``status``."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


_codes = itertools.count(1)


@pytest.fixture
def receiver(app, monkeypatch):
    """A local receiver; private addresses allowed for this test only."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    with Receiver() as found:
        yield found


def _verify_all(receiver: Receiver, secret: str) -> list[dict]:
    """Every delivery verified with the standardwebhooks package; their payloads."""
    return [Webhook(secret).verify(body, headers) for headers, body in receiver.received]


def _subscribe(client, headers, url, events, **extra):
    return client.post("/api/v1/webhooks", json={"url": url, "events": events, **extra}, headers=headers)


def _issue_invoice(client, institution, amount="1500.00"):
    """An invoice issued through the API by the hospital's billing clerk: ``invoice.issued`` in the outbox."""
    code = f"CONSULT-{next(_codes)}"
    make_tariff(institution, code, amount)
    patient = make_patient(institution)
    clerk = make_user(Role.BILLING_CLERK, institution_id=institution.id)
    login = client.post("/api/v1/auth/login", json={"email": clerk.email, "password": "Correct-horse-9"})
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    draft = client.post(
        "/api/v1/invoices",
        json={
            "patient_id": patient.id,
            "institution_id": institution.id,
            "lines": [{"service_code": code, "quantity": 1}],
        },
        headers=headers,
    )
    assert draft.status_code == 201, draft.get_data(as_text=True)
    issued = client.post(f"/api/v1/invoices/{draft.get_json()['id']}/issue", headers=headers)
    assert issued.status_code == 200, issued.get_data(as_text=True)
    return issued.get_json()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/hooks", "http://169.254.169.254/latest/meta-data", "http://localhost:8080/x", "http://[::1]/x"],
)
def test_a_subscription_to_a_private_loopback_or_link_local_target_is_refused(client, api_token, url):
    headers = api_token(make_user(Role.INTEGRATION, institution_id=make_institution().id))
    answer = _subscribe(client, headers, url, ["invoice.issued"])
    assert answer.status_code == 422
    assert "url" in answer.get_json()["errors"]


def test_a_name_resolving_to_the_metadata_address_is_refused(client, api_token, monkeypatch):
    monkeypatch.setattr(webhook_targets, "resolve", lambda host, port: ["93.184.216.34", "169.254.169.254"])
    headers = api_token(make_user(Role.INTEGRATION, institution_id=make_institution().id))
    answer = _subscribe(client, headers, "https://rebind.example.com/hooks", ["invoice.issued"])
    assert answer.status_code == 422
    assert "169.254.169.254" in answer.get_json()["errors"]["url"][0]


def test_unknown_events_are_refused_naming_the_field(client, api_token, monkeypatch):
    monkeypatch.setattr(webhook_targets, "resolve", lambda host, port: ["93.184.216.34"])
    headers = api_token(make_user(Role.INTEGRATION, institution_id=make_institution().id))
    answer = _subscribe(client, headers, "https://erp.example.com/hooks", ["patient.admitted"])
    assert answer.status_code == 422 and "events" in answer.get_json()["errors"]


def test_every_delivery_is_signed_per_standard_webhooks_and_tenant_b_never_reaches_a(client, api_token, receiver):
    a, b = make_institution(name="Hospital A"), make_institution(name="Hospital B")
    headers = api_token(make_user(Role.INTEGRATION, institution_id=a.id))
    created = _subscribe(client, headers, receiver.url, ["invoice.issued"], description="ERP")
    assert created.status_code == 201, created.get_data(as_text=True)
    secret = created.get_json()["secret"]
    assert created.get_json()["institution_id"] == a.id
    mine = _issue_invoice(client, a, "1500.00")
    _issue_invoice(client, b, "900.00")
    payloads = _verify_all(receiver, secret)
    assert [p["type"] for p in payloads] == ["invoice.issued"]
    data = payloads[0]["data"]
    assert data["number"] == mine["number"] and data["total"] == "1500.00" and data["invoice_id"] == mine["id"]
    assert "recipients" not in data and "patient_id" not in data  # no more than the event needs
    headers_seen = receiver.received[0][0]
    assert headers_seen["webhook-id"].startswith("msg_") and headers_seen["webhook-signature"].startswith("v1,")
    log = client.get(f"/api/v1/webhooks/{created.get_json()['id']}/deliveries", headers=headers).get_json()
    assert [(d["event_type"], d["status"], d["attempts"]) for d in log["items"]] == [("invoice.issued", "delivered", 1)]


def test_a_failing_receiver_gets_retries_with_backoff_then_a_dead_letter(
    client, api_token, receiver, app, db_session, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_BASE_SECONDS", 30)
    hospital = make_institution()
    headers = api_token(make_user(Role.INTEGRATION, institution_id=hospital.id))
    created = _subscribe(client, headers, receiver.url, ["invoice.issued"]).get_json()
    receiver.status = 500
    _issue_invoice(client, hospital)
    row = db_session.scalars(select(WebhookDelivery)).one()
    assert (row.status, row.attempts, row.last_status_code) == (WebhookStatus.PENDING, 1, 500)
    first_wait = row.next_attempt_at - row.last_attempt_at
    assert webhook_delivery.sweep() == 0  # not due yet
    with clock.travel(timedelta(seconds=31)):
        assert webhook_delivery.sweep() == 1
    db_session.refresh(row)
    assert row.attempts == 2 and row.next_attempt_at - row.last_attempt_at == 2 * first_wait == timedelta(seconds=60)
    with clock.travel(timedelta(seconds=31 + 61)):
        webhook_delivery.sweep()
    db_session.refresh(row)
    assert (row.status, row.attempts, row.next_attempt_at) == (WebhookStatus.DEAD, 3, None)
    assert len(receiver.received) == 3
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert ids == {row.message_id}  # the same message each time, so the receiver can drop duplicates
    _verify_all(receiver, created["secret"])
    # the receiver is fixed: a resend delivers the dead letter
    receiver.status = 200
    resent = client.post(f"/api/v1/webhook-deliveries/{row.id}/resend", headers=headers)
    assert resent.status_code == 200, resent.get_data(as_text=True)
    db_session.refresh(row)
    assert row.status is WebhookStatus.DELIVERED and len(receiver.received) == 4


def test_a_target_that_turns_private_after_subscribing_is_not_contacted(
    client, api_token, app, db_session, monkeypatch
):
    answers = {"ip": "93.184.216.34"}
    monkeypatch.setattr(webhook_targets, "resolve", lambda host, port: [answers["ip"]])
    hospital = make_institution()
    headers = api_token(make_user(Role.INTEGRATION, institution_id=hospital.id))
    assert _subscribe(client, headers, "http://rebind.example.com/hooks", ["invoice.issued"]).status_code == 201
    answers["ip"] = "127.0.0.1"  # DNS rebinding: the name now points inside
    posted = []
    monkeypatch.setattr(webhook_delivery, "_post", lambda *args: posted.append(args) or 200)
    _issue_invoice(client, hospital)
    row = db_session.scalars(select(WebhookDelivery)).one()
    assert posted == [] and row.status is WebhookStatus.PENDING and row.last_error.startswith("Refused:")


def test_rotation_signs_with_both_secrets_during_the_grace_period(client, api_token, receiver, db_session):
    hospital = make_institution()
    headers = api_token(make_user(Role.INTEGRATION, institution_id=hospital.id))
    created = _subscribe(client, headers, receiver.url, ["invoice.issued"]).get_json()
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=headers)
    assert rotated.status_code == 200
    new = rotated.get_json()["secret"]
    _issue_invoice(client, hospital)
    assert len(receiver.received[0][0]["webhook-signature"].split(" ")) == 2
    _verify_all(receiver, created["secret"])  # a receiver still on the old secret keeps working
    _verify_all(receiver, new)
    subscription = db_session.get(WebhookSubscription, created["id"])
    assert subscription.previous_until - clock.now() > timedelta(hours=23)  # the grace period: 24 hours
    subscription.previous_until = clock.now() - timedelta(seconds=1)  # ... and then it is over
    db_session.commit()
    _issue_invoice(client, hospital)
    assert len(receiver.received) == 2 and len(receiver.received[1][0]["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(receiver.received[1][1], receiver.received[1][0])


def test_an_integration_sees_only_its_own_organisations_subscriptions(client, api_token, monkeypatch):
    monkeypatch.setattr(webhook_targets, "resolve", lambda host, port: ["93.184.216.34"])
    a, b = make_institution(), make_institution()
    a_headers = api_token(make_user(Role.INTEGRATION, institution_id=a.id))
    b_headers = api_token(make_user(Role.INTEGRATION, institution_id=b.id))
    theirs = _subscribe(client, b_headers, "https://b.example.com/hooks", ["invoice.issued"]).get_json()
    # naming another organisation is refused; its subscription is missing to me
    other = _subscribe(client, a_headers, "https://a.example.com/hooks", ["invoice.issued"], institution_id=b.id)
    assert other.status_code == 403
    assert client.get(f"/api/v1/webhooks/{theirs['id']}", headers=a_headers).status_code == 404
    assert client.get("/api/v1/webhooks", headers=a_headers).get_json()["total"] == 0
    assert client.post(f"/api/v1/webhooks/{theirs['id']}/disable", headers=a_headers).status_code == 404
    stopped = client.post(f"/api/v1/webhooks/{theirs['id']}/disable", headers=b_headers)
    assert stopped.status_code == 200 and stopped.get_json()["active"] is False


def test_staff_other_than_admins_cannot_manage_webhooks(client, api_token):
    headers = api_token(make_user(Role.BILLING_CLERK))
    assert client.get("/api/v1/webhooks", headers=headers).status_code == 403


def test_admin_pages_create_show_the_secret_once_and_list_deliveries(client, login_as, receiver):
    hospital = make_institution(name="Riverside Hospital")
    login_as(Role.ADMIN)
    page = client.post(
        "/admin/webhooks/new",
        data={"url": receiver.url, "organisation": f"institution:{hospital.id}", "events": ["invoice.issued"]},
    )
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'id="webhook-secret">whsec_' in page.get_data(as_text=True)
    _issue_invoice(client, hospital)
    listed = client.get("/admin/webhooks").get_data(as_text=True)
    assert "Riverside Hospital" in listed and "An invoice was issued" in listed and "whsec_" not in listed
    detail_id = re.search(r'href="/admin/webhooks/(\d+)"', listed).group(1)
    detail = client.get(f"/admin/webhooks/{detail_id}").get_data(as_text=True)
    assert "Delivered" in detail and "An invoice was issued" in detail and "invoice.issued" not in detail


def test_a_refused_url_on_the_page_is_a_field_error(client, login_as):
    hospital = make_institution()
    login_as(Role.ADMIN)
    page = client.post(
        "/admin/webhooks/new",
        data={
            "url": "http://169.254.169.254/",
            "organisation": f"institution:{hospital.id}",
            "events": ["invoice.issued"],
        },
    )
    assert page.status_code == 422 and "link-local" in page.get_data(as_text=True)


def test_the_delivery_log_page_resends_a_dead_letter(client, login_as, receiver, app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_ATTEMPTS", 1)
    hospital = make_institution()
    login_as(Role.ADMIN)
    client.post(
        "/admin/webhooks/new",
        data={"url": receiver.url, "organisation": f"institution:{hospital.id}", "events": ["invoice.issued"]},
    )
    receiver.status = 503
    _issue_invoice(client, hospital)
    row = db_session.scalars(select(WebhookDelivery)).one()
    assert row.status is WebhookStatus.DEAD
    page = client.get(f"/admin/webhooks/{row.subscription_id}").get_data(as_text=True)
    assert "Failed: out of attempts" in page and "HTTP 503" in page and "Resend" in page
    receiver.status = 200
    resent = client.post(f"/admin/webhook-deliveries/{row.id}/resend")
    assert resent.status_code == 303
    db_session.refresh(row)
    assert row.status is WebhookStatus.DELIVERED and len(receiver.received) == 2


def test_the_audit_log_names_webhooks_in_words(client, login_as, api_token, monkeypatch):
    monkeypatch.setattr(webhook_targets, "resolve", lambda host, port: ["93.184.216.34"])
    headers = api_token(make_user(Role.INTEGRATION, institution_id=make_institution().id))
    created = _subscribe(client, headers, "https://erp.example.com/hooks", ["invoice.issued"]).get_json()
    client.post(f"/api/v1/webhooks/{created['id']}/disable", headers=headers)
    login_as(Role.ADMIN)
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "Webhook to https://erp.example.com/hooks" in audit and "Stopped" in audit
    assert ">webhook_subscription<" not in audit and ">disable<" not in audit
