"""The backing services of the platform tests: scratch PostgreSQL databases, a private Redis database,
loopback addresses of their own, and a one-line query helper."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


@dataclass(frozen=True)
class Services:
    database_url: str
    redis_url: str


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new empty PostgreSQL database on the server of ``server_url``; its URL, dropped afterwards.

    The process id in the name keeps two test runs on one server out of each other's way.
    """
    import psycopg
    from psycopg import sql

    url = make_url(server_url)
    name = f"{prefix}_{os.getpid()}"
    maintenance = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)

    def run(statement: str) -> None:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    run("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    run("CREATE DATABASE {}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        run("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@contextmanager
def scratch_app(prefix: str, **config):
    """An app on a new PostgreSQL database holding the schema, for tests of what many connections do at once
    (skipped without TEST_DATABASE_URL), with ``config`` over the test settings; its engine disposed and the
    database dropped afterwards."""
    import pytest

    from medcover.app import create_app
    from medcover.extensions import db

    server = os.environ.get("TEST_DATABASE_URL", "")
    if not server.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    with scratch_database(server, prefix) as url:
        app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url, **config})
        with app.app_context():
            db.create_all()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def private_redis_url(redis_url: str) -> str:
    """The same Redis server, the neighbouring database number.

    Jobs that in-process tests enqueue on TEST_REDIS_URL wait there for a worker; a worker started here must
    not pick those up (and run them against the wrong database), nor see its own jobs taken by another.
    """
    url = make_url(redis_url)
    number = int(url.database or 0)
    return url.set(database=str(number - 1 if number > 0 else number + 1)).render_as_string(hide_password=False)


def query(database_url: str, statement: str, **params):
    """All rows of one SQL statement, on a connection of its own."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            return conn.execute(text(statement), params).all()
    finally:
        engine.dispose()


def unique_loopback() -> str:
    """A loopback address no earlier run used, so address-keyed limits and throttles start from zero."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
