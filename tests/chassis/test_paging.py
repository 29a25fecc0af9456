"""The one paginator (``medcover.paging.fetch_page``): a page and the count of every row in one query; a page of
columns comes as named tuples (what templates read fastest), a page of entities as the entities."""

from __future__ import annotations

from sqlalchemy import literal, select

from blueprints.core.models import User
from medcover.paging import fetch_page
from medcover.rbac import Role
from tests.factories import make_user


def test_a_page_of_columns_is_named_tuples_with_the_count_of_every_row(count_queries):
    users = [make_user(Role.RECEPTIONIST) for _ in range(5)]
    stmt = select(User.id, User.email, User.role).where(User.id.in_([u.id for u in users])).order_by(User.id)
    with count_queries() as asked:
        rows, total = fetch_page(stmt, 2, 2)
    assert asked.count == 1
    assert total == 5
    assert [(row.id, row.email, row.role) for row in rows] == [(u.id, u.email, u.role) for u in users[2:4]]
    assert isinstance(rows[0], tuple) and rows[0]._fields[:3] == ("id", "email", "role")


def test_a_page_of_entities_is_the_entities_and_a_name_a_tuple_cannot_take_keeps_the_rows():
    users = [make_user(Role.RECEPTIONIST) for _ in range(3)]
    rows, total = fetch_page(select(User).where(User.id.in_([u.id for u in users])).order_by(User.id), 1, 2)
    assert rows == users[:2] and total == 3
    odd = select(User.id, User.email, literal(1).label("_hidden")).where(User.id == users[0].id)
    (row,), total = fetch_page(odd, 1, 10)
    assert (row.id, row.email, row._hidden, total) == (users[0].id, users[0].email, 1, 1)
