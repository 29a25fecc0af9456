"""When the database is away: fail fast (connect and statement time-outs) and politely (503 with Retry-After,
the API's problem+json or a page that needs nothing from the database), while a 404 stays a 404.

A database that accepts connections but never answers would otherwise hold each web worker for as long as the
operating system waits; an outage would answer 500 from Flask's own page, and even an unknown address would turn
into a 500 because reading the session cookie needs the database.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, render_template, request
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from medcover.extensions import db

log = logging.getLogger("medcover.database")
RETRY_AFTER_SECONDS = 30
#: a connection taken from the pool is tried with a round trip first only when it sat there this long: one a request
#: gave back a moment ago is sound, and pinging before every request was one round trip in five of a list page
PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "medcover.idle_since"


class DatabaseUnavailable(Exception):
    """The request needs the database and the database did not answer."""


#: what a database that is down, unreachable, overloaded or too slow raises
OUTAGES = (OperationalError, PoolTimeout, DatabaseUnavailable)


def engine_options(config: dict) -> dict:
    """Pool and driver settings: connect and statement time-outs and the UTC zone on PostgreSQL, a busy time-out on
    SQLite."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    url = str(config.get("SQLALCHEMY_DATABASE_URI", ""))
    connect_args = dict(options.get("connect_args") or {})
    if url.startswith("postgresql"):
        connect_args.setdefault("connect_timeout", max(2, int(config["DATABASE_CONNECT_TIMEOUT"])))
        # TimeZone=UTC: psycopg hands timestamps back in datetime.UTC itself (a server zone such as Etc/UTC
        # comes back as a ZoneInfo, which every read then converts), and SQL's date of a moment is the UTC one
        # whatever the server's own setting
        timeout = int(config["DATABASE_STATEMENT_TIMEOUT_MS"])
        connect_args.setdefault("options", f"-c statement_timeout={timeout} -c TimeZone=UTC")
        options.setdefault("pool_timeout", int(config["DATABASE_POOL_TIMEOUT"]))
    elif url.startswith("sqlite") and url not in ("sqlite://", "sqlite:///:memory:"):
        connect_args.setdefault("timeout", int(config["DATABASE_CONNECT_TIMEOUT"]))
    if connect_args:
        options["connect_args"] = connect_args
    return options


def ping_when_idle(engine, after: float = PING_AFTER_IDLE_SECONDS) -> None:
    """SQLAlchemy's pre-ping, for connections that sat idle ``after`` seconds or more: a database restarted
    meanwhile costs a reconnect (a connection that fails the ping is replaced), not a failed request. The one
    exposure: a restart within ``after`` seconds of a connection's last use fails the request that takes it next,
    as an outage does (503, nothing saved), and the pool replaces the connection."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise DisconnectionError("the pooled connection is gone") from exc  # the pool connects anew
            raise


def mark_unavailable(exc: BaseException) -> None:
    """Reading the session failed for want of a database: the request goes on as a visitor's, and answers 503
    as soon as it needs more than the address (an unknown address stays a 404)."""
    log.warning("database unavailable while opening the session: %s", type(exc).__name__)
    g.database_unavailable = True


def answer(exc: BaseException) -> tuple[Response | str, int, dict]:
    """503 with Retry-After: problem+json for the API, a page of its own (no layout, no session) otherwise."""
    from medcover.api import PREFIX, problem

    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool drops it
        log.debug("rollback after an outage failed", exc_info=True)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    detail = "The database is not answering. Try again in a minute; nothing you sent was saved."
    if request.path.startswith(PREFIX):
        return problem(503, "Service Unavailable", detail, headers=headers), 503, {}
    return render_template("errors/unavailable.html", detail=detail), 503, headers


def init_app(app: Flask) -> None:
    app.config.setdefault("DATABASE_CONNECT_TIMEOUT", 5)
    app.config.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", 30_000)
    app.config.setdefault("DATABASE_POOL_TIMEOUT", 5)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)

    @app.before_request
    def _refuse_while_unavailable():
        # After routing: an unknown address is still a 404, a static file still served.
        if g.get("database_unavailable") and request.routing_exception is None and request.endpoint != "static":
            raise DatabaseUnavailable()

    for kind in OUTAGES:
        app.register_error_handler(kind, answer)
