"""Insurance JSON API: API.md's shapes exactly, tenant isolation, verification edges, premium quotes by hand,
and bad input that answers 422/409 and leaves nothing behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from blueprints.insurance.models import (
    Benefit,
    BenefitCategory,
    Company,
    Coverage,
    Member,
    Preauthorization,
    PremiumRate,
    Scheme,
    SchemeBenefit,
)
from medcover import clock
from medcover.api import PREFIX
from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_user

SCHEME_KEYS = {
    "id",
    "company_id",
    "code",
    "name",
    "currency",
    "annual_limit",
    "deductible",
    "timely_filing_days",
    "review_threshold",
    "review_sample_percent",
    "duplicate_window_days",
    "duplicate_score_threshold",
    "variance_factor",
    "status",
    "effective_from",
    "effective_to",
    "previous_id",
}
TERM_KEYS = {
    "covered",
    "annual_limit",
    "per_visit_limit",
    "copay_percent",
    "copay_fixed",
    "waiting_period_days",
    "requires_preauth",
    "max_visits",
}
MEMBER_KEYS = {
    "id",
    "member_number",
    "company_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "principal_member_number",
}
COVERAGE_KEYS = {
    "id",
    "member_id",
    "member_number",
    "scheme_id",
    "company_id",
    "start_date",
    "end_date",
    "status",
    "renewed_from_id",
}
VERIFY_KEYS = {"eligible", "reason_codes", "coverage", "benefits"}
BENEFIT_STATUS_KEYS = {
    "benefit_code",
    "covered",
    "remaining_limit",
    "copay_percent",
    "requires_preauth",
    "waiting_until",
}
PAGE_KEYS = {"items", "page", "per_page", "total"}
TABLES = (
    Company,
    BenefitCategory,
    Benefit,
    Scheme,
    SchemeBenefit,
    PremiumRate,
    Member,
    Coverage,
    Preauthorization,
    AuditLog,
)


class Api:
    """A caller of the API with one user's token."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def __call__(self, method: str, path: str, body=None, status: int | None = None, **kwargs):
        response = self.client.open(PREFIX + path, method=method, json=body, headers=self.headers, **kwargs)
        if status is not None:
            assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
        return response

    def get(self, path: str, status: int = 200):
        return self("GET", path, status=status).get_json()

    def post(self, path: str, body=None, status: int = 201):
        return self("POST", path, body, status=status).get_json()

    def put(self, path: str, body=None, status: int = 200):
        return self("PUT", path, body, status=status).get_json()


def counts() -> dict[str, int]:
    # Reads and refusals leave audit entries of their own; only changes count here.
    changes = AuditLog.action.not_in(("read", "denied"))
    return {
        model.__name__: db.session.scalar(
            select(func.count()).select_from(model).where(changes if model is AuditLog else True)
        )
        for model in TABLES
    }


@pytest.fixture
def as_user(client, api_token):
    """``as_user(role, **tenant)`` -> an ``Api`` for a new user of that role."""

    def build(role: Role = Role.ADMIN, **tenant) -> Api:
        return Api(client, api_token(make_user(role, **tenant)))

    return build


@pytest.fixture
def platform(as_user) -> Api:
    return as_user(Role.ADMIN, institution_id=None, company_id=None)


@pytest.fixture
def world(platform):
    """Two insurers, a catalogue, a scheme each with benefit terms, and a covered principal each."""
    w: dict = {}
    w["A"] = platform.post("/companies", {"code": "AAR", "name": "AAR Insurance"})["id"]
    w["B"] = platform.post("/companies", {"code": "BRIT", "name": "Britam"})["id"]
    w["cat"] = platform.post("/benefit-categories", {"code": "outpatient", "name": "Outpatient"})["id"]
    for code, name in (("OPD", "Outpatient consultation"), ("MAT", "Maternity"), ("DENT", "Dental")):
        w[code] = platform.post("/benefits", {"code": code, "name": name, "category_id": w["cat"]})["id"]
    for key in ("A", "B"):
        scheme = platform.post(
            "/schemes",
            {"company_id": w[key], "code": "GOLD", "name": f"Gold {key}", "annual_limit": "500000.00"},
        )
        w[f"scheme_{key}"] = scheme["id"]
        platform.post(
            f"/schemes/{scheme['id']}/benefits",
            {"benefit_id": w["OPD"], "annual_limit": "50000.00", "copay_percent": "10"},
        )
        platform.post(
            f"/schemes/{scheme['id']}/benefits",
            {"benefit_id": w["MAT"], "waiting_period_days": 30, "requires_preauth": True},
        )
        number = f"{key}-0001"
        body = {
            "member_number": number,
            "first_name": "Wanjiru",
            "last_name": f"Kamau{key}",
            "date_of_birth": "1990-05-17",
            "gender": "female",
            "company_id": w[key],
        }
        w[f"member_{key}"] = platform.post("/members", body)["id"]
        w[f"coverage_{key}"] = platform.post(
            "/coverages",
            {"member_number": number, "scheme_id": scheme["id"], "start_date": "2026-01-01", "end_date": "2026-12-31"},
        )["id"]
    return w


# --- companies and the catalogue -------------------------------------------------------------------


def test_platform_admin_adds_lists_and_reads_companies(platform):
    made = platform.post("/companies", {"code": "JUB", "name": "Jubilee Health"})
    assert made == {"id": made["id"], "code": "JUB", "name": "Jubilee Health", "active": True}
    listed = platform.get("/companies?per_page=1")
    assert set(listed) == PAGE_KEYS and listed["page"] == 1 and listed["per_page"] == 1 and listed["total"] >= 1
    assert platform.get(f"/companies/{made['id']}") == made


def test_a_company_admin_may_not_add_companies_or_change_the_catalogue(world, as_user):
    admin_a = as_user(Role.ADMIN, company_id=world["A"])
    adjudicator_a = as_user(Role.ADJUDICATOR, company_id=world["A"])
    before = counts()
    assert_problem(admin_a("POST", "/companies", {"code": "NEW", "name": "New"}), 403)
    assert_problem(admin_a("POST", "/benefit-categories", {"code": "dental", "name": "Dental"}), 403)
    assert_problem(admin_a("POST", "/benefits", {"code": "X1", "name": "X", "category_id": world["cat"]}), 403)
    assert_problem(adjudicator_a("POST", "/companies", {"code": "N", "name": "N"}), 403)
    assert counts() == before


def test_catalogue_is_created_and_listed_with_exact_fields(platform):
    category = platform.post("/benefit-categories", {"code": "dental", "name": "Dental"})
    assert category == {"id": category["id"], "code": "dental", "name": "Dental"}
    benefit = platform.post("/benefits", {"code": "DEN-01", "name": "Filling", "category_id": category["id"]})
    assert benefit == {"id": benefit["id"], "code": "DEN-01", "name": "Filling", "category_id": category["id"]}
    listed = platform.get(f"/benefits?category_id={category['id']}")
    assert listed == {"items": [benefit], "page": 1, "per_page": 50, "total": 1}
    assert category in platform.get("/benefit-categories?per_page=200")["items"]


