"""The one paginator behind list pages and list endpoints: a page and the count of all rows in one query,
whatever the table's size."""

from __future__ import annotations

from sqlalchemy import func, select

from medcover.bulk import autoflush
from medcover.extensions import db


def plain_rows(stmt, params: dict | None = None):
    """The rows of a select of columns (not of entities), read through the session's connection. A page's batch
    reads (the names of its rows' patients, say) skip the ORM's execute, which costs about as much here as the
    database's answer; they still see what the session has not yet flushed."""
    autoflush()
    return db.session.connection().execute(stmt, params or {})


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
        # column, the count left at their end (copying a page of rows to drop it costs more); any other select gives
        # the first thing selected: the entity (with what is joined to it) or the value.
        first = found[0]
        of_columns = len(first) > 2 and not isinstance(first[0], db.Model)
        return (found if of_columns else [row[0] for row in found]), first[-1]
    return [], (db.session.scalar(counted) if page > 1 or per_page < 1 else 0)
