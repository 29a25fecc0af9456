"""Named transaction locks: PostgreSQL advisory locks held until the transaction ends. SQLite has one lock for
the whole database, its write lock: taking it early (instead of at the first write) is what turns a read-then-write
race between two connections into a wait, or into a refusal we can name, rather than SQLite's "database is
locked" at commit."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from medcover.extensions import db

#: a statement that writes nothing but takes SQLite's write lock (any table the platform owns would do)
_SQLITE_WRITE_LOCK = text("DELETE FROM idempotency_keys WHERE 0")


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def hold(name: str) -> None:
    """Wait for the lock called ``name``; it is released at commit or rollback."""
    if _on_postgresql():
        db.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))
    else:
        db.session.execute(_SQLITE_WRITE_LOCK)


def try_hold(name: str) -> bool:
    """Take the lock if nobody holds it; False when another transaction does."""
    if _on_postgresql():
        return bool(db.session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtextextended(name, 0)))))
    try:
        db.session.execute(_SQLITE_WRITE_LOCK)
    except OperationalError as exc:
        if "locked" not in str(exc.orig):
            raise
        return False
    return True
