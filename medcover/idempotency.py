"""``Idempotency-Key`` for API calls that move money (API.md): the same key with the same body answers the
first response again and creates nothing new; with another body it is a 422; while the first request is
still running, a 409. Keys are per caller and kept 48 hours.

A view calls ``replay_or_none`` before the work and ``remember`` after it, before its commit, so the key and
the work it guards are committed together or not at all.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask import Response
from sqlalchemy import Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from medcover import locks
from medcover.dbtypes import UtcDateTime, utcnow
from medcover.errors import Conflict, Invalid
from medcover.extensions import db

KEEP = timedelta(hours=48)
HEADER = "Idempotency-Key"


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller_id", "key", name="uq_idempotency_keys_caller_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    caller_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    #: sha256 of method, path and body: the same key with another request is refused
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + (body or b"")).hexdigest()


def clean_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= 100 or not key.isascii() or not key.isprintable():
        raise Invalid.field(HEADER, "Use 1 to 100 printable ASCII characters.")
    return key


def replay_or_none(caller_id: int, key: str, request_hash: str) -> Response | None:
    """The stored answer for this key, or None when the request is new (and now holds the key's lock)."""
    if not locks.try_hold(f"idempotency:{caller_id}:{key}"):
        raise Conflict("A request with this Idempotency-Key is still being processed; retry in a moment.")
    row = db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.caller_id == caller_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at >= utcnow() - KEEP,
        )
    )
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise Invalid.field(HEADER, "This key was used for another request; use a new key for a new request.")
    response = Response(row.body, status=row.status_code, mimetype=row.content_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def remember(caller_id: int, key: str, request_hash: str, response: Response) -> None:
    """Keep a successful answer under the key, in the caller's transaction."""
    if not 200 <= response.status_code < 300:
        return
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.caller_id == caller_id, IdempotencyKey.key == key))
    db.session.add(
        IdempotencyKey(
            caller_id=caller_id,
            key=key,
            request_hash=request_hash,
            status_code=response.status_code,
            body=response.get_data(as_text=True),
            content_type=response.mimetype or "application/json",
        )
    )
    db.session.flush()


def purge() -> int:
    """Forget keys older than the retention (a periodic job)."""
    done = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - KEEP)).rowcount
    db.session.commit()
    return done or 0
