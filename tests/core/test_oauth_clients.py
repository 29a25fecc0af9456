"""OAuth 2.0 client credentials: registering clients, the token endpoint's RFC 6749 answers, tokens the API
accepts with the client's tenant and role, revocation, rotation, audit, and the admin pages."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import select

from blueprints.core.models import AuditLog, OAuthAccessToken
from medcover.rbac import Role
from tests.factories import make_institution, make_patient, make_user


@pytest.fixture
def admin_headers(api_token):
    return api_token(make_user(Role.ADMIN))


def _register(client, headers, **body):
    response = client.post("/api/v1/oauth/clients", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _basic(client_id: str, secret: str) -> dict:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _token(client, registered, scope: str | None = None, *, post: bool = False):
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    if post:
        form |= {"client_id": registered["client_id"], "client_secret": registered["client_secret"]}
        return client.post("/api/v1/oauth/token", data=form)
    return client.post(
        "/api/v1/oauth/token", data=form, headers=_basic(registered["client_id"], registered["client_secret"])
    )


def _bearer(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_registered_client_secret_is_shown_once_and_stored_as_a_hash(client, admin_headers):
    hospital = make_institution()
    body = _register(client, admin_headers, name="Lab gateway", scopes=["integration"], institution_id=hospital.id)
    assert body["client_id"].startswith("mcc_") and body["client_secret"].startswith("mcs_")
    shown = client.get(f"/api/v1/oauth/clients/{body['id']}", headers=admin_headers).get_json()
    assert "client_secret" not in shown
    listed = client.get("/api/v1/oauth/clients", headers=admin_headers).get_json()
    assert body["client_secret"] not in str(listed)


def test_token_by_basic_and_by_post_calls_the_api_as_the_clients_tenant(client, admin_headers):
    a, b = make_institution(name="Hospital A"), make_institution(name="Hospital B")
    mine, theirs = make_patient(a, first_name="Asha"), make_patient(b, first_name="Baraka")
    registered = _register(client, admin_headers, name="EHR", scopes=["integration"], institution_id=a.id)
    for post in (False, True):
        answer = _token(client, registered, post=post)
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.get_json()["token_type"] == "Bearer" and answer.get_json()["scope"] == "integration"
        headers = _bearer(answer)
        ids = [p["id"] for p in client.get("/api/v1/patients", headers=headers).get_json()["items"]]
        assert ids == [mine.id]
        assert client.get(f"/api/v1/patients/{theirs.id}", headers=headers).status_code == 404
    token = answer.get_json()["access_token"]
    rows = _tokens()  # two tokens kept, as hashes: the token itself is nowhere in the table
    assert len(rows) == 2 and token not in {row.token_hash for row in rows}


def _tokens():
    from medcover.extensions import db

    return db.session.scalars(select(OAuthAccessToken)).all()


def test_the_token_acts_in_the_role_of_its_scope(client, admin_headers):
    hospital = make_institution()
    registered = _register(
        client, admin_headers, name="Billing feed", scopes=["billing_clerk", "auditor"], institution_id=hospital.id
    )
    default = client.get("/api/v1/auth/profile", headers=_bearer(_token(client, registered))).get_json()
    audit = client.get("/api/v1/auth/profile", headers=_bearer(_token(client, registered, "auditor"))).get_json()
    assert (default["role"], audit["role"]) == ("billing_clerk", "auditor")
    assert default["institution_id"] == hospital.id and default["email"] == "OAuth client Billing feed"


@pytest.mark.parametrize(
    ("scope", "error"),
    [("adjudicator", "invalid_scope"), ("billing_clerk auditor", "invalid_scope"), ("admin", "invalid_scope")],
)
def test_a_scope_outside_the_clients_is_invalid_scope(client, admin_headers, scope, error):
    hospital = make_institution()
    registered = _register(
        client, admin_headers, name="Feed", scopes=["billing_clerk", "auditor"], institution_id=hospital.id
    )
    answer = _token(client, registered, scope)
    assert answer.status_code == 400 and answer.get_json()["error"] == error


def test_bad_secret_unknown_client_and_wrong_grant_answer_per_rfc_6749(client, admin_headers):
    hospital = make_institution()
    registered = _register(client, admin_headers, name="Feed", scopes=["integration"], institution_id=hospital.id)
    wrong = client.post(
        "/api/v1/oauth/token", data={"grant_type": "client_credentials"}, headers=_basic(registered["client_id"], "x")
    )
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    unknown = client.post(
        "/api/v1/oauth/token", data={"grant_type": "client_credentials"}, headers=_basic("mcc_0000000000000000", "x")
    )
    assert unknown.status_code == 401 and unknown.get_json()["error"] == "invalid_client"
    grant = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "password"},
        headers=_basic(registered["client_id"], registered["client_secret"]),
    )
    assert grant.status_code == 400 and grant.get_json()["error"] == "unsupported_grant_type"
    assert not _tokens()


def test_revoked_client_gets_no_token_and_its_tokens_are_refused(client, admin_headers):
    hospital = make_institution()
    registered = _register(client, admin_headers, name="Feed", scopes=["integration"], institution_id=hospital.id)
    headers = _bearer(_token(client, registered))
    assert client.get("/api/v1/patients", headers=headers).status_code == 200
    revoked = client.post(f"/api/v1/oauth/clients/{registered['id']}/revoke", headers=admin_headers)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert client.get("/api/v1/patients", headers=headers).status_code == 401
    assert _token(client, registered).status_code == 401


def test_rotated_secret_replaces_the_old_one(client, admin_headers):
    hospital = make_institution()
    registered = _register(client, admin_headers, name="Feed", scopes=["integration"], institution_id=hospital.id)
    rotated = client.post(f"/api/v1/oauth/clients/{registered['id']}/rotate-secret", headers=admin_headers)
    assert rotated.status_code == 200
    new = rotated.get_json()
    assert new["client_secret"] != registered["client_secret"]
    assert _token(client, registered).status_code == 401
    assert _token(client, new).status_code == 200


def test_registration_refuses_insurer_scopes_for_a_hospital_and_a_client_without_organisation(client, admin_headers):
    hospital = make_institution()
    wrong = client.post(
        "/api/v1/oauth/clients",
        json={"name": "Feed", "scopes": ["adjudicator"], "institution_id": hospital.id},
        headers=admin_headers,
    )
    assert wrong.status_code == 422 and "scopes" in wrong.get_json()["errors"]
    nowhere = client.post(
        "/api/v1/oauth/clients", json={"name": "Feed", "scopes": ["integration"]}, headers=admin_headers
    )
    assert nowhere.status_code == 422 and "institution_id" in nowhere.get_json()["errors"]


def test_a_tenant_admin_cannot_register_a_client_for_another_hospital(client, api_token):
    a, b = make_institution(), make_institution()
    headers = api_token(make_user(Role.ADMIN, institution_id=a.id))
    answer = client.post(
        "/api/v1/oauth/clients",
        json={"name": "Feed", "scopes": ["integration"], "institution_id": b.id},
        headers=headers,
    )
    assert answer.status_code == 403


def test_non_admins_cannot_manage_clients(client, api_token):
    headers = api_token(make_user(Role.INTEGRATION))
    assert client.get("/api/v1/oauth/clients", headers=headers).status_code == 403


def test_what_a_client_token_changes_is_audited_in_the_clients_name(client, admin_headers, db_session):
    hospital = make_institution()
    registered = _register(
        client, admin_headers, name="Front desk kiosk", scopes=["receptionist"], institution_id=hospital.id
    )
    headers = _bearer(_token(client, registered))
    created = client.post(
        "/api/v1/patients",
        json={
            "first_name": "Neema",
            "last_name": "Otieno",
            "date_of_birth": "1991-02-03",
            "gender": "female",
            "institution_id": hospital.id,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    labels = set(db_session.scalars(select(AuditLog.actor_label)).all())
    assert "OAuth client Front desk kiosk" in labels
    issued = db_session.scalars(select(AuditLog).where(AuditLog.action == "token_issued")).all()
    assert [row.actor_label for row in issued] == ["OAuth client Front desk kiosk"]


def test_password_sign_in_for_integration_accounts_keeps_working(client, api_token):
    hospital = make_institution()
    headers = api_token(make_user(Role.INTEGRATION, institution_id=hospital.id))
    assert client.get("/api/v1/patients", headers=headers).status_code == 200


def test_admin_registers_a_client_on_the_page_and_sees_the_secret_once(client, login_as):
    hospital = make_institution(name="Riverside Hospital")
    login_as(Role.ADMIN)
    form = client.get("/admin/oauth-clients/new").get_data(as_text=True)
    assert "Riverside Hospital (hospital)" in form
    page = client.post(
        "/admin/oauth-clients/new",
        data={"name": "Lab gateway", "organisation": f"institution:{hospital.id}", "scopes": ["integration"]},
    )
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "shown this once" in text and 'id="client-secret">mcs_' in text
    listed = client.get("/admin/oauth-clients").get_data(as_text=True)
    assert "Lab gateway" in listed and "Riverside Hospital" in listed and "Integration" in listed
    assert "mcs_" not in listed


def test_revoking_on_the_page_asks_first(client, login_as, admin_headers):
    hospital = make_institution()
    registered = _register(client, admin_headers, name="Feed", scopes=["integration"], institution_id=hospital.id)
    login_as(Role.ADMIN)
    asked = client.post(f"/admin/oauth-clients/{registered['id']}/revoke")
    assert asked.status_code == 200 and "Revoke OAuth client Feed?" in asked.get_data(as_text=True)
    assert _token(client, registered).status_code == 200
    done = client.post(f"/admin/oauth-clients/{registered['id']}/revoke", data={"confirmed": "yes"})
    assert done.status_code == 303
    assert _token(client, registered).status_code == 401


def test_the_rate_limiter_counts_every_token_of_a_client_as_that_client(app):
    from medcover.ratelimit import client_key

    keys = set()
    for headers in (
        {"Authorization": "Bearer mcc_00112233aabbccdd.first-token"},
        {"Authorization": "Bearer mcc_00112233aabbccdd.second-token"},
        _basic("mcc_00112233aabbccdd", "secret"),
    ):
        with app.test_request_context("/api/v1/patients", headers=headers):
            keys.add(client_key())
    with app.test_request_context("/api/v1/oauth/token", method="POST", data={"client_id": "mcc_00112233aabbccdd"}):
        keys.add(client_key())
    assert keys == {"client:mcc_00112233aabbccdd"}
    with app.test_request_context("/api/v1/patients", headers={"Authorization": "Bearer mcc_99112233aabbccdd.x"}):
        assert client_key() == "client:mcc_99112233aabbccdd"


def test_replacing_a_secret_on_the_page_asks_then_shows_the_new_one_and_the_audit_log_names_the_client(
    client, login_as, admin_headers
):
    hospital = make_institution()
    registered = _register(client, admin_headers, name="Feed", scopes=["integration"], institution_id=hospital.id)
    login_as(Role.ADMIN)
    asked = client.post(f"/admin/oauth-clients/{registered['id']}/rotate")
    assert asked.status_code == 200 and "Replace the secret of OAuth client Feed?" in asked.get_data(as_text=True)
    assert _token(client, registered).status_code == 200  # nothing changed yet
    shown = client.post(f"/admin/oauth-clients/{registered['id']}/rotate", data={"confirmed": "yes"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="client-secret">(mcs_[^<]+)<', shown.get_data(as_text=True)).group(1)
    assert _token(client, registered).status_code == 401
    assert _token(client, {**registered, "client_secret": secret}).status_code == 200
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "OAuth client Feed" in audit and "Secret replaced" in audit and "Token issued" in audit
    assert ">oauth_client<" not in audit and "rotate_secret" not in audit  # words, not stored values


def test_an_expired_token_is_refused_and_cleared_when_the_client_gets_a_new_one(client, admin_headers, app):
    from datetime import timedelta

    from medcover import clock

    hospital = make_institution()
    registered = _register(client, admin_headers, name="Feed", scopes=["integration"], institution_id=hospital.id)
    old = _bearer(_token(client, registered))
    minutes = app.config["OAUTH_TOKEN_MINUTES"]
    with clock.travel(timedelta(minutes=minutes, seconds=1)):
        assert client.get("/api/v1/auth/profile", headers=old).status_code == 401
        fresh = _bearer(_token(client, registered))
        assert client.get("/api/v1/auth/profile", headers=fresh).status_code == 200
        assert len(_tokens()) == 1


def test_token_by_post_works_beside_an_unrelated_bearer_header(client, admin_headers):
    """A caller that sends every request with its bearer token (the contract run does) still gets the token the
    form's client credentials ask for."""
    hospital = make_institution()
    registered = _register(client, admin_headers, name="Gateway", scopes=["integration"], institution_id=hospital.id)
    form = {"grant_type": "client_credentials", "scope": "integration"}
    form |= {"client_id": registered["client_id"], "client_secret": registered["client_secret"]}
    answer = client.post("/api/v1/oauth/token", data=form, headers=admin_headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
