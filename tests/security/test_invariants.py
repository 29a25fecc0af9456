"""Invariants the database itself holds: every status and kind column takes only its enum's values (the
migrated database and the models' enums agree, on SQLite and on PostgreSQL), and a write outside them is a
422 naming the field, not a 500."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import CheckConstraint, Enum, inspect, text
from sqlalchemy.exc import IntegrityError

from medcover.extensions import db
from medcover.integrity import domain_error_for
from medcover.rbac import Role, public
from tests.factories import make_institution, make_patient, make_user

QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _declared() -> dict[tuple[str, str], tuple[str, set[str]]]:
    """(table, constraint) -> (column, values) for every enum column and every ``*_one_of`` CHECK."""
    found = {}
    for table in db.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, Enum):
                found[(table.name, f"ck_{table.name}_{column.type.name}")] = (column.name, set(column.type.enums))
        for check in table.constraints:
            if isinstance(check, CheckConstraint) and str(check.name).endswith("_one_of"):
                column = str(check.name).removeprefix(f"ck_{table.name}_").removesuffix("_one_of")
                found[(table.name, check.name)] = (column, set(QUOTED.findall(str(check.sqltext))))
    return found


def test_every_status_and_kind_column_is_declared_with_its_enums_values(app):
    declared = _declared()
    tables = {table for table, _name in declared}
    assert {"claims", "invoices", "users", "notifications", "refunds", "claim_statuses", "disputes"} <= tables
    assert declared[("claims", "ck_claims_claim_status")][1] >= {"draft", "pending_review", "void"}
    assert len(declared) >= 30


def test_the_migrated_database_holds_exactly_the_models_values(app):
    """A new enum value without a migration (or a migration without the value) fails here."""
    inspector = inspect(db.engine)
    for (table, name), (column, values) in _declared().items():
        checks = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table)}
        assert name in checks, f"{table}: no CHECK {name} in the migrated database"
        assert column in checks[name]
        assert set(QUOTED.findall(checks[name])) == values, (table, name)


def _refused(statement: str, **params) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, db.session.begin_nested():
        db.session.execute(text(statement), params)
    return caught.value


def test_a_role_outside_the_enum_is_refused_by_the_database_as_a_422_on_the_field():
    user = make_user(Role.RECEPTIONIST, institution_id=make_institution().id)
    error = domain_error_for(_refused("UPDATE users SET role = 'superuser' WHERE id = :id", id=user.id))
    assert error.status == 422
    assert error.errors == {"role": [error.detail]}
    assert "admin, receptionist" in error.detail


def test_claim_and_invoice_statuses_are_held_by_the_database(cw_rows):
    claim_id, invoice_id = cw_rows
    for statement, field in (
        ("UPDATE claims SET status = 'approvedish' WHERE id = :id", "status"),
        (
            "INSERT INTO claim_statuses (claim_id, from_status, to_status, at) "
            "VALUES (:id, 'draft', 'sent', '2026-01-01')",
            "to_status",
        ),
    ):
        error = domain_error_for(_refused(statement, id=claim_id))
        assert error.status == 422 and field in error.errors, (statement, error.errors)
    error = domain_error_for(_refused("UPDATE invoices SET status = 'lost' WHERE id = :id", id=invoice_id))
    assert error.errors == {"status": ["The status must be one of: draft, issued, partially_paid, paid, void."]}


@pytest.fixture
def cw_rows():
    """A claim and an invoice written directly (their services are not what this test is about)."""
    from datetime import date

    institution = make_institution()
    patient = make_patient(institution)
    invoice_id = db.session.execute(
        text(
            "INSERT INTO invoices (institution_id, patient_id, kind, status, currency, subtotal, tax, total, "
            "insurer_part, patient_part, paid, refunded, credited, balance, created_at) VALUES (:i, :p, 'invoice', "
            "'draft', 'KES', 0, 0, 0, 0, 0, 0, 0, 0, 0, '2026-01-01') RETURNING id"
        ),
        {"i": institution.id, "p": patient.id},
    ).scalar_one()
    claim_id = db.session.execute(
        text(
            "INSERT INTO claims (institution_id, member_number, service_date, diagnosis_codes, status, total_billed, "
            "total_approved, total_paid, review, reason_codes, created_at, version) VALUES (:i, 'M-1', :d, '[]', "
            "'draft', 0, 0, 0, false, '[]', '2026-01-01', 1) RETURNING id"
        ),
        {"i": institution.id, "d": date(2026, 1, 1)},
    ).scalar_one()
    return claim_id, invoice_id


def test_a_refused_status_write_answers_422_problem_not_500(make_app):
    fresh = make_app()

    @public
    def corrupt():
        db.session.execute(text("UPDATE users SET role = 'superuser'"))
        db.session.flush()
        return "written"

    fresh.add_url_rule("/test-corrupt", "test_corrupt", corrupt)
    make_user(Role.RECEPTIONIST, institution_id=make_institution().id)
    response = fresh.test_client().get("/test-corrupt")
    assert response.status_code == 422
    assert "role must be one of" in response.get_data(as_text=True)
