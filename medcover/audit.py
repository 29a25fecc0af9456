"""Audit snapshots: an entity's fields as JSON-safe values, secrets left out, for before/after entries."""

from __future__ import annotations

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
