"""Platform tests run the app as production does: separate processes, real PostgreSQL and Redis.

Each test gets databases of its own on the server that TEST_DATABASE_URL names (see backing.py), so the
suite's own database, and whoever else uses it, is never touched.
"""

from __future__ import annotations

import os

import pytest

from tests.live_server import missing
from tests.platform.backing import Services


@pytest.fixture
def db_session():
    """These tests build their own databases; the in-process test database is not theirs."""
    yield None


@pytest.fixture(scope="session")
def services() -> Services:
    """TEST_DATABASE_URL and TEST_REDIS_URL, or a skip (a failure when CI=true)."""
    database_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not (database_url and redis_url):
        missing("needs PostgreSQL and Redis: set TEST_DATABASE_URL and TEST_REDIS_URL")
    return Services(database_url, redis_url)
