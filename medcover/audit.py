"""Audit snapshots: an entity's fields as JSON-safe values, secrets left out, for before/after entries."""

from __future__ import annotations

import contextvars
import enum
from datetime import date, datetime
from decimal import Decimal

SECRET_FIELDS = {"password_hash", "token_hash", "password", "secret"}


def json_safe(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    return value


def snapshot(obj, fields: list[str] | tuple[str, ...] | None = None) -> dict:
    """The named fields (default: every column) of an ORM object or dataclass, secrets excluded."""
    if fields is None:
        table = getattr(obj, "__table__", None)
        fields = [column.key for column in table.columns] if table is not None else list(vars(obj))
    return {name: json_safe(getattr(obj, name, None)) for name in fields if name not in SECRET_FIELDS}


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


# --- reads and refusals --------------------------------------------------------------------------
# A read is audited in the request that shows the record; the edge commits it after a successful GET (see
# ``reads_to_commit``), so a page that only reads still leaves its entry. Refusals are written by the app's
# error handlers through the recorder the core domain registers (the chassis knows no tables).

READ, DENIED = "read", "denied"
_denial_recorders: list = []


_reads_pending: contextvars.ContextVar[bool] = contextvars.ContextVar("medcover_audit_reads", default=False)


def read_recorded() -> None:
    """A read entry was added to this unit of work's transaction: the edge commits it once the answer is ready."""
    _reads_pending.set(True)


def reads_to_commit() -> bool:
    return _reads_pending.get()


def forget_reads() -> None:
    """A new request starts with nothing to commit (the thread may have served another before)."""
    _reads_pending.set(False)


def on_denied(recorder) -> None:
    """``recorder(user, status=, why=, kind=, ident=)`` writes one entry for a refused request."""
    if recorder not in _denial_recorders:
        _denial_recorders.append(recorder)


def record_denied(user, *, status: int, why: str, kind: str, ident: str | None) -> None:
    for recorder in _denial_recorders:
        recorder(user, status=status, why=why, kind=kind, ident=ident)
