"""Database integrity errors as the domain errors a person or an integrator can act on.

Services check what they can before they write (a code already taken is a ``Conflict`` with a field message), but
two requests can race past the same check, and a constraint the service forgot still holds in the database. Either
way the database refuses the write with an ``IntegrityError``; this turns it into 409 (a unique value taken) or 422
(a missing, dangling or out-of-range value) naming the field and the value, on PostgreSQL and on SQLite alike,
instead of a 500.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from medcover.errors import Conflict, DomainError, Invalid

# SQLite: "UNIQUE constraint failed: companies.code" (several columns: "t.a, t.b")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)")
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: \w+\.(\w+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")
# PostgreSQL: 'Key (company_id, code)=(1, FAMILY-PLUS) already exists.'
_PG_KEY = re.compile(r"Key \(([^)]*)\)=\((.*)\) (?:already exists|is not present)")
_PG_NOT_NULL = re.compile(r'null value in column "(\w+)"')
_PG_CHECK = re.compile(r'violates check constraint "(\w+)"')
_INSERT_COLUMNS = re.compile(r"INSERT INTO \S+ \(([^)]*)\)", re.IGNORECASE)
#: columns that only tie a row to its tenant or parent: the person chose the other column of a unique pair
_SCOPE_COLUMNS = {"company_id", "institution_id", "scheme_id", "member_id", "patient_id", "invoice_id", "claim_id"}


def _allowed_values(constraint: str) -> tuple[str, list[str]] | None:
    """The column and its allowed values when ``constraint`` holds a column to an enum's values (the CHECKs
    of ``medcover.dbtypes.enum_column``, ``ck_<table>_<enum name>``, and of ``one_of``, ``..._one_of``)."""
    from sqlalchemy import CheckConstraint, Enum

    from medcover.extensions import db

    for table in db.metadata.tables.values():
        if not constraint.startswith(f"ck_{table.name}_"):
            continue
        for column in table.columns:
            if isinstance(column.type, Enum) and constraint == f"ck_{table.name}_{column.type.name}":
                return column.name, list(column.type.enums)
        for check in table.constraints:
            if isinstance(check, CheckConstraint) and check.name == constraint and constraint.endswith("_one_of"):
                column = constraint.removeprefix(f"ck_{table.name}_").removesuffix("_one_of")
                return column, _QUOTED.findall(str(check.sqltext))
    return None


_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _words(column: str) -> str:
    return column.removesuffix("_id").replace("_", " ")


def _inserted_values(exc: IntegrityError) -> dict[str, object]:
    """The values the refused INSERT carried, by column (SQLite's message names no value)."""
    match = _INSERT_COLUMNS.search(exc.statement or "")
    params = exc.params
    if not match or params is None:
        return {}
    columns = [c.strip().strip('"') for c in match.group(1).split(",")]
    if isinstance(params, dict):
        return {c: params.get(c) for c in columns}
    if isinstance(params, list | tuple) and params and isinstance(params[0], list | tuple | dict):
        params = params[0]  # executemany: the first row stands for the batch
    if isinstance(params, dict):
        return {c: params.get(c) for c in columns}
    return dict(zip(columns, params, strict=False)) if isinstance(params, list | tuple) else {}


def _chosen(columns: list[str]) -> str:
    """The field a person chose among a unique key's columns (``code`` of ``company_id, code``)."""
    named = [c for c in columns if c not in _SCOPE_COLUMNS]
    return (named or columns)[-1]


def _unique(columns: list[str], values: dict[str, object]) -> DomainError:
    field = _chosen(columns)
    value = values.get(field)
    shown = f" {value}" if value not in (None, "") else ""
    message = f"The {_words(field)}{shown} is already taken: choose another."
    return Conflict(f"The {_words(field)}{shown} is already taken.", {field: [message]})


def domain_error_for(exc: IntegrityError) -> DomainError:
    """The 409 or 422 that tells the caller which field to change, and why."""
    text = str(exc.orig)
    detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None) or ""
    values = _inserted_values(exc)

    if match := _SQLITE_UNIQUE.search(text):
        columns = [part.split(".")[-1] for part in match.group(1).split(", ")]
        return _unique(columns, values)
    if "duplicate key value" in text or "unique constraint" in text.lower() and "Key (" in (detail or text):
        key = _PG_KEY.search(detail or text)
        if key:
            columns = [c.strip().strip('"') for c in key.group(1).split(",")]
            given = [v.strip() for v in key.group(2).split(",")]
            return _unique(columns, {**values, **dict(zip(columns, given, strict=False))})
        return Conflict("That value is already taken.", {"body": ["That value is already taken."]})

    if match := _SQLITE_NOT_NULL.search(text) or _PG_NOT_NULL.search(text):
        field = match.group(1)
        return Invalid.field(field, f"Enter the {_words(field)}.")
    if "FOREIGN KEY constraint failed" in text or "foreign key constraint" in text:
        key = _PG_KEY.search(detail or text)
        field = key.group(1).strip() if key else "body"
        return Invalid.field(field, "That refers to a record that does not exist.")
    if match := _SQLITE_CHECK.search(text) or _PG_CHECK.search(text):
        rule = match.group(1)
        if allowed := _allowed_values(rule):
            field, values = allowed
            message = f"The {_words(field)} must be one of: {', '.join(values)}."
            return Invalid(message, {field: [message]})
        field = next((c for c in sorted(values, key=len, reverse=True) if rule.startswith(c)), "body")
        what = f"The {_words(field)}" if field != "body" else "A value"
        return Invalid(f"{what} is outside what is allowed.", {field: [f"{what} is outside what is allowed."]})
    return Conflict("The change conflicts with what is already recorded.", {"body": ["Reload and try again."]})