def test_catalogue_is_readable_by_hospital_staff(world, as_user):
    clerk = as_user(Role.RECEPTIONIST)
    assert {b["code"] for b in clerk.get("/benefits")["items"]} >= {"OPD", "MAT", "DENT"}


# --- schemes and their terms -----------------------------------------------------------------------


def test_scheme_is_created_with_api_md_defaults(world, platform):
    scheme = platform.post("/schemes", {"company_id": world["A"], "code": "SILVER", "name": "Silver"})
    assert scheme == {
        "id": scheme["id"],
        "company_id": world["A"],
        "code": "SILVER",
        "name": "Silver",
        "currency": "KES",
        "annual_limit": None,
        "deductible": "0.00",
        "timely_filing_days": 180,
        "review_threshold": None,
        "review_sample_percent": 0,
        "duplicate_window_days": 3,
        "duplicate_score_threshold": 60,
        "variance_factor": None,
        "status": "active",
        "effective_from": None,
        "effective_to": None,
        "previous_id": None,
        "benefits": [],
    }


def test_scheme_benefit_terms_are_added_and_shown_in_the_scheme(world, platform):
    scheme = platform.post(
        "/schemes",
        {
            "company_id": world["A"],
            "code": "PLAT",
            "name": "Platinum",
            "currency": "KES",
            "annual_limit": "1000000",
            "deductible": "500.5",
            "timely_filing_days": 90,
            "review_threshold": "200000.00",
            "status": "draft",
            "effective_from": "2027-01-01",
            "effective_to": "2027-12-31",
        },
    )
    assert (scheme["annual_limit"], scheme["deductible"], scheme["review_threshold"]) == (
        "1000000.00",
        "500.50",
        "200000.00",
    )
    assert (scheme["status"], scheme["effective_from"], scheme["effective_to"]) == ("draft", "2027-01-01", "2027-12-31")
    term = platform.post(
        f"/schemes/{scheme['id']}/benefits",
        {
            "benefit_id": world["DENT"],
            "covered": True,
            "annual_limit": "20000.00",
            "per_visit_limit": "5000",
            "copay_percent": "12.5",
            "copay_fixed": "200",
            "waiting_period_days": 90,
            "requires_preauth": True,
            "max_visits": 4,
        },
    )
    assert term == {
        "id": term["id"],
        "scheme_id": scheme["id"],
        "benefit_id": world["DENT"],
        "benefit_code": "DENT",
        "benefit_name": "Dental",
        "covered": True,
        "annual_limit": "20000.00",
        "per_visit_limit": "5000.00",
        "copay_percent": "12.50",
        "copay_fixed": "200.00",
        "waiting_period_days": 90,
        "requires_preauth": True,
        "max_visits": 4,
    }
    defaults = platform.post(f"/schemes/{scheme['id']}/benefits", {"benefit_id": world["OPD"]})
    assert {k: defaults[k] for k in TERM_KEYS} == {
        "covered": True,
        "annual_limit": None,
        "per_visit_limit": None,
        "copay_percent": "0.00",
        "copay_fixed": "0.00",
        "waiting_period_days": 0,
        "requires_preauth": False,
        "max_visits": None,
    }
    got = platform.get(f"/schemes/{scheme['id']}")
    assert set(got) == SCHEME_KEYS | {"benefits"}
    assert got["benefits"] == [term, defaults]  # by benefit code


def test_benefits_of_an_active_scheme_in_use_need_a_reason(world, platform):
    path = f"/schemes/{world['scheme_A']}/benefits"
    before = counts()
    body = assert_problem(platform("POST", path, {"benefit_id": world["DENT"]}), 422)
    assert "reason" in body["errors"]
    assert counts() == before
    term = platform.post(path, {"benefit_id": world["DENT"], "reason": "Dental added from 1 March"})
    audit = db.session.scalar(
        select(AuditLog).where(AuditLog.entity_type == "scheme_benefit", AuditLog.entity_id == str(term["id"]))
    )
    assert audit.summary == "Dental added from 1 March"


def test_scheme_update_needs_a_reason_when_active_terms_change(world, platform):
    path = f"/schemes/{world['scheme_A']}"
    renamed = platform.put(path, {"name": "Gold Plus"})
    assert renamed["name"] == "Gold Plus" and renamed["annual_limit"] == "500000.00"
    before = counts()
    body = assert_problem(platform("PUT", path, {"annual_limit": "600000.00"}), 422)
    assert "reason" in body["errors"]
    assert counts() == before
    assert platform.get(path)["annual_limit"] == "500000.00"
    changed = platform.put(path, {"annual_limit": "600000.00", "reason": "Board decision 12/2026"})
    assert changed["annual_limit"] == "600000.00"
    retired = platform.put(path, {"status": "retired"})
    assert retired["status"] == "retired"
    assert_problem(platform("PUT", path, {"status": "active"}), 409)


def test_scheme_benefit_is_changed_and_removed_with_reasons(world, platform):
    scheme = platform.get(f"/schemes/{world['scheme_A']}")
    opd = next(b for b in scheme["benefits"] if b["benefit_code"] == "OPD")
    path = f"/schemes/{world['scheme_A']}/benefits/{opd['id']}"
    assert_problem(platform("PUT", path, {"copay_percent": "15"}), 422)
    changed = platform.put(path, {"copay_percent": "15", "reason": "Copay raised for 2026"})
    assert changed == {**opd, "copay_percent": "15.00"}
    # the row must belong to the scheme in the URL
    assert_problem(
        platform("DELETE", f"/schemes/{world['scheme_B']}/benefits/{opd['id']}", {"reason": "wrong one"}), 404
    )
    assert_problem(platform("DELETE", path), 422)
    assert platform("DELETE", path + "?reason=Dropped+from+plan", status=204).get_data() == b""
    assert db.session.get(SchemeBenefit, opd["id"]) is None


def test_a_scheme_is_cloned_with_its_terms_in_draft(world, platform):
    clone = platform.post(
        f"/schemes/{world['scheme_A']}/clone",
        {"code": "GOLD-2027", "name": "Gold 2027", "effective_from": "2027-01-01", "effective_to": "2027-12-31"},
    )
    source = platform.get(f"/schemes/{world['scheme_A']}")
    assert clone["status"] == "draft" and clone["previous_id"] == source["id"]
    assert (clone["code"], clone["effective_from"], clone["annual_limit"]) == ("GOLD-2027", "2027-01-01", "500000.00")
    strip = lambda terms: [{k: v for k, v in t.items() if k not in ("id", "scheme_id")} for t in terms]  # noqa: E731
    assert strip(clone["benefits"]) == strip(source["benefits"])
    before = counts()
    assert (
        "code"
        in assert_problem(
            platform("POST", f"/schemes/{world['scheme_A']}/clone", {"code": "GOLD-2027", "name": "x"}), 409
        )["errors"]
    )
    assert counts() == before


