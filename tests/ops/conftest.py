"""Fixtures for the operating tests: the claims world (a hospital, an insurer, a covered member) and its client."""

from tests.claims.conftest import client, cw  # noqa: F401 - fixtures shared with the claims tests
