"""The one paginator behind list pages and list endpoints: a count and a page, whatever the table's size."""

from __future__ import annotations

from sqlalchemy import func, select

from medcover.extensions import db


def fetch_page(stmt, page: int, per_page: int) -> tuple[list, int]:
    """Page ``page`` (from 1) of ``stmt``, ``per_page`` rows, and how many rows there are in all."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total
