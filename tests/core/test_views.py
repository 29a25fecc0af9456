"""Core pages as a staff member meets them: sign-in, throttling, sessions, password reset and change,
invitations, CSRF, the user admin pages, tenant isolation and the audit log."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog, User, UserSession
from blueprints.core.services import record_audit, token_hash
from medcover import clock
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "Brand-new-pass-42"
BAD_CREDENTIALS = "Email or password is incorrect."
TOO_MANY = "Too many failed sign-ins."


def sign_in(client, email, password=PASSWORD, **kwargs):
    return client.post("/auth/login", data={"email": email, "password": password}, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)


def form_errors(response) -> str:
    match = re.search(r'<div class="error-summary[^"]*"[^>]*>.*?<ul>(.*?)</ul>', text(response), re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def session_row(client) -> UserSession | None:
    cookie = client.get_cookie("medcover_session")
    if cookie is None:
        return None
    stmt = select(UserSession).where(UserSession.token_hash == token_hash(cookie.value))
    return db.session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()


def entries(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def fresh(row):
    db.session.refresh(row)
    return row


def csrf_from(page) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', text(page)).group(1)


def link_in(message, path: str) -> str:
    match = re.search(rf"http://localhost({re.escape(path)}\S+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


# --- signing in --------------------------------------------------------------------------------


def test_sign_in_redirects_to_the_dashboard_with_303(client):
    user = make_user(Role.RECEPTIONIST)
    response = sign_in(client, user.email)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert f"Good day, {user.full_name}" in text(client.get("/"))


def test_email_is_matched_whatever_its_case(client):
    user = make_user(Role.AUDITOR)
    assert sign_in(client, f"  {user.email.upper()} ").status_code == 303


def test_wrong_password_and_unknown_email_get_the_same_answer(client):
    user = make_user(Role.ADMIN)
    wrong_password = sign_in(client, user.email, "Not-the-password-1")
    unknown_email = sign_in(client, "nobody@example.com", "Not-the-password-1")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert form_errors(wrong_password) == form_errors(unknown_email) == BAD_CREDENTIALS
    assert not signed_in(client)


def test_deactivated_user_cannot_sign_in_with_the_right_password(client):
    user = make_user(Role.ADMIN, active=False)
    response = sign_in(client, user.email)
    assert response.status_code == 401
    assert BAD_CREDENTIALS in form_errors(response)
    assert not signed_in(client)


def test_integration_account_is_refused_on_the_web_sign_in_page(client):
    robot = make_user(Role.INTEGRATION)
    response = sign_in(client, robot.email)
    assert response.status_code == 401
    assert "sign in through the API" in form_errors(response)
    assert not signed_in(client)
    assert entries("login") == []
    assert fresh(robot).last_login_at is None


def test_sign_in_goes_back_to_the_page_that_asked_for_it(client):
    user = make_user(Role.ADMIN)
    asked = client.get("/admin/users?q=ann")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/auth/login?next=%2Fadmin%2Fusers%3Fq%3Dann"
    response = sign_in(client, user.email, query_string={"next": "/admin/users?q=ann"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/users?q=ann"


@pytest.mark.parametrize(
    "target",
    ["//evil.com", "https://evil.com", "http://evil.com/admin", "/\\evil.com", "/\t/evil.com", "javascript:alert(1)"],
)
def test_sign_in_never_redirects_off_site(client, target):
    user = make_user(Role.ADMIN)
    response = sign_in(client, user.email, query_string={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_signed_in_user_opening_the_sign_in_page_goes_to_the_dashboard(client, login):
    login(make_user(Role.AUDITOR))
    response = client.get("/auth/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


# --- throttling and lockout --------------------------------------------------------------------


def fail(client, email, times: int, advance=None, **kwargs):
    """Fail to sign in ``times`` times, waiting out the slow-down between tries when given ``advance``."""
    for _ in range(times):
        assert sign_in(client, email, "Wrong-password-1", **kwargs).status_code == 401
        if advance:
            advance(timedelta(seconds=17))  # the longest slow-down before the lock is 16 s


def test_after_three_failures_the_next_try_waits_even_with_the_right_password(client, advance):
    user = make_user(Role.ADMIN)
    fail(client, user.email, 3)
    blocked = sign_in(client, user.email)
    assert blocked.status_code == 429
    assert TOO_MANY in form_errors(blocked)
    advance(timedelta(seconds=2))
    assert sign_in(client, user.email).status_code == 303


def test_the_wait_grows_with_each_further_failure(client, advance):
    user = make_user(Role.ADMIN)
    fail(client, user.email, 3)
    advance(timedelta(seconds=2))
    fail(client, user.email, 1)  # the fourth failure: two seconds
    advance(timedelta(seconds=1))
    assert sign_in(client, user.email).status_code == 429
    advance(timedelta(seconds=2))
    assert sign_in(client, user.email).status_code == 303


def test_eighth_failure_locks_the_account_for_fifteen_minutes_even_with_the_right_password(client, advance):
    user = make_user(Role.ADMIN)
    fail(client, user.email, 8, advance)
    locked = sign_in(client, user.email)
    assert locked.status_code == 429
    assert "Try again in 15 minutes." in form_errors(locked)
    advance(timedelta(minutes=14))
    assert sign_in(client, user.email).status_code == 429
    advance(timedelta(minutes=1))
    assert sign_in(client, user.email).status_code == 303


def test_lockout_message_is_the_same_for_an_unknown_email(client, advance):
    user = make_user(Role.ADMIN)
    for _ in range(8):
        fail(client, user.email, 1)
        fail(client, "nobody@example.com", 1)
        advance(timedelta(seconds=17))
    known = sign_in(client, user.email)
    unknown = sign_in(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 429
    assert form_errors(known) == form_errors(unknown)
    assert TOO_MANY in form_errors(known)


def test_thirtieth_failure_from_one_address_locks_it_for_every_account(new_client, advance):
    first, second = make_user(Role.ADMIN), make_user(Role.AUDITOR)
    office = new_client()
    office.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    for n in range(29):
        fail(office, f"guess{n}@example.com", 1)
    assert sign_in(office, first.email).status_code == 303  # 29 failures: the address still works

    elsewhere_in_office = new_client()
    elsewhere_in_office.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    fail(elsewhere_in_office, "guess29@example.com", 1)
    blocked = sign_in(elsewhere_in_office, second.email)
    assert blocked.status_code == 429
    assert TOO_MANY in form_errors(blocked)

    assert sign_in(new_client(), second.email, environ_base={"REMOTE_ADDR": "10.0.0.10"}).status_code == 303
    advance(timedelta(minutes=15, seconds=1))
    assert sign_in(elsewhere_in_office, second.email).status_code == 303


# --- server-side sessions ----------------------------------------------------------------------


def test_session_cookie_holds_only_an_opaque_random_id(client):
    user = make_user(Role.ADMIN)
    response = sign_in(client, user.email)
    cookie = client.get_cookie("medcover_session")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie.value)  # random; not a signed cookie carrying data
    assert session_row(client).user_id == user.id
    set_cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie


def test_signing_in_issues_a_new_session_id(client, new_client):
    user = make_user(Role.ADMIN)
    client.get("/auth/login")
    planted = client.get_cookie("medcover_session").value
    sign_in(client, user.email)
    assert client.get_cookie("medcover_session").value != planted
    attacker = new_client()
    attacker.set_cookie("medcover_session", planted)
    assert not signed_in(attacker)


def test_fifteen_idle_minutes_end_the_session(client, login, advance):
    login(make_user(Role.ADMIN))
    advance(timedelta(minutes=14))
    assert signed_in(client)
    advance(timedelta(minutes=16))
    response = client.get("/admin/users", follow_redirects=True)
    assert response.request.path == "/auth/login"
    assert "Your session has expired. Sign in again." in text(response)


def test_activity_keeps_a_session_alive_but_never_past_twelve_hours(client, login, advance):
    login(make_user(Role.ADMIN))
    for _ in range(71):  # a request every ten minutes, up to 11 h 50 min
        advance(timedelta(minutes=10))
        assert client.get("/").status_code == 200
    advance(timedelta(minutes=10))
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_my_sessions_page_lists_each_signed_in_browser(client, new_client, login):
    user = make_user(Role.RECEPTIONIST)
    client.environ_base.update(REMOTE_ADDR="10.0.0.7", HTTP_USER_AGENT="Firefox on the ward")
    login(user)
    phone = new_client()
    phone.environ_base.update(REMOTE_ADDR="10.0.0.8", HTTP_USER_AGENT="Safari on a phone")
    sign_in(phone, user.email)
    page = text(client.get("/auth/sessions"))
    assert page.count('<tr id="session-') == 2
    assert "10.0.0.7" in page and "Firefox on the ward" in page
    assert "10.0.0.8" in page and "Safari on a phone" in page
    assert page.count("This session") == 1


def test_ending_another_session_signs_that_browser_out(client, new_client, login):
    user = make_user(Role.ADMIN)
    login(user)
    phone = new_client()
    sign_in(phone, user.email)
    response = client.post(f"/auth/sessions/{session_row(phone).id}/revoke")
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/sessions"
    assert not signed_in(phone)
    assert signed_in(client)


def test_nobody_can_end_someone_elses_session(client, new_client, login):
    login(make_user(Role.ADMIN))
    other = new_client()
    sign_in(other, make_user(Role.AUDITOR).email)
    assert client.post(f"/auth/sessions/{session_row(other).id}/revoke").status_code == 404
    assert signed_in(other)


def test_sign_out_everywhere_ends_every_session(client, new_client, login):
    user = make_user(Role.ADMIN)
    login(user)
    phone = new_client()
    sign_in(phone, user.email)
    response = client.post("/auth/sessions/revoke-all")
    assert response.status_code == 303
    assert not signed_in(client)
    assert not signed_in(phone)


def test_changing_the_password_ends_every_session_and_retires_the_old_one(client, new_client, login):
    user = make_user(Role.ADMIN)
    login(user)
    phone = new_client()
    sign_in(phone, user.email)
    response = client.post("/auth/change-password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 303
    assert not signed_in(client)
    assert not signed_in(phone)
    assert sign_in(new_client(), user.email).status_code == 401
    assert sign_in(new_client(), user.email, NEW_PASSWORD).status_code == 303


def test_signing_out_ends_the_session_row_for_good(client, new_client, login):
    login(make_user(Role.ADMIN))
    old_cookie = client.get_cookie("medcover_session").value
    row = session_row(client)
    response = client.post("/auth/logout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/login"
    assert fresh(row).revoked_reason == "logout"
    replay = new_client()
    replay.set_cookie("medcover_session", old_cookie)
    assert not signed_in(replay)


def test_get_on_sign_out_only_asks_to_confirm(client, login):
    login(make_user(Role.ADMIN))
    page = client.get("/auth/logout")
    assert page.status_code == 200
    assert "Sign out?" in text(page)
    assert session_row(client).revoked_at is None
    assert signed_in(client)


# --- password reset ----------------------------------------------------------------------------


def ask_for_reset(client, outbox, user) -> str:
    response = client.post("/auth/reset-password", data={"email": user.email})
    assert response.status_code == 303
    assert len(outbox) == 1
    return link_in(outbox[0], "/auth/reset-password/")


def test_reset_request_emails_one_link_to_the_account(client, outbox):
    user = make_user(Role.ADMIN)
    response = client.post("/auth/reset-password", data={"email": user.email}, follow_redirects=True)
    assert "If that email belongs to an account, a reset link is on its way." in text(response)
    assert [message["To"] for message in outbox] == [user.email]
    assert "/auth/reset-password/" in outbox[0].get_content()


def test_reset_request_for_an_unknown_email_sends_nothing_and_says_the_same(client, outbox):
    response = client.post("/auth/reset-password", data={"email": "nobody@example.com"}, follow_redirects=True)
    assert "If that email belongs to an account, a reset link is on its way." in text(response)
    assert outbox == []


def test_reset_link_sets_a_new_password_once(client, new_client, outbox):
    user = make_user(Role.ADMIN)
    link = ask_for_reset(client, outbox, user)
    assert client.get(link).status_code == 200
    assert client.post(link, data={"new_password": NEW_PASSWORD}).status_code == 303
    assert sign_in(new_client(), user.email, NEW_PASSWORD).status_code == 303
    again = client.get(link)
    assert again.status_code == 404
    assert "Link not valid" in text(again)
    assert client.post(link, data={"new_password": "Another-pass-77"}).status_code == 404


def test_reset_link_expires_after_thirty_minutes(client, outbox, advance):
    link = ask_for_reset(client, outbox, make_user(Role.ADMIN))
    advance(timedelta(minutes=29))
    assert client.get(link).status_code == 200
    advance(timedelta(minutes=2))
    expired = client.get(link)
    assert expired.status_code == 404
    assert "Link not valid" in text(expired)


def test_weak_new_password_is_refused_and_the_link_stays_usable(client, outbox):
    link = ask_for_reset(client, outbox, make_user(Role.ADMIN))
    weak = client.post(link, data={"new_password": "short"})
    assert weak.status_code == 422
    assert "Use at least 10 characters." in text(weak)
    assert client.post(link, data={"new_password": NEW_PASSWORD}).status_code == 303


# --- change password ---------------------------------------------------------------------------


def test_change_password_with_the_wrong_current_password_is_refused(client, new_client, login):
    user = login(make_user(Role.ADMIN))
    response = client.post(
        "/auth/change-password", data={"current_password": "Not-my-password-1", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 422
    assert 'id="current_password-errors"' in text(response)
    assert "Your current password is not correct." in text(response)
    assert signed_in(client)
    assert entries("password_change") == []
    assert sign_in(new_client(), user.email, NEW_PASSWORD).status_code == 401


def test_change_password_to_a_weak_one_is_refused(client, login):
    login(make_user(Role.ADMIN))
    response = client.post("/auth/change-password", data={"current_password": PASSWORD, "new_password": "aaaaaaaaaa"})
    assert response.status_code == 422
    assert 'id="new_password-errors"' in text(response)
    assert "Use a less repetitive password." in text(response)
    assert signed_in(client)


# --- invitations -------------------------------------------------------------------------------


def invite(client, outbox, email="new.nurse@example.com", role="receptionist", institution_id="1") -> str:
    response = client.post("/admin/users/invite", data={"email": email, "role": role, "institution_id": institution_id})
    assert response.status_code == 303, text(response)
    return link_in(outbox[-1], "/auth/register?token=")


def test_invited_colleague_registers_and_signs_in(client, new_client, login, outbox):
    login(make_user(Role.ADMIN))
    link = invite(client, outbox)
    assert outbox[0]["To"] == "new.nurse@example.com"
    invitee = new_client()
    page = invitee.get(link)
    assert page.status_code == 200
    assert "new.nurse@example.com" in text(page)
    registered = invitee.post(link, data={"full_name": "Nia Nurse", "password": NEW_PASSWORD})
    assert registered.status_code == 303
    assert sign_in(invitee, "new.nurse@example.com", NEW_PASSWORD).status_code == 303
    user = db.session.scalars(select(User).where(User.email == "new.nurse@example.com")).one()
    assert (user.full_name, user.role, user.institution_id) == ("Nia Nurse", Role.RECEPTIONIST, 1)


def test_invitation_link_works_once(client, new_client, login, outbox):
    login(make_user(Role.ADMIN))
    link = invite(client, outbox)
    invitee = new_client()
    invitee.post(link, data={"full_name": "Nia Nurse", "password": NEW_PASSWORD})
    again = invitee.get(link)
    assert again.status_code == 404
    assert "Invitation not valid" in text(again)
    assert invitee.post(link, data={"full_name": "Someone Else", "password": NEW_PASSWORD}).status_code == 404


def test_invitation_expires_after_seven_days(client, new_client, login, outbox, advance):
    login(make_user(Role.ADMIN))
    link = invite(client, outbox)
    advance(timedelta(days=6, hours=23))
    assert new_client().get(link).status_code == 200
    advance(timedelta(hours=1, seconds=1))
    assert new_client().get(link).status_code == 404


def test_inviting_an_existing_email_is_a_conflict(client, login, outbox):
    login(make_user(Role.ADMIN))
    taken = make_user(Role.AUDITOR)
    response = client.post("/admin/users/invite", data={"email": taken.email, "role": "auditor"})
    assert response.status_code == 409
    assert "This email is already in use." in text(response)
    assert outbox == []


# --- CSRF ----------------------------------------------------------------------------------------


def test_sign_in_without_a_csrf_token_is_refused(client):
    user = make_user(Role.ADMIN)
    response = sign_in(client, user.email, csrf=False)
    assert response.status_code == 400
    assert not signed_in(client)
    assert entries("login") == []


def test_creating_a_user_without_a_csrf_token_is_refused(client, login):
    login(make_user(Role.ADMIN))
    data = {"email": "x@example.com", "full_name": "X Y", "role": "auditor", "password": NEW_PASSWORD}
    assert client.post("/admin/users/new", data=data, csrf=False).status_code == 400
    assert db.session.scalar(select(User).where(User.email == "x@example.com")) is None
    token = csrf_from(client.get("/admin/users/new"))
    assert client.post("/admin/users/new", data={**data, "csrf_token": token}, csrf=False).status_code == 303
    assert db.session.scalar(select(User).where(User.email == "x@example.com")) is not None


def test_sign_out_everywhere_without_a_csrf_token_is_refused(client, login):
    login(make_user(Role.ADMIN))
    assert client.post("/auth/sessions/revoke-all", csrf=False).status_code == 400
    assert signed_in(client)
    token = csrf_from(client.get("/auth/sessions"))
    assert client.post("/auth/sessions/revoke-all", data={"csrf_token": token}, csrf=False).status_code == 303
    assert not signed_in(client)


def test_csrf_token_of_another_browser_is_refused(client, new_client, login):
    login(make_user(Role.ADMIN))
    strangers_token = csrf_from(new_client().get("/auth/login"))
    response = client.post("/auth/sessions/revoke-all", data={"csrf_token": strangers_token}, csrf=False)
    assert response.status_code == 400
    assert signed_in(client)


def test_htmx_post_with_the_token_in_a_header_works(client, login):
    login(make_user(Role.ADMIN))
    nurse = make_user(Role.RECEPTIONIST)
    token = csrf_from(client.get("/admin/users"))
    response = client.post(
        f"/admin/users/{nurse.id}/active",
        data={"active": "0"},
        csrf=False,
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 200
    assert fresh(nurse).active is False


# --- the user admin pages ----------------------------------------------------------------------


def test_htmx_search_answers_only_the_results_fragment(client, login):
    login(make_user(Role.ADMIN))
    make_user(Role.AUDITOR, full_name="Zola Quist")
    make_user(Role.AUDITOR, full_name="Bert Brown")
    response = client.get("/admin/users?q=zola", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="user-results">')
    assert "<html" not in body
    assert "Zola Quist" in body and "Bert Brown" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_search_without_htmx_answers_the_whole_page(client, login):
    login(make_user(Role.ADMIN))
    make_user(Role.AUDITOR, full_name="Zola Quist")
    response = client.get("/admin/users?q=zola")
    assert "<html" in text(response)
    assert '<div id="user-results">' in text(response)
    assert "HX-Request" in response.headers["Vary"]


def test_boosted_navigation_gets_the_whole_page(client, login):
    login(make_user(Role.ADMIN))
    response = client.get("/admin/users", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in text(response)


def test_search_treats_wildcards_as_plain_text(client, login):
    login(make_user(Role.ADMIN))
    make_user(Role.AUDITOR, full_name="Percy Cent")
    response = client.get("/admin/users?q=%25", headers={"HX-Request": "true"})
    assert "No users match these filters." in text(response)


def test_admin_creates_a_user_and_the_audit_log_records_it_without_the_password(client, login):
    admin = login(make_user(Role.ADMIN))
    response = client.post(
        "/admin/users/new",
        data={
            "email": "Rose.Reception@Example.com",
            "full_name": "Rose Reception",
            "role": "receptionist",
            "password": NEW_PASSWORD,
            "institution_id": "1",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/users"
    user = db.session.scalars(select(User).where(User.email == "rose.reception@example.com")).one()
    [entry] = entries("create")
    assert (entry.actor_id, entry.entity_type, entry.entity_id) == (admin.id, "user", str(user.id))
    assert entry.after == {
        "email": "rose.reception@example.com",
        "full_name": "Rose Reception",
        "role": "receptionist",
        "institution_id": 1,
        "company_id": None,
        "active": True,
    }
    everything = json.dumps([entry.before, entry.after, entry.summary])
    assert "password" not in everything
    assert user.password_hash not in everything and "$argon2" not in everything


def test_changing_a_role_is_audited_with_before_and_after(client, login):
    login(make_user(Role.ADMIN))
    clerk = make_user(Role.RECEPTIONIST)
    response = client.post(
        f"/admin/users/{clerk.id}/edit",
        data={"full_name": clerk.full_name, "role": "billing_clerk", "institution_id": "1", "active": "y"},
    )
    assert response.status_code == 303
    assert fresh(clerk).role is Role.BILLING_CLERK
    [entry] = entries("role_change")
    assert entry.before == {"role": "receptionist"}
    assert entry.after == {"role": "billing_clerk"}


def test_deactivating_from_the_list_swaps_the_row_and_ends_their_sessions(client, new_client, login):
    login(make_user(Role.ADMIN))
    nurse = make_user(Role.RECEPTIONIST)
    ward = new_client()
    sign_in(ward, nurse.email)
    response = client.post(f"/admin/users/{nurse.id}/active", data={"active": "0"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert text(response).lstrip().startswith(f'<tr id="user-{nurse.id}">')
    assert "Deactivated" in text(response)
    assert json.loads(response.headers["HX-Trigger"]) == {"toast": "Deactivated."}
    assert fresh(nurse).active is False
    assert not signed_in(ward)
    assert sign_in(new_client(), nurse.email).status_code == 401


def test_reactivating_lets_them_sign_in_again(client, new_client, login):
    login(make_user(Role.ADMIN))
    nurse = make_user(Role.RECEPTIONIST, active=False)
    response = client.post(f"/admin/users/{nurse.id}/active", data={"active": "1"}, headers={"HX-Request": "true"})
    assert json.loads(response.headers["HX-Trigger"]) == {"toast": "Reactivated."}
    assert sign_in(new_client(), nurse.email).status_code == 303


def test_admin_cannot_change_their_own_role(client, login):
    admin = login(make_user(Role.ADMIN))
    response = client.post(
        f"/admin/users/{admin.id}/edit", data={"full_name": admin.full_name, "role": "auditor", "active": "y"}
    )
    assert response.status_code == 409
    assert "You cannot change your own role or deactivate yourself." in text(response)
    assert fresh(admin).role is Role.ADMIN
    assert entries("role_change") == []


def test_admin_cannot_deactivate_themself(client, login):
    admin = login(make_user(Role.ADMIN))
    by_form = client.post(f"/admin/users/{admin.id}/edit", data={"full_name": admin.full_name, "role": "admin"})
    assert by_form.status_code == 409
    by_button = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "You cannot change your own role or deactivate yourself." in text(by_button)
    assert fresh(admin).active is True
    assert signed_in(client)


# --- tenant isolation --------------------------------------------------------------------------


def test_tenant_admin_sees_only_their_own_institutions_users(client, login_as):
    login_as(Role.ADMIN, institution_id=1)
    ours = make_user(Role.RECEPTIONIST, institution_id=1)
    theirs = make_user(Role.RECEPTIONIST, institution_id=2)
    platform = make_user(Role.AUDITOR)
    page = text(client.get("/admin/users"))
    assert ours.email in page
    assert theirs.email not in page
    assert platform.email not in page


def test_global_admin_sees_users_of_every_organisation(client, login_as):
    login_as(Role.ADMIN)
    people = [
        make_user(Role.RECEPTIONIST, institution_id=1),
        make_user(Role.RECEPTIONIST, institution_id=2),
        make_user(Role.ADJUDICATOR, company_id=3),
        make_user(Role.AUDITOR),
    ]
    page = text(client.get("/admin/users"))
    assert all(person.email in page for person in people)


def test_tenant_admin_gets_404_for_another_institutions_user(client, login_as):
    login_as(Role.ADMIN, institution_id=1)
    theirs = make_user(Role.RECEPTIONIST, institution_id=2)
    assert client.get(f"/admin/users/{theirs.id}/edit").status_code == 404
    edit = client.post(
        f"/admin/users/{theirs.id}/edit",
        data={"full_name": "Hijacked", "role": "receptionist", "institution_id": "1", "active": "y"},
    )
    assert edit.status_code == 404
    assert client.post(f"/admin/users/{theirs.id}/active", data={"active": "0"}).status_code == 404
    fresh(theirs)
    assert theirs.full_name != "Hijacked"
    assert (theirs.institution_id, theirs.active) == (2, True)


def test_tenant_admin_cannot_move_their_user_to_another_institution(client, login_as):
    login_as(Role.ADMIN, institution_id=1)
    ours = make_user(Role.RECEPTIONIST, institution_id=1)
    response = client.post(
        f"/admin/users/{ours.id}/edit",
        data={"full_name": ours.full_name, "role": "receptionist", "institution_id": "2", "active": "y"},
    )
    assert response.status_code == 403
    assert "You can manage users of your own organisation only." in text(response)
    assert fresh(ours).institution_id == 1


@pytest.mark.parametrize(
    ("role", "institution_id"),
    [("receptionist", "2"), ("admin", "")],
    ids=["another institution", "platform-wide"],
)
def test_tenant_admin_cannot_create_users_outside_their_institution(client, login_as, role, institution_id):
    login_as(Role.ADMIN, institution_id=1)
    before = db.session.scalar(select(func.count()).select_from(User))
    response = client.post(
        "/admin/users/new",
        data={
            "email": "out@example.com",
            "full_name": "Out Sider",
            "role": role,
            "password": NEW_PASSWORD,
            "institution_id": institution_id,
        },
    )
    assert response.status_code == 403
    assert "You can manage users of your own organisation only." in text(response)
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_new_user_form_starts_with_the_tenant_admins_institution(client, login_as):
    login_as(Role.ADMIN, institution_id=7)
    page = text(client.get("/admin/users/new"))
    assert re.search(r'id="institution_id"[^>]*value="7"|value="7"[^>]*id="institution_id"', page)


# --- the audit log -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
def test_admin_and_auditor_can_read_the_audit_log(client, login_as, role):
    login_as(role)
    response = client.get("/admin/audit")
    assert response.status_code == 200
    assert "Audit log" in text(response)


def audit_rows(client, **filters) -> str:
    return text(client.get("/admin/audit", query_string=filters, headers={"HX-Request": "true"}))


def test_audit_log_filters_by_user_entity_action_and_dates(client, login_as):
    login_as(Role.AUDITOR)
    alice = make_user(Role.ADMIN, email="alice@example.com")
    bob = make_user(Role.ADMIN, email="bob@example.com")
    with clock.travel(timedelta(days=-3)):
        record_audit(alice, "update", "claim", 1, summary="entry-one")
    record_audit(bob, "export", "invoice", 2, summary="entry-two")
    # the filters take the site's days, not UTC ones (after 21:00 UTC it is already tomorrow in Nairobi)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.summary == "entry-two")).one()
    today = clock.local_date(entry.occurred_at)

    def shown(**filters):
        page = audit_rows(client, **filters)
        return sorted((name for name in ("entry-one", "entry-two") if name in page), key=page.index)

    assert shown() == ["entry-two", "entry-one"]  # newest first
    assert shown(user="alice") == ["entry-one"]
    assert shown(entity_type="invoice") == ["entry-two"]
    assert shown(action="update") == ["entry-one"]
    assert shown(date_from=today.isoformat()) == ["entry-two"]
    assert shown(date_to=(today - timedelta(days=1)).isoformat()) == ["entry-one"]
    assert shown(date_from=today.isoformat(), date_to=today.isoformat()) == ["entry-two"]


def test_tenant_auditor_reads_only_their_institutions_entries(client, login_as):
    login_as(Role.AUDITOR, institution_id=1)
    record_audit(None, "update", "claim", 1, summary="ours", institution_id=1)
    record_audit(None, "update", "claim", 2, summary="theirs", institution_id=2)
    page = audit_rows(client)
    assert "ours" in page and "theirs" not in page


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text(response))))


def test_csv_export_has_the_filtered_rows_and_is_itself_audited(client, login_as):
    auditor = login_as(Role.AUDITOR)
    record_audit(None, "update", "claim", 41, summary="keep me")
    record_audit(None, "delete", "claim", 42, summary="filtered out")
    response = client.get("/admin/audit.csv?action=update")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][:5] == ["When", "Who", "Action", "Kind of record", "Record"]
    assert [(row[2], row[3], row[4], row[9]) for row in rows[1:]] == [("Changed", "Claim", "Claim", "keep me")]
    [export] = entries("export")
    assert (export.actor_id, export.entity_type, export.summary) == (auditor.id, "audit_log", "1 rows")


def test_csv_export_defuses_cells_a_spreadsheet_would_run(client, login_as):
    login_as(Role.ADMIN)
    prankster = make_user(Role.AUDITOR, email="=cmd|'/c calc'!a1@example.com", full_name="=HYPERLINK(1)")
    record_audit(prankster, "read", "claim", 1, summary="@SUM(1+1)")
    client.post(
        "/admin/users/new",
        data={"email": "formula@example.com", "full_name": "=1+2", "role": "auditor", "password": NEW_PASSWORD},
    )
    rows = read_csv(client.get("/admin/audit.csv"))
    [read] = [row for row in rows if row[2] == "Read"]
    assert read[1] == "'=cmd|'/c calc'!a1@example.com"
    assert read[9] == "'@SUM(1+1)"
    [create] = [row for row in rows if row[2] == "Created"]
    assert "=1+2" in create[8]
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]


def admin_user_routes(app) -> list[tuple[str, str]]:
    """Every /admin/users* URL with each method it answers, so a new route is covered without edits."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/users"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, rule.rule))
    return routes


