"""Shared fixtures: the app once per session, a database transaction per test, a CSRF-aware client."""

from __future__ import annotations

import os
import re

os.environ.setdefault("MEDCOVER_ENV", "test")

import pytest
from flask import current_app, g, has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session
from sqlalchemy import event, text

from medcover import mail
from medcover.app import create_app
from medcover.extensions import db
from medcover.memo import forget_directories
from tests.factories import PASSWORD, make_user

#: statements that only begin or end a transaction (or a test's savepoint): not queries
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class BoundSession(Session):
    """Flask-SQLAlchemy's session, but bound to the test's connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind if self.bind is not None else super().get_bind(mapper, clause, bind, **kwargs)


USING_SERVICES = bool(os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL"))


def _reset_schema() -> None:
    """Empty the test database and build it from the migrations, as production does."""
    from flask_migrate import upgrade

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade()


@pytest.fixture(scope="session")
def app():
    app = create_app("test")
    with app.app_context():
        _reset_schema()
    return app


@pytest.fixture(autouse=True)
def db_session(request, app):
    """Each test runs inside one outer transaction that is rolled back at the end; the code under test
    commits to savepoints (SQLAlchemy 2's "join an external transaction" recipe)."""
    if request.node.get_closest_marker("committed"):
        with app.app_context():
            forget_directories()
            yield db.session
        return
    with app.app_context():
        forget_directories()  # names another test's rolled-back world kept in the process
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": BoundSession}
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


class CsrfClient(FlaskClient):
    """Sends the CSRF token the way a page would: read from the page's meta tag, posted with the form."""

    def csrf_token(self) -> str:
        page = self._send("/auth/reset-password", method="GET").get_data(as_text=True)
        match = _CSRF_META.search(page)
        assert match, "no csrf-token meta on the page"
        return match.group(1)

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        path = args[0] if args and isinstance(args[0], str) else ""
        if csrf and method in {"POST", "PUT", "PATCH", "DELETE"} and not path.startswith("/api/"):
            headers = dict(kwargs.pop("headers", None) or {})
            data = kwargs.get("data")
            if isinstance(data, dict) and "csrf_token" not in data:
                kwargs["data"] = {**data, "csrf_token": self.csrf_token()}
            elif data is None and "json" not in kwargs:
                kwargs["data"] = {"csrf_token": self.csrf_token()}
            elif "X-CSRFToken" not in headers:
                headers["X-CSRFToken"] = self.csrf_token()
            kwargs["headers"] = headers
        return self._send(*args, **kwargs)

    def _send(self, *args, **kwargs):
        # Flask reuses the test's pushed app context for every request, and with it ``g``: the user
        # Flask-Login caches there (and Flask-WTF's token) would leak into the next request, even one
        # with no cookie or token. In production each request starts with an empty ``g``; here too.
        if has_app_context() and current_app._get_current_object() is self.application:
            for name in list(g):
                g.pop(name)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = CsrfClient
    return app.test_client()


@pytest.fixture
def login(client):
    """``login(user)`` signs the client in through the real sign-in form."""

    def sign_in(user, password: str = PASSWORD):
        response = client.post("/auth/login", data={"email": user.email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return user

    return sign_in


@pytest.fixture
def login_as(login):
    """``login_as(role, **tenant)`` makes a user of that role and signs in as them."""

    def sign_in_as(role, **tenant):
        return login(make_user(role, **tenant))

    return sign_in_as


@pytest.fixture
def api_token(client):
    """``api_token(user)`` -> headers with a bearer token from the real login endpoint."""

    def token_for(user, password: str = PASSWORD) -> dict:
        response = client.post("/api/v1/auth/login", json={"email": user.email, "password": password})
        assert response.status_code == 200, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    return token_for


@pytest.fixture
def outbox():
    mail.outbox.clear()
    yield mail.outbox
    mail.outbox.clear()


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter: ...`` then ``counter.count``: statements sent to the database."""
    from contextlib import contextmanager

    class Counter:
        count = 0
        statements: list[str] = []

        @property
        def queries(self) -> int:
            """The statements that read or write: SQLite's BEGIN and the tests' savepoints left out."""
            return sum(1 for s in self.statements if s.split(None, 1)[0].upper() not in TRANSACTION_CONTROL)

    @contextmanager
    def counting():
        counter = Counter()
        counter.statements = []

        def before(conn, cursor, statement, params, context, executemany):
            counter.count += 1
            counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return counting
