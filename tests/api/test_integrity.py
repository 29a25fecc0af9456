"""A constraint the database holds answers 409/422 naming the field and the value, never 500 (SQLite and
PostgreSQL alike: the second pass of make test runs these on PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from blueprints.insurance import services as insurance
from blueprints.insurance.models import Benefit, Company
from medcover.errors import Conflict, Invalid
from medcover.extensions import db
from medcover.integrity import domain_error_for
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_user


def _refused(statement) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught, db.session.begin_nested():
        db.session.execute(statement)
    return caught.value


def test_a_taken_unique_code_is_a_conflict_on_that_field_naming_the_value():
    db.session.execute(insert(Company).values(code="FAMILY-PLUS", name="Family Plus", active=True))
    error = domain_error_for(_refused(insert(Company).values(code="FAMILY-PLUS", name="Again", active=True)))
    assert isinstance(error, Conflict)
    assert list(error.errors) == ["code"]
    assert "FAMILY-PLUS" in error.errors["code"][0]


def test_a_missing_required_column_is_invalid_on_that_field():
    error = domain_error_for(_refused(insert(Company).values(code="NONAME", name=None, active=True)))
    assert isinstance(error, Invalid)
    assert list(error.errors) == ["name"]


def test_a_reference_to_nothing_is_invalid_not_a_crash():
    error = domain_error_for(_refused(insert(Benefit).values(code="GHOST", name="Ghost", category_id=999_999)))
    assert isinstance(error, Invalid)
    assert error.status == 422


@pytest.fixture
def admin_headers(api_token):
    admin = make_user(Role.ADMIN)
    db.session.commit()
    return api_token(admin)


def test_two_creates_racing_past_the_services_check_get_409_naming_the_field(client, admin_headers, monkeypatch):
    # The service looks before it writes; a second request can pass that look before the first one commits. Let
    # the look see nothing, as the loser of such a race would, and the database's unique index decides.
    assert client.post("/api/v1/companies", json={"code": "RACE", "name": "Race"}, headers=admin_headers).status_code
    real_scalar = db.session.scalar

    def blind_to_codes(statement, *args, **kwargs):
        if "companies.code" in str(statement) and "lower" in str(statement):
            return None
        return real_scalar(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "scalar", blind_to_codes)
    response = client.post("/api/v1/companies", json={"code": "RACE", "name": "Race again"}, headers=admin_headers)
    monkeypatch.undo()
    body = assert_problem(response, 409)
    assert "RACE" in body["errors"]["code"][0]
    assert db.session.scalars(select(Company.name).where(Company.code == "RACE")).all() == ["Race"]


def test_the_services_own_check_still_answers_first_for_the_common_case(client, admin_headers):
    insurance_code = {"code": "ONCE", "name": "Once"}
    assert client.post("/api/v1/companies", json=insurance_code, headers=admin_headers).status_code == 201
    body = assert_problem(client.post("/api/v1/companies", json=insurance_code, headers=admin_headers), 409)
    assert body["errors"]["code"] == ["Another company uses this code."]
    assert insurance.company_names()
