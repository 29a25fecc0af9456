"""OAuth 2.0 client credentials end to end: Authlib's own OAuth2 client gets tokens from a live gunicorn and calls
the API with them and /fhir; a client of hospital A never sees hospital B; a revoked client's
token is refused."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.live_server import WebServer, app_env, flask

EMAIL = "ada.admin@medcover.example"
PASSWORD = "Live-oauth-2026"


@dataclass(frozen=True)
class Site:
    server: WebServer
    admin: dict
    hospital_a: int
    hospital_b: int
    patient_a: int
    patient_b: int

    @property
    def api(self) -> str:
        return self.server.url + "/api/v1"


def _post(url: str, headers: dict, body: dict) -> dict:
    answer = requests.post(url, json=body, headers=headers, timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oauth-live")
    env = app_env(
        DATABASE_URL=f"sqlite:///{tmp / 'medcover.db'}",
        SECRET_KEY="oauth-live-secret-key-for-tests-only-32",
        RATELIMIT_ENABLED="false",
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(tmp / "mail"),
    )
    flask("db", "upgrade", env=env)
    flask("users", "create", EMAIL, "--role", "admin", "--password", PASSWORD, "--name", "Ada Admin", env=env)
    server = WebServer(env=env, log_path=tmp / "web.log", workers=1)
    try:
        server.wait_ready()
        api = server.url + "/api/v1"
        login = _post(api + "/auth/login", {}, {"email": EMAIL, "password": PASSWORD})
        admin = {"Authorization": f"Bearer {login['access_token']}"}
        ids = []
        for code in ("HA", "HB"):
            institution = _post(api + "/institutions", admin, {"code": code, "name": f"Hospital {code}"})
            patient = _post(
                api + "/patients",
                admin,
                {
                    "first_name": "Amani",
                    "last_name": code,
                    "date_of_birth": "1990-03-14",
                    "gender": "female",
                    "institution_id": institution["id"],
                },
            )
            ids += [institution["id"], patient["id"]]
        yield Site(server, admin, ids[0], ids[2], ids[1], ids[3])
    finally:
        server.stop()


def _client(site: Site, name: str, institution_id: int) -> dict:
    return _post(
        site.api + "/oauth/clients",
        site.admin,
        {"name": name, "scopes": ["integration", "auditor"], "institution_id": institution_id},
    )


def _session(site: Site, registered: dict, method: str, scope: str = "integration") -> OAuth2Session:
    session = OAuth2Session(
        registered["client_id"], registered["client_secret"], scope=scope, token_endpoint_auth_method=method
    )
    token = session.fetch_token(site.api + "/oauth/token", grant_type="client_credentials")
    assert token["token_type"] == "Bearer" and token["scope"] == scope and token["expires_in"] > 0
    return session


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_gets_a_token_and_sees_only_its_hospital(site, method):
    session = _session(site, _client(site, f"EHR {method}", site.hospital_a), method)
    listed = session.get(site.api + "/patients", timeout=30)
    assert listed.status_code == 200, listed.text
    assert [p["id"] for p in listed.json()["items"]] == [site.patient_a]
    assert session.get(f"{site.api}/patients/{site.patient_a}", timeout=30).status_code == 200
    assert session.get(f"{site.api}/patients/{site.patient_b}", timeout=30).status_code == 404
    profile = session.get(site.api + "/auth/profile", timeout=30).json()
    assert profile["role"] == "integration" and profile["institution_id"] == site.hospital_a


def test_a_scope_the_client_lacks_is_refused_by_the_token_endpoint(site):
    registered = _client(site, "Scoped", site.hospital_a)
    answer = requests.post(
        site.api + "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "adjudicator"},
        auth=(registered["client_id"], registered["client_secret"]),
        timeout=30,
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


def test_a_revoked_clients_token_is_refused(site):
    registered = _client(site, "Soon revoked", site.hospital_a)
    session = _session(site, registered, "client_secret_basic")
    assert session.get(site.api + "/patients", timeout=30).status_code == 200
    _post(f"{site.api}/oauth/clients/{registered['id']}/revoke", site.admin, {})
    assert session.get(site.api + "/patients", timeout=30).status_code == 401
    again = requests.post(
        site.api + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(registered["client_id"], registered["client_secret"]),
        timeout=30,
    )
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"


def test_fhir_accepts_the_clients_token(site):
    session = _session(site, _client(site, "FHIR reader", site.hospital_a), "client_secret_basic")
    patients = session.get(site.server.url + "/fhir/Patient", headers={"Accept": "application/fhir+json"}, timeout=30)
    assert patients.status_code == 200, patients.text
    ids = {entry["resource"]["id"] for entry in patients.json().get("entry", [])}
    assert str(site.patient_a) in ids
    assert str(site.patient_b) not in ids