def test_scheme_lists_filter_and_paginate(world, platform):
    platform.post("/schemes", {"company_id": world["A"], "code": "BRONZE", "name": "Bronze", "status": "draft"})
    mine = platform.get(f"/schemes?company_id={world['A']}")
    assert [s["code"] for s in mine["items"]] == ["BRONZE", "GOLD"] and mine["total"] == 2
    assert set(mine["items"][0]) == SCHEME_KEYS
    assert [s["code"] for s in platform.get(f"/schemes?company_id={world['A']}&status=draft")["items"]] == ["BRONZE"]
    assert [s["name"] for s in platform.get("/schemes?q=bron")["items"]] == ["Bronze"]
    page = platform.get(f"/schemes?company_id={world['A']}&per_page=1&page=2")
    assert (page["page"], page["per_page"], page["total"], [s["code"] for s in page["items"]]) == (2, 1, 2, ["GOLD"])
    assert_problem(platform("GET", "/schemes?status=bogus"), 422)
    assert_problem(platform("GET", "/schemes?per_page=201"), 422)


# --- premium rates and quotes ----------------------------------------------------------------------


@pytest.fixture
def rated(world, platform):
    """Scheme A's rates: principal 24 000 a year (ages 18-64), dependant 12 000 (ages 0-64), from 2026."""
    scheme = world["scheme_A"]
    for member_type, low, high, amount in (("principal", 18, 64, "24000.00"), ("dependant", 0, 64, "12000.00")):
        platform.post(
            "/premium-rates",
            {
                "scheme_id": scheme,
                "member_type": member_type,
                "age_from": low,
                "age_to": high,
                "annual_amount": amount,
                "effective_from": "2026-01-01",
            },
        )
    return scheme


def test_premium_rate_is_created_with_exact_fields(world, platform):
    rate = platform.post(
        "/premium-rates",
        {
            "scheme_id": world["scheme_A"],
            "member_type": "principal",
            "age_from": 65,
            "age_to": 80,
            "annual_amount": "48000",
            "effective_from": "2026-01-01",
        },
    )
    assert rate == {
        "id": rate["id"],
        "scheme_id": world["scheme_A"],
        "member_type": "principal",
        "age_from": 65,
        "age_to": 80,
        "annual_amount": "48000.00",
        "effective_from": "2026-01-01",
        "effective_to": None,
    }
    assert platform.get(f"/premium-rates?scheme_id={world['scheme_A']}")["items"] == [rate]


def test_premium_rate_effective_from_defaults_to_the_scheme_start_or_today(world, platform):
    dated = platform.post(
        "/schemes", {"company_id": world["A"], "code": "D", "name": "Dated", "effective_from": "2026-03-01"}
    )
    body = {"member_type": "principal", "age_from": 0, "age_to": 99, "annual_amount": "1.00"}
    assert platform.post("/premium-rates", {**body, "scheme_id": dated["id"]})["effective_from"] == "2026-03-01"
    undated = platform.post("/premium-rates", {**body, "scheme_id": world["scheme_B"]})
    assert undated["effective_from"] == clock.today().isoformat()


def test_overlapping_premium_bands_are_refused(rated, platform):
    before = counts()
    body = {"scheme_id": rated, "member_type": "principal", "age_from": 60, "age_to": 70, "annual_amount": "30000.00"}
    problem = assert_problem(platform("POST", "/premium-rates", {**body, "effective_from": "2026-06-01"}), 409)
    assert list(problem["errors"]) == ["age_from"]
    assert counts() == before
    # the same band for the other member type, or an adjacent band, is fine
    platform.post("/premium-rates", {**body, "age_from": 65, "effective_from": "2026-06-01"})


def _quote(platform, scheme, **body):
    return platform("POST", "/premium-rates/quote", {"scheme_id": scheme, **body}, status=200).get_json()


def test_quote_annual_for_a_principal_and_a_dependant(rated, platform):
    quote = _quote(
        platform,
        rated,
        principal_date_of_birth="1990-05-17",
        dependant_dates_of_birth=["2020-02-29"],
        start_date="2026-01-01",
    )
    assert quote == {
        "scheme_id": rated,
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "frequency": "annual",
        "annual_premium": "36000.00",
        "total": "36000.00",
        "lines": [
            {"member_type": "principal", "date_of_birth": "1990-05-17", "age": 35, "annual_amount": "24000.00"},
            {"member_type": "dependant", "date_of_birth": "2020-02-29", "age": 5, "annual_amount": "12000.00"},
        ],
        "instalments": [{"due_date": "2026-01-01", "amount": "36000.00"}],
    }


def test_quote_quarterly_splits_the_year_in_four(rated, platform):
    quote = _quote(
        platform,
        rated,
        principal_date_of_birth="1990-05-17",
        dependant_dates_of_birth=["2015-07-01"],
        start_date="2026-01-01",
        frequency="quarterly",
    )
    assert quote["total"] == "36000.00"
    assert quote["instalments"] == [
        {"due_date": "2026-01-01", "amount": "9000.00"},
        {"due_date": "2026-04-01", "amount": "9000.00"},
        {"due_date": "2026-07-01", "amount": "9000.00"},
        {"due_date": "2026-10-01", "amount": "9000.00"},
    ]


def test_quote_monthly_for_a_full_year(rated, platform):
    quote = _quote(platform, rated, principal_date_of_birth="1990-05-17", start_date="2026-03-15", frequency="monthly")
    assert (quote["end_date"], quote["total"]) == ("2027-03-14", "24000.00")
    assert [i["amount"] for i in quote["instalments"]] == ["2000.00"] * 12
    assert quote["instalments"][-1]["due_date"] == "2027-02-15"


def test_quote_part_year_is_pro_rata_by_days_and_the_last_instalment_absorbs_rounding(rated, platform):
    # 24000 x 181 / 365 = 11901.369... -> 11901.37; / 6 = 1983.56 (x 5 = 9917.80), last 1983.57
    quote = _quote(
        platform,
        rated,
        principal_date_of_birth="1990-05-17",
        start_date="2026-01-01",
        end_date="2026-06-30",
        frequency="monthly",
    )
    assert (quote["annual_premium"], quote["total"]) == ("24000.00", "11901.37")
    assert [i["amount"] for i in quote["instalments"]] == ["1983.56"] * 5 + ["1983.57"]
    assert [i["due_date"] for i in quote["instalments"]] == [f"2026-0{m}-01" for m in range(1, 7)]


def test_quote_refuses_bad_input(rated, platform):
    base = {"scheme_id": rated, "principal_date_of_birth": "1990-05-17", "start_date": "2026-01-01"}
    cases = [
        ({"frequency": "weekly"}, "frequency"),
        ({"end_date": "2025-12-31"}, "end_date"),
        ({"end_date": "2027-01-01"}, "end_date"),
        ({"principal_date_of_birth": "1950-01-01"}, "principal_date_of_birth"),  # no rate for age 75
        ({"dependant_dates_of_birth": ["2027-01-01"]}, "dependant_dates_of_birth.0"),
        ({"scheme_id": 999999}, "scheme_id"),
        ({"start_date": 20260101}, "start_date"),
        ({"extra": 1}, "extra"),
    ]
    for change, field in cases:
        problem = assert_problem(platform("POST", "/premium-rates/quote", {**base, **change}), 422)
        assert field in problem["errors"], (change, problem)


