"""Web push: a staff member who opted in on the profile page gets a push (through pywebpush, the push service stubbed
at the HTTP layer) for an in-app notification, with its delivery states; an expired subscription is removed."""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta

import http_ece
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from sqlalchemy import select

from blueprints.notification.models import Channel, Notification, NotificationLog, PushSubscription, Status
from medcover.api import PREFIX
from medcover.extensions import db

PUSH_SERVICE = "https://push.example.net/wpush/v2/"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Browser:
    """A browser's side of the Push API: its key pair and auth secret, and the subscription it hands the page."""

    def __init__(self, name: str):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = PUSH_SERVICE + name
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.subscription = {"endpoint": self.endpoint, "keys": {"p256dh": b64(public), "auth": b64(self.auth)}}

    def read(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


class PushService:
    """Stands in for the push service at the HTTP layer (requests' transport adapter): records what pywebpush
    sends and answers with the status set for the endpoint (201 unless told otherwise)."""

    def __init__(self):
        self.received: list[requests.PreparedRequest] = []
        self.answers: dict[str, int] = {}

    def send(self, adapter, request, **kwargs):
        self.received.append(request)
        response = requests.Response()
        response.status_code = self.answers.get(request.url, 201)
        response.reason = "stub"
        response._content = b""
        response.url = request.url
        response.request = request
        return response


@pytest.fixture
def push_service(monkeypatch):
    service = PushService()
    monkeypatch.setattr(
        requests.adapters.HTTPAdapter, "send", lambda adapter, request, **kw: service.send(adapter, request, **kw)
    )
    return service


@pytest.fixture
def vapid(app, monkeypatch):
    key = Vapid()
    key.generate_keys()
    private = b64(key.private_key.private_numbers().private_value.to_bytes(32, "big"))
    public = b64(key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", private)
    monkeypatch.setitem(app.config, "VAPID_PUBLIC_KEY", public)
    monkeypatch.setitem(app.config, "VAPID_SUBJECT", "mailto:ops@medcover.example")
    return public


def opt_in(client, browser: Browser):
    response = client.post("/notifications/push", json=browser.subscription)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()


def decided_claim(client, api_token, cw, code="CONSULT", price="2500.00") -> dict:
    headers = api_token(cw.clerk)
    body = {
        "member_number": "ACM-001",
        "institution_id": cw.hospital.id,
        "service_date": (cw.today - timedelta(days=1)).isoformat(),
        "items": [{"service_code": code, "quantity": 1, "unit_price": price}],
    }
    made = client.post(f"{PREFIX}/claims", json=body, headers=headers)
    assert made.status_code == 201
    decided = client.post(f"{PREFIX}/claims/{made.get_json()['id']}/submit", headers=headers)
    assert decided.status_code == 200
    return decided.get_json()


def notifications_of(user_id: int, channel: Channel) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.recipient_user_id == user_id, Notification.channel == channel)
            .order_by(Notification.id)
        )
    )


def test_a_clerk_who_opted_in_gets_a_push_for_an_in_app_notification(client, login, api_token, cw, vapid, push_service):
    login(cw.clerk)
    profile = client.get("/auth/profile").get_data(as_text=True)
    assert f'data-key="{vapid}"' in profile and "Push notifications are off." in profile
    browser = Browser("clerk-laptop")
    assert opt_in(client, browser) == {"subscribed": True, "browsers": 1}
    assert "Push notifications are on for 1 browser." in client.get("/auth/profile").get_data(as_text=True)

    claim = decided_claim(client, api_token, cw)
    (in_app,) = notifications_of(cw.clerk.id, Channel.IN_APP)
    (push,) = notifications_of(cw.clerk.id, Channel.PUSH)
    assert in_app.status is Status.SENT and claim["claim_number"] in in_app.subject
    assert push.status is Status.SENT and push.subject == in_app.subject and push.sent_at is not None
    steps = db.session.scalars(
        select(NotificationLog.status).where(NotificationLog.notification_id == push.id).order_by(NotificationLog.id)
    ).all()
    assert steps == ["queued", "sending", "sent"]

    (sent,) = [r for r in push_service.received if r.url == browser.endpoint]
    assert sent.method == "POST" and sent.headers["Content-Encoding"] == "aes128gcm"
    assert sent.headers["Authorization"].startswith("vapid t=") and f"k={vapid}" in sent.headers["Authorization"]
    message = browser.read(sent.body)
    assert message == {"title": in_app.subject, "body": "Open MedCover to read it.", "url": "/notifications"}
    assert "ACM-001" not in json.dumps(message)  # only the title leaves; the details stay in the inbox


