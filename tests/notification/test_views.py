"""Notification pages and JSON endpoints: inbox and bell, preferences, deliveries, templates, jobs; access."""

from datetime import timedelta

import pytest

from blueprints.notification import services
from blueprints.notification.models import Channel, Notification, NotificationTemplate, Status
from blueprints.notification.services import Recipient
from medcover import clock, jobs
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import make_user

CLAIM = {"claim_number": "CL-7", "status": "approved", "total_billed": "10.00", "total_approved": "8.00"}


def _in_app(user, n=1):
    for i in range(n):
        services.send(
            "claim.decided", [Recipient(user_id=user.id)], CLAIM | {"claim_number": f"CL-{i}"}, [Channel.IN_APP]
        )
    db.session.commit()


def test_bell_shows_the_unread_count_and_polls_without_keeping_the_session_alive(client, login):
    clerk = login(make_user(Role.BILLING_CLERK))
    _in_app(clerk, 3)
    bell = client.get("/notifications/bell", headers={"HX-Request": "true"})
    html = bell.get_data(as_text=True)
    assert bell.status_code == 200 and "<html" not in html
    assert '<span class="count">3</span>' in html and 'hx-trigger="every 30s' in html


def test_inbox_lists_my_messages_and_mark_read_swaps_the_item(client, login):
    clerk = login(make_user(Role.BILLING_CLERK))
    other = make_user(Role.BILLING_CLERK)
    _in_app(clerk)
    _in_app(other)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('class="inbox-item unread"') == 1
    mine = db.session.query(Notification).filter_by(recipient_user_id=clerk.id).one()
    swap = client.post(f"/notifications/{mine.id}/read", headers={"HX-Request": "true"})
    assert swap.status_code == 200 and swap.headers["HX-Trigger"] == "notificationsChanged"
    assert f'id="notification-{mine.id}" class="inbox-item"' in swap.get_data(as_text=True)
    theirs = db.session.query(Notification).filter_by(recipient_user_id=other.id).one()
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert db.session.get(Notification, theirs.id).read_at is None


def test_mark_all_read(client, login):
    clerk = login(make_user(Role.BILLING_CLERK))
    _in_app(clerk, 2)
    assert client.post("/notifications/read-all").status_code == 303
    assert services.unread_count(clerk.id) == 0


def test_preferences_page_saves_opt_outs_but_keeps_mandatory_notices(client, login):
    clerk = login(make_user(Role.BILLING_CLERK))
    page = client.get("/notifications/preferences").get_data(as_text=True)
    assert 'name="user.password_changed|email"' in page and "disabled" in page
    # Everything ticked but claim emails.
    form = {
        f"{t.code}|{t.channel.value}": "on"
        for t in services.catalogue()
        if not (t.code == "claim.decided" and t.channel is Channel.EMAIL)
    }
    assert client.post("/notifications/preferences", data=form).status_code == 303
    chosen = services.preferences(clerk.id)
    assert chosen[("claim.decided", Channel.EMAIL)] is False
    assert ("user.password_changed", Channel.EMAIL) not in chosen or chosen[("user.password_changed", Channel.EMAIL)]


def test_admin_tracks_deliveries_and_resends_a_dead_one(client, login, outbox):
    admin = login(make_user(Role.ADMIN))
    [row] = services.send(
        "payment.received", [Recipient(email="payer@example.com")], {"amount": "5.00"}, [Channel.EMAIL]
    )
    row.status, row.attempts, row.last_error = Status.DEAD, 5, "SMTP: refused"
    db.session.commit()
    db.session.info.pop("medcover_ready_jobs", None)
    answer = client.get("/admin/notifications?status=dead")
    listing = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert '<option value="dead" selected>' in listing
    assert f">{row.id}</a>" in listing and "SMTP: refused" in listing
    assert f">{row.id}</a>" not in client.get("/admin/notifications?status=sent").get_data(as_text=True)
    detail = client.get(f"/admin/notifications/{row.id}").get_data(as_text=True)
    assert "Send again" in detail
    assert client.post(f"/admin/notifications/{row.id}/resend").status_code == 303
    assert db.session.get(Notification, row.id).status is Status.SENT
    assert [m["To"] for m in outbox] == ["payer@example.com"]
    assert admin


