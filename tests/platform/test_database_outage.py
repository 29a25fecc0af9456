"""A database that accepts connections and never answers: pages and the API answer 503 with Retry-After within
3 s, an unknown address stays a 404, and /readyz says the database is down within 2 s."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from medcover.app import create_app
from tests.api.problem import assert_problem


@pytest.fixture
def silent_database():
    """A TCP server on loopback that accepts every connection and never says a word."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    server.close()


@pytest.fixture
def outage_app(silent_database):
    app = create_app(
        "test",
        {
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://medcover@127.0.0.1:{silent_database}/medcover",
            "DATABASE_CONNECT_TIMEOUT": 2,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
        },
    )
    return app


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.committed
def test_the_api_answers_503_problem_with_retry_after_in_time(outage_app):
    client = outage_app.test_client()
    response, seconds = _timed(
        lambda: client.post("/api/v1/auth/login", json={"email": "a@example.org", "password": "whatever-it-is"})
    )
    assert_problem(response, 503)
    assert response.headers["Retry-After"] == "30"
    assert seconds < 3


@pytest.mark.committed
def test_a_signed_in_page_answers_503_page_and_an_unknown_address_stays_404(outage_app):
    client = outage_app.test_client()
    client.set_cookie("medcover_session", "a-session-token-the-database-would-know")
    response, seconds = _timed(lambda: client.get("/claims"))
    assert response.status_code == 503 and seconds < 3
    assert response.headers["Retry-After"] == "30"
    assert "temporarily unavailable" in response.get_data(as_text=True)
    missing, seconds = _timed(lambda: client.get("/no-such-page"))
    assert missing.status_code == 404 and seconds < 3


@pytest.mark.committed
def test_readyz_says_the_database_is_down_within_two_seconds(outage_app):
    response, seconds = _timed(lambda: outage_app.test_client().get("/readyz"))
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("unavailable")
    assert seconds < 2
