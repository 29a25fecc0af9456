"""The migrations build the schema the models describe, from empty, on SQLite and on PostgreSQL; they go
back down to nothing; and production refuses settings that are only fit for a laptop."""

from __future__ import annotations

import os
import subprocess

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, create_engine, inspect
from sqlalchemy.pool import NullPool

from config import DEFAULT_SECRET, ProductionConfig
from tests.live_server import BIN, REPO, app_env, flask, missing
from tests.platform.backing import scratch_database

GOOD_SECRET = "x" * 48
POSTGRES = "postgresql+psycopg://medcover@db.internal/medcover"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def empty_database(request, tmp_path):
    """The URL of a database with no tables at all: a new SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    if not os.environ.get("TEST_DATABASE_URL"):
        missing("the PostgreSQL run needs TEST_DATABASE_URL")
    with scratch_database(os.environ["TEST_DATABASE_URL"], "medcover_migrations") as url:
        yield url


def _model_metadata() -> MetaData:
    """Every table the app's models declare (the factory imports every domain)."""
    from medcover.app import create_app
    from medcover.extensions import db

    create_app("test", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return db.metadata


def _differences(database_url: str, metadata: MetaData) -> list:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def _tables(database_url: str) -> set[str]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_matches_the_models_and_downgrade_returns_to_empty(empty_database):
    env = app_env(DATABASE_URL=empty_database)
    assert _tables(empty_database) == set()

    flask("db", "upgrade", env=env)

    metadata = _model_metadata()
    assert _tables(empty_database) == set(metadata.tables) | {"alembic_version"}
    assert _differences(empty_database, metadata) == []

    flask("db", "downgrade", "base", env=env)

    assert _tables(empty_database) <= {"alembic_version"}
    flask("db", "upgrade", env=env)  # and up again, as a redeploy after a rollback would
    assert _differences(empty_database, metadata) == []


def test_the_comparison_notices_a_column_the_migrations_lack(tmp_path):
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    flask("db", "upgrade", env=app_env(DATABASE_URL=url))
    drifted = MetaData()
    for table in _model_metadata().tables.values():
        table.to_metadata(drifted)
    drifted.tables["users"].append_column(Column("throwaway", String(20)))

    differences = _differences(url, drifted)

    assert [(d[0], d[2], d[3].name) for d in differences if d[0] == "add_column"] == [
        ("add_column", "users", "throwaway")
    ]
    assert len(differences) == 1


@pytest.mark.parametrize(
    ("secret", "database", "problem"),
    [
        (DEFAULT_SECRET, POSTGRES, "SECRET_KEY"),
        ("", POSTGRES, "SECRET_KEY"),
        ("short-secret", POSTGRES, "SECRET_KEY"),
        (GOOD_SECRET, "sqlite:////srv/medcover/instance/medcover.db", "PostgreSQL"),
    ],
)
def test_production_refuses_laptop_settings(secret, database, problem):
    settings = type(
        "Settings",
        (ProductionConfig,),
        {"SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": database, "MEDCOVER_TIMEZONE": "Africa/Nairobi"},
    )
    with pytest.raises(RuntimeError, match=problem):
        settings.check()


@pytest.mark.parametrize("zone", [None, "", "Mars/Olympus_Mons", "EAT+3"])
def test_production_refuses_to_start_without_a_real_site_time_zone(zone):
    settings = type(
        "Settings",
        (ProductionConfig,),
        {"SECRET_KEY": GOOD_SECRET, "SQLALCHEMY_DATABASE_URI": POSTGRES, "MEDCOVER_TIMEZONE": zone},
    )
    with pytest.raises(RuntimeError, match="MEDCOVER_TIMEZONE"):
        settings.check()


def test_production_accepts_a_real_secret_postgresql_and_a_time_zone():
    settings = type(
        "Settings",
        (ProductionConfig,),
        {"SECRET_KEY": GOOD_SECRET, "SQLALCHEMY_DATABASE_URI": POSTGRES, "MEDCOVER_TIMEZONE": "Africa/Nairobi"},
    )
    settings.check()


def test_a_production_process_with_the_default_secret_does_not_start():
    env = app_env(MEDCOVER_ENV="production", DATABASE_URL=POSTGRES)  # SECRET_KEY unset: the default
    done = subprocess.run(
        [str(BIN / "python"), "-c", "import wsgi"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "Production needs SECRET_KEY" in done.stderr


def test_0015_gives_saved_invoice_prefixes_equal_to_the_hospital_code_the_inv_mark(empty_database):
    """Invoice numbers must not look like patient numbers (RGH-000061 is a patient): a prefix saved equal to the
    institution's code becomes INV-<code>; a prefix chosen otherwise is kept; down again restores it."""
    from sqlalchemy import text

    env = app_env(DATABASE_URL=empty_database)
    flask("db", "upgrade", "0010_number_lookups", env=env)
    engine = create_engine(empty_database, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            for iid, code, prefix in ((1, "RGH", "RGH"), (2, "KNH", "KENYATTA")):
                conn.execute(
                    text(
                        "INSERT INTO medical_institutions (id, code, name, kind, active, created_at)"
                        " VALUES (:i, :c, :c, 'hospital', true, CURRENT_TIMESTAMP)"
                    ),
                    {"i": iid, "c": code},
                )
                conn.execute(
                    text(
                        "INSERT INTO billing_settings (institution_id, invoice_prefix, currency, tax_percent,"
                        " payment_terms_days, updated_at) VALUES (:i, :p, 'KES', 0, 30, CURRENT_TIMESTAMP)"
                    ),
                    {"i": iid, "p": prefix},
                )
        flask("db", "upgrade", env=env)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT institution_id, invoice_prefix FROM billing_settings ORDER BY 1")).all()
        assert [tuple(r) for r in rows] == [(1, "INV-RGH"), (2, "KENYATTA")]
        flask("db", "downgrade", "0010_number_lookups", env=env)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT invoice_prefix FROM billing_settings ORDER BY institution_id")).all()
        assert [r[0] for r in rows] == ["RGH", "KENYATTA"]
    finally:
        engine.dispose()
