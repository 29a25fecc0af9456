"""Named transaction locks: PostgreSQL advisory locks held until the transaction ends. SQLite runs one
writer at a time already, so there they are granted at once."""

from __future__ import annotations

from sqlalchemy import func, select

from medcover.extensions import db


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def hold(name: str) -> None:
    """Wait for the lock called ``name``; it is released at commit or rollback."""
    if _on_postgresql():
        db.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))


def try_hold(name: str) -> bool:
    """Take the lock if nobody holds it; False when another transaction does."""
    if not _on_postgresql():
        return True
    return bool(db.session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtextextended(name, 0)))))
