"""Set-based writes for the jobs that write thousands of rows a run: one statement per table, however many rows.

``insert_rows`` is one executemany ``INSERT`` (psycopg sends its rows in one pipeline, sqlite3 in one call; measured
here, that beats one multi-row ``INSERT ... VALUES (...), (...)``, whose long text psycopg parses again for every
statement); ``update_rows`` one executemany
``UPDATE`` matching each row on its key and guard columns (the status and version it was read with), which answers
how many rows it changed so that a lost guard is noticed by the caller, never written over.
"""

from __future__ import annotations

from sqlalchemy import Table, bindparam, insert, update

from medcover.extensions import db


def insert_rows(table: Table, rows: list[dict]) -> None:
    """Every row in one executemany INSERT (each row with the same keys; column defaults fill the rest)."""
    if not rows:
        return
    db.session.execute(insert(table), rows)


def update_rows(table: Table, matches: list[dict], values: list[dict]) -> int:
    """``UPDATE table SET values[n] WHERE columns = matches[n]`` for every n, in one executemany; how many rows
    changed. Every match has the same columns, and every values dict too."""
    if not matches:
        return 0
    match_columns, value_columns = list(matches[0]), list(values[0])
    statement = (
        update(table)
        .where(*(table.c[name] == bindparam(f"m_{name}", type_=table.c[name].type) for name in match_columns))
        .values({name: bindparam(f"v_{name}", type_=table.c[name].type) for name in value_columns})
    )
    params = [
        {**{f"m_{name}": match[name] for name in match_columns}, **{f"v_{name}": value[name] for name in value_columns}}
        for match, value in zip(matches, values, strict=True)
    ]
    return db.session.execute(statement, params).rowcount
