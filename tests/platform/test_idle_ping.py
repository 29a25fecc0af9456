"""A pooled connection is tried before use only after it sat idle: one whose server process ended while it waited
in the pool is replaced without the request noticing, and one given back a moment ago is used without a round
trip (PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text

from medcover import outage
from medcover.extensions import db
from tests.platform.backing import query, scratch_app


def _server_pid() -> int:
    return db.session.scalar(text("SELECT pg_backend_pid()"))


def _idle_for(seconds: float) -> None:
    """Make the pool's one connection look as if it were given back ``seconds`` ago."""
    for record in db.engine.pool._pool.queue:
        record.info[outage._IDLE_SINCE] -= seconds


def test_a_connection_killed_while_idle_is_replaced_without_failing_the_request():
    with scratch_app("medcover_idle_ping") as app, app.app_context():
        old = _server_pid()
        db.session.remove()
        # from a connection of its own: the pooled one's server process ends while it waits in the pool
        query(db.engine.url.render_as_string(hide_password=False), "SELECT pg_terminate_backend(:pid)", pid=old)
        _idle_for(outage.PING_AFTER_IDLE_SECONDS + 1)
        assert _server_pid() not in (None, old)


def test_a_connection_given_back_a_moment_ago_is_used_without_a_ping():
    with scratch_app("medcover_idle_ping") as app, app.app_context():
        _server_pid()
        db.session.remove()
        pings = []
        original = db.engine.dialect.do_ping
        db.engine.dialect.do_ping = lambda connection: pings.append(connection) or original(connection)
        try:
            _server_pid()
            db.session.remove()
            assert pings == []
            _idle_for(outage.PING_AFTER_IDLE_SECONDS + 1)
            _server_pid()
            assert len(pings) == 1
        finally:
            db.engine.dialect.do_ping = original
