"""A scheme's review trigger settings (ADJUDICATION.md, review triggers) on the scheme builder page and in the
service: defaults, validation, the audit, and a clone carrying them. The API's side is in test_api.py."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from blueprints.insurance import services
from blueprints.insurance.models import Scheme
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import Role
from tests.insurance.test_views import scheme_form


@pytest.fixture
def company(ins):
    return ins.company(code="ACME", name="Acme Insurance")


@pytest.fixture
def admin(login_as, company):
    return login_as(Role.ADMIN, company_id=company.id)


def _scheme(code: str) -> Scheme:
    db.session.expire_all()
    return db.session.scalar(select(Scheme).where(Scheme.code == code))


def test_a_new_scheme_left_blank_takes_the_defaults(client, admin, company):
    assert client.post("/insurance/schemes/new", data=scheme_form()).status_code == 303
    scheme = _scheme("GOLD-26")
    assert (
        scheme.review_sample_percent,
        scheme.duplicate_window_days,
        scheme.duplicate_score_threshold,
        scheme.variance_factor,
    ) == (0, 3, 60, None)
    page = client.get(f"/insurance/schemes/{scheme.id}").get_data(as_text=True)
    assert "Random review sample" in page and "0% of claims" in page
    assert "score 60 of 100 within 3 days" in page


def test_the_builder_saves_the_settings_and_the_audit_keeps_them(client, admin, company):
    data = scheme_form(
        review_sample_percent="5", duplicate_window_days="7", duplicate_score_threshold="75", variance_factor="2.5"
    )
    assert client.post("/insurance/schemes/new", data=data).status_code == 303
    scheme = _scheme("GOLD-26")
    assert (scheme.review_sample_percent, scheme.duplicate_window_days, scheme.duplicate_score_threshold) == (5, 7, 75)
    assert scheme.variance_factor == Decimal("2.50")
    edit = scheme_form(review_sample_percent="10", duplicate_window_days="7", duplicate_score_threshold="75")
    assert client.post(f"/insurance/schemes/{scheme.id}", data=edit).status_code in (200, 303)
    scheme = _scheme("GOLD-26")
    assert (scheme.review_sample_percent, scheme.variance_factor) == (10, None)
    entry = db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "scheme", AuditLog.action == "update")
    ).one()
    assert entry.after == {"review_sample_percent": 10, "variance_factor": None}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"review_sample_percent": "101"}, "Use a number from 0 to 100."),
        ({"duplicate_window_days": "400"}, "Use a number from 0 to 365."),
        ({"duplicate_score_threshold": "0"}, "Use a number from 1 to 100."),
        ({"variance_factor": "0"}, "Use a number above 0 and below 1000."),
    ],
)
def test_settings_out_of_range_are_field_errors_and_save_nothing(client, admin, changes, message):
    response = client.post("/insurance/schemes/new", data=scheme_form(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Scheme)) == 0


def test_the_service_refuses_a_factor_with_three_decimals(company, login_as):
    actor = login_as(Role.ADMIN, company_id=company.id)
    with pytest.raises(Invalid) as refused:
        services.create_scheme(
            actor=actor,
            company_id=company.id,
            terms=services.SchemeTerms(code="X1", name="X", variance_factor="1.234"),
        )
    assert "variance_factor" in refused.value.errors


def test_a_clone_carries_the_settings(company, login_as, ins):
    actor = login_as(Role.ADMIN, company_id=company.id)
    source = ins.scheme(
        company,
        code="OLD",
        review_sample_percent=4,
        duplicate_window_days=5,
        duplicate_score_threshold=70,
        variance_factor=Decimal("3.00"),
    )
    clone = services.clone_scheme(actor=actor, scheme_id=source.id, code="NEW", name="New")
    assert (
        clone.review_sample_percent,
        clone.duplicate_window_days,
        clone.duplicate_score_threshold,
        clone.variance_factor,
    ) == (4, 5, 70, Decimal("3.00"))