# --- members and coverages -------------------------------------------------------------------------


def test_member_with_a_dependant_is_enrolled_and_read_back(world, as_user):
    admin_a = as_user(Role.ADMIN, company_id=world["A"])
    principal = admin_a.post(
        "/members",
        {
            "member_number": "a-0100",
            "first_name": "Otieno",
            "last_name": "Odhiambo",
            "date_of_birth": "1985-02-03",
            "gender": "male",
        },
    )
    assert principal == {
        "id": principal["id"],
        "member_number": "A-0100",
        "company_id": world["A"],
        "first_name": "Otieno",
        "last_name": "Odhiambo",
        "date_of_birth": "1985-02-03",
        "gender": "male",
        "principal_member_number": None,
        "dependants": [],
        "coverages": [],
    }
    child = admin_a.post(
        "/members",
        {
            "member_number": "A-0100-1",
            "first_name": "Akinyi",
            "last_name": "Odhiambo",
            "date_of_birth": "2016-08-09",
            "gender": "female",
            "principal_member_number": "A-0100",
        },
    )
    assert child["principal_member_number"] == "A-0100" and child["company_id"] == world["A"]
    cover = admin_a.post(
        "/coverages",
        {
            "member_number": "A-0100",
            "scheme_id": world["scheme_A"],
            "start_date": "2026-02-01",
            "end_date": "2027-01-31",
        },
    )
    got = admin_a.get(f"/members/{principal['id']}")
    assert set(got) == MEMBER_KEYS | {"dependants", "coverages"}
    assert [d["member_number"] for d in got["dependants"]] == ["A-0100-1"]
    assert set(got["dependants"][0]) == MEMBER_KEYS
    assert got["coverages"] == [cover]
    assert [m["member_number"] for m in admin_a.get("/members?q=odhi")["items"]] == [
        "A-0100-1",
        "A-0100",
    ]  # Akinyi, Otieno


def test_platform_admin_names_the_members_company(world, platform):
    body = {
        "member_number": "X1",
        "first_name": "A",
        "last_name": "B",
        "date_of_birth": "2000-01-01",
        "gender": "other",
    }
    before = counts()
    assert "company_id" in assert_problem(platform("POST", "/members", body), 422)["errors"]
    assert "company_id" in assert_problem(platform("POST", "/members", {**body, "company_id": 999999}), 422)["errors"]
    assert counts() == before
    assert platform.post("/members", {**body, "company_id": world["B"]})["company_id"] == world["B"]


def test_coverage_is_created_and_moves_through_its_statuses(world, platform):
    path = f"/coverages/{world['coverage_A']}"
    cover = platform.get(path)
    assert cover == {
        "id": world["coverage_A"],
        "member_id": world["member_A"],
        "member_number": "A-0001",
        "scheme_id": world["scheme_A"],
        "company_id": world["A"],
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "status": "active",
        "renewed_from_id": None,
    }
    assert platform.post(path + "/suspend", {"reason": "Premium unpaid"}, status=200)["status"] == "suspended"
    assert_problem(platform("POST", path + "/suspend"), 409)
    assert platform.post(path + "/reinstate", status=200)["status"] == "active"
    renewed = platform.post(path + "/renew")
    assert (renewed["start_date"], renewed["end_date"], renewed["renewed_from_id"]) == (
        "2027-01-01",
        "2027-12-31",
        world["coverage_A"],
    )
    assert platform.post(path + "/cancel", {}, status=200)["status"] == "cancelled"
    assert_problem(platform("POST", path + "/reinstate"), 409)
    assert_problem(platform("POST", path + "/renew"), 409)
    listed = platform.get("/coverages?member_number=a-0001&status=cancelled")
    assert [c["id"] for c in listed["items"]] == [world["coverage_A"]]
    assert set(listed["items"][0]) == COVERAGE_KEYS


def test_overlapping_active_coverage_is_refused(world, platform):
    before = counts()
    body = {
        "member_number": "A-0001",
        "scheme_id": world["scheme_A"],
        "start_date": "2026-06-01",
        "end_date": "2027-05-31",
    }
    assert "start_date" in assert_problem(platform("POST", "/coverages", body), 409)["errors"]
    assert counts() == before


# --- pre-authorisations ----------------------------------------------------------------------------


def test_insurer_staff_create_approved_preauthorisations(world, as_user):
    adjudicator = as_user(Role.ADJUDICATOR, company_id=world["A"])
    body = {"member_number": "A-0001", "benefit_code": "MAT", "valid_from": "2026-03-01", "valid_to": "2026-03-31"}
    made = adjudicator.post("/preauthorizations", body)
    assert made == {
        "id": made["id"],
        "code": made["code"],
        "status": "approved",
        "member_number": "A-0001",
        "benefit_code": "MAT",
        "company_id": world["A"],
        "valid_from": "2026-03-01",
        "valid_to": "2026-03-31",
        "notes": None,
    }
    assert made["code"].startswith("PA-")
    assert adjudicator.get(f"/preauthorizations/{made['id']}") == made
    assert adjudicator.get("/preauthorizations?status=approved")["items"] == [made]
    assert_problem(adjudicator("POST", f"/preauthorizations/{made['id']}/decline"), 409)


def test_hospital_requests_and_the_insurer_decides(world, as_user):
    clerk = as_user(Role.RECEPTIONIST)
    body = {"member_number": "B-0001", "benefit_code": "MAT", "valid_from": "2026-03-01", "valid_to": "2026-03-31"}
    requested = clerk.post("/preauthorizations", body)
    second = clerk.post("/preauthorizations", body)
    assert requested["status"] == "requested" and requested["company_id"] == world["B"]
    adjudicator_b = as_user(Role.ADJUDICATOR, company_id=world["B"])
    approved = adjudicator_b.post(f"/preauthorizations/{requested['id']}/approve", {"notes": "Booked"}, status=200)
    assert (approved["status"], approved["notes"]) == ("approved", "Booked")
    assert adjudicator_b.post(f"/preauthorizations/{second['id']}/decline", status=200)["status"] == "declined"
    # another insurer's adjudicator does not see it
    adjudicator_a = as_user(Role.ADJUDICATOR, company_id=world["A"])
    assert_problem(adjudicator_a("POST", f"/preauthorizations/{second['id']}/approve"), 404)
    assert adjudicator_a.get("/preauthorizations")["total"] == 0
    assert_problem(clerk("POST", f"/preauthorizations/{requested['id']}/approve"), 403)


# --- coverage verification -------------------------------------------------------------------------


def _verify(api, member_number: str, day: str, benefit_code: str | None = None) -> dict:
    body = {"member_number": member_number, "service_date": day}
    if benefit_code:
        body["benefit_code"] = benefit_code
    return api("POST", "/coverage/verify", body, status=200).get_json()


