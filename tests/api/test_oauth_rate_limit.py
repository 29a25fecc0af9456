"""Rate limits per OAuth client: every token of one client spends the client's one budget (per endpoint, as the
gateway's limits count), so asking for more tokens buys no more calls."""

from __future__ import annotations

import base64

from blueprints.core.services import oauth_clients
from medcover.api import PREFIX
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_institution, make_user

LIMITED = {"RATELIMIT_ENABLED": True, "RATELIMIT_API": "3 per minute"}


def _from(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def _token(client, registered, address: str) -> dict:
    basic = base64.b64encode(f"{registered.client.client_id}:{registered.client_secret}".encode()).decode()
    response = client.post(
        f"{PREFIX}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        **_from(address),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_every_token_of_an_oauth_client_spends_the_clients_one_budget(make_app):
    client = make_app(**LIMITED).test_client()
    hospital, admin = make_institution(), make_user(Role.ADMIN)
    one = oauth_clients.register_client(actor=admin, name="One", scopes=["integration"], institution_id=hospital.id)
    two = oauth_clients.register_client(actor=admin, name="Two", scopes=["integration"], institution_id=hospital.id)
    # Each request from its own address: no address comes near its budget, only the client does.
    first, second = _token(client, one, "10.9.0.1"), _token(client, one, "10.9.0.2")
    for n, headers in enumerate((first, second, first)):
        assert client.get(f"{PREFIX}/auth/profile", headers=headers, **_from(f"10.9.1.{n}")).status_code == 200
    refused = client.get(f"{PREFIX}/auth/profile", headers=second, **_from("10.9.0.4"))
    assert_problem(refused, 429)  # the client's fourth call: another token is no new budget
    other = _token(client, two, "10.9.0.5")
    assert client.get(f"{PREFIX}/auth/profile", headers=other, **_from("10.9.0.6")).status_code == 200
