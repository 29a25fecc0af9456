"""A request that only asks (GET, HEAD) reads outside a transaction until a statement needs one (PostgreSQL):
a page that only reads sends neither BEGIN nor COMMIT; a page that writes (a read's audit entry) writes in a
transaction, all or nothing; a connection given back to the pool leaves autocommit mode."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text

from blueprints.core.models import AuditLog
from medcover import read_first
from medcover.extensions import db
from medcover.rbac import Role
from tests.conftest import CsrfClient
from tests.factories import PASSWORD, make_institution, make_patient, make_user
from tests.platform.backing import query, scratch_app


@pytest.mark.parametrize(
    ("statement", "alone"),
    [
        ("SELECT claims.id FROM claims WHERE claims.id = %(id)s", True),
        ("  select 1", True),
        ("SELECT claims.id FROM claims WHERE claims.id = %(id)s FOR UPDATE", False),
        ("SELECT claims.id FROM claims FOR NO KEY UPDATE SKIP LOCKED", False),
        ("SELECT members.id FROM members FOR SHARE", False),
        ("SELECT pg_advisory_xact_lock(hashtextextended(%(name)s, 0))", False),
        ("SELECT pg_try_advisory_xact_lock(1)", False),
        ("SELECT set_config('app.tenant', '1', true)", False),
        ("INSERT INTO audit_logs (action) VALUES (%(action)s)", False),
        ("UPDATE user_sessions SET last_seen_at = %(now)s", False),
        ("WITH gone AS (DELETE FROM jobs RETURNING id) SELECT count(*) FROM gone", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("SET LOCAL synchronous_commit TO OFF", False),
    ],
)
def test_only_a_plain_select_runs_outside_a_transaction(statement, alone):
    assert read_first.runs_alone(statement) is alone


def _state(dbapi_connection) -> str:
    from psycopg.pq import TransactionStatus

    return TransactionStatus(dbapi_connection.pgconn.transaction_status).name


def _watch(engine) -> list[tuple[str, bool, str]]:
    """Each statement as the driver is about to send it: its first word, whether the connection is in autocommit
    mode, and whether a transaction is open (after read_first's own hook, which was installed first)."""
    seen: list[tuple[str, bool, str]] = []

    def record(_conn, cursor, statement, *_args):
        status = _state(cursor.connection)
        seen.append((statement.split(None, 1)[0].upper(), cursor.connection.autocommit, status))

    event.listen(engine, "before_cursor_execute", record)
    return seen


def _commits(engine) -> list[str]:
    """The driver's transaction state whenever SQLAlchemy commits: IDLE means psycopg sends nothing."""
    states: list[str] = []
    event.listen(engine, "commit", lambda conn: states.append(_state(conn.connection.dbapi_connection)))
    return states


def _signed_in(app, user):
    app.test_client_class = CsrfClient
    client = app.test_client()
    answer = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert answer.status_code == 303
    return client


def _clerk():
    clerk = make_user(Role.BILLING_CLERK, institution_id=make_institution().id)
    db.session.commit()
    return clerk


def test_a_page_that_only_reads_sends_no_begin_and_no_commit():
    with scratch_app("medcover_read_first") as app, app.app_context():
        client = _signed_in(app, _clerk())
        client.get("/billing/invoices")  # the session's last touch is now: the next page writes nothing
        db.session.remove()
        seen, commits = _watch(db.engine), _commits(db.engine)

        answer = client.get("/billing/invoices")

        assert answer.status_code == 200
        assert len(seen) >= 2  # the session with its user, the page
        assert {word for word, _auto, _status in seen} == {"SELECT"}
        assert all(auto and status == "IDLE" for _word, auto, status in seen), seen
        assert commits == []  # nothing to send, so not even SQLAlchemy's own commit runs


def test_a_page_that_only_reads_still_keeps_the_sessions_touch():
    with scratch_app("medcover_read_first") as app, app.app_context():
        client = _signed_in(app, _clerk())
        url = db.engine.url.render_as_string(hide_password=False)
        # The session was last seen two minutes ago: the next page is activity to record.
        touched = (
            "UPDATE user_sessions SET last_seen_at = last_seen_at - interval '2 minutes' WHERE user_id IS NOT NULL"
        )
        [(before,)] = query(url, touched + " RETURNING last_seen_at")
        db.session.remove()
        commits = _commits(db.engine)

        assert client.get("/billing/invoices").status_code == 200

        assert "INTRANS" in commits  # the touch was written in a transaction and committed
        [(after,)] = query(url, "SELECT last_seen_at FROM user_sessions WHERE user_id IS NOT NULL")
        assert after - before >= timedelta(minutes=2)


def test_a_page_that_writes_its_read_entry_writes_it_in_a_transaction():
    with scratch_app("medcover_read_first") as app, app.app_context():
        hospital = make_institution()
        admin = make_user(Role.ADMIN, institution_id=hospital.id)
        patient_id = make_patient(hospital).id
        db.session.commit()
        client = _signed_in(app, admin)
        db.session.remove()
        seen, commits = _watch(db.engine), _commits(db.engine)

        answer = client.get(f"/hospital/patients/{patient_id}")

        assert answer.status_code == 200
        writes = [(word, status) for word, _auto, status in seen if word != "SELECT"]
        assert writes and all(status == "INTRANS" for _word, status in writes), seen
        assert seen[0] == ("SELECT", True, "IDLE")  # the reads before it ran on their own
        assert "INTRANS" in commits  # and the entry was committed
        url = db.engine.url.render_as_string(hide_password=False)
        entries = query(url, "SELECT route FROM audit_logs WHERE action = 'read'")
        assert entries and {route for (route,) in entries} == {f"GET /hospital/patients/{patient_id}"}


def test_what_fails_after_a_write_leaves_nothing_and_the_connection_goes_back_transactional():
    with scratch_app("medcover_read_first") as app, app.app_context():
        db.session.remove()
        with read_first.reading():
            db.session.execute(select(func.count()).select_from(AuditLog))
            assert db.session.connection().connection.dbapi_connection.autocommit is True
            db.session.add(AuditLog(action="first", entity_type="test"))
            db.session.flush()
            db.session.add(AuditLog(action="second", entity_type="test"))
            db.session.flush()
            db.session.rollback()  # as a request that fails after writing
            db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 0
        # outside reading(), the same pooled connection is lent with the usual transactions
        assert db.session.connection().connection.dbapi_connection.autocommit is False
        assert db.session.execute(text("SELECT 1")).scalar() == 1
        assert _state(db.session.connection().connection.dbapi_connection) == "INTRANS"


def test_a_row_locked_while_reading_stays_locked_until_the_commit():
    with scratch_app("medcover_read_first") as app, app.app_context():
        db.session.add(AuditLog(action="locked", entity_type="test"))
        db.session.commit()
        db.session.remove()
        url = db.engine.url.render_as_string(hide_password=False)
        with read_first.reading():
            row = db.session.scalar(select(AuditLog).with_for_update())
            assert row.action == "locked"
            # another connection cannot take the row while this session holds it
            with pytest.raises(Exception, match="could not obtain lock"):
                query(url, "SELECT id FROM audit_logs FOR UPDATE NOWAIT")
            db.session.commit()
        assert len(query(url, "SELECT id FROM audit_logs FOR UPDATE NOWAIT")) == 1
        db.session.remove()
