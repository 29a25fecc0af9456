"""Bad input on every core form: a field error (422, or the page again for a GET filter), never a 500,
and nothing created or changed. Hostile text that is valid data is stored as typed and shown escaped."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from blueprints.core import services
from blueprints.core.models import AuditLog, Invitation, LoginThrottle, PasswordReset, User
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "Brand-new-pass-42"
SCRIPT = "<script>alert(1)</script>"
SQL = "' OR 1=1 --"
UNICODE = "Zoë Ñandú 李雷 👩‍⚕️"
HOSTILE = [SCRIPT, SQL, UNICODE]
OVERSIZED = "x" * 10_000
NUL = "ab\x00cd"


@dataclass
class World:
    admin_client: object
    anonymous_client: object
    colleague: User
    reset_token: str
    invitation_token: str


@pytest.fixture
def world(client, new_client, login) -> World:
    admin = login(make_user(Role.ADMIN))
    colleague = make_user(Role.RECEPTIONIST, full_name="Colleague One")
    tokens = []
    services.request_password_reset(colleague.email, lambda token: tokens.append(token) or token)
    services.invite_user(
        actor=admin,
        email="invitee@example.com",
        role=Role.AUDITOR,
        institution_id=None,
        company_id=None,
        register_url=lambda token: tokens.append(token) or token,
    )
    reset_token, invitation_token = tokens
    return World(client, new_client(), colleague, reset_token, invitation_token)


@dataclass(frozen=True)
class Form:
    url: str  # formatted with the world: {reset_token}, {invitation_token}, {colleague_id}
    valid: dict[str, str]  # a submission that would succeed
    required: tuple[str, ...]
    signed_in: bool = True
    numbers: tuple[str, ...] = field(default=())

    def address(self, world: World) -> str:
        return self.url.format(
            reset_token=world.reset_token, invitation_token=world.invitation_token, colleague_id=world.colleague.id
        )


TENANT = {"institution_id": "1"}
FORMS = {
    "login": Form(
        "/auth/login", {"email": "someone@example.com", "password": PASSWORD}, ("email", "password"), signed_in=False
    ),
    "reset request": Form("/auth/reset-password", {"email": "someone@example.com"}, ("email",), signed_in=False),
    "reset set": Form(
        "/auth/reset-password/{reset_token}", {"new_password": NEW_PASSWORD}, ("new_password",), signed_in=False
    ),
    "change password": Form(
        "/auth/change-password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        ("current_password", "new_password"),
    ),
    "register": Form(
        "/auth/register?token={invitation_token}",
        {"full_name": "Ivy Invitee", "password": NEW_PASSWORD},
        ("full_name", "password"),
        signed_in=False,
    ),
    "user new": Form(
        "/admin/users/new",
        {
            "email": "fresh@example.com",
            "full_name": "Fresh Person",
            "role": "receptionist",
            "password": NEW_PASSWORD,
            **TENANT,
        },
        ("email", "full_name", "role", "password", "institution_id"),
        numbers=("institution_id", "company_id"),
    ),
    "user edit": Form(
        "/admin/users/{colleague_id}/edit",
        {"full_name": "Renamed Person", "role": "billing_clerk", "active": "y", **TENANT},
        ("full_name", "role", "institution_id"),
        numbers=("institution_id", "company_id"),
    ),
    "invite": Form(
        "/admin/users/invite",
        {"email": "fresh@example.com", "role": "receptionist", **TENANT},
        ("email", "role", "institution_id"),
        numbers=("institution_id", "company_id"),
    ),
}


def cases():
    for name, form in FORMS.items():
        for missing in form.required:
            yield pytest.param(name, missing, None, id=f"{name}-missing-{missing}")
        for field_name in form.valid:
            if field_name != "active":
                yield pytest.param(name, field_name, OVERSIZED, id=f"{name}-oversized-{field_name}")
                yield pytest.param(name, field_name, NUL, id=f"{name}-nul-{field_name}")
        for number in form.numbers:
            for value in ("abc", "1.5", "-1", "0", "99999999999999999999"):
                yield pytest.param(name, number, value, id=f"{name}-{number}={value}")
        if "role" in form.valid:
            yield pytest.param(name, "role", "superuser", id=f"{name}-role=superuser")


def state() -> dict:
    """Everything a form could create or change (sessions aside: every visit touches those)."""
    db.session.expire_all()
    columns = (
        User.id,
        User.email,
        User.full_name,
        User.role,
        User.institution_id,
        User.company_id,
        User.active,
        User.password_hash,
    )
    users = db.session.execute(select(*columns).order_by(User.id)).all()
    return {
        "users": users,
        "resets": db.session.execute(select(PasswordReset.id, PasswordReset.used_at)).all(),
        "invitations": db.session.execute(select(Invitation.id, Invitation.accepted_at)).all(),
        "audit": db.session.scalar(select(func.count()).select_from(AuditLog)),
        "throttles": db.session.execute(select(LoginThrottle.key, LoginThrottle.failures)).all(),
    }


def submit(world: World, form_name: str, data: dict):
    form = FORMS[form_name]
    browser = world.admin_client if form.signed_in else world.anonymous_client
    return browser.post(form.address(world), data=data)


@pytest.mark.parametrize(("form_name", "field_name", "value"), list(cases()))
def test_bad_input_gets_a_field_error_and_changes_nothing(world, form_name, field_name, value):
    data = dict(FORMS[form_name].valid)
    if value is None:
        del data[field_name]
    else:
        data[field_name] = value
    before = state()
    response = submit(world, form_name, data)
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert f'id="{field_name}-errors"' in response.get_data(as_text=True)
    assert state() == before
    assert world.anonymous_client.get("/").status_code == 302  # nobody got signed in


@pytest.mark.parametrize("form_name", ["user new", "user edit", "register"])
@pytest.mark.parametrize("name", HOSTILE, ids=["script", "sql", "unicode"])
def test_hostile_names_are_stored_as_typed_and_shown_escaped(world, form_name, name):
    response = submit(world, form_name, {**FORMS[form_name].valid, "full_name": name})
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(User).where(User.full_name == name)) == 1
    page = world.admin_client.get("/admin/users").get_data(as_text=True)
    assert SCRIPT not in page
    escaped = {SCRIPT: "&lt;script&gt;alert(1)&lt;/script&gt;", SQL: "&#39; OR 1=1 --", UNICODE: UNICODE}[name]
    assert escaped in page


@pytest.mark.parametrize("form_name", ["reset request", "user new", "invite"])
@pytest.mark.parametrize("email", HOSTILE, ids=["script", "sql", "unicode"])
def test_hostile_emails_are_refused_and_not_echoed_raw(world, form_name, email):
    before = state()
    response = submit(world, form_name, {**FORMS[form_name].valid, "email": email})
    assert response.status_code == 422
    assert 'id="email-errors"' in response.get_data(as_text=True)
    assert SCRIPT not in response.get_data(as_text=True)
    assert state() == before


@pytest.mark.parametrize("email", HOSTILE, ids=["script", "sql", "unicode"])
def test_hostile_sign_in_gets_the_usual_refusal(world, email):
    response = submit(world, "login", {"email": email, "password": SQL})
    assert response.status_code == 401
    assert "Email or password is incorrect." in response.get_data(as_text=True)
    assert SCRIPT not in response.get_data(as_text=True)
    assert world.anonymous_client.get("/").status_code == 302


def test_a_rejected_form_echoes_hostile_text_escaped(world):
    response = submit(world, "user new", {**FORMS["user new"].valid, "full_name": SCRIPT, "password": "weak"})
    assert response.status_code == 422
    assert SCRIPT not in response.get_data(as_text=True)
    assert "&lt;script&gt;" in response.get_data(as_text=True)


# --- GET filters: the page again, with the error shown, never a crash ----------------------------

AUDIT_FILTERS = [
    ({"user": OVERSIZED}, "user"),
    ({"action": OVERSIZED}, "action"),
    ({"user": NUL}, "user"),
    ({"action": NUL}, "action"),
    ({"date_from": "yesterday"}, "date_from"),
    ({"date_to": "2024-13-45"}, "date_to"),
    ({"date_from": OVERSIZED}, "date_from"),
    ({"entity_type": OVERSIZED}, None),
    ({"entity_type": NUL}, None),
    ({"date_to": "9999-12-31"}, None),
    ({"date_from": "0001-01-01"}, None),
    ({"page": "99999999999999999999"}, None),
    ({"page": "-3", "per_page": "abc"}, None),
    ({"user": SCRIPT}, None),
    ({"user": SQL}, None),
    ({"action": UNICODE}, None),
]


@pytest.mark.parametrize(("query", "error_field"), AUDIT_FILTERS, ids=[str(i) for i in range(len(AUDIT_FILTERS))])
@pytest.mark.parametrize("url", ["/admin/audit", "/admin/audit.csv"])
def test_bad_audit_filters_answer_the_page_with_a_field_error(world, url, query, error_field):
    response = world.admin_client.get(url, query_string=query)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert SCRIPT not in body or url.endswith(".csv")
    if error_field and not url.endswith(".csv"):
        assert f'id="{error_field}-errors"' in body


@pytest.mark.parametrize("query", [SQL, "%", "_", SCRIPT, UNICODE, OVERSIZED, NUL])
def test_hostile_user_searches_match_nothing_and_never_crash(world, query):
    response = world.admin_client.get(
        "/admin/users", query_string={"q": query, "page": "99999999999999999999", "role": SCRIPT}
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "No users match these filters." in body
    assert SCRIPT not in body


def test_a_sql_looking_audit_filter_matches_nothing(world):
    body = world.admin_client.get("/admin/audit", query_string={"user": SQL}).get_data(as_text=True)
    assert "No entries match these filters." in body
