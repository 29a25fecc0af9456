"""The core domain's services, called the way a view, a job or a CLI command calls them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from blueprints.core import services
from blueprints.core.models import AuditLog, LoginThrottle, User, UserSession
from blueprints.core.passwords import password_problems
from blueprints.core.services import sign_in
from medcover import clock, jobs
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.pages import safe_next
from medcover.rbac import Role
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "Brand-new-pass-42"
WRONG = "Wrong-password-1"


def entries(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def send_committed_mail() -> None:
    """What the edge does after a service: commit, then the inline jobs (emails) run."""
    db.session.commit()
    jobs.run_ready()


def refuse(email: str, password: str = WRONG, ip: str = "127.0.0.1") -> services.LoginRefused:
    with pytest.raises(services.LoginRefused) as refused:
        services.authenticate(email, password, ip)
    return refused.value


def open_session_for(user: User) -> UserSession:
    now = clock.now()
    row = UserSession(
        token_hash=services.token_hash(services.new_token()),
        user_id=user.id,
        data={},
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=12),
    )
    db.session.add(row)
    db.session.flush()
    return row


# --- creating and editing users ----------------------------------------------------------------


def create(actor=None, **fields) -> User:
    values = {
        "email": "new.person@example.com",
        "full_name": "New Person",
        "role": Role.AUDITOR,
        "password": NEW_PASSWORD,
    } | fields
    return services.create_user(actor=actor, **values)


def test_create_user_stores_the_email_lower_case_and_tidies_the_name():
    user = create(email="  Mixed.Case@Example.COM ", full_name="  Ada   Lovelace ")
    assert (user.email, user.full_name) == ("mixed.case@example.com", "Ada Lovelace")


def test_create_user_audits_the_new_values_but_never_the_password():
    admin = make_user(Role.ADMIN)
    user = create(actor=admin)
    [entry] = entries("create")
    assert (entry.actor_id, entry.entity_id) == (admin.id, str(user.id))
    assert entry.after["email"] == "new.person@example.com"
    assert "password_hash" not in entry.after and "password" not in entry.after


def test_an_email_can_belong_to_one_user_only():
    create(email="taken@example.com")
    with pytest.raises(Conflict) as conflict:
        create(email="TAKEN@example.com")
    assert conflict.value.errors == {"email": ["This email is already in use."]}


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Short-1", "Use at least 10 characters."),
        ("aaaaaaaaaaaa", "Use a less repetitive password."),
        (" Leading-space-1", "No spaces at the start or end."),
        ("x" * 129, "Use at most 128 characters."),
        ("new.person-2024", "Do not use your email name in the password."),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, problem):
    with pytest.raises(Invalid) as invalid:
        create(password=password)
    assert problem in invalid.value.errors["password"]
    assert user_count() == 0


@pytest.mark.parametrize(
    ("role", "tenant", "field"),
    [
        (Role.RECEPTIONIST, {}, "institution_id"),
        (Role.ADJUDICATOR, {}, "company_id"),
        (Role.INTEGRATION, {}, "institution_id"),
        (Role.AUDITOR, {"institution_id": 1, "company_id": 1}, "company_id"),
    ],
    ids=["receptionist without institution", "adjudicator without company", "integration without tenant", "both"],
)
def test_a_role_needs_the_right_kind_of_organisation(role, tenant, field):
    with pytest.raises(Invalid) as invalid:
        create(role=role, **tenant)
    assert field in invalid.value.errors


def test_only_admins_manage_users():
    with pytest.raises(Forbidden):
        create(actor=make_user(Role.AUDITOR))


def test_tenant_admin_creates_users_only_for_their_own_institution():
    admin = make_user(Role.ADMIN, institution_id=1)
    assert create(actor=admin, role=Role.RECEPTIONIST, institution_id=1).institution_id == 1
    with pytest.raises(Forbidden):
        create(actor=admin, email="b@example.com", role=Role.RECEPTIONIST, institution_id=2)
    with pytest.raises(Forbidden):
        create(actor=admin, email="c@example.com", role=Role.ADMIN)


def test_tenant_admin_cannot_see_users_of_another_institution_or_platform_users():
    admin = make_user(Role.ADMIN, institution_id=1)
    for outsider in (make_user(Role.RECEPTIONIST, institution_id=2), make_user(Role.AUDITOR)):
        with pytest.raises(NotFound):
            services.get_user(admin, outsider.id)
    ours = make_user(Role.RECEPTIONIST, institution_id=1)
    assert set(db.session.scalars(services.users_query(admin))) == {admin, ours}


def test_users_query_finds_by_name_or_email_and_role():
    admin = make_user(Role.ADMIN, full_name="Ada Admin")
    nurse = make_user(Role.RECEPTIONIST, full_name="Nora Nurse", email="nora@ward.example.com")
    assert list(db.session.scalars(services.users_query(admin, "NORA"))) == [nurse]
    assert list(db.session.scalars(services.users_query(admin, "ward.example"))) == [nurse]
    assert list(db.session.scalars(services.users_query(admin, role="admin"))) == [admin]
    assert list(db.session.scalars(services.users_query(admin, "100%"))) == []


def test_role_change_is_audited_with_only_what_changed():
    admin = make_user(Role.ADMIN)
    clerk = make_user(Role.RECEPTIONIST)
    services.update_user(
        actor=admin,
        user_id=clerk.id,
        full_name=clerk.full_name,
        role="billing_clerk",
        institution_id=1,
        company_id=None,
        active=True,
    )
    [entry] = entries("role_change")
    assert (entry.before, entry.after) == ({"role": "receptionist"}, {"role": "billing_clerk"})


def test_saving_a_user_unchanged_writes_no_audit_entry():
    admin = make_user(Role.ADMIN)
    clerk = make_user(Role.RECEPTIONIST)
    services.update_user(
        actor=admin,
        user_id=clerk.id,
        full_name=clerk.full_name,
        role=clerk.role,
        institution_id=1,
        company_id=None,
        active=True,
    )
    assert entries("update") == entries("role_change") == []


def test_renaming_is_audited_as_an_update():
    admin = make_user(Role.ADMIN)
    clerk = make_user(Role.RECEPTIONIST, full_name="Old Name")
    services.update_user(
        actor=admin,
        user_id=clerk.id,
        full_name="New Name",
        role=clerk.role,
        institution_id=1,
        company_id=None,
        active=True,
    )
    [entry] = entries("update")
    assert (entry.before, entry.after) == ({"full_name": "Old Name"}, {"full_name": "New Name"})


def test_deactivating_a_user_ends_their_sessions():
    admin = make_user(Role.ADMIN)
    nurse = make_user(Role.RECEPTIONIST)
    row = open_session_for(nurse)
    services.set_active(actor=admin, user_id=nurse.id, active=False)
    db.session.refresh(row)
    assert row.revoked_reason == "deactivated"
    assert services.active_sessions(nurse.id) == []


@pytest.mark.parametrize("change", [{"role": Role.AUDITOR}, {"active": False}], ids=["demote", "deactivate"])
def test_admin_cannot_demote_or_deactivate_themself(change):
    admin = make_user(Role.ADMIN)
    values = {"full_name": admin.full_name, "role": Role.ADMIN, "active": True} | change
    with pytest.raises(Conflict):
        services.update_user(actor=admin, user_id=admin.id, institution_id=None, company_id=None, **values)


def test_users_by_id_names_many_users_in_one_query(count_queries):
    people = [make_user(Role.AUDITOR) for _ in range(3)]
    with count_queries() as counter:
        found = services.users_by_id([p.id for p in people] + [None])
    assert counter.count == 1
    assert {found[p.id].email for p in people} == {p.email for p in people}


# --- signing in and throttling -----------------------------------------------------------------


def test_authenticate_returns_the_user_and_audits_the_sign_in():
    user = make_user(Role.ADMIN)
    assert services.authenticate(user.email, PASSWORD, "10.1.1.1") is user
    assert user.last_login_at is not None
    [entry] = entries("login")
    assert (entry.actor_id, entry.ip_address) == (user.id, None)  # no request: the address comes from the edge


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "deactivated", "empty password"])
def test_every_refused_sign_in_says_the_same(case):
    user = make_user(Role.ADMIN, active=case != "deactivated")
    email, password = {
        "wrong password": (user.email, WRONG),
        "unknown email": ("nobody@example.com", WRONG),
        "deactivated": (user.email, PASSWORD),
        "empty password": (user.email, ""),
    }[case]
    refused = refuse(email, password)
    assert refused.message == services.BAD_CREDENTIALS
    assert refused.retry_after is None


def test_each_failure_after_the_third_doubles_the_wait(advance):
    user = make_user(Role.ADMIN)
    account_key = sign_in._throttle_keys(user.email, "127.0.0.1")[0]
    waits = []
    for _ in range(7):
        refuse(user.email)
        row = db.session.get(LoginThrottle, account_key)
        waits.append(row.blocked_until and (row.blocked_until - row.last_failed_at).total_seconds())
        advance(timedelta(seconds=17))
    assert waits == [None, None, 1, 2, 4, 8, 16]


def test_a_blocked_try_is_refused_without_checking_the_password(advance):
    user = make_user(Role.ADMIN)
    for _ in range(3):
        refuse(user.email)
    blocked = refuse(user.email, PASSWORD)
    assert blocked.message.startswith("Too many failed sign-ins.")
    assert 0 < blocked.retry_after <= 2
    assert entries("login_blocked")
    advance(timedelta(seconds=2))
    assert services.authenticate(user.email, PASSWORD, "127.0.0.1") is user


def fail_eight_times(email, advance) -> None:
    for attempt in range(8):
        if attempt:
            advance(timedelta(seconds=17))  # past the slow-down, which is at most 16 s
        refuse(email)


def test_eighth_failure_locks_the_account_for_fifteen_minutes(advance):
    user = make_user(Role.ADMIN)
    fail_eight_times(user.email, advance)
    locked = refuse(user.email, PASSWORD)
    assert locked.message == "Too many failed sign-ins. Try again in 15 minutes."
    assert 14 * 60 < locked.retry_after <= 15 * 60 + 1
    advance(timedelta(minutes=14, seconds=59))
    refuse(user.email, PASSWORD)
    advance(timedelta(seconds=2))
    assert services.authenticate(user.email, PASSWORD, "127.0.0.1") is user


def test_a_successful_sign_in_clears_the_accounts_failures(advance):
    user = make_user(Role.ADMIN)
    for _ in range(2):
        refuse(user.email)
    services.authenticate(user.email, PASSWORD, "127.0.0.1")
    for _ in range(2):
        refuse(user.email)
    assert services.authenticate(user.email, PASSWORD, "127.0.0.1") is user  # 2 + 2 failures, never 3 in a row


def test_failures_older_than_the_lock_window_are_forgiven(advance):
    user = make_user(Role.ADMIN)
    for _ in range(2):
        refuse(user.email)
    advance(timedelta(minutes=16))
    refuse(user.email)  # a fresh first failure, not the third
    assert services.authenticate(user.email, PASSWORD, "127.0.0.1") is user


def test_an_address_is_not_slowed_down_but_locked_after_thirty_failures(advance):
    user = make_user(Role.ADMIN)
    for n in range(29):
        refuse(f"guess{n}@example.com", ip="10.0.0.9")
    assert services.authenticate(user.email, PASSWORD, "10.0.0.9") is user
    refuse("guess29@example.com", ip="10.0.0.9")
    assert refuse(user.email, PASSWORD, ip="10.0.0.9").message.startswith("Too many failed sign-ins.")
    assert services.authenticate(user.email, PASSWORD, "10.0.0.10") is user
    advance(timedelta(minutes=15, seconds=1))
    assert services.authenticate(user.email, PASSWORD, "10.0.0.9") is user


def test_unknown_emails_are_locked_like_real_ones(advance):
    fail_eight_times("nobody@example.com", advance)
    assert refuse("nobody@example.com", PASSWORD).message == "Too many failed sign-ins. Try again in 15 minutes."


def test_failed_sign_ins_are_audited_without_revealing_the_password():
    user = make_user(Role.ADMIN, institution_id=None)
    refuse(user.email)
    refuse("nobody@example.com")
    known, unknown = entries("login_failed")
    assert (known.actor_id, known.entity_id, known.summary) == (user.id, str(user.id), "wrong password")
    assert (unknown.actor_id, unknown.summary) == (None, "unknown account")
    assert WRONG not in str([known.summary, unknown.summary, known.after, unknown.after])


# --- sessions ----------------------------------------------------------------------------------


def test_active_sessions_leave_out_ended_idle_and_expired_ones(advance):
    user = make_user(Role.ADMIN)
    live, ended, idle = open_session_for(user), open_session_for(user), open_session_for(user)
    services.end_session(ended.id, reason="logout")
    idle.last_seen_at = clock.now() - timedelta(minutes=16)
    assert services.active_sessions(user.id) == [live]
    advance(timedelta(hours=12))
    assert services.active_sessions(user.id) == []


def test_a_user_can_end_only_their_own_sessions():
    owner, stranger = make_user(Role.ADMIN), make_user(Role.AUDITOR)
    row = open_session_for(owner)
    with pytest.raises(NotFound):
        services.revoke_session(actor=stranger, session_id=row.id)
    services.revoke_session(actor=owner, session_id=row.id)
    assert row.revoked_reason == "revoked"
    with pytest.raises(NotFound):
        services.revoke_session(actor=owner, session_id=row.id)  # already ended
    assert [e.entity_id for e in entries("session_revoke")] == [str(row.id)]


def test_sign_out_everywhere_ends_every_session_and_says_how_many():
    user = make_user(Role.ADMIN)
    rows = [open_session_for(user) for _ in range(3)]
    assert services.sign_out_everywhere(actor=user) == 3
    for row in rows:
        db.session.refresh(row)
    assert {row.revoked_reason for row in rows} == {"signed_out_everywhere"}
    assert entries("sign_out_everywhere")[0].summary == "3 session(s) ended"


# --- passwords ---------------------------------------------------------------------------------


def test_change_password_checks_the_current_one_first():
    user = make_user(Role.ADMIN)
    with pytest.raises(Invalid) as invalid:
        services.change_password(actor=user, current_password=WRONG, new_password=NEW_PASSWORD)
    assert "current_password" in invalid.value.errors
    assert entries("password_change") == []


def test_change_password_refuses_the_same_password_again():
    user = make_user(Role.ADMIN)
    with pytest.raises(Invalid) as invalid:
        services.change_password(actor=user, current_password=PASSWORD, new_password=PASSWORD)
    assert invalid.value.errors == {"new_password": ["Choose a password different from the current one."]}


def test_change_password_ends_every_session_and_the_new_one_works():
    user = make_user(Role.ADMIN)
    row = open_session_for(user)
    services.change_password(actor=user, current_password=PASSWORD, new_password=NEW_PASSWORD)
    db.session.refresh(row)
    assert row.revoked_reason == "password_changed"
    assert services.authenticate(user.email, NEW_PASSWORD, None) is user
    assert refuse(user.email, PASSWORD).message == services.BAD_CREDENTIALS


def test_password_rules_accept_a_reasonable_password():
    assert password_problems("Correct-horse-9", 10, "someone@example.com") == []


def reset_link_token(outbox, user) -> str:
    tokens = []
    services.request_password_reset(user.email, lambda token: tokens.append(token) or f"https://x/{token}")
    send_committed_mail()
    assert [m["To"] for m in outbox] == [user.email]
    return tokens[0]


def test_password_reset_emails_a_link_after_commit_only(outbox):
    user = make_user(Role.ADMIN)
    services.request_password_reset(user.email, lambda token: f"https://x/{token}")
    jobs.run_ready()
    assert outbox == []  # not committed yet: nothing leaves
    send_committed_mail()
    assert len(outbox) == 1
    assert "https://x/" in outbox[0].get_content()


@pytest.mark.parametrize("email", ["nobody@example.com", ""], ids=["unknown", "empty"])
def test_password_reset_for_no_account_sends_nothing(outbox, email):
    services.request_password_reset(email, lambda token: token)
    send_committed_mail()
    assert outbox == []


def test_password_reset_for_a_deactivated_account_sends_nothing(outbox):
    user = make_user(Role.ADMIN, active=False)
    services.request_password_reset(user.email, lambda token: token)
    send_committed_mail()
    assert outbox == []


def test_reset_token_sets_the_password_once(outbox):
    user = make_user(Role.ADMIN)
    token = reset_link_token(outbox, user)
    assert services.reset_password(token, NEW_PASSWORD) is user
    assert not services.reset_token_valid(token)
    with pytest.raises(Invalid):
        services.reset_password(token, "Another-pass-77")
    assert services.authenticate(user.email, NEW_PASSWORD, None) is user


def test_reset_token_expires_after_thirty_minutes(outbox, advance):
    token = reset_link_token(outbox, make_user(Role.ADMIN))
    advance(timedelta(minutes=29, seconds=59))
    assert services.reset_token_valid(token)
    advance(timedelta(seconds=1))
    assert not services.reset_token_valid(token)


def test_a_weak_password_on_reset_leaves_the_token_usable_once_rolled_back(outbox):
    user = make_user(Role.ADMIN)
    token = reset_link_token(outbox, user)
    with pytest.raises(Invalid):
        services.reset_password(token, "weak")
    db.session.rollback()  # what the view does with a domain error
    assert services.reset_token_valid(token)
    services.reset_password(token, NEW_PASSWORD)


# --- invitations -------------------------------------------------------------------------------


def invite(outbox, actor, email="invitee@example.com", role=Role.RECEPTIONIST, institution_id=1) -> str:
    tokens = []
    services.invite_user(
        actor=actor,
        email=email,
        role=role,
        institution_id=institution_id,
        company_id=None,
        register_url=lambda token: tokens.append(token) or f"https://x/?token={token}",
    )
    send_committed_mail()
    return tokens[0]


def test_invitation_emails_a_link_and_is_audited(outbox):
    admin = make_user(Role.ADMIN)
    token = invite(outbox, admin)
    assert [m["To"] for m in outbox] == ["invitee@example.com"]
    assert f"token={token}" in outbox[0].get_content()
    [entry] = entries("invite")
    assert entry.after == {"email": "invitee@example.com", "role": "receptionist"}


def test_accepting_an_invitation_creates_the_user_once(outbox):
    token = invite(outbox, make_user(Role.ADMIN))
    user = services.accept_invitation(token, full_name="Ivy Invitee", password=NEW_PASSWORD)
    assert (user.email, user.role, user.institution_id) == ("invitee@example.com", Role.RECEPTIONIST, 1)
    assert services.invitation_for(token) is None
    with pytest.raises(Invalid):
        services.accept_invitation(token, full_name="Ivy Again", password=NEW_PASSWORD)


def test_invitation_expires_after_seven_days(outbox, advance):
    token = invite(outbox, make_user(Role.ADMIN))
    advance(timedelta(days=7))
    assert services.invitation_for(token) is None
    with pytest.raises(Invalid):
        services.accept_invitation(token, full_name="Too Late", password=NEW_PASSWORD)
    assert user_count() == 1


def test_tenant_admin_invites_only_into_their_own_institution(outbox):
    admin = make_user(Role.ADMIN, institution_id=1)
    with pytest.raises(Forbidden):
        invite(outbox, admin, institution_id=2)
    assert outbox == []


# --- the audit log -----------------------------------------------------------------------------


def test_audit_entries_carry_the_tenant_so_tenant_auditors_see_their_own():
    auditor = make_user(Role.AUDITOR, institution_id=1)
    services.record_audit(None, "update", "claim", 1, institution_id=1, summary="ours")
    services.record_audit(None, "update", "claim", 2, institution_id=2, summary="theirs")
    services.record_audit(None, "update", "claim", 3, company_id=1, summary="an insurer's")
    shown = db.session.scalars(services.audit_query(auditor, services.AuditFilter())).all()
    assert [e.summary for e in shown] == ["ours"]


def test_audit_query_filters_by_the_sites_calendar_day():
    auditor = make_user(Role.AUDITOR)
    with clock.travel(timedelta(days=-1)):
        services.record_audit(None, "update", "claim", 1, summary="yesterday")
    services.record_audit(None, "update", "claim", 2, summary="today")
    today = clock.today()

    def summaries(**filters):
        return [e.summary for e in db.session.scalars(services.audit_query(auditor, services.AuditFilter(**filters)))]

    assert summaries(date_from=today) == ["today"]
    assert summaries(date_to=today - timedelta(days=1)) == ["yesterday"]
    assert summaries(date_from=date.min, date_to=date.max) == ["today", "yesterday"]


def test_audit_query_user_filter_treats_wildcards_as_text():
    auditor = make_user(Role.AUDITOR)
    services.record_audit(make_user(Role.ADMIN, email="a_b@example.com"), "update", "claim", 1)
    services.record_audit(make_user(Role.ADMIN, email="axb@example.com"), "update", "claim", 2)
    shown = db.session.scalars(services.audit_query(auditor, services.AuditFilter(user="a_b"))).all()
    assert [e.actor_label for e in shown] == ["a_b@example.com"]


# --- where a sign-in may send you next ---------------------------------------------------------


@pytest.mark.parametrize("target", ["/admin/users", "/admin/users?q=a b", "/"])
def test_safe_next_keeps_same_site_paths(target):
    assert safe_next(target, "/home") == target


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "/\t/evil.com",
        "/\n/evil.com",
        "/\x00x",
        "evil.com",
        "javascript:alert(1)",
    ],
)
def test_safe_next_refuses_everything_else(target):
    assert safe_next(target, "/home") == "/home"
