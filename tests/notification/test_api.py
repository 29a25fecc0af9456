"""Notification JSON API: send, list, read, templates, delivery receipts; bad input answers 422."""

import pytest

from blueprints.notification.models import Notification, NotificationTemplate, Status
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import make_user


def test_admin_sends_to_a_user_and_an_outside_address(client, api_token, outbox):
    admin = make_user(Role.ADMIN)
    clerk = make_user(Role.BILLING_CLERK)
    answer = client.post(
        "/api/v1/notifications/send",
        headers=api_token(admin),
        json={
            "template_code": "payment.received",
            "recipients": [{"user_id": clerk.id}, {"email": "Payer@Example.com"}],
            "context": {"amount": "150.00", "reference": "TX1", "paid_on": "2026-11-29", "description": "INV-1"},
            "channels": ["email"],
        },
    )
    assert answer.status_code == 202
    items = answer.get_json()["items"]
    assert [i["status"] for i in items] == ["queued", "queued"]
    assert items[0]["subject"] == "Payment received: 150.00"
    assert sorted(m["To"] for m in outbox) == sorted([clerk.email, "payer@example.com"])


def test_recipients_see_their_own_in_app_notifications_only(client, api_token):
    admin = make_user(Role.ADMIN)
    clerk, other = make_user(Role.BILLING_CLERK), make_user(Role.BILLING_CLERK)
    client.post(
        "/api/v1/notifications/send",
        headers=api_token(admin),
        json={
            "template_code": "payment.received",
            "recipients": [{"user_id": clerk.id}, {"user_id": other.id}],
            "context": {"amount": "1.00"},
            "channels": ["in_app"],
        },
    )
    mine = client.get("/api/v1/notifications", headers=api_token(clerk)).get_json()
    assert mine["total"] == 1 and mine["items"][0]["recipient_user_id"] == clerk.id
    theirs = db.session.query(Notification).filter_by(recipient_user_id=other.id).one()
    missing = client.get(f"/api/v1/notifications/{theirs.id}", headers=api_token(clerk))
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


def test_templates_are_created_as_versions_and_read_back(client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    body = {"code": "claim.decided", "channel": "sms", "body": "{{ claim_number }}: {{ status }}"}
    first = client.post("/api/v1/notifications/templates", headers=headers, json=body)
    second = client.post("/api/v1/notifications/templates", headers=headers, json=body)
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.get_json()["version"], second.get_json()["version"]) == (1, 2)
    got = client.get(f"/api/v1/notifications/templates/{second.get_json()['id']}", headers=headers).get_json()
    assert got["active"] is True and got["body"] == body["body"]
    assert client.get("/api/v1/notifications/templates/999", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recipients": [{"user_id": 1}], "context": {}}, "template_code"),
        ({"template_code": "claim.decided", "recipients": []}, "recipients"),
        ({"template_code": "claim.decided", "recipients": [{"user_id": "abc"}]}, "recipients.0.user_id"),
        ({"template_code": "claim.decided", "recipients": [{"phone": "<script>"}]}, "recipients"),
        ({"template_code": "claim.decided", "recipients": [{"user_id": 1}], "channels": ["pigeon"]}, "channels.0"),
        ({"template_code": "x" * 500, "recipients": [{"user_id": 1}]}, "template_code"),
        ({"template_code": "claim.decided", "recipients": [{"user_id": 1}], "bcc": "all"}, "bcc"),
    ],
)
def test_bad_send_requests_answer_422_and_write_nothing(client, api_token, body, field):
    headers = api_token(make_user(Role.ADMIN))
    answer = client.post("/api/v1/notifications/send", headers=headers, json=body)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]
    assert db.session.query(Notification).count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "claim.decided", "channel": "email", "body": "{{ __import__('os') }}"}, "body"),
        ({"code": "claim.decided", "channel": "email", "body": "{{ ''.__class__.__mro__ }}"}, "body"),
        ({"code": "Bad Code!", "channel": "email", "body": "x"}, "code"),
        ({"code": "claim.decided", "channel": "email"}, "body"),
        ({"code": "claim.decided", "channel": "email", "body": "x", "variables": {"a": 1}}, "variables.a"),
    ],
)
def test_bad_templates_answer_422(client, api_token, body, field):
    headers = api_token(make_user(Role.ADMIN))
    answer = client.post("/api/v1/notifications/templates", headers=headers, json=body)
    assert answer.status_code == 422 and field in answer.get_json()["errors"], answer.get_json()
    assert db.session.query(NotificationTemplate).count() == 0


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.AUDITOR, Role.ADJUDICATOR, Role.FINANCE_OFFICER])
def test_only_admins_and_integrations_send(client, api_token, role):
    answer = client.post(
        "/api/v1/notifications/send",
        headers=api_token(make_user(role)),
        json={"template_code": "payment.received", "recipients": [{"email": "a@example.com"}]},
    )
    assert answer.status_code == 403


def test_delivery_receipts_need_the_shared_token(app, client, api_token):
    admin = make_user(Role.ADMIN)
    client.post(
        "/api/v1/notifications/send",
        headers=api_token(admin),
        json={
            "template_code": "claim.decided",
            "recipients": [{"phone": "+254700000009"}],
            "context": {"claim_number": "C1", "status": "approved", "total_approved": "1.00"},
            "channels": ["sms"],
        },
    )
    row = db.session.query(Notification).one()
    receipt = {"provider_message_id": row.provider_message_id, "status": "delivered"}
    app.config["SMS_WEBHOOK_TOKEN"] = "hook-secret"
    try:
        assert client.post("/api/v1/notifications/delivery-status", json=receipt).status_code == 401
        wrong = client.post("/api/v1/notifications/delivery-status", json=receipt, headers={"X-Webhook-Token": "nope"})
        assert wrong.status_code == 401
        ok = client.post(
            "/api/v1/notifications/delivery-status", json=receipt, headers={"X-Webhook-Token": "hook-secret"}
        )
        assert ok.status_code == 204
        assert db.session.get(Notification, row.id).status is Status.DELIVERED
    finally:
        app.config["SMS_WEBHOOK_TOKEN"] = None