def test_verification_answer_has_api_md_shape(world, as_user):
    answer = _verify(as_user(Role.RECEPTIONIST), "a-0001", "2026-04-10")
    assert answer == {
        "eligible": True,
        "reason_codes": [],
        "coverage": {
            "id": world["coverage_A"],
            "scheme_id": world["scheme_A"],
            "scheme_code": "GOLD",
            "scheme_name": "Gold A",
            "company_id": world["A"],
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
            "status": "active",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
        },
        "benefits": [
            {
                "benefit_code": "MAT",
                "covered": True,
                "remaining_limit": None,
                "copay_percent": "0.00",
                "requires_preauth": True,
                "waiting_until": "2026-01-31",
            },
            {
                "benefit_code": "OPD",
                "covered": True,
                "remaining_limit": "50000.00",
                "copay_percent": "10.00",
                "requires_preauth": False,
                "waiting_until": None,
            },
        ],
    }
    for benefit in answer["benefits"]:
        assert set(benefit) == BENEFIT_STATUS_KEYS


@pytest.mark.parametrize(
    ("day", "eligible", "codes"),
    [
        ("2026-01-01", True, []),  # cover starts that day
        ("2026-12-31", True, []),  # cover ends that day
        ("2027-01-01", False, ["R02"]),  # the day after the end
        ("2025-12-31", False, ["R02"]),  # the day before the start
    ],
)
def test_verification_on_the_edges_of_the_cover(world, as_user, day, eligible, codes):
    answer = _verify(as_user(Role.BILLING_CLERK), "A-0001", day)
    assert (answer["eligible"], answer["reason_codes"]) == (eligible, codes)
    assert (answer["coverage"] is not None) is eligible


def test_suspended_cover_is_r02_and_unknown_member_r01(world, platform, as_user):
    platform.post(f"/coverages/{world['coverage_A']}/suspend", status=200)
    clerk = as_user(Role.RECEPTIONIST)
    assert _verify(clerk, "A-0001", "2026-04-10") == {
        "eligible": False,
        "reason_codes": ["R02"],
        "coverage": None,
        "benefits": [],
    }
    assert _verify(clerk, "NOPE-1", "2026-04-10") == {
        "eligible": False,
        "reason_codes": ["R01"],
        "coverage": None,
        "benefits": [],
    }


def test_waiting_period_ends_on_its_last_day(world, as_user):
    clerk = as_user(Role.RECEPTIONIST)
    # MAT waits 30 days from 2026-01-01: payable from 2026-01-31
    on_the_day = _verify(clerk, "A-0001", "2026-01-31", "MAT")
    assert (on_the_day["eligible"], on_the_day["reason_codes"]) == (True, [])
    assert [b["benefit_code"] for b in on_the_day["benefits"]] == ["MAT"]
    day_before = _verify(clerk, "A-0001", "2026-01-30", "MAT")
    assert (day_before["eligible"], day_before["reason_codes"]) == (False, ["R11"])
    assert day_before["benefits"][0]["waiting_until"] == "2026-01-31"
    not_in_scheme = _verify(clerk, "A-0001", "2026-05-01", "DENT")
    assert (not_in_scheme["eligible"], not_in_scheme["reason_codes"], not_in_scheme["benefits"]) == (False, ["R10"], [])


def test_a_29_february_start_rolls_the_benefit_period_to_28_february(world, platform, as_user):
    platform.post(
        "/members",
        {
            "member_number": "LEAP-1",
            "first_name": "Leap",
            "last_name": "Year",
            "date_of_birth": "1980-01-01",
            "gender": "female",
            "company_id": world["A"],
        },
    )
    platform.post(
        "/coverages",
        {
            "member_number": "LEAP-1",
            "scheme_id": world["scheme_A"],
            "start_date": "2024-02-29",
            "end_date": "2026-02-27",
        },
    )
    clerk = as_user(Role.RECEPTIONIST)
    first = _verify(clerk, "LEAP-1", "2025-02-27")["coverage"]
    assert (first["period_start"], first["period_end"]) == ("2024-02-29", "2025-02-27")
    second = _verify(clerk, "LEAP-1", "2025-02-28")["coverage"]
    assert (second["period_start"], second["period_end"]) == ("2025-02-28", "2026-02-27")


def test_check_answers_for_today(world, platform, as_user):
    today = clock.today()
    platform.post(
        "/members",
        {
            "member_number": "NOW-1",
            "first_name": "Today",
            "last_name": "Member",
            "date_of_birth": "1980-01-01",
            "gender": "male",
            "company_id": world["B"],
        },
    )
    cover = platform.post(
        "/coverages",
        {
            "member_number": "NOW-1",
            "scheme_id": world["scheme_B"],
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=200)).isoformat(),
        },
    )
    for role in Role:
        insurer_staff = role in (Role.ADJUDICATOR, Role.FINANCE_OFFICER)
        got = (as_user(role, company_id=world["B"]) if insurer_staff else as_user(role)).get("/coverage/check/now-1")
        assert (got["eligible"], got["coverage"]["id"]) == (True, cover["id"]), role
    # cover that ended yesterday is not cover today
    platform.post(
        "/members",
        {
            "member_number": "PAST-1",
            "first_name": "Lapsed",
            "last_name": "Member",
            "date_of_birth": "1980-01-01",
            "gender": "male",
            "company_id": world["B"],
        },
    )
    platform.post(
        "/coverages",
        {
            "member_number": "PAST-1",
            "scheme_id": world["scheme_B"],
            "start_date": (today - timedelta(days=100)).isoformat(),
            "end_date": (today - timedelta(days=1)).isoformat(),
        },
    )
    clerk = as_user(Role.RECEPTIONIST)
    assert clerk.get("/coverage/check/PAST-1")["reason_codes"] == ["R02"]
    assert clerk.get("/coverage/check/UNKNOWN")["reason_codes"] == ["R01"]


def test_insurer_staff_verify_only_their_own_members(world, as_user):
    adjudicator_a = as_user(Role.ADJUDICATOR, company_id=world["A"])
    assert _verify(adjudicator_a, "A-0001", "2026-04-10")["eligible"] is True
    other = _verify(adjudicator_a, "B-0001", "2026-04-10")
    assert other == {"eligible": False, "reason_codes": ["R01"], "coverage": None, "benefits": []}
    assert adjudicator_a.get("/coverage/check/B-0001")["reason_codes"] == ["R01"]


# --- tenant isolation ------------------------------------------------------------------------------


def test_insurer_staff_never_see_another_companys_rows(world, as_user):
    for api in (as_user(Role.ADMIN, company_id=world["A"]), as_user(Role.ADJUDICATOR, company_id=world["A"])):
        assert [s["id"] for s in api.get("/schemes")["items"]] == [world["scheme_A"]]
        assert [s["id"] for s in api.get(f"/schemes?company_id={world['B']}")["items"]] == []
        assert [m["id"] for m in api.get("/members")["items"]] == [world["member_A"]]
        assert [c["id"] for c in api.get("/coverages")["items"]] == [world["coverage_A"]]
        assert api.get("/coverages?member_number=B-0001")["total"] == 0
        assert [c["id"] for c in api.get("/companies")["items"]] == [world["A"]]
        assert api.get(f"/premium-rates?scheme_id={world['scheme_B']}")["total"] == 0
        for path in (
            f"/schemes/{world['scheme_B']}",
            f"/members/{world['member_B']}",
            f"/coverages/{world['coverage_B']}",
            f"/companies/{world['B']}",
        ):
            assert_problem(api("GET", path), 404)
        assert api.get(f"/schemes/{world['scheme_A']}")["id"] == world["scheme_A"]