def test_an_expired_subscription_is_removed_and_the_push_skipped(client, login, api_token, cw, vapid, push_service):
    login(cw.clerk)
    browser = Browser("old-tablet")
    opt_in(client, browser)
    push_service.answers[browser.endpoint] = 410

    decided_claim(client, api_token, cw)
    (push,) = notifications_of(cw.clerk.id, Channel.PUSH)
    assert push.status is Status.SKIPPED and push.last_error == "every browser's push subscription had expired"
    assert db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == cw.clerk.id)).all() == []

    decided_claim(client, api_token, cw, code="LAB-FBC", price="1200.00")
    assert len(notifications_of(cw.clerk.id, Channel.PUSH)) == 1  # no subscription, no second push
    assert len(push_service.received) == 1


def test_one_expired_browser_among_two_leaves_the_other_served(client, login, api_token, cw, vapid, push_service):
    login(cw.clerk)
    gone, kept = Browser("gone"), Browser("kept")
    opt_in(client, gone)
    opt_in(client, kept)
    push_service.answers[gone.endpoint] = 404

    decided_claim(client, api_token, cw)
    (push,) = notifications_of(cw.clerk.id, Channel.PUSH)
    assert push.status is Status.SENT
    remaining = db.session.scalars(select(PushSubscription.endpoint).where(PushSubscription.user_id == cw.clerk.id))
    assert list(remaining) == [kept.endpoint]


def test_a_push_service_error_is_retried_later_and_the_subscription_kept(
    client, login, api_token, cw, vapid, push_service
):
    login(cw.clerk)
    browser = Browser("flaky")
    opt_in(client, browser)
    push_service.answers[browser.endpoint] = 503

    decided_claim(client, api_token, cw)
    (push,) = notifications_of(cw.clerk.id, Channel.PUSH)
    assert push.status is Status.FAILED and push.next_attempt_at is not None
    assert push.last_error.startswith("push service answered 503")
    assert db.session.scalar(select(PushSubscription.endpoint).where(PushSubscription.user_id == cw.clerk.id))


def test_turning_push_off_removes_the_browser_and_nothing_more_is_pushed(
    client, login, api_token, cw, vapid, push_service
):
    login(cw.clerk)
    browser = Browser("desk")
    opt_in(client, browser)
    off = client.post("/notifications/push/off", json={"endpoint": browser.endpoint})
    assert off.status_code == 200 and off.get_json() == {"subscribed": False, "browsers": 0}
    decided_claim(client, api_token, cw)
    assert notifications_of(cw.clerk.id, Channel.PUSH) == [] and push_service.received == []


def test_without_vapid_keys_push_is_off_and_subscribing_is_refused(client, login, api_token, cw, push_service):
    login(cw.clerk)
    assert "push-toggle" not in client.get("/auth/profile").get_data(as_text=True)
    assert client.post("/notifications/push", json=Browser("x").subscription).status_code == 422
    decided_claim(client, api_token, cw)
    assert notifications_of(cw.clerk.id, Channel.PUSH) == [] and push_service.received == []


@pytest.mark.parametrize(
    "change",
    [
        {"endpoint": "http://push.example.net/insecure"},
        {"endpoint": "javascript:alert(1)"},
        {"keys": {"p256dh": "not-a-key", "auth": "AAAA"}},
        {"keys": {}},
    ],
)
def test_a_subscription_that_is_not_one_is_refused_and_nothing_stored(client, login, cw, vapid, change):
    login(cw.clerk)
    response = client.post("/notifications/push", json={**Browser("x").subscription, **change})
    assert response.status_code == 422
    assert db.session.scalars(select(PushSubscription)).all() == []


def test_subscribing_needs_the_csrf_token_and_a_staff_sign_in(client, login, cw, vapid):
    assert client.post("/notifications/push", json=Browser("x").subscription, csrf=False).status_code in (302, 400)
    login(cw.clerk)
    assert client.post("/notifications/push", json=Browser("x").subscription, csrf=False).status_code == 400


def test_the_service_worker_is_served_from_our_origin_under_the_csp(client):
    response = client.get("/service-worker.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "showNotification" in response.get_data(as_text=True)


def test_the_vapid_keys_command_prints_a_pair_pywebpush_can_sign_with(app):
    result = app.test_cli_runner().invoke(args=["notifications", "vapid-keys"])
    assert result.exit_code == 0, result.output
    settings = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    signer = Vapid.from_string(settings["VAPID_PRIVATE_KEY"])
    public = signer.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert b64(public) == settings["VAPID_PUBLIC_KEY"]


def test_push_is_only_ever_a_copy_of_in_app(app, cw, vapid, push_service):
    from blueprints.notification import services
    from medcover.errors import Invalid

    with pytest.raises(Invalid) as refused:
        services.save_template(actor=cw.clerk, code="claim.decided", channel="push", subject="x", body="y")
    assert "channel" in refused.value.errors
    assert services.send("claim.decided", [services.Recipient(user_id=cw.clerk.id)], {}, [Channel.PUSH]) == []
