"""Set-based writes for the jobs that write thousands of rows a run: one statement per table, however many rows.

On PostgreSQL each is one statement whose rows travel as one array parameter per column, unpacked by ``unnest``:
``INSERT INTO t (a, b) SELECT * FROM unnest($1::int[], $2::text[])`` and ``UPDATE t SET ... FROM unnest(...) AS v
WHERE t.key = v.key AND t.guard = v.guard``. Measured here, that beats both psycopg's pipelined executemany (its
Python work per row) and a multi-row ``INSERT ... VALUES (...), (...)`` (psycopg parses the placeholders of so
long a text in Python, again for every statement). It goes through SQLAlchemy's ``execute`` as any statement
does, so statement counters and traces see it (COPY would bypass them). SQLite keeps one executemany.

``update_rows`` answers how many rows it changed, so that a lost guard (the status and version a row was read
with) is noticed by the caller, never written over. ``autoflush`` is for the plain-row (Core) reads such jobs make
instead of loading entities, ``among`` for their ``IN`` of thousands of keys, and ``collector_paused`` for the
hundreds of thousands of objects they hold at once.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Boolean, ColumnElement, String, Table, TypeDecorator, bindparam, insert, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

from medcover.extensions import db


def autoflush() -> None:
    """Before a Core read that must see this session's changes: flush as a query of entities would (not inside
    ``no_autoflush``, where a caller holds half-made changes back on purpose)."""
    if db.session.autoflush:
        db.session.flush()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused for a batch that holds hundreds of thousands of objects at once (a
    span's facts, its decisions) and resumed after. Each of its passes over the oldest generation walks every
    object the process holds, and the batch's allocations start one again and again: at 100,000 claims those
    walks took a third of the run. What a batch makes has no reference cycles to wait for (rows, dicts, frozen
    dataclasses): reference counting frees it as it goes. A thread already inside leaves it to that one."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Keys(TypeDecorator):
    """The keys of an ``among``, as one parameter: an array of the column's type on PostgreSQL, JSON text on
    SQLite."""

    impl = String
    cache_ok = True

    def __init__(self, of):
        super().__init__()
        self.of = of

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(ARRAY(self.of) if dialect.name == "postgresql" else String())

    def process_bind_param(self, value, dialect):
        return list(value) if dialect.name == "postgresql" else json.dumps(list(value))


class _Among(ColumnElement[bool]):
    inherit_cache = True
    type = Boolean()
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("keys", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column, keys):
        self.column, self.keys = column, keys


@compiles(_Among)
def _among_sqlite(element, compiler, **kw):
    column, keys = compiler.process(element.column, **kw), compiler.process(element.keys, **kw)
    return f"{column} IN (SELECT value FROM json_each({keys}))"  # noqa: S608 - a column and a placeholder


@compiles(_Among, "postgresql")
def _among_postgresql(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} = ANY ({compiler.process(element.keys, **kw)})"


def among(column, values) -> ColumnElement[bool]:
    """``column IN values`` with the values as one parameter however many there are (whole numbers or text):
    ``column = ANY(array)`` on PostgreSQL, ``column IN (SELECT value FROM json_each(?))`` on SQLite. An IN of
    thousands of placeholders costs SQLAlchemy its expansion and psycopg a parse of so long a text in Python at
    every run (it caches only short statements), and SQLite allows 32,766 of them."""
    return _Among(column, bindparam(None, list(values), type_=_Keys(column.type)))


def among_param(column, name: str) -> ColumnElement[bool]:
    """``among`` for a statement made once (a page's batch read): the keys come at execution, as parameter
    ``name``. Even a page's fifty keys cost an expanding ``IN`` more than the query itself: SQLAlchemy writes the
    statement out again for every run, and psycopg cannot prepare it."""
    return _Among(column, bindparam(name, type_=_Keys(column.type)))


def insert_rows(table: Table, rows: list[dict]) -> None:
    """Every row in one INSERT (each row with the same keys; column defaults fill the rest)."""
    if not rows:
        return
    connection = db.session.connection()
    filled = [c for c in table.c if c.name not in rows[0] and c.default is not None and not c.default.is_sequence]
    if connection.dialect.name != "postgresql" or any(c.default.is_clause_element for c in filled):
        db.session.execute(insert(table), rows)
        return
    arrays = {name: [row[name] for row in rows] for name in rows[0]}
    for column in filled:
        # what an executemany INSERT does with a column left out: its Python-side default, once per row
        default = column.default
        arrays[column.name] = [default.arg(None) if default.is_callable else default.arg for _ in rows]
    columns = [table.c[name] for name in arrays]
    quote = connection.dialect.identifier_preparer.quote
    into = f"{quote(table.name)} ({', '.join(quote(c.name) for c in columns)})"
    # names from the table's metadata, values as parameters: nothing a user typed is in the text
    statement = f"INSERT INTO {into} SELECT * FROM unnest({_unnest_args(connection, columns, 'p')})"  # noqa: S608
    connection.exec_driver_sql(statement, _bound(connection, columns, "p", arrays))


def update_rows(table: Table, matches: list[dict], values: list[dict]) -> int:
    """``UPDATE table SET values[n] WHERE columns = matches[n]`` for every n, in one statement; how many rows
    changed. Every match has the same columns, and every values dict too."""
    if not matches:
        return 0
    match_names, value_names = list(matches[0]), list(values[0])
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        statement = (
            update(table)
            .where(*(table.c[name] == bindparam(f"m_{name}", type_=table.c[name].type) for name in match_names))
            .values({name: bindparam(f"v_{name}", type_=table.c[name].type) for name in value_names})
        )
        params = [
            {**{f"m_{n}": match[n] for n in match_names}, **{f"v_{n}": value[n] for n in value_names}}
            for match, value in zip(matches, values, strict=True)
        ]
        return db.session.execute(statement, params).rowcount
    quote = connection.dialect.identifier_preparer.quote
    match_columns, value_columns = [table.c[n] for n in match_names], [table.c[n] for n in value_names]
    params = _bound(connection, match_columns, "m", {n: [m[n] for m in matches] for n in match_names})
    params |= _bound(connection, value_columns, "v", {n: [v[n] for v in values] for n in value_names})
    aliases = [f"m_{n}" for n in match_names] + [f"v_{n}" for n in value_names]
    arguments = f"{_unnest_args(connection, match_columns, 'm')}, {_unnest_args(connection, value_columns, 'v')}"
    name = quote(table.name)
    setting = ", ".join(f"{quote(n)} = v.v_{n}" for n in value_names)
    matching = " AND ".join(f"{name}.{quote(n)} = v.m_{n}" for n in match_names)
    statement = f"UPDATE {name} SET {setting} FROM unnest({arguments}) AS v({', '.join(aliases)}) WHERE {matching}"  # noqa: S608 - as above
    return connection.exec_driver_sql(statement, params).rowcount


def _unnest_args(connection, columns, prefix: str) -> str:
    """``CAST(%(p_a)b AS INTEGER[]), ...``: one array parameter per column, of the column's type, sent in
    binary (psycopg escapes a text array's every element with a regular expression: four times slower)."""
    dialect = connection.dialect
    return ", ".join(f"CAST(%({prefix}_{c.name})b AS {c.type.compile(dialect=dialect)}[])" for c in columns)


def _bound(connection, columns, prefix: str, arrays: dict[str, list]) -> dict[str, list]:
    """Each column's values as the column's type binds them (an enum's value, JSON wrapped, UTC ...)."""
    dialect = connection.dialect
    bound = {}
    for column in columns:
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        values = arrays[column.name]
        bound[f"{prefix}_{column.name}"] = values if process is None else [process(v) for v in values]
    return bound
