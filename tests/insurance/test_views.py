"""Insurance pages: schemes and the builder's inline rows, catalogue, premiums, members, pre-authorisations,
verification; tenant isolation, roles, and bad input that answers 422 and writes nothing."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from blueprints.insurance.models import (
    Benefit,
    BenefitCategory,
    Coverage,
    Member,
    Preauthorization,
    PremiumRate,
    Scheme,
    SchemeBenefit,
)
from medcover.extensions import db
from medcover.rbac import Role

HX = {"HX-Request": "true"}


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def toast(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]


def scheme_form(**changes) -> dict:
    return {
        "code": "GOLD-26",
        "name": "Gold 2026",
        "currency": "KES",
        "status": "draft",
        "effective_from": "2026-01-01",
        "effective_to": "2026-12-31",
        "annual_limit": "500000",
        "deductible": "1000",
        "timely_filing_days": "90",
        "review_threshold": "50000",
    } | changes


def terms(prefix: str, **changes) -> dict:
    values = {
        "covered": "y",
        "annual_limit": "100000",
        "per_visit_limit": "5000",
        "copay_percent": "10",
        "copay_fixed": "200",
        "waiting_period_days": "30",
        "max_visits": "12",
    } | changes
    return {f"{prefix}-{k}": v for k, v in values.items() if v is not None}


@pytest.fixture
def company(ins):
    return ins.company(code="ACME", name="Acme Insurance")


@pytest.fixture
def other(ins):
    return ins.company(code="BETA", name="Beta Assurance")


@pytest.fixture
def admin(login_as, company):
    return login_as(Role.ADMIN, company_id=company.id)


# --- schemes list and create ---------------------------------------------------------------------


def test_scheme_list_shows_own_schemes_and_filters_in_place(client, admin, ins, company, other):
    ins.scheme(company, code="GOLD", name="Gold", status="active")
    ins.scheme(company, code="SILVER", name="Silver")
    ins.scheme(other, code="SECRET", name="Other insurer's")

    page = client.get("/insurance/schemes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "GOLD" in html and "SILVER" in html and "SECRET" not in html
    assert "<html" in html and 'id="scheme-results"' in html

    partial = client.get("/insurance/schemes?q=gol", headers=HX)
    text = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in text
    assert text.lstrip().startswith('<div id="scheme-results">')
    assert "GOLD" in text and "SILVER" not in text
    assert "HX-Request" in partial.headers["Vary"]
    assert "SILVER" not in client.get("/insurance/schemes?status=active", headers=HX).get_data(as_text=True)


def test_new_scheme_form_creates_and_redirects_to_the_builder(client, admin, company):
    assert client.get("/insurance/schemes/new").status_code == 200
    response = client.post("/insurance/schemes/new", data=scheme_form())
    assert response.status_code == 303
    scheme = db.session.scalar(select(Scheme).where(Scheme.code == "GOLD-26"))
    assert scheme.company_id == company.id and scheme.annual_limit == Decimal("500000.00")
    assert response.headers["Location"].endswith(f"/insurance/schemes/{scheme.id}")


def test_platform_admin_chooses_the_company(client, login_as, company, other):
    login_as(Role.ADMIN)
    page = client.get("/insurance/schemes/new").get_data(as_text=True)
    assert "Acme Insurance" in page and "Beta Assurance" in page
    assert client.post("/insurance/schemes/new", data=scheme_form(company_id=other.id)).status_code == 303
    assert count(Scheme, Scheme.company_id == other.id) == 1


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"annual_limit": "-5"}, "Amounts cannot be negative."),
        ({"deductible": "-1"}, "Amounts cannot be negative."),
        ({"effective_to": "2025-01-01"}, "The end comes before the start."),
        ({"currency": "K$"}, "three-letter currency"),
        ({"timely_filing_days": "0"}, "Use a number from 1 to 3650."),
        ({"status": "bogus"}, "from the list"),
        ({"code": "has space"}, "Use 1 to 30 letters"),
        ({"annual_limit": "lots"}, "as a number, like 1250.00"),
        ({"name": ""}, "Enter the name"),
    ],
)
def test_bad_scheme_input_is_refused_with_a_field_error(client, admin, changes, field_message):
    response = client.post("/insurance/schemes/new", data=scheme_form(**changes))
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    assert count(Scheme) == 0


def test_duplicate_scheme_code_is_a_field_error(client, admin, ins, company):
    ins.scheme(company, code="GOLD-26")
    response = client.post("/insurance/schemes/new", data=scheme_form())
    assert response.status_code == 422
    assert "already has a scheme with this code" in response.get_data(as_text=True)
    assert count(Scheme) == 1


def test_hostile_scheme_name_is_shown_escaped(client, admin, company):
    hostile = '<script>alert("x")</script>'
    assert client.post("/insurance/schemes/new", data=scheme_form(name=hostile)).status_code == 303
    html = client.get("/insurance/schemes").get_data(as_text=True)
    assert hostile not in html and "&lt;script&gt;" in html


def test_hostile_code_is_refused_and_echoed_escaped(client, admin):
    response = client.post("/insurance/schemes/new", data=scheme_form(code='"><img src=x onerror=1>'))
    assert response.status_code == 422
    assert "<img src=x" not in response.get_data(as_text=True)
    assert count(Scheme) == 0


# --- the scheme builder --------------------------------------------------------------------------


@pytest.fixture
def draft(ins, company):
    return ins.scheme(company, code="DRAFT", status="draft")


def test_builder_page_shows_terms_benefits_and_the_add_row(client, admin, ins, draft):
    ins.term(draft, ins.benefit(code="OUT-GP", name="GP visit"), annual_limit=Decimal("20000"))
    ins.benefit(code="DENT", name="Dental")
    html = client.get(f"/insurance/schemes/{draft.id}").get_data(as_text=True)
    assert "OUT-GP" in html and 'id="benefit-add"' in html and "Clone as new version" in html
    # the add row offers catalogue benefits not yet in the scheme
    add_row = html[html.index('id="benefit-add"') :]
    assert "DENT · Dental" in add_row and "OUT-GP · GP visit" not in add_row


def test_inline_add_answers_the_new_row_and_a_fresh_add_row(client, admin, ins, draft):
    benefit = ins.benefit(code="MAT", name="Maternity")
    response = client.post(
        f"/insurance/schemes/{draft.id}/benefits", data={"add-benefit_id": benefit.id, **terms("add")}, headers=HX
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    row = db.session.scalar(select(SchemeBenefit).where(SchemeBenefit.scheme_id == draft.id))
    assert row.copay_percent == Decimal("10.00") and row.max_visits == 12 and row.waiting_period_days == 30
    assert row.annual_limit == Decimal("100000.00") and row.covered and not row.requires_preauth
    assert html.lstrip().startswith(f'<tr id="benefit-{row.id}"')
    assert html.index(f'id="benefit-{row.id}"') < html.index('id="benefit-add"')
    assert "<html" not in html and "MAT" in html
    assert toast(response) == "Benefit added."
    assert count(AuditLog, AuditLog.entity_type == "scheme_benefit") == 1


def test_inline_add_without_htmx_redirects_to_the_builder(client, admin, ins, draft):
    benefit = ins.benefit()
    response = client.post(f"/insurance/schemes/{draft.id}/benefits", data={"add-benefit_id": benefit.id})
    assert response.status_code == 303
    assert count(SchemeBenefit) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"copay_percent": "101"}, "Enter a percentage from 0 to 100."),
        ({"annual_limit": "-1"}, "Amounts cannot be negative."),
        ({"per_visit_limit": "-0.01"}, "Amounts cannot be negative."),
        ({"copay_fixed": "-3"}, "Amounts cannot be negative."),
        ({"waiting_period_days": "-1"}, "Use a number from 0 to 3650."),
        ({"max_visits": "0"}, "Use a number from 1 to 10000."),
        ({"annual_limit": "abc"}, "as a number, like 1250.00"),
    ],
)
def test_inline_add_with_bad_terms_rerenders_the_row_with_the_message(client, admin, ins, draft, changes, message):
    benefit = ins.benefit()
    response = client.post(
        f"/insurance/schemes/{draft.id}/benefits",
        data={"add-benefit_id": benefit.id, **terms("add", **changes)},
        headers=HX,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<tr id="benefit-add"') and message in html
    assert 'aria-invalid="true"' in html
    assert count(SchemeBenefit) == 0 and count(AuditLog, AuditLog.entity_type == "scheme_benefit") == 0


def test_inline_add_of_unknown_or_duplicate_benefit_is_a_field_error(client, admin, ins, draft):
    url = f"/insurance/schemes/{draft.id}/benefits"
    unknown = client.post(url, data={"add-benefit_id": 999999, **terms("add")}, headers=HX)
    assert unknown.status_code == 422 and "Choose a benefit from the catalogue." in unknown.get_data(as_text=True)
    benefit = ins.benefit()
    ins.term(draft, benefit)
    again = client.post(url, data={"add-benefit_id": benefit.id, **terms("add")}, headers=HX)
    assert again.status_code == 422 and "Already in this scheme" in again.get_data(as_text=True)
    assert count(SchemeBenefit) == 1


def test_inline_edit_swaps_to_a_form_and_back(client, admin, ins, draft):
    row = ins.term(draft, ins.benefit(code="OPT"), copay_percent=Decimal("5"))
    edit = client.get(f"/insurance/scheme-benefits/{row.id}/edit", headers=HX)
    html = edit.get_data(as_text=True)
    assert edit.status_code == 200 and html.lstrip().startswith(f'<tr id="benefit-{row.id}"')
    assert f'name="row{row.id}-copay_percent"' in html and 'hx-target="this"' in html

    saved = client.post(
        f"/insurance/scheme-benefits/{row.id}", data=terms(f"row{row.id}", copay_percent="20"), headers=HX
    )
    assert saved.status_code == 200
    assert toast(saved) == "Benefit terms saved."
    assert f'name="row{row.id}-copay_percent"' not in saved.get_data(as_text=True)  # back to the display row
    assert "20%" in saved.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SchemeBenefit, row.id).copay_percent == Decimal("20.00")

    cancel = client.get(f"/insurance/scheme-benefits/{row.id}", headers=HX)
    assert cancel.status_code == 200 and "Edit" in cancel.get_data(as_text=True)


def test_inline_edit_with_copay_over_100_keeps_the_old_terms(client, admin, ins, draft):
    row = ins.term(draft, copay_percent=Decimal("5"))
    response = client.post(
        f"/insurance/scheme-benefits/{row.id}", data=terms(f"row{row.id}", copay_percent="101"), headers=HX
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="benefit-{row.id}"') and "from 0 to 100" in html
    db.session.expire_all()
    assert db.session.get(SchemeBenefit, row.id).copay_percent == Decimal("5.00")


def test_inline_remove_answers_empty_with_a_toast(client, admin, ins, draft):
    row = ins.term(draft)
    response = client.post(f"/insurance/scheme-benefits/{row.id}/remove", headers=HX)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert toast(response) == "Benefit removed."
    assert count(SchemeBenefit) == 0


def test_active_scheme_changes_need_a_reason(client, admin, ins, company):
    live = ins.scheme(company, status="active", code="LIVE")
    row = ins.term(live, copay_percent=Decimal("5"))
    refused = client.post(f"/insurance/scheme-benefits/{row.id}", data=terms(f"row{row.id}"), headers=HX)
    assert refused.status_code == 422 and "say why its terms change" in refused.get_data(as_text=True)
    removed = client.post(f"/insurance/scheme-benefits/{row.id}/remove", headers=HX)
    assert removed.status_code == 422 and removed.headers["HX-Reswap"] == "outerHTML"
    assert count(SchemeBenefit) == 1
    db.session.expire_all()
    assert db.session.get(SchemeBenefit, row.id).copay_percent == Decimal("5.00")

    ok = client.post(
        f"/insurance/scheme-benefits/{row.id}", data=terms(f"row{row.id}", reason="Regulator's new cap"), headers=HX
    )
    assert ok.status_code == 200
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "scheme_benefit"))
    assert entry.summary == "Regulator's new cap"


def test_active_scheme_term_edit_without_reason_is_a_field_error(client, admin, ins, company):
    live = ins.scheme(company, status="active", code="LIVE", name="Live")
    page = client.get(f"/insurance/schemes/{live.id}").get_data(as_text=True)
    assert 'name="reason"' in page
    response = client.post(f"/insurance/schemes/{live.id}", data=scheme_form(code="LIVE", name="Live", status="active"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This scheme is active: say why its terms change" in html
    db.session.expire_all()
    assert db.session.get(Scheme, live.id).annual_limit is None

    with_reason = scheme_form(code="LIVE", name="Live", status="active", reason="Board decision 12")
    assert client.post(f"/insurance/schemes/{live.id}", data=with_reason).status_code == 303
    db.session.expire_all()
    assert db.session.get(Scheme, live.id).annual_limit == Decimal("500000.00")


def test_clone_makes_a_draft_copy_with_the_benefits(client, admin, ins, company):
    live = ins.scheme(company, status="active", code="GOLD")
    ins.term(live, copay_percent=Decimal("7"))
    response = client.post(f"/insurance/schemes/{live.id}/clone", data={"code": "GOLD-27", "name": "Gold 2027"})
    assert response.status_code == 303
    clone = db.session.scalar(select(Scheme).where(Scheme.code == "GOLD-27"))
    assert clone.status.value == "draft" and clone.previous_id == live.id
    assert count(SchemeBenefit, SchemeBenefit.scheme_id == clone.id) == 1
    taken = client.post(f"/insurance/schemes/{live.id}/clone", data={"code": "GOLD-27", "name": "Again"})
    assert taken.status_code == 422 and count(Scheme) == 2


# --- tenants and roles ---------------------------------------------------------------------------


def test_other_insurers_scheme_and_member_pages_are_404(client, admin, ins, other):
    theirs = ins.scheme(other)
    row = ins.term(theirs)
    member = ins.member(other)
    assert client.get(f"/insurance/schemes/{theirs.id}").status_code == 404
    assert client.get(f"/insurance/members/{member.id}").status_code == 404
    assert client.get(f"/insurance/scheme-benefits/{row.id}/edit", headers=HX).status_code == 404
    assert client.post(f"/insurance/scheme-benefits/{row.id}/remove", headers=HX).status_code == 404
    assert client.post(f"/insurance/schemes/{theirs.id}", data=scheme_form()).status_code == 404
    assert member.member_number not in client.get("/insurance/members").get_data(as_text=True)
    assert count(SchemeBenefit) == 1


def test_company_admin_cannot_create_a_scheme_for_another_company(client, admin, other):
    response = client.post("/insurance/schemes/new", data=scheme_form(company_id=other.id))
    assert response.status_code == 303  # the company field is ignored: company staff create for their own
    assert count(Scheme, Scheme.company_id == other.id) == 0


def test_receptionist_gets_403_on_scheme_pages_but_can_verify(client, login_as, ins, company):
    scheme = ins.scheme(company)
    login_as(Role.RECEPTIONIST)
    assert client.get("/insurance/schemes").status_code == 403
    assert client.get(f"/insurance/schemes/{scheme.id}").status_code == 403
    assert client.get("/insurance/members").status_code == 403
    assert client.get("/insurance/verify").status_code == 200


def test_readers_see_the_builder_without_write_controls(client, login_as, ins, company):
    scheme = ins.scheme(company)
    row = ins.term(scheme)
    login_as(Role.ADJUDICATOR, company_id=company.id)
    html = client.get(f"/insurance/schemes/{scheme.id}").get_data(as_text=True)
    assert 'id="benefit-add"' not in html and "Save terms" not in html
    assert client.post(f"/insurance/scheme-benefits/{row.id}/remove", headers=HX).status_code == 403
    assert client.post("/insurance/schemes/new", data=scheme_form()).status_code == 403
    assert count(SchemeBenefit) == 1


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/insurance/schemes").status_code in (302, 303)


# --- catalogue -----------------------------------------------------------------------------------


def test_platform_admin_adds_categories_and_benefits(client, login_as):
    login_as(Role.ADMIN)
    assert (
        client.post(
            "/insurance/catalogue/categories", data={"category-code": "DENTAL", "category-name": "Dental"}
        ).status_code
        == 303
    )
    category = db.session.scalar(select(BenefitCategory).where(BenefitCategory.code == "DENTAL"))
    added = client.post(
        "/insurance/catalogue/benefits",
        data={"benefit-code": "DEN-01", "benefit-name": "Fillings", "benefit-category_id": category.id},
    )
    assert added.status_code == 303
    html = client.get("/insurance/catalogue").get_data(as_text=True)
    assert "DEN-01" in html and "Fillings" in html
    duplicate = client.post(
        "/insurance/catalogue/benefits",
        data={"benefit-code": "DEN-01", "benefit-name": "Again", "benefit-category_id": category.id},
    )
    assert duplicate.status_code == 422 and "Another benefit uses this code." in duplicate.get_data(as_text=True)
    unknown = client.post(
        "/insurance/catalogue/benefits", data={"benefit-code": "X1", "benefit-name": "X", "benefit-category_id": 99999}
    )
    assert unknown.status_code == 422 and "No such benefit category." in unknown.get_data(as_text=True)
    assert count(Benefit) == 1


def test_company_admin_reads_the_catalogue_but_cannot_change_it(client, admin):
    html = client.get("/insurance/catalogue").get_data(as_text=True)
    assert "Platform administrators maintain the catalogue." in html
    response = client.post("/insurance/catalogue/categories", data={"category-code": "X", "category-name": "X"})
    assert response.status_code == 403
    assert count(BenefitCategory) == 0


# --- premium rates and quotes --------------------------------------------------------------------


def rate_form(scheme, **changes) -> dict:
    return {
        "scheme_id": scheme.id,
        "member_type": "principal",
        "age_from": "18",
        "age_to": "40",
        "annual_amount": "24000",
        "effective_from": "2026-01-01",
    } | changes


def test_rates_page_lists_and_adds_rates(client, admin, ins, draft):
    assert client.get(f"/insurance/premium-rates?scheme_id={draft.id}").status_code == 200
    response = client.post("/insurance/premium-rates", data=rate_form(draft))
    assert response.status_code == 303
    html = client.get(f"/insurance/premium-rates?scheme_id={draft.id}").get_data(as_text=True)
    assert "18–40" in html


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"age_from": "30", "age_to": "50"}, "Overlaps another band"),
        ({"annual_amount": "-5"}, "Amounts cannot be negative."),
        ({"age_from": "50", "age_to": "41"}, "The band ends before it starts."),
        ({"effective_to": "2025-01-01", "age_from": "60", "age_to": "70"}, "The end comes before the start."),
        ({"scheme_id": "999999"}, "No such scheme."),
    ],
)
def test_bad_rates_are_refused(client, admin, ins, draft, changes, message):
    ins.rate(draft, ages=(18, 40))
    response = client.post("/insurance/premium-rates", data=rate_form(draft, **changes))
    assert response.status_code in (404, 422)
    assert message in response.get_data(as_text=True)
    assert count(PremiumRate) == 1


def test_quote_shows_premium_and_schedule(client, admin, ins, draft):
    ins.rate(draft, member_type="principal", ages=(18, 65), amount="24000.00")
    ins.rate(draft, member_type="dependant", ages=(0, 17), amount="6000.00")
    assert client.get(f"/insurance/quote?scheme_id={draft.id}").status_code == 200
    data = {
        "scheme_id": draft.id,
        "principal_date_of_birth": "1985-04-02",
        "dependant_dates_of_birth": "2015-06-01\n\n2018-09-09\n",
        "start_date": "2026-01-01",
        "frequency": "quarterly",
    }
    response = client.get("/insurance/quote", query_string=data, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="quote"')
    assert "36,000.00" in html or "36000.00" in html
    assert html.count("9,000.00") + html.count("9000.00") == 4  # four quarterly instalments

    bad = client.get("/insurance/quote", query_string=data | {"dependant_dates_of_birth": "yesterday"}, headers=HX)
    assert bad.status_code == 422 and "Line 1 is not a date" in bad.get_data(as_text=True)
    late = client.get("/insurance/quote", query_string=data | {"end_date": "2025-06-01"}, headers=HX)
    assert late.status_code == 422 and "The end comes before the start." in late.get_data(as_text=True)


# --- members -------------------------------------------------------------------------------------


def enrol_form(scheme, **changes) -> dict:
    return {
        "scheme_id": scheme.id,
        "start_date": "2026-02-01",
        "member_number": "ACM-100",
        "first_name": "Achieng",
        "last_name": "Otieno",
        "date_of_birth": "1980-03-03",
        "gender": "female",
        "dependants-0-member_number": "ACM-100/1",
        "dependants-0-first_name": "Baraka",
        "dependants-0-last_name": "Otieno",
        "dependants-0-date_of_birth": "2012-07-07",
        "dependants-0-gender": "male",
    } | changes


def test_enrol_a_family_and_open_the_member_page(client, admin, ins, company):
    scheme = ins.scheme(company, status="active")
    ins.term(scheme, ins.benefit(code="GP"), annual_limit=Decimal("20000"))
    assert client.get("/insurance/members/new").status_code == 200
    response = client.post("/insurance/members/new", data=enrol_form(scheme))
    assert response.status_code == 303, response.get_data(as_text=True)
    head = db.session.scalar(select(Member).where(Member.member_number == "ACM-100"))
    assert count(Member) == 2 and count(Coverage) == 2
    html = client.get(f"/insurance/members/{head.id}").get_data(as_text=True)
    assert "ACM-100/1" in html and "Baraka" in html  # dependants
    assert 'id="usage"' in html and "GP" in html  # benefit usage
    assert "Suspend" in html and "Renew" in html

    listed = client.get("/insurance/members?q=otie", headers=HX).get_data(as_text=True)
    assert listed.lstrip().startswith('<div id="member-results">') and "ACM-100" in listed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dependants-0-member_number": "ACM-100"}, "Every member needs a different member number."),
        ({"dependants-0-date_of_birth": "2999-01-01"}, "Enter a real date of birth."),
        ({"date_of_birth": "not a date"}, "as a date, like 2026-12-04"),
        ({"scheme_id": "999999"}, "Choose one of the company&#39;s schemes."),
        ({"first_name": "<b>x</b>\x01"}, "Use letters, spaces and punctuation only."),
    ],
)
def test_bad_enrolment_writes_nothing(client, admin, ins, company, changes, message):
    scheme = ins.scheme(company, status="active")
    response = client.post("/insurance/members/new", data=enrol_form(scheme, **changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(Member) == 0 and count(Coverage) == 0


def test_taken_member_number_is_a_field_error(client, admin, ins, company):
    scheme = ins.scheme(company, status="active")
    ins.member(company, number="ACM-100")
    response = client.post("/insurance/members/new", data=enrol_form(scheme))
    assert response.status_code == 422 and "Another member has this number." in response.get_data(as_text=True)
    assert count(Member) == 1


def test_coverage_suspend_reinstate_cancel_and_renew(client, admin, ins, company):
    scheme = ins.scheme(company, status="active")
    member = ins.member(company)
    cover = ins.coverage(member, scheme)
    url = f"/insurance/coverages/{cover.id}/status"
    assert client.post(url, data={"status": "suspended"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Coverage, cover.id).status.value == "suspended"
    assert client.post(url, data={"status": "active"}).status_code == 303
    assert client.post(f"/insurance/coverages/{cover.id}/renew").status_code == 303
    assert count(Coverage, Coverage.member_id == member.id) == 2
    assert client.post(url, data={"status": "cancelled"}).status_code == 303
    refused = client.post(url, data={"status": "active"})
    assert refused.status_code == 409 and "cannot become active" in refused.get_data(as_text=True)
    assert client.post(url, data={"status": "nonsense"}).status_code == 422
    db.session.expire_all()
    assert db.session.get(Coverage, cover.id).status.value == "cancelled"


def test_other_insurers_coverage_actions_are_404(client, admin, ins, other):
    cover = ins.coverage(ins.member(other), ins.scheme(other, status="active"))
    assert client.post(f"/insurance/coverages/{cover.id}/status", data={"status": "suspended"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Coverage, cover.id).status.value == "active"


# --- pre-authorisations --------------------------------------------------------------------------


def test_request_and_approve_a_preauthorization(client, admin, ins, company):
    member = ins.member(company, number="ACM-7")
    ins.benefit(code="MRI")
    assert client.get("/insurance/preauthorizations").status_code == 200
    data = {"member_number": "ACM-7", "benefit_code": "MRI", "valid_from": "2026-03-01", "valid_to": "2026-03-31"}
    assert client.post("/insurance/preauthorizations", data=data).status_code == 303
    row = db.session.scalar(select(Preauthorization).where(Preauthorization.member_id == member.id))
    decided = client.post(f"/insurance/preauthorizations/{row.id}/decision", data={"decision": "approve"}, headers=HX)
    assert decided.status_code == 200 and decided.get_data(as_text=True).lstrip().startswith(
        f'<tr id="preauth-{row.id}"'
    )
    assert "approved" in toast(decided)
    db.session.expire_all()
    assert db.session.get(Preauthorization, row.id).status.value == "approved"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"valid_to": "2026-02-01"}, "The end comes before the start."),
        ({"member_number": "NOPE-1"}, "No member with that number."),
        ({"benefit_code": "NOPE"}, "No benefit with that code."),
    ],
)
def test_bad_preauthorization_requests_write_nothing(client, admin, ins, company, changes, message):
    ins.member(company, number="ACM-7")
    ins.benefit(code="MRI")
    data = {"member_number": "ACM-7", "benefit_code": "MRI", "valid_from": "2026-03-01", "valid_to": "2026-03-31"}
    response = client.post("/insurance/preauthorizations", data=data | changes)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count(Preauthorization) == 0


def test_preauthorization_of_another_insurers_member_is_unknown(client, admin, ins, other):
    ins.member(other, number="BETA-1")
    ins.benefit(code="MRI")
    data = {"member_number": "BETA-1", "benefit_code": "MRI", "valid_from": "2026-03-01", "valid_to": "2026-03-31"}
    assert client.post("/insurance/preauthorizations", data=data).status_code == 422
    assert count(Preauthorization) == 0


# --- verification --------------------------------------------------------------------------------


@pytest.fixture
def covered(ins, company):
    scheme = ins.scheme(company, status="active", code="GOLD", name="Gold")
    ins.term(scheme, ins.benefit(code="GP", name="GP visit"), annual_limit=Decimal("20000"))
    ins.term(scheme, ins.benefit(code="MAT", name="Maternity"), waiting_period_days=300)
    member = ins.member(company, number="ACM-1")
    ins.coverage(member, scheme, start=date(2026, 1, 1), end=date(2026, 12, 31))
    return member


def test_receptionist_verifies_a_member_of_any_insurer_as_they_type(client, login_as, covered):
    login_as(Role.RECEPTIONIST)
    page = client.get("/insurance/verify")
    assert page.status_code == 200 and 'id="verify-result"' in page.get_data(as_text=True)
    response = client.get("/insurance/verify?member_number=acm-1&service_date=2026-03-01", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="verify-result"')
    assert "ELIGIBLE" in html and "NOT ELIGIBLE" not in html and "GOLD" in html and "GP visit" in html

    waiting = client.get("/insurance/verify?member_number=ACM-1&service_date=2026-03-01&benefit_code=MAT", headers=HX)
    text = waiting.get_data(as_text=True)
    assert "NOT ELIGIBLE" in text and "R11" in text and "waiting period has not ended" in text

    nobody = client.get("/insurance/verify?member_number=NOBODY", headers=HX).get_data(as_text=True)
    assert "NOT ELIGIBLE" in nobody and "No member has this number." in nobody

    lapsed = client.get("/insurance/verify?member_number=ACM-1&service_date=2027-01-01", headers=HX)
    assert "No active cover on this date." in lapsed.get_data(as_text=True)


def test_verify_with_a_bad_date_is_a_field_error(client, login_as):
    login_as(Role.BILLING_CLERK)
    response = client.get("/insurance/verify?member_number=X&service_date=31/02/2026", headers=HX)
    assert response.status_code == 422 and "as a date, like 2026-12-04" in response.get_data(as_text=True)


def test_insurer_staff_cannot_verify_another_insurers_member(client, login_as, covered, other):
    login_as(Role.ADJUDICATOR, company_id=other.id)
    html = client.get("/insurance/verify?member_number=ACM-1&service_date=2026-03-01", headers=HX).get_data(
        as_text=True
    )
    assert "No member has this number." in html and "GOLD" not in html


def test_hostile_member_number_is_echoed_escaped(client, login_as):
    login_as(Role.RECEPTIONIST)
    html = client.get("/insurance/verify?member_number=<script>x</script>", headers=HX).get_data(as_text=True)
    assert "<script>x" not in html


def test_nav_shows_insurance_entries_by_role(client, login_as, company):
    login_as(Role.RECEPTIONIST)
    html = client.get("/insurance/verify").get_data(as_text=True)
    assert ">Verify cover<" in html and ">Schemes<" not in html


def test_preauthorisation_list_makes_the_same_number_of_queries_for_few_and_many(client, login_as, ins, count_queries):
    from blueprints.insurance import services

    admin = login_as(Role.ADMIN)
    company = ins.company()
    benefit = ins.benefit()
    members = [ins.member(company) for _ in range(25)]

    def request_for(member):
        services.request_preauthorization(
            actor=admin,
            member_number=member.member_number,
            benefit_code=benefit.code,
            valid_from=date(2026, 1, 1),
            valid_to=date(2026, 2, 1),
        )

    request_for(members[0])
    db.session.commit()
    client.get("/insurance/preauthorizations")  # a warm process: it keeps the hospitals' and insurers' names
    with count_queries() as few:
        assert client.get("/insurance/preauthorizations").status_code == 200
    for member in members[1:]:
        request_for(member)
    db.session.commit()
    with count_queries() as many:
        page = client.get("/insurance/preauthorizations")
    assert page.get_data(as_text=True).count('<tr id="preauth-') == 25
    assert many.count == few.count