def test_admin_edits_a_template_with_live_preview(client, login):
    login(make_user(Role.ADMIN))
    form = client.get("/admin/notification-templates/edit?code=claim.decided&channel=email").get_data(as_text=True)
    assert "{{ claim_number }}" in form and "Variables" in form
    preview = client.post(
        "/admin/notification-templates/preview",
        headers={"HX-Request": "true"},
        data={
            "code": "claim.decided",
            "channel": "email",
            "subject": "Claim {{ claim_number }}",
            "body": "Hi {{ recipient_name }}",
        },
    )
    assert "Claim [claim_number]" in preview.get_data(as_text=True)
    bad = client.post(
        "/admin/notification-templates/preview",
        data={"code": "claim.decided", "channel": "email", "subject": "", "body": "{{ nope }}"},
    )
    assert "Unknown variable(s): nope" in bad.get_data(as_text=True)
    saved = client.post(
        "/admin/notification-templates/edit",
        data={
            "code": "claim.decided",
            "channel": "email",
            "subject": "Decision on {{ claim_number }}",
            "body": "Dear {{ recipient_name }}, decided.",
            "description": "",
        },
    )
    assert saved.status_code == 303
    assert services.active_template("claim.decided", Channel.EMAIL).subject == "Decision on {{ claim_number }}"


def test_a_broken_template_re_renders_the_form_with_the_error_and_stores_nothing(client, login):
    login(make_user(Role.ADMIN))
    answer = client.post(
        "/admin/notification-templates/edit",
        data={"code": "claim.decided", "channel": "email", "subject": "x", "body": "{% for %}"},
    )
    assert answer.status_code == 422 and "Not a valid template" in answer.get_data(as_text=True)
    assert db.session.query(NotificationTemplate).count() == 0


def test_jobs_page_explains_inline_mode(client, login):
    login(make_user(Role.ADMIN))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "No Redis is configured" in page


@pytest.mark.parametrize(
    "url",
    ["/admin/notifications", "/admin/notification-templates", "/admin/jobs", "/admin/notification-templates/edit"],
)
@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.AUDITOR, Role.ADJUDICATOR])
def test_admin_pages_are_forbidden_to_other_roles(client, login_as, url, role):
    login_as(role)
    assert client.get(url).status_code == 403


def test_a_tenant_admin_cannot_open_another_tenants_delivery(client, login):
    login(make_user(Role.ADMIN, institution_id=1))
    [row] = services.send(
        "payment.received", [Recipient(email="x@example.com")], {"amount": "1.00"}, [Channel.EMAIL], institution_id=2
    )
    db.session.commit()
    jobs.run_ready()
    assert client.get(f"/admin/notifications/{row.id}").status_code == 404
    assert client.post(f"/admin/notifications/{row.id}/resend").status_code == 404


def test_a_message_that_may_have_been_sent_asks_the_admin_to_check_and_mark_it_sent(client, login, outbox):
    admin = make_user(Role.ADMIN)
    [row] = services.send("payment.received", [Recipient(email="m@example.com")], {"amount": "1.00"}, [Channel.EMAIL])
    db.session.commit()
    db.session.info.pop("medcover_ready_jobs", None)
    services.claim_for_delivery(row.id)
    services.record_handover(row.id)
    db.session.commit()
    with clock.travel(timedelta(hours=1)):
        services.claim_for_delivery(row.id)
        db.session.commit()
    login(admin)
    page = client.get(f"/admin/notifications/{row.id}").get_data(as_text=True)
    assert "May have been sent: check" in page and "It is not sent again on its own" in page
    assert "It arrived: mark sent" in page and "It did not arrive: send again" in page
    listing = client.get("/admin/notifications?status=unsure").get_data(as_text=True)
    assert "May have been sent: check" in listing
    response = client.post(f"/admin/notifications/{row.id}/mark-sent")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Notification, row.id).status is Status.SENT and outbox == []
    again = client.post(f"/admin/notifications/{row.id}/mark-sent", follow_redirects=True).get_data(as_text=True)
    assert "Only a notification that may have been sent can be marked sent." in again
