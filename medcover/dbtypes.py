"""Column types and column defaults shared by every domain: UTC timestamps, money, percentages, enums."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, Numeric
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        zone = value.tzinfo
        if zone is UTC:  # PostgreSQL's, on a connection in UTC (medcover.outage): as it is, nothing to convert
            return value
        return value.replace(tzinfo=UTC) if zone is None else value.astimezone(UTC)


#: money columns: Decimal in Python, NUMERIC(12, 2) in the database
MONEY = Numeric(12, 2)
#: percentages such as a tax rate or a copay share: 0.00 .. 100.00
PERCENT = Numeric(5, 2)


def utcnow() -> datetime:
    """The wall clock in UTC, for column defaults (business code asks ``medcover.clock``)."""
    return datetime.now(UTC)


def enum_column(cls, name: str, *, validate_strings: bool = False, length: int = 20) -> Enum:
    """A status or kind column stored as its value's text (portable: no native enum type). The database
    holds it to the enum's values with a CHECK named ``ck_<table>_<name>``, made from the enum itself (the
    migrations carry the same lists; tests/security/test_invariants.py compares the two)."""
    return Enum(
        cls,
        name=name,
        values_callable=lambda items: [i.value for i in items],
        native_enum=False,
        create_constraint=True,
        validate_strings=validate_strings,
        length=length,
    )


def one_of(column: str, cls) -> str:
    """The SQL of a CHECK holding a plain text column to an enum's values (a history column such as
    ``claim_statuses.to_status``); NULL passes, as a CHECK lets an unknown through."""
    values = ", ".join("'" + item.value.replace("'", "''") + "'" for item in cls)
    return f"{column} IN ({values})"
