"""Fixtures for tests that need an app of their own (other settings, or routes added before its first request)."""

from __future__ import annotations

import pytest

from medcover.app import create_app
from tests.conftest import CsrfClient


@pytest.fixture
def make_app(app):
    """``make_app(**config)`` builds a new app with those settings. It shares the test's database
    transaction (the per-test session is bound to it), so factories' rows are visible to it."""

    def build(**overrides):
        fresh = create_app("test", overrides)
        fresh.test_client_class = CsrfClient
        return fresh

    return build
