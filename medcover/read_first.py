"""Reads outside a transaction until the first statement that needs one (PostgreSQL, web requests that only ask).

A page that only reads pays two round trips for its transaction: BEGIN before its first statement and a COMMIT
that has nothing to keep. Under load on a machine shared with the database, those two were a sixth of a list
page's time. A connection taken from the pool while ``reading()`` is on (the app turns it on for GET and HEAD
requests) starts in the driver's autocommit mode instead:

- a plain SELECT runs on its own. Under READ COMMITTED, PostgreSQL's default and ours, every statement takes a
  fresh snapshot inside a transaction too, so it sees exactly what it would have seen there;
- any other statement (a write, a SELECT that locks rows or takes an advisory lock, SAVEPOINT, SET, LOCK ...)
  first opens a transaction with BEGIN on the same connection. From there on the session commits or rolls back
  as it always does (the driver sends COMMIT or ROLLBACK while a transaction is open), so a GET that writes
  (a read's audit entry, a session touched) stays all or nothing;
- given back to the pool, the connection leaves autocommit mode: the next one to take it gets the usual
  transactions. Work after the response (inline jobs) takes its connections with ``reading()`` off.

SQLite is left alone: its transactions are local calls, not round trips.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from sqlalchemy import event

_READING: ContextVar[bool] = ContextVar("medcover_reading", default=False)
#: set in a pooled connection's record while it is lent out in autocommit mode
_FLAG = "medcover.read_first"
_SELECT = re.compile(r"\s*SELECT\s", re.IGNORECASE)
#: what makes a SELECT need its transaction: row locks, advisory locks, and functions whose effect a transaction
#: bounds (a setting made local to it, a notification sent at its commit)
_NEEDS_TRANSACTION = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b|advisory|set_config|pg_notify",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def runs_alone(statement: str) -> bool:
    """Whether ``statement`` may run outside a transaction: a plain SELECT, nothing that locks or sets."""
    return _SELECT.match(statement) is not None and _NEEDS_TRANSACTION.search(statement) is None


@contextmanager
def reading(on: bool = True) -> Iterator[None]:
    """Connections taken from the pool meanwhile (in this context) read before they open a transaction."""
    token = _READING.set(on)
    try:
        yield
    finally:
        _READING.reset(token)


def middleware(wsgi_app):
    """The web tier's switch: a request that only asks (GET, HEAD) reads before it opens a transaction; any other
    request takes its connections with the usual transactions."""

    def serve(environ, start_response):
        with reading(environ.get("REQUEST_METHOD") in ("GET", "HEAD")):
            return wsgi_app(environ, start_response)

    return serve


def stop_reading() -> None:
    """From here on in this context, connections are taken with their usual transactions (work after a
    response)."""
    _READING.set(False)


def install(engine) -> None:
    """Hook ``engine``'s pool and statements; nothing to do for a database other than PostgreSQL."""
    if engine.dialect.name != "postgresql":
        return
    from psycopg.pq import TransactionStatus

    idle = TransactionStatus.IDLE

    # insert=True: before the pool's other checkout hooks (the ping of an idle connection), so that they too run
    # in the mode the connection is lent in
    @event.listens_for(engine, "checkout", insert=True)
    def _lend(dbapi_connection, record, _proxy) -> None:
        if _READING.get() and dbapi_connection.pgconn.transaction_status == idle:
            dbapi_connection.autocommit = True
            record.info[_FLAG] = True

    @event.listens_for(engine, "checkin")
    def _take_back(dbapi_connection, record) -> None:
        # The pool has rolled back what was open (nothing, for a read); a connection it dropped comes as None.
        if record.info.pop(_FLAG, False) and dbapi_connection is not None:
            dbapi_connection.autocommit = False

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_before_writing(conn, cursor, statement, _parameters, _context, _executemany) -> None:
        if conn.info.get(_FLAG) and cursor.connection.pgconn.transaction_status == idle and not runs_alone(statement):
            cursor.execute("BEGIN")


def nothing_to_commit(session) -> bool:
    """Whether committing ``session`` would send nothing: no change waits in it, and the connection it holds (if it
    holds one) was lent for reading and has opened no transaction. Skipping such a commit saves SQLAlchemy's own
    work (a tenth of a signed-in request that does nothing else); the connection goes back to the pool when the
    request's session is removed, as after a commit. Anything else, SQLite included, is committed as always."""
    if session.new or session.dirty or session.deleted:
        return False
    if not session.in_transaction():
        return True
    connection = session.connection()
    if not connection.info.get(_FLAG):
        return False
    from psycopg.pq import TransactionStatus

    return connection.connection.dbapi_connection.pgconn.transaction_status == TransactionStatus.IDLE