def test_insurer_admin_never_changes_another_companys_rows(world, platform, as_user):
    admin_a = as_user(Role.ADMIN, company_id=world["A"])
    term_b = platform.get(f"/schemes/{world['scheme_B']}")["benefits"][0]["id"]
    before = counts()
    scheme_b = f"/schemes/{world['scheme_B']}"
    assert_problem(admin_a("PUT", scheme_b, {"name": "Hijacked"}), 404)
    assert_problem(admin_a("PUT", f"{scheme_b}/benefits/{term_b}", {"covered": False, "reason": "hijack"}), 404)
    assert_problem(admin_a("DELETE", f"{scheme_b}/benefits/{term_b}", {"reason": "hijack"}), 404)
    assert_problem(admin_a("POST", f"{scheme_b}/benefits", {"benefit_id": world["DENT"], "reason": "hijack"}), 404)
    assert_problem(admin_a("POST", f"{scheme_b}/clone", {"code": "MINE", "name": "Mine"}), 404)
    for action in ("suspend", "reinstate", "cancel", "renew"):
        assert_problem(admin_a("POST", f"/coverages/{world['coverage_B']}/{action}"), 404)
    refused_bodies = [
        ("/schemes", {"company_id": world["B"], "code": "X", "name": "X"}, "company_id"),
        (
            "/members",
            {
                "member_number": "Z1",
                "first_name": "Z",
                "last_name": "Z",
                "date_of_birth": "2000-01-01",
                "gender": "male",
                "company_id": world["B"],
            },
            "company_id",
        ),
        (
            "/members",
            {
                "member_number": "Z2",
                "first_name": "Z",
                "last_name": "Z",
                "date_of_birth": "2000-01-01",
                "gender": "male",
                "principal_member_number": "B-0001",
            },
            "principal_member_number",
        ),
        (
            "/coverages",
            {
                "member_number": "B-0001",
                "scheme_id": world["scheme_A"],
                "start_date": "2027-01-01",
                "end_date": "2027-12-31",
            },
            "member_number",
        ),
        (
            "/coverages",
            {
                "member_number": "A-0001",
                "scheme_id": world["scheme_B"],
                "start_date": "2027-01-01",
                "end_date": "2027-12-31",
            },
            "scheme_id",
        ),
        (
            "/premium-rates",
            {
                "scheme_id": world["scheme_B"],
                "member_type": "principal",
                "age_from": 0,
                "age_to": 9,
                "annual_amount": "1.00",
            },
            "scheme_id",
        ),
        (
            "/premium-rates/quote",
            {"scheme_id": world["scheme_B"], "principal_date_of_birth": "1990-01-01", "start_date": "2026-01-01"},
            "scheme_id",
        ),
        (
            "/preauthorizations",
            {"member_number": "B-0001", "benefit_code": "OPD", "valid_from": "2026-03-01", "valid_to": "2026-03-02"},
            "member_number",
        ),
    ]
    for path, body, field in refused_bodies:
        problem = assert_problem(admin_a("POST", path, body), 422)
        assert field in problem["errors"], (path, problem)
    assert counts() == before
    assert platform.get(scheme_b)["name"] == "Gold B"
    assert platform.get(f"/coverages/{world['coverage_B']}")["status"] == "active"


def test_hospital_staff_and_auditors_do_not_write_insurance_records(world, as_user):
    clerk, auditor = as_user(Role.RECEPTIONIST), as_user(Role.AUDITOR)
    hospital_admin = as_user(Role.ADMIN, institution_id=1)
    before = counts()
    body = {"company_id": world["A"], "code": "X", "name": "X"}
    assert_problem(clerk("POST", "/schemes", body), 403)
    assert_problem(auditor("POST", "/schemes", body), 403)
    assert_problem(auditor("POST", f"/coverages/{world['coverage_A']}/suspend"), 403)
    assert_problem(clerk("GET", "/members"), 403)
    member = {
        "member_number": "H1",
        "first_name": "H",
        "last_name": "H",
        "date_of_birth": "2000-01-01",
        "gender": "male",
    }
    assert_problem(hospital_admin("POST", "/members", member), 403)
    assert counts() == before
    assert auditor.get("/schemes")["total"] == 2  # a platform auditor reads everything


# --- bad input: 422/409 and nothing written ---------------------------------------------------------

LONG = "x" * 121


