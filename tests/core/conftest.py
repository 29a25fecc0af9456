"""Core test fixtures: a client whose every request runs in its own app context, as in production.

The shared ``client`` (tests/conftest.py) runs its requests inside the test's app context, so a request
uses the test's own database session: a view that rolls back after a domain error (a 404, a 422) also
undoes the rows the test has only flushed, and a view that forgets to commit still looks right because
the test reads its pending changes. Here each request gets a fresh context, hence its own ``g`` and its
own session on the test's connection, and the test sees exactly what the request committed.
``login`` and ``login_as`` pick up this ``client`` through pytest's fixture override.
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from medcover import clock
from tests.conftest import CsrfClient


class RequestScopedClient(CsrfClient):
    def csrf_token(self) -> str:
        with self.application.app_context():
            return super().csrf_token()

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def new_client(app):
    """``new_client()`` -> another browser, with its own cookies."""
    return lambda: RequestScopedClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def client(new_client):
    return new_client()


@pytest.fixture
def advance():
    """``advance(timedelta)`` moves the clock forward for the rest of the test (and back afterwards)."""
    with ExitStack() as stack:
        yield lambda delta: stack.enter_context(clock.travel(delta))
