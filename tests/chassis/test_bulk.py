"""The batch jobs' helpers (``medcover.bulk``): an IN of tens of thousands of keys as one short statement on either
database, and the cycle collector paused for a batch and always resumed; and the moments they read come back in
UTC as they are."""

from __future__ import annotations

import gc
from datetime import UTC

import pytest
from sqlalchemy import select, text

from blueprints.core import services as core
from blueprints.core.models import User
from medcover.bulk import among, among_param, collector_paused
from medcover.extensions import db
from medcover.paging import plain_rows
from medcover.rbac import Role
from tests.factories import make_user

#: more keys than SQLite takes placeholders in one statement (32,766)
MANY = 40_000


def test_among_finds_the_rows_of_tens_of_thousands_of_keys_in_one_short_statement(count_queries):
    wanted = [make_user(Role.RECEPTIONIST), make_user(Role.AUDITOR)]
    make_user(Role.ADMIN)  # not asked for
    ids = list(range(-MANY, 0)) + [user.id for user in wanted]
    with count_queries() as counted:
        found = db.session.scalars(select(User.email).where(among(User.id, ids)).order_by(User.id)).all()
    assert found == [user.email for user in wanted]
    (statement,) = [s for s in counted.statements if s.split(None, 1)[0].upper() == "SELECT"]
    assert len(statement) < 1_000  # the keys travel as one parameter, not 40,002 placeholders


def test_among_matches_text_keys_exactly_and_an_empty_list_matches_nothing():
    grace = make_user(Role.RECEPTIONIST, email="grace@example.com")
    make_user(Role.RECEPTIONIST, email="grace@example.co")
    emails = [f"nobody{n}@example.com" for n in range(MANY)] + ["GRACE@example.com", "grace@example.com"]
    assert db.session.scalars(select(User.id).where(among(User.email, emails))).all() == [grace.id]
    assert db.session.scalars(select(User.id).where(among(User.email, []))).all() == []


#: made once, as a page's batch read is: the keys come at each run
_EMAILS_BY_ID = select(User.id, User.email).where(among_param(User.id, "ids")).order_by(User.id)


def test_a_statement_made_once_takes_any_number_of_keys_with_the_same_text(count_queries):
    users = [make_user(Role.RECEPTIONIST) for _ in range(3)]
    with count_queries() as counted:
        few = plain_rows(_EMAILS_BY_ID, {"ids": [users[0].id]}).all()
        many = plain_rows(_EMAILS_BY_ID, {"ids": [*range(-50, 0), users[1].id, users[2].id]}).all()
        none = plain_rows(_EMAILS_BY_ID, {"ids": []}).all()
    assert few == [(users[0].id, users[0].email)]
    assert many == [(u.id, u.email) for u in users[1:]]
    assert none == []
    # one text for one key or fifty-two: written out once by SQLAlchemy, prepared once by the database
    assert len(set(counted.statements)) == 1


def test_a_plain_read_sees_what_the_session_has_not_flushed_yet():
    user = make_user(Role.RECEPTIONIST)
    user.email = "renamed@example.com"  # not flushed
    assert plain_rows(_EMAILS_BY_ID, {"ids": [user.id]}).all() == [(user.id, "renamed@example.com")]


def test_a_hospitals_billing_clerks_are_read_for_many_hospitals_at_once(count_queries):
    first = make_user(Role.BILLING_CLERK, institution_id=1)
    second = make_user(Role.BILLING_CLERK, institution_id=1)
    make_user(Role.BILLING_CLERK, institution_id=1, active=False)
    make_user(Role.RECEPTIONIST, institution_id=2)
    other = make_user(Role.BILLING_CLERK, institution_id=2)
    with count_queries() as counted:
        clerks = core.user_ids_by_institution(Role.BILLING_CLERK, [1, 2, 3])
    assert clerks == {1: [first.id, second.id], 2: [other.id], 3: []}
    assert counted.queries == 1
    assert core.user_ids_by_institution(Role.BILLING_CLERK, []) == {}


def test_the_collector_is_paused_inside_and_resumed_after_even_when_the_batch_fails():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the batch failed")
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_is_left_paused():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_moment_comes_back_in_utc_whatever_the_database_servers_zone():
    user = make_user(Role.ADMIN)
    db.session.expire(user)
    assert user.created_at.tzinfo is UTC
    if db.engine.dialect.name == "postgresql":
        # the connection's own zone, so that psycopg hands back datetime.UTC itself (nothing to convert per row)
        # and SQL's date of a moment is the UTC one
        assert db.session.execute(text("SHOW TimeZone")).scalar() == "UTC"