def _bad_posts(w):
    scheme = {"company_id": w["A"], "code": "NEWS", "name": "New scheme"}
    member = {
        "member_number": "NEW-1",
        "first_name": "New",
        "last_name": "Member",
        "date_of_birth": "2000-01-01",
        "gender": "female",
        "company_id": w["A"],
    }
    cover = {
        "member_number": "A-0001",
        "scheme_id": w["scheme_A"],
        "start_date": "2027-01-01",
        "end_date": "2027-12-31",
    }
    rate = {
        "scheme_id": w["scheme_A"],
        "member_type": "principal",
        "age_from": 0,
        "age_to": 17,
        "annual_amount": "1.00",
    }
    term = {"benefit_id": w["DENT"], "reason": "Adding dental"}
    terms_path = f"/schemes/{w['scheme_A']}/benefits"
    preauth = {"member_number": "A-0001", "benefit_code": "MAT", "valid_from": "2026-03-01", "valid_to": "2026-03-31"}
    return [
        # companies
        ("/companies", {"code": "AAR", "name": "Again"}, 409, "code"),
        ("/companies", {"code": "aar", "name": "Again, other case"}, 409, "code"),
        ("/companies", {"name": "No code"}, 422, "code"),
        ("/companies", {"code": "NEW", "name": LONG}, 422, "name"),
        ("/companies", {"code": "<script>", "name": "Hostile"}, 422, "code"),
        ("/companies", {"code": "NEW", "name": "Bad\x00name"}, 422, "name"),
        ("/companies", {"code": "NEW", "name": "New", "active": False}, 422, "active"),
        ("/companies", {"code": 7, "name": "New"}, 422, "code"),
        # catalogue
        ("/benefit-categories", {"code": "outpatient", "name": "Again"}, 409, "code"),
        ("/benefit-categories", {"code": "x' OR 1=1 --", "name": "Hostile"}, 422, "code"),
        ("/benefits", {"code": "OPD", "name": "Again", "category_id": w["cat"]}, 409, "code"),
        ("/benefits", {"code": "NEWB", "name": "New", "category_id": 999999}, 422, "category_id"),
        ("/benefits", {"code": "NEWB", "name": "New", "category_id": "1"}, 422, "category_id"),
        ("/benefits", {"code": "NEWB", "name": "New", "category_id": True}, 422, "category_id"),
        # schemes
        ("/schemes", {**scheme, "code": "GOLD"}, 409, "code"),
        ("/schemes", {**scheme, "annual_limit": "-1.00"}, 422, "annual_limit"),
        ("/schemes", {**scheme, "deductible": "-0.01"}, 422, "deductible"),
        ("/schemes", {**scheme, "deductible": "1.005"}, 422, "deductible"),
        ("/schemes", {**scheme, "review_threshold": "lots"}, 422, "review_threshold"),
        ("/schemes", {**scheme, "annual_limit": True}, 422, "annual_limit"),
        ("/schemes", {**scheme, "annual_limit": "NaN"}, 422, "annual_limit"),
        ("/schemes", {**scheme, "annual_limit": "10000000000.00"}, 422, "annual_limit"),
        ("/schemes", {**scheme, "timely_filing_days": 0}, 422, "timely_filing_days"),
        ("/schemes", {**scheme, "timely_filing_days": "180"}, 422, "timely_filing_days"),
        ("/schemes", {**scheme, "status": "live"}, 422, "status"),
        ("/schemes", {**scheme, "currency": "KSH1"}, 422, "currency"),
        ("/schemes", {**scheme, "currency": "k$h"}, 422, "currency"),
        ("/schemes", {**scheme, "effective_from": "2027-01-01", "effective_to": "2026-12-31"}, 422, "effective_to"),
        ("/schemes", {**scheme, "effective_from": "01/01/2027"}, 422, "effective_from"),
        ("/schemes", {**scheme, "effective_from": "2027-02-30"}, 422, "effective_from"),
        ("/schemes", {**scheme, "company_id": 999999}, 422, "company_id"),
        ("/schemes", {**scheme, "code": "a b"}, 422, "code"),
        ("/schemes", {**scheme, "name": "   "}, 422, "name"),
        ("/schemes", {**scheme, "owner": "me"}, 422, "owner"),
        # scheme benefits
        (terms_path, {**term, "benefit_id": w["OPD"]}, 409, "benefit_id"),
        (terms_path, {**term, "benefit_id": 999999}, 422, "benefit_id"),
        (terms_path, {**term, "copay_percent": "101"}, 422, "copay_percent"),
        (terms_path, {**term, "copay_percent": "-1"}, 422, "copay_percent"),
        (terms_path, {**term, "copay_fixed": "-5.00"}, 422, "copay_fixed"),
        (terms_path, {**term, "annual_limit": "-100.00"}, 422, "annual_limit"),
        (terms_path, {**term, "per_visit_limit": "-1"}, 422, "per_visit_limit"),
        (terms_path, {**term, "waiting_period_days": -1}, 422, "waiting_period_days"),
        (terms_path, {**term, "max_visits": 0}, 422, "max_visits"),
        (terms_path, {**term, "covered": "yes"}, 422, "covered"),
        (terms_path, {**term, "requires_preauth": 1}, 422, "requires_preauth"),
        (terms_path, {**term, "reason": "r" * 501}, 422, "reason"),
        (f"/schemes/{w['scheme_A']}/clone", {"code": "GOLD", "name": "Same code"}, 409, "code"),
        (
            f"/schemes/{w['scheme_A']}/clone",
            {"code": "G2", "name": "x", "effective_from": "2027-02-01", "effective_to": "2027-01-01"},
            422,
            "effective_to",
        ),
        # premium rates
        ("/premium-rates", {**rate, "annual_amount": "-1.00"}, 422, "annual_amount"),
        ("/premium-rates", {**rate, "age_from": 30, "age_to": 20}, 422, "age_to"),
        ("/premium-rates", {**rate, "age_to": 131}, 422, "age_to"),
        ("/premium-rates", {**rate, "member_type": "spouse"}, 422, "member_type"),
        ("/premium-rates", {**rate, "scheme_id": 999999}, 422, "scheme_id"),
        ("/premium-rates", {**rate, "effective_from": "2027-01-01", "effective_to": "2026-01-01"}, 422, "effective_to"),
        ("/premium-rates", {k: v for k, v in rate.items() if k != "annual_amount"}, 422, "annual_amount"),
        # members
        ("/members", {**member, "member_number": "A-0001"}, 409, "member_number"),
        ("/members", {**member, "member_number": "a-0001"}, 409, "member_number"),
        ("/members", {**member, "member_number": "../etc/passwd"}, 422, "member_number"),
        ("/members", {**member, "member_number": "N" * 31}, 422, "member_number"),
        ("/members", {**member, "first_name": "x" * 81}, 422, "first_name"),
        ("/members", {**member, "last_name": "Evil\x1b[31mRed"}, 422, "last_name"),
        ("/members", {**member, "gender": "robot"}, 422, "gender"),
        ("/members", {**member, "date_of_birth": "2999-01-01"}, 422, "date_of_birth"),
        ("/members", {**member, "date_of_birth": 946684800}, 422, "date_of_birth"),
        ("/members", {**member, "principal_member_number": "NOBODY"}, 422, "principal_member_number"),
        ("/members", {**member, "email": "a@b.co"}, 422, "email"),
        # coverages
        ("/coverages", {**cover, "end_date": "2026-12-31"}, 422, "end_date"),
        ("/coverages", {**cover, "member_number": "NOBODY"}, 422, "member_number"),
        ("/coverages", {**cover, "scheme_id": 999999}, 422, "scheme_id"),
        ("/coverages", {**cover, "scheme_id": w["scheme_B"]}, 422, "scheme_id"),
        ("/coverages", {**cover, "status": "paused"}, 422, "status"),
        ("/coverages", {**cover, "end_date": "2031-01-01"}, 422, "end_date"),
        ("/coverages", {k: v for k, v in cover.items() if k != "end_date"}, 422, "end_date"),
        ("/coverages", {**cover, "start_date": "2026-06-01", "end_date": "2027-05-31"}, 409, "start_date"),
        (f"/coverages/{w['coverage_A']}/renew", {"scheme_id": 999999}, 422, "scheme_id"),
        (f"/coverages/{w['coverage_A']}/suspend", {"reason": 5}, 422, "reason"),
        # pre-authorisations
        ("/preauthorizations", {**preauth, "valid_to": "2026-02-01"}, 422, "valid_to"),
        ("/preauthorizations", {**preauth, "valid_to": "2027-12-31"}, 422, "valid_to"),
        ("/preauthorizations", {**preauth, "benefit_code": "NOPE"}, 422, "benefit_code"),
        ("/preauthorizations", {**preauth, "member_number": "NOBODY"}, 422, "member_number"),
        ("/preauthorizations", {**preauth, "status": "approved"}, 422, "status"),
        # verification: bad input is still bad input
        ("/coverage/verify", {"member_number": "A-0001"}, 422, "service_date"),
        ("/coverage/verify", {"member_number": "A-0001", "service_date": "tomorrow"}, 422, "service_date"),
        ("/coverage/verify", {"member_number": "A-0001", "service_date": "2026-01-01", "x": 1}, 422, "x"),
    ]


