"""The one paginator behind list pages and list endpoints: a page and the count of all rows in one query,
whatever the table's size."""

from __future__ import annotations

from collections import namedtuple
from functools import cache

from sqlalchemy import func, select

from medcover.bulk import autoflush
from medcover.extensions import db


def plain_rows(stmt, params: dict | None = None):
    """The rows of a select of columns (not of entities), read through the session's connection. A page's batch
    reads (the names of its rows' patients, say) skip the ORM's execute, which costs about as much here as the
    database's answer; they still see what the session has not yet flushed."""
    autoflush()
    return db.session.connection().execute(stmt, params or {})


@cache
def _row_class(fields: tuple[str, ...]):
    try:
        return namedtuple("PageRow", fields)
    except ValueError:  # a name a tuple cannot have (a duplicate, "_private"): the rows stay as they came
        return None


def _plain(rows: list) -> list:
    """A page's rows as named tuples of the same names. A template reads a row's values one attribute at a time,
    a row a dozen times; a tuple's attribute is a plain slot, a database row's a lookup by name that costs more
    than copying the page once."""
    made = _row_class(rows[0]._fields)
    if made is None:
        return rows
    return [made._make(row) for row in rows]


def fetch_page(stmt, page: int, per_page: int) -> tuple[list, int]:
    """Page ``page`` (from 1) of ``stmt``, ``per_page`` rows, and how many rows there are in all.

    The count rides on the page's rows as an uncorrelated scalar subquery (the database works it out once);
    only a page with no row to carry it (past the end, or of no rows: ``_count=0`` asks for the total alone) asks
    for the count on its own; an empty first page is a count of none."""
    counted = select(func.count()).select_from(stmt.order_by(None).subquery())
    found = db.session.execute(
        stmt.add_columns(counted.scalar_subquery().label("total_rows")).limit(per_page).offset((page - 1) * per_page)
    ).all()
    if found:
        # A select of several columns (a list page's ``select(Claim.id, Claim.status, ...)``) gives its rows, named by
        # column, the count left at their end; any other select gives the first thing selected: the entity (with what
        # is joined to it) or the value.
        first = found[0]
        if len(first) > 2 and not isinstance(first[0], db.Model):
            return _plain(found), first[-1]
        return [row[0] for row in found], first[-1]
    return [], (db.session.scalar(counted) if page > 1 or per_page < 1 else 0)
