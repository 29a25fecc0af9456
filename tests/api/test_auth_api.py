"""The auth part of the JSON API: token login, bearer checks, refresh rotation, logout, and user creation."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import func, select

from blueprints.core.models import RefreshToken, User
from config import TestConfig
from medcover import clock
from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import PASSWORD, make_user

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PROFILE = "/api/v1/auth/profile"
USERS = "/api/v1/users"
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in"}
PROFILE_KEYS = {"id", "email", "full_name", "role", "institution_id", "company_id"}
USER_KEYS = PROFILE_KEYS | {"active"}
NEW_PASSWORD = "Another-horse-42"

KEY = TestConfig.SECRET_KEY


def _login(client, user, password: str = PASSWORD) -> dict:
    response = client.post(LOGIN, json={"email": user.email, "password": password})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _refresh(client, refresh_token: str):
    return client.post(REFRESH, json={"refresh_token": refresh_token})


def _user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- login ---------------------------------------------------------------------------------------


def test_login_answers_a_bearer_token_pair(client):
    user = make_user(Role.RECEPTIONIST)
    response = client.post(LOGIN, json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer"
    assert type(body["expires_in"]) is int and body["expires_in"] == 15 * 60
    assert body["access_token"] and body["refresh_token"] and body["access_token"] != body["refresh_token"]
    assert response.headers["Cache-Control"] == "no-store"


def test_login_email_is_case_insensitive(client):
    user = make_user(Role.ADMIN)
    response = client.post(LOGIN, json={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(client):
    user = make_user(Role.ADMIN)
    wrong = assert_problem(client.post(LOGIN, json={"email": user.email, "password": "Not-the-password-1"}), 401)
    unknown = assert_problem(client.post(LOGIN, json={"email": "nobody@example.com", "password": PASSWORD}), 401)
    assert wrong == unknown
    assert "access_token" not in wrong


def test_deactivated_user_cannot_log_in_and_gets_the_same_answer(client):
    user = make_user(Role.ADMIN, active=False)
    refused = assert_problem(client.post(LOGIN, json={"email": user.email, "password": PASSWORD}), 401)
    unknown = assert_problem(client.post(LOGIN, json={"email": "nobody@example.com", "password": PASSWORD}), 401)
    assert refused["detail"] == unknown["detail"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"email": "a@example.com"}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": PASSWORD, "remember": True}, "remember"),
        ({"email": ["a@example.com"], "password": PASSWORD}, "email"),
    ],
)
def test_login_with_a_malformed_body_is_422(client, body, field):
    problem = assert_problem(client.post(LOGIN, json=body), 422)
    assert field in problem["errors"]


# --- the bearer token ------------------------------------------------------------------------------


def test_profile_answers_exactly_the_contract_keys(client):
    user = make_user(Role.BILLING_CLERK, institution_id=7)
    response = client.get(PROFILE, headers=_bearer(_login(client, user)["access_token"]))
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == PROFILE_KEYS
    assert body == {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "role": "billing_clerk",
        "institution_id": 7,
        "company_id": None,
    }


def _claims(client, user) -> dict:
    token = _login(client, user)["access_token"]
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda claims: {}, id="no-header"),
        pytest.param(lambda claims: {"Authorization": "Bearer"}, id="empty-bearer"),
        pytest.param(lambda claims: {"Authorization": "Bearer not.a.jwt"}, id="garbage"),
        pytest.param(lambda claims: {"Authorization": "Basic YWRtaW46cGFzc3dvcmQ="}, id="basic-auth"),
        pytest.param(
            lambda claims: {"Authorization": "Token " + jwt.encode(claims, KEY, "HS256")},
            id="wrong-scheme",
        ),
        pytest.param(
            lambda claims: _bearer(jwt.encode(claims, "someone-elses-signing-key-0123456789", "HS256")), id="other-key"
        ),
        pytest.param(lambda claims: _bearer(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."), id="alg-none"),
        pytest.param(
            lambda claims: _bearer(jwt.encode({**claims, "aud": "another-api"}, KEY, "HS256")),
            id="wrong-audience",
        ),
        pytest.param(
            lambda claims: _bearer(jwt.encode({k: v for k, v in claims.items() if k != "exp"}, KEY, "HS256")),
            id="no-expiry",
        ),
        pytest.param(
            lambda claims: _bearer(jwt.encode({**claims, "sub": "999999"}, KEY, "HS256")),
            id="unknown-user",
        ),
    ],
)
def test_missing_or_bad_token_is_401(client, make_header):
    claims = _claims(client, make_user(Role.ADMIN))
    problem = assert_problem(client.get(PROFILE, headers=make_header(claims)), 401)
    assert "id" not in problem


def test_a_correctly_signed_token_passes_the_same_checks(client):
    """The forgeries above differ from a good token only in the part under test."""
    claims = _claims(client, make_user(Role.ADMIN))
    assert client.get(PROFILE, headers=_bearer(jwt.encode(claims, KEY, "HS256"))).status_code == 200


def test_access_token_expires_after_15_minutes(client):
    user = make_user(Role.AUDITOR)
    headers = _bearer(_login(client, user)["access_token"])
    with clock.travel(timedelta(minutes=14, seconds=50)):
        assert client.get(PROFILE, headers=headers).status_code == 200
    with clock.travel(timedelta(minutes=15, seconds=1)):
        assert_problem(client.get(PROFILE, headers=headers), 401)


def test_token_of_a_deactivated_user_is_401(client):
    user = make_user(Role.ADMIN)
    headers = _bearer(_login(client, user)["access_token"])
    assert client.get(PROFILE, headers=headers).status_code == 200
    user.active = False
    db.session.flush()
    assert_problem(client.get(PROFILE, headers=headers), 401)


def test_password_change_retires_earlier_access_tokens(client, login):
    user = make_user(Role.RECEPTIONIST)
    old = _bearer(_login(client, user)["access_token"])
    assert client.get(PROFILE, headers=old).status_code == 200
    login(user)
    changed = client.post("/auth/change-password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 303
    assert_problem(client.get(PROFILE, headers=old), 401)
    fresh = _bearer(_login(client, user, NEW_PASSWORD)["access_token"])
    assert client.get(PROFILE, headers=fresh).status_code == 200


def test_password_change_also_revokes_refresh_tokens(client, login):
    user = make_user(Role.RECEPTIONIST)
    pair = _login(client, user)
    login(user)
    client.post("/auth/change-password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_problem(_refresh(client, pair["refresh_token"]), 401)


# --- refresh ---------------------------------------------------------------------------------------


def test_refresh_rotates_the_token_pair(client):
    user = make_user(Role.ADJUDICATOR)
    first = _login(client, user)
    response = _refresh(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.get_json()
    assert set(second) == TOKEN_KEYS and second["token_type"] == "Bearer" and type(second["expires_in"]) is int
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get(PROFILE, headers=_bearer(second["access_token"])).get_json()["id"] == user.id
    assert _refresh(client, second["refresh_token"]).status_code == 200


def test_reused_refresh_token_is_401_and_revokes_its_whole_family(client):
    user = make_user(Role.ADJUDICATOR)
    token_a = _login(client, user)["refresh_token"]
    token_b = _refresh(client, token_a).get_json()["refresh_token"]
    assert_problem(_refresh(client, token_a), 401)  # A was spent: a replay
    assert_problem(_refresh(client, token_b), 401)  # and B, issued from A, died with it
    family = db.session.scalars(select(RefreshToken).where(RefreshToken.user_id == user.id)).all()
    assert len(family) == 2 and all(row.revoked_at is not None for row in family)


def test_reuse_leaves_other_logins_alone(client):
    user = make_user(Role.ADJUDICATOR)
    other_login = _login(client, user)["refresh_token"]
    token_a = _login(client, user)["refresh_token"]
    _refresh(client, token_a)
    _refresh(client, token_a)
    assert _refresh(client, other_login).status_code == 200


def test_refresh_token_expires_after_14_days(client):
    user = make_user(Role.FINANCE_OFFICER)
    early, late = _login(client, user)["refresh_token"], _login(client, user)["refresh_token"]
    with clock.travel(timedelta(days=13, hours=23)):
        assert _refresh(client, early).status_code == 200
    with clock.travel(timedelta(days=14, minutes=1)):
        assert_problem(_refresh(client, late), 401)


@pytest.mark.parametrize("token", ["", "rt_not-a-real-token", "x" * 200])
def test_unknown_refresh_token_is_401(client, token):
    assert_problem(_refresh(client, token), 401)


def test_refresh_token_of_a_deactivated_user_is_401(client):
    user = make_user(Role.FINANCE_OFFICER)
    token = _login(client, user)["refresh_token"]
    user.active = False
    db.session.flush()
    assert_problem(_refresh(client, token), 401)


# --- logout ----------------------------------------------------------------------------------------


def test_logout_revokes_the_refresh_token(client):
    user = make_user(Role.RECEPTIONIST)
    pair = _login(client, user)
    response = client.post(LOGOUT, json={"refresh_token": pair["refresh_token"]}, headers=_bearer(pair["access_token"]))
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_problem(_refresh(client, pair["refresh_token"]), 401)


def test_logout_with_a_spent_token_revokes_its_family(client):
    user = make_user(Role.RECEPTIONIST)
    first = _login(client, user)
    second = _refresh(client, first["refresh_token"]).get_json()
    response = client.post(
        LOGOUT, json={"refresh_token": first["refresh_token"]}, headers=_bearer(second["access_token"])
    )
    assert response.status_code == 204
    assert_problem(_refresh(client, second["refresh_token"]), 401)


def test_logout_needs_a_bearer_token(client):
    pair = _login(client, make_user(Role.RECEPTIONIST))
    assert_problem(client.post(LOGOUT, json={"refresh_token": pair["refresh_token"]}), 401)
    assert _refresh(client, pair["refresh_token"]).status_code == 200


def test_logout_cannot_revoke_another_users_refresh_token(client):
    victim = _login(client, make_user(Role.RECEPTIONIST))
    caller = _login(client, make_user(Role.RECEPTIONIST))
    response = client.post(
        LOGOUT, json={"refresh_token": victim["refresh_token"]}, headers=_bearer(caller["access_token"])
    )
    assert_problem(response, 401)
    assert _refresh(client, victim["refresh_token"]).status_code == 200


# --- POST /users -----------------------------------------------------------------------------------


def _new_user_body(**changes) -> dict:
    body = {
        "email": "new.clerk@example.com",
        "full_name": "New Clerk",
        "role": "billing_clerk",
        "password": "Fresh-horse-77",
        "institution_id": 1,
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


def test_admin_creates_a_user_without_secrets_in_the_answer(client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    response = client.post(USERS, json=_new_user_body(), headers=headers)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == USER_KEYS
    assert body["email"] == "new.clerk@example.com" and body["role"] == "billing_clerk"
    assert body["institution_id"] == 1 and body["company_id"] is None and body["active"] is True
    text = response.get_data(as_text=True)
    assert "password" not in text and "Fresh-horse-77" not in text and "$argon2" not in text
    stored = db.session.get(User, body["id"])
    assert stored.email == "new.clerk@example.com" and stored.password_hash.startswith("$argon2")
    assert client.post(LOGIN, json={"email": "new.clerk@example.com", "password": "Fresh-horse-77"}).status_code == 200


def test_created_email_is_stored_lower_case(client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    response = client.post(USERS, json=_new_user_body(email="Mixed.Case@Example.COM"), headers=headers)
    assert response.status_code == 201
    assert response.get_json()["email"] == "mixed.case@example.com"


@pytest.mark.parametrize("role", [role for role in Role if role is not Role.ADMIN])
def test_non_admin_cannot_create_users(client, api_token, role):
    headers = api_token(make_user(role))
    before = _user_count()
    assert_problem(client.post(USERS, json=_new_user_body(), headers=headers), 403)
    assert _user_count() == before


def test_duplicate_email_is_409(client, api_token):
    make_user(Role.RECEPTIONIST, email="taken@example.com")
    headers = api_token(make_user(Role.ADMIN))
    before = _user_count()
    problem = assert_problem(client.post(USERS, json=_new_user_body(email="Taken@Example.com"), headers=headers), 409)
    assert problem["errors"] == {"email": ["This email is already in use."]}
    assert _user_count() == before


@pytest.mark.parametrize(
    "body, fields",
    [
        pytest.param({}, {"email", "full_name", "role", "password"}, id="empty"),
        pytest.param(_new_user_body(email=...), {"email"}, id="no-email"),
        pytest.param(_new_user_body(full_name=...), {"full_name"}, id="no-name"),
        pytest.param(_new_user_body(role=...), {"role"}, id="no-role"),
        pytest.param(_new_user_body(password=...), {"password"}, id="no-password"),
        pytest.param(_new_user_body(email=42), {"email"}, id="email-number"),
        pytest.param(_new_user_body(full_name={"first": "A"}), {"full_name"}, id="name-object"),
        pytest.param(_new_user_body(role=["admin"]), {"role"}, id="role-list"),
        pytest.param(_new_user_body(institution_id="one"), {"institution_id"}, id="tenant-text"),
        pytest.param(_new_user_body(institution_id=True), {"institution_id"}, id="tenant-bool"),
        pytest.param(_new_user_body(institution_id="1"), {"institution_id"}, id="tenant-numeric-string"),
        pytest.param(_new_user_body(institution_id=1.5), {"institution_id"}, id="tenant-fraction"),
        pytest.param(_new_user_body(password=12345678901), {"password"}, id="password-number"),
        pytest.param(_new_user_body(is_superuser=True), {"is_superuser"}, id="unknown-field"),
        pytest.param(_new_user_body(password_hash="$argon2id$..."), {"password_hash"}, id="unknown-hash-field"),
        pytest.param(_new_user_body(email="a" * 250 + "@example.com"), {"email"}, id="email-too-long"),
        pytest.param(_new_user_body(full_name="N" * 121), {"full_name"}, id="name-too-long"),
        pytest.param(_new_user_body(password="Aa1-" * 33), {"password"}, id="password-too-long"),
        pytest.param(_new_user_body(password="short"), {"password"}, id="password-too-weak"),
        pytest.param(_new_user_body(role="superuser"), {"role"}, id="unknown-role"),
        pytest.param(_new_user_body(role="admin' OR '1'='1"), {"role"}, id="role-injection"),
        pytest.param(
            _new_user_body(email="x@example.com\r\nBcc: all@example.com"), {"email"}, id="email-header-injection"
        ),
        pytest.param(_new_user_body(email="<script>@example.com"), {"email"}, id="email-markup"),
        pytest.param(_new_user_body(email="not-an-email"), {"email"}, id="email-invalid"),
        pytest.param(_new_user_body(full_name="Ro\x00bert"), {"full_name"}, id="name-nul-byte"),
        pytest.param(_new_user_body(full_name="Bob\x1b[31m"), {"full_name"}, id="name-escape-sequence"),
        pytest.param(_new_user_body(full_name="   "), {"full_name"}, id="name-blank"),
        pytest.param(_new_user_body(institution_id=2**63), {"institution_id"}, id="tenant-huge"),
        pytest.param(_new_user_body(institution_id=-1), {"institution_id"}, id="tenant-negative"),
        pytest.param(_new_user_body(institution_id=None), {"institution_id"}, id="hospital-role-without-institution"),
        pytest.param(_new_user_body(company_id=1), {"company_id"}, id="two-tenants"),
    ],
)
def test_invalid_user_bodies_are_422_by_field_and_create_nothing(client, api_token, body, fields):
    headers = api_token(make_user(Role.ADMIN))
    before = _user_count()
    problem = assert_problem(client.post(USERS, json=body, headers=headers), 422)
    assert fields <= set(problem["errors"]), problem["errors"]
    assert _user_count() == before


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"a string"', b"", b"null"])
def test_user_body_that_is_not_a_json_object_is_422(client, api_token, raw):
    headers = api_token(make_user(Role.ADMIN))
    before = _user_count()
    problem = assert_problem(client.post(USERS, data=raw, headers=headers, content_type="application/json"), 422)
    assert set(problem["errors"]) == {"body"}
    assert _user_count() == before


def test_oversized_body_is_refused_before_parsing(client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    before = _user_count()
    raw = json.dumps(_new_user_body(full_name="N" * (11 * 1024 * 1024))).encode()
    response = client.post(USERS, data=raw, headers=headers, content_type="application/json")
    assert_problem(response, 413)
    assert _user_count() == before


# --- tenants ---------------------------------------------------------------------------------------


def test_tenant_admin_cannot_create_users_for_another_tenant(client, api_token):
    headers = api_token(make_user(Role.ADMIN, institution_id=1))
    before = _user_count()
    other_tenants = (
        _new_user_body(institution_id=2),
        _new_user_body(role="adjudicator", institution_id=None, company_id=1),
        _new_user_body(role="auditor", institution_id=None),
    )
    for body in other_tenants:
        assert_problem(client.post(USERS, json=body, headers=headers), 403)
    assert _user_count() == before
    assert client.post(USERS, json=_new_user_body(institution_id=1), headers=headers).status_code == 201


def test_tenant_admin_lists_only_its_own_tenants_users(client, api_token):
    admin = make_user(Role.ADMIN, institution_id=1)
    headers = api_token(admin)
    mine = {admin.id, make_user(Role.RECEPTIONIST, institution_id=1).id, make_user(Role.AUDITOR, institution_id=1).id}
    make_user(Role.RECEPTIONIST, institution_id=2)
    make_user(Role.ADJUDICATOR, company_id=1)
    make_user(Role.ADMIN)
    response = client.get(USERS, query_string={"per_page": 200}, headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert {item["id"] for item in body["items"]} == mine
    assert body["total"] == len(mine)
    assert all(item["institution_id"] == 1 for item in body["items"])


def test_tenant_admin_gets_404_for_another_tenants_user(client, api_token):
    headers = api_token(make_user(Role.ADMIN, institution_id=1))
    other = make_user(Role.RECEPTIONIST, institution_id=2)
    platform = make_user(Role.ADMIN)
    own = make_user(Role.RECEPTIONIST, institution_id=1)
    db.session.commit()  # a refused request rolls back the session it shares with the test
    missing = assert_problem(client.get(f"{USERS}/999999", headers=headers), 404)
    for user in (other, platform):
        assert assert_problem(client.get(f"{USERS}/{user.id}", headers=headers), 404) == missing
    response = client.get(f"{USERS}/{own.id}", headers=headers)
    assert response.status_code == 200 and set(response.get_json()) == USER_KEYS


def test_platform_admin_sees_every_tenant(client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    other = make_user(Role.RECEPTIONIST, institution_id=2)
    assert client.get(f"{USERS}/{other.id}", headers=headers).status_code == 200