def test_bad_input_answers_with_field_errors_and_writes_nothing(world, platform):
    wrong = []
    for path, body, status, field in _bad_posts(world):
        before = counts()
        response = platform("POST", path, body)
        if response.status_code != status:
            wrong.append((path, body, response.status_code, response.get_data(as_text=True)[:300]))
            continue
        problem = assert_problem(response, status)
        if field not in problem.get("errors", {}):
            wrong.append((path, body, "no error for " + field, problem))
        if counts() != before:
            wrong.append((path, body, "wrote rows"))
    assert wrong == []


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"null", b'"string"', b"{"])
def test_a_body_that_is_not_a_json_object_is_422(world, platform, raw):
    before = counts()
    response = platform.client.post(
        f"{PREFIX}/companies", data=raw, headers={**platform.headers, "Content-Type": "application/json"}
    )
    assert "body" in assert_problem(response, 422)["errors"]
    assert counts() == before


def test_hostile_but_valid_names_are_stored_verbatim(world, platform):
    name = "<script>alert('x')</script> & \"Robert'); DROP TABLE schemes;--"
    scheme = platform.post("/schemes", {"company_id": world["A"], "code": "HOSTILE", "name": name})
    assert platform.get(f"/schemes/{scheme['id']}")["name"] == name
    assert platform.get("/schemes?q=%27%29%3B+DROP")["total"] == 1


def test_unknown_and_out_of_range_ids_in_the_path_are_404(world, platform):
    for path in ("/schemes/999999", "/schemes/99999999999", "/members/0", "/coverages/999999", "/preauthorizations/9"):
        assert_problem(platform("GET", path), 404)
    assert_problem(platform("POST", "/coverages/999999/suspend"), 404)
    assert_problem(platform("PUT", "/schemes/999999", {"name": "x"}), 404)


# --- the OpenAPI document --------------------------------------------------------------------------


def test_every_insurance_endpoint_is_in_the_openapi_document(client):
    paths = client.get(f"{PREFIX}/openapi.json").get_json()["paths"]
    expected = {
        "/companies": {"get", "post"},
        "/companies/{company_id}": {"get"},
        "/benefit-categories": {"get", "post"},
        "/benefits": {"get", "post"},
        "/schemes": {"get", "post"},
        "/schemes/{scheme_id}": {"get", "put"},
        "/schemes/{scheme_id}/clone": {"post"},
        "/schemes/{scheme_id}/benefits": {"post"},
        "/schemes/{scheme_id}/benefits/{scheme_benefit_id}": {"put", "delete"},
        "/premium-rates": {"get", "post"},
        "/premium-rates/quote": {"post"},
        "/members": {"get", "post"},
        "/members/{member_id}": {"get"},
        "/coverages": {"get", "post"},
        "/coverages/{coverage_id}": {"get"},
        "/coverages/{coverage_id}/suspend": {"post"},
        "/coverages/{coverage_id}/reinstate": {"post"},
        "/coverages/{coverage_id}/cancel": {"post"},
        "/coverages/{coverage_id}/renew": {"post"},
        "/preauthorizations": {"get", "post"},
        "/preauthorizations/{preauth_id}": {"get"},
        "/preauthorizations/{preauth_id}/approve": {"post"},
        "/preauthorizations/{preauth_id}/decline": {"post"},
        "/coverage/verify": {"post"},
        "/coverage/check/{member_number}": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths.get(path, {})) == methods, path
        for operation in paths[path].values():
            assert operation["tags"] == ["Insurance"] and operation["summary"] and operation["x-roles"]
    scheme_in = client.get(f"{PREFIX}/openapi.json").get_json()["components"]["schemas"]["SchemeIn"]
    assert set(scheme_in["required"]) == {"company_id", "code", "name"}


def test_update_keeps_left_out_fields_and_null_clears_only_what_may_be_empty(world, platform):
    path = f"/schemes/{world['scheme_A']}"
    kept = platform.put(path, {"name": None, "currency": None, "reason": "Limit lifted by the board"})
    assert (kept["name"], kept["currency"], kept["annual_limit"]) == ("Gold A", "KES", "500000.00")
    cleared = platform.put(path, {"annual_limit": None, "reason": "Limit lifted by the board"})
    assert (cleared["name"], cleared["annual_limit"]) == ("Gold A", None)
    opd = next(b for b in cleared["benefits"] if b["benefit_code"] == "OPD")
    term = platform.put(f"{path}/benefits/{opd['id']}", {"annual_limit": None, "covered": None, "reason": "No cap"})
    assert (term["annual_limit"], term["covered"], term["copay_percent"]) == (None, True, "10.00")


# --- review trigger settings (ADJUDICATION.md, review triggers) --------------------------------------------------

REVIEW_SETTINGS = {
    "review_sample_percent": 5,
    "duplicate_window_days": 7,
    "duplicate_score_threshold": 75,
    "variance_factor": "2.50",
}


def test_review_settings_are_set_cleared_and_cloned_through_the_api(world, platform):
    body = {"company_id": world["A"], "code": "REV", "name": "Reviewed", "status": "draft", **REVIEW_SETTINGS}
    scheme = platform.post("/schemes", body)
    assert {key: scheme[key] for key in REVIEW_SETTINGS} == REVIEW_SETTINGS
    changed = platform.put(f"/schemes/{scheme['id']}", {"variance_factor": None})
    assert (changed["variance_factor"], changed["duplicate_window_days"]) == (None, 7)
    clone = platform.post(f"/schemes/{scheme['id']}/clone", {"code": "REV-2027", "name": "Reviewed 2027"})
    assert {key: clone[key] for key in REVIEW_SETTINGS} == {**REVIEW_SETTINGS, "variance_factor": None}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("review_sample_percent", 101),
        ("review_sample_percent", -1),
        ("review_sample_percent", "5"),
        ("duplicate_window_days", 366),
        ("duplicate_score_threshold", 0),
        ("duplicate_score_threshold", 101),
        ("variance_factor", "0"),
        ("variance_factor", "1.234"),
        ("variance_factor", "lots"),
    ],
)
def test_review_settings_out_of_range_answer_422_and_save_nothing(world, platform, field, value):
    response = platform("POST", "/schemes", {"company_id": world["A"], "code": "BAD", "name": "Bad", field: value})
    assert response.status_code == 422 and field in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Scheme).where(Scheme.code == "BAD")) == 0


def test_the_openapi_document_states_the_review_settings_constraints(client):
    spec = client.get(f"{PREFIX}/openapi.json").get_json()
    fields = spec["components"]["schemas"]["SchemeIn"]["properties"]
    bounds = {
        name: (fields[name]["minimum"], fields[name]["maximum"], fields[name]["default"])
        for name in ("review_sample_percent", "duplicate_window_days", "duplicate_score_threshold")
    }
    assert bounds == {
        "review_sample_percent": (0, 100, 0),
        "duplicate_window_days": (0, 365, 3),
        "duplicate_score_threshold": (1, 100, 60),
    }
    assert "variance_factor" in fields
