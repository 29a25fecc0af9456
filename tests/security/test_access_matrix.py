"""Secure by default: every route declares who may call it, and the declarations hold over HTTP.

The URL map is walked, so a route added tomorrow is checked without anyone editing this file; the core
routes are also pinned to a table written out here, so a wrong declaration is caught too.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from blueprints.core.models import User, UserSession
from blueprints.core.services import token_hash
from medcover import clock
from medcover.api import PREFIX
from medcover.extensions import db
from medcover.rbac import Role, access_of
from tests.api.problem import assert_problem
from tests.conftest import CsrfClient
from tests.factories import PASSWORD, make_user

ALL = frozenset(Role)
STAFF = ALL - {Role.INTEGRATION}
ADMIN = frozenset({Role.ADMIN})
AUDIT = frozenset({Role.ADMIN, Role.AUDITOR})
PUBLIC = "public"
FHIR = "/fhir/"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}

#: Who may call each core route, written out by hand: a declaration that drifts from this is a bug.
CORE_EXPECTED: dict[tuple[str, str], frozenset[Role] | str] = {
    ("/", "GET"): STAFF,
    ("/admin/audit", "GET"): AUDIT,
    ("/admin/audit.csv", "GET"): AUDIT,
    ("/admin/users", "GET"): ADMIN,
    ("/admin/users/<id:user_id>/active", "POST"): ADMIN,
    ("/admin/users/<id:user_id>/edit", "GET"): ADMIN,
    ("/admin/users/<id:user_id>/edit", "POST"): ADMIN,
    ("/admin/users/invite", "GET"): ADMIN,
    ("/admin/users/invite", "POST"): ADMIN,
    ("/admin/users/new", "GET"): ADMIN,
    ("/admin/users/new", "POST"): ADMIN,
    ("/auth/change-password", "GET"): STAFF,
    ("/auth/change-password", "POST"): STAFF,
    ("/auth/logout", "GET"): STAFF,
    ("/auth/logout", "POST"): STAFF,
    ("/auth/profile", "GET"): STAFF,
    ("/auth/refresh", "POST"): STAFF,
    ("/auth/sessions", "GET"): STAFF,
    ("/auth/sessions/<id:session_id>/revoke", "POST"): STAFF,
    ("/auth/sessions/revoke-all", "POST"): STAFF,
    ("/search", "GET"): STAFF,
    ("/auth/login", "GET"): PUBLIC,
    ("/auth/login", "POST"): PUBLIC,
    ("/auth/register", "GET"): PUBLIC,
    ("/auth/register", "POST"): PUBLIC,
    ("/auth/reset-password", "GET"): PUBLIC,
    ("/auth/reset-password", "POST"): PUBLIC,
    ("/auth/reset-password/<token>", "GET"): PUBLIC,
    ("/auth/reset-password/<token>", "POST"): PUBLIC,
    ("/healthz", "GET"): PUBLIC,
    ("/readyz", "GET"): PUBLIC,
    (f"{PREFIX}/audit-logs", "GET"): AUDIT,
    (f"{PREFIX}/auth/login", "POST"): PUBLIC,
    (f"{PREFIX}/auth/refresh", "POST"): PUBLIC,
    (f"{PREFIX}/auth/logout", "POST"): ALL,
    (f"{PREFIX}/auth/profile", "GET"): ALL,
    (f"{PREFIX}/users", "GET"): ADMIN,
    (f"{PREFIX}/users", "POST"): ADMIN,
    (f"{PREFIX}/users/<id:user_id>", "GET"): ADMIN,
    (f"{PREFIX}/openapi.json", "GET"): PUBLIC,
    ("/admin/oauth-clients", "GET"): ADMIN,
    ("/admin/oauth-clients/new", "GET"): ADMIN,
    ("/admin/oauth-clients/new", "POST"): ADMIN,
    ("/admin/oauth-clients/<id:client_pk>/rotate", "POST"): ADMIN,
    ("/admin/oauth-clients/<id:client_pk>/revoke", "POST"): ADMIN,
    (f"{PREFIX}/oauth/token", "POST"): PUBLIC,
    (f"{PREFIX}/oauth/clients", "GET"): ADMIN,
    (f"{PREFIX}/oauth/clients", "POST"): ADMIN,
    (f"{PREFIX}/oauth/clients/<id:client_pk>", "GET"): ADMIN,
    (f"{PREFIX}/oauth/clients/<id:client_pk>/rotate-secret", "POST"): ADMIN,
    (f"{PREFIX}/oauth/clients/<id:client_pk>/revoke", "POST"): ADMIN,
    (f"{PREFIX}/docs", "GET"): PUBLIC,
}
CORE_BLUEPRINTS = {"core", "api_core", "health", "api_docs"}

#: The only state-changing calls an auditor may make: on its own account, sessions and inbox.
AUDITOR_SELF_SERVICE = {
    ("/auth/change-password", "POST"),
    ("/auth/logout", "POST"),
    ("/auth/refresh", "POST"),
    ("/auth/sessions/<id:session_id>/revoke", "POST"),
    ("/auth/sessions/revoke-all", "POST"),
    (f"{PREFIX}/auth/logout", "POST"),
    ("/notifications/<id:notification_id>/read", "POST"),
    ("/notifications/read-all", "POST"),
    ("/notifications/preferences", "POST"),
    ("/notifications/push", "POST"),
    ("/notifications/push/off", "POST"),
}

_CONVERTER = re.compile(r"<(?:(?P<kind>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    endpoint: str

    @property
    def is_api(self) -> bool:
        return self.rule.startswith((PREFIX, FHIR))

    @property
    def error_type(self) -> str:
        """The media type of an API route's errors: problem+json, an OperationOutcome under /fhir."""
        return "application/fhir+json" if self.rule.startswith(FHIR) else "application/problem+json"

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def undeclared_endpoints(app) -> set[str]:
    """Endpoints of the URL map with no access declaration (``static`` is Flask's own file server)."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and access_of(app.view_functions[rule.endpoint]) is None
    }


def routes(app) -> list[Route]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append(Route(rule.rule, method, rule.endpoint))
    return sorted(found, key=lambda route: (route.rule, route.method))


def declared(app, route: Route):
    access = access_of(app.view_functions[route.endpoint])
    return PUBLIC if access.public else access.roles


def expected(app, route: Route):
    """The hand-written table for core routes, the declaration for the rest."""
    return CORE_EXPECTED.get((route.rule, route.method), declared(app, route))


def _url(route: Route, ids: dict[str, int]) -> str:
    def fill(match):
        kind, name = match.group("kind") or "string", match.group("name")
        if kind in ("int", "id"):
            return str(ids.get(name, ids["user_id"]))
        if kind == "uuid":
            return str(uuid.uuid4())
        return "x"

    return _CONVERTER.sub(fill, route.rule)


def _is_login_redirect(response, path: str | None = None) -> bool:
    if response.status_code not in (302, 303):
        return False
    location = urlsplit(response.headers["Location"])
    if location.path != "/auth/login":
        return False
    nxt = parse_qs(location.query).get("next")
    return bool(nxt) and (path is None or urlsplit(nxt[0]).path == path)


def _request(client, route: Route, url: str, headers: dict | None = None):
    kwargs = {"method": route.method, "headers": headers or {}}
    if route.method in WRITES and route.is_api:
        kwargs["json"] = {}
    return client.open(url, **kwargs)


# --- declarations --------------------------------------------------------------------------------


def test_every_endpoint_declares_its_access(app):
    assert undeclared_endpoints(app) == set()


def test_the_walk_finds_an_undeclared_route_and_the_app_refuses_it(make_app, api_token):
    fresh = make_app()
    fresh.add_url_rule("/throwaway", "throwaway_page", lambda: "patient list")
    fresh.add_url_rule(f"{PREFIX}/throwaway", "throwaway_api", lambda: {"patients": []})
    assert undeclared_endpoints(fresh) == {"throwaway_page", "throwaway_api"}

    client = fresh.test_client()
    assert client.get("/throwaway").status_code == 403
    assert_problem(client.get(f"{PREFIX}/throwaway"), 403)
    admin = make_user(Role.ADMIN)
    assert client.post("/auth/login", data={"email": admin.email, "password": PASSWORD}).status_code == 303
    page = client.get("/throwaway")
    assert page.status_code == 403 and "patient list" not in page.get_data(as_text=True)
    assert_problem(client.get(f"{PREFIX}/throwaway", headers=api_token(admin)), 403)


def test_core_routes_are_declared_as_the_table_says(app):
    core = {
        (route.rule, route.method): route
        for route in routes(app)
        if route.endpoint.partition(".")[0] in CORE_BLUEPRINTS
    }
    assert set(core) == set(CORE_EXPECTED), "a core route was added or removed: update CORE_EXPECTED"
    wrong = {
        str(route): (declared(app, route), CORE_EXPECTED[key])
        for key, route in core.items()
        if declared(app, route) != CORE_EXPECTED[key]
    }
    assert wrong == {}


def test_integration_accounts_reach_no_page(app):
    pages = [route for route in routes(app) if not route.is_api and declared(app, route) != PUBLIC]
    assert pages
    assert [str(route) for route in pages if Role.INTEGRATION in declared(app, route)] == []


def test_auditor_may_change_only_its_own_account(app):
    writes = [route for route in routes(app) if route.method in WRITES and declared(app, route) != PUBLIC]
    allowed = {(route.rule, route.method) for route in writes if Role.AUDITOR in expected(app, route)}
    assert allowed - AUDITOR_SELF_SERVICE == set()


# --- the matrix over HTTP --------------------------------------------------------------------------


@pytest.fixture
def world():
    """For each role: a user, another user of the same tenant, and another live session of the user."""

    def build(role: Role):
        actor = make_user(role)
        target = make_user(Role.AUDITOR, institution_id=actor.institution_id, company_id=actor.company_id)
        now = clock.now()
        spare = UserSession(
            token_hash=token_hash(secrets.token_urlsafe(32)),
            user_id=actor.id,
            data={},
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=1),
        )
        db.session.add(spare)
        db.session.commit()  # a refused request rolls back the session it shares with the test
        return actor, {"user_id": target.id, "session_id": spare.id}

    return build


def _signed_in_page_client(app, user):
    client = CsrfClient(app, app.response_class, use_cookies=True)
    if user.role is Role.INTEGRATION:
        # Integration accounts cannot sign in on the page; give one a server-side session anyway, so
        # the routes' own guard is what is tested (defence in depth).
        cookie = secrets.token_urlsafe(32)
        now = clock.now()
        db.session.add(
            UserSession(
                token_hash=token_hash(cookie),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                data={"_user_id": str(user.id), "_fresh": True},
                expires_at=now + timedelta(hours=1),
            )
        )
        db.session.commit()
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    else:
        response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 303, response.status_code
    return client


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_pages_answer_each_role_as_declared(app, world, role):
    actor, ids = world(role)
    checked, wrong, client = 0, [], None
    for route in routes(app):
        want = expected(app, route)
        if route.is_api or want == PUBLIC:
            continue
        url = _url(route, ids)
        client = client or _signed_in_page_client(app, actor)
        response = _request(client, route, url)
        if route.method in WRITES:
            client = None  # it may have ended the session (sign-out, revoke, password change): sign in afresh
        checked += 1
        if role in want:
            # Access is the question here: a 404 for the made-up id, a 422 for the empty form both count.
            if response.status_code in (401, 403) or _is_login_redirect(response):
                wrong.append(f"{route} ({url}): {response.status_code}, expected access")
        elif response.status_code != 403 or response.mimetype != "text/html":
            wrong.append(f"{route} ({url}): {response.status_code}, expected 403")
    assert checked >= len(
        [key for key, want in CORE_EXPECTED.items() if not key[0].startswith(PREFIX) and want != PUBLIC]
    )
    assert wrong == []


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_api_answers_each_role_as_declared(app, client, api_token, world, role):
    actor, ids = world(role)
    headers = api_token(actor)
    wrong = []
    for route in routes(app):
        want = expected(app, route)
        if not route.is_api or want == PUBLIC:
            continue
        url = _url(route, ids)
        response = _request(client, route, url, headers)
        if role in want:
            if response.status_code in (401, 403):
                wrong.append(f"{route} ({url}): {response.status_code}, expected access")
        elif response.status_code != 403 or response.mimetype != route.error_type:
            wrong.append(f"{route} ({url}): {response.status_code}, expected 403 problem")
    assert wrong == []


def test_anonymous_pages_redirect_to_sign_in_and_api_answers_401(app, client, world):
    _actor, ids = world(Role.ADMIN)
    wrong = []
    for route in routes(app):
        if expected(app, route) == PUBLIC:
            continue
        url = _url(route, ids)
        response = _request(client, route, url)
        if route.is_api:
            if response.status_code != 401 or response.mimetype != route.error_type:
                wrong.append(f"{route}: {response.status_code}, expected 401 problem")
        elif url == "/":  # the start page is where one signs in: no "next", no prompt
            if response.status_code not in (302, 303) or response.headers["Location"] != "/auth/login":
                wrong.append(f"{route}: {response.status_code} {response.headers.get('Location')}, expected sign-in")
        elif not _is_login_redirect(response, path=url):
            wrong.append(f"{route}: {response.status_code} {response.headers.get('Location')}, expected sign-in")
    assert wrong == []


def test_public_core_routes_need_no_sign_in(app, client):
    wrong = []
    for (rule, method), want in CORE_EXPECTED.items():
        if want != PUBLIC:
            continue
        route = Route(rule, method, "")
        response = _request(client, route, _url(route, {"user_id": 1}))
        if response.status_code in (401, 403) or _is_login_redirect(response) or response.status_code >= 500:
            wrong.append(f"{route}: {response.status_code}")
    assert wrong == []


# --- the auditor, concretely -----------------------------------------------------------------------


def test_auditor_changes_nothing(client, login, api_token):
    auditor = make_user(Role.AUDITOR)
    target = make_user(Role.RECEPTIONIST)
    headers = api_token(auditor)
    login(auditor)
    users = db.session.scalar(select(func.count()).select_from(User))
    new = {"email": "sneaky@example.com", "full_name": "Sneaky", "role": "admin", "password": "Sneaky-horse-55"}
    assert client.post("/admin/users/new", data=new).status_code == 403
    assert client.post("/admin/users/invite", data={"email": "x@example.com", "role": "admin"}).status_code == 403
    assert client.post(f"/admin/users/{target.id}/active", data={"active": "0"}).status_code == 403
    edit = {"full_name": "Renamed", "role": "admin", "active": "y"}
    assert client.post(f"/admin/users/{target.id}/edit", data=edit).status_code == 403
    assert_problem(client.post(f"{PREFIX}/users", json={**new, "institution_id": None}, headers=headers), 403)
    db.session.refresh(target)
    assert (target.active, target.full_name, target.role) == (True, target.full_name, Role.RECEPTIONIST)
    assert db.session.scalar(select(func.count()).select_from(User)) == users
    # Reading is what an auditor is for.
    assert client.get("/admin/audit").status_code == 200
    assert client.get(f"{PREFIX}/audit-logs", headers=headers).status_code == 200