def test_auditor_gets_403_on_every_user_admin_route(app, client, login_as):
    login_as(Role.AUDITOR)
    nurse = make_user(Role.RECEPTIONIST)
    routes = admin_user_routes(app)
    assert len(routes) >= 8
    before = db.session.scalar(select(func.count()).select_from(User))
    for method, rule in routes:
        url = rule.replace("<id:user_id>", str(nurse.id))
        data = {"email": "a@example.com", "full_name": "A B", "role": "admin", "password": NEW_PASSWORD, "active": "0"}
        response = client.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, url)
    assert db.session.scalar(select(func.count()).select_from(User)) == before
    assert fresh(nurse).active is True


@pytest.mark.parametrize("url", ["/admin/audit", "/admin/audit.csv"])
def test_receptionist_gets_403_on_the_audit_log(client, login_as, url):
    login_as(Role.RECEPTIONIST)
    assert client.get(url).status_code == 403
    assert entries("export") == []


# --- what the audit log records ----------------------------------------------------------------


def assert_audited(action: str, response, ip: str = "127.0.0.1") -> AuditLog:
    [entry] = entries(action)
    assert entry.ip_address == ip
    assert entry.request_id and entry.request_id == response.headers["X-Request-ID"]
    return entry


def test_sign_in_is_audited_with_address_and_request_id(client):
    user = make_user(Role.ADMIN)
    response = sign_in(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert assert_audited("login", response, "10.0.0.5").actor_id == user.id


def test_failed_sign_in_is_audited(client):
    user = make_user(Role.ADMIN)
    response = sign_in(client, user.email, "Wrong-password-1")
    assert assert_audited("login_failed", response).entity_id == str(user.id)


def test_sign_out_is_audited(client, login):
    user = login(make_user(Role.ADMIN))
    response = client.post("/auth/logout")
    assert assert_audited("logout", response).actor_id == user.id


def test_role_change_is_audited_with_address_and_request_id(client, login):
    login(make_user(Role.ADMIN))
    clerk = make_user(Role.AUDITOR)
    response = client.post(
        f"/admin/users/{clerk.id}/edit", data={"full_name": clerk.full_name, "role": "admin", "active": "y"}
    )
    assert assert_audited("role_change", response).entity_id == str(clerk.id)


def test_password_change_is_audited(client, login):
    user = login(make_user(Role.ADMIN))
    response = client.post("/auth/change-password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert assert_audited("password_change", response).actor_id == user.id


def test_ending_a_session_is_audited(client, new_client, login):
    user = login(make_user(Role.ADMIN))
    phone = new_client()
    sign_in(phone, user.email)
    row_id = session_row(phone).id
    response = client.post(f"/auth/sessions/{row_id}/revoke")
    assert assert_audited("session_revoke", response).entity_id == str(row_id)


def test_request_id_sent_by_a_proxy_is_kept(client):
    user = make_user(Role.ADMIN)
    response = sign_in(client, user.email, headers={"X-Request-ID": "edge-1234"})
    assert response.headers["X-Request-ID"] == "edge-1234"
    assert entries("login")[0].request_id == "edge-1234"


# --- cost --------------------------------------------------------------------------------------


def test_user_list_makes_the_same_number_of_queries_for_5_and_60_users(client, login, count_queries):
    login(make_user(Role.ADMIN))
    for _ in range(4):
        make_user(Role.RECEPTIONIST)
    client.get("/admin/users")
    with count_queries() as few:
        assert client.get("/admin/users").status_code == 200
    for _ in range(55):
        make_user(Role.RECEPTIONIST)
    with count_queries() as many:
        page = client.get("/admin/users")
    assert page.status_code == 200
    assert text(page).count('<tr id="user-') == 50
    assert many.count == few.count <= 10


def test_user_list_names_each_users_company_without_a_query_per_row(client, login, count_queries):
    from blueprints.insurance.models import Company

    login(make_user(Role.ADMIN))
    companies = [Company(code=f"C{i}", name=f"Insurer {i}") for i in range(3)]
    db.session.add_all(companies)
    db.session.flush()
    make_user(Role.ADJUDICATOR, company_id=companies[0].id)
    db.session.commit()
    client.get("/admin/users")  # a warm process: it keeps the insurers' names
    with count_queries() as few:
        client.get("/admin/users")
    for i in range(30):
        make_user(Role.ADJUDICATOR, company_id=companies[i % 3].id)
    db.session.commit()
    with count_queries() as many:
        page = client.get("/admin/users")
    assert all(f"Insurer {i}" in text(page) for i in range(3))
    assert many.count == few.count
