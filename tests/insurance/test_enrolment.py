"""Enrolment that can't lie: cover lies within the scheme's effective dates and on the insurer's own scheme (422
with the reason, a field error on the page), the page lists only the chosen insurer's schemes (htmx, and without
JavaScript too), and member numbers left blank come from the insurer's pattern, unique and in sequence."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from blueprints.insurance import services
from blueprints.insurance.models import Company, Coverage, Member
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_user
from tests.insurance.test_views import HX, enrol_form

D = date.fromisoformat


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def person(number: str = "", **changes) -> services.MemberDetails:
    values = {
        "member_number": number,
        "first_name": "Achieng",
        "last_name": "Otieno",
        "date_of_birth": D("1984-03-02"),
        "gender": "female",
    }
    return services.MemberDetails(**(values | changes))


@pytest.fixture
def company(ins):
    return ins.company(code="ACME", name="Acme Insurance")


@pytest.fixture
def staff(company):
    return make_user(Role.ADMIN, company_id=company.id)


@pytest.fixture
def next_year(ins, company):
    """A scheme that takes effect on 1 Jan 2027 and ends on 31 Dec 2027."""
    return ins.scheme(
        company, status="active", code="GOLD27", effective_from=D("2027-01-01"), effective_to=D("2027-12-31")
    )


def enrol(staff, company, scheme, start, end=None, dependants=()):
    return services.enrol(
        actor=staff,
        company_id=company.id,
        principal=person(),
        dependants=list(dependants),
        scheme_id=scheme.id,
        start_date=start,
        end_date=end,
    )


# --- services -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("2026-12-04", None, "start_date", "takes effect on 1 Jan 2027"),
        ("2027-06-01", "2028-05-31", "end_date", "ends on 31 Dec 2027"),
        ("2028-01-02", None, "start_date", "ended on 31 Dec 2027"),
    ],
)
def test_enrolment_outside_the_schemes_dates_is_refused_and_writes_nobody(
    staff, company, next_year, start, end, field, message
):
    with pytest.raises(Invalid) as refused:
        enrol(staff, company, next_year, D(start), D(end) if end else None)
    assert refused.value.status == 422 and message in refused.value.errors[field][0]
    assert count(Member) == 0 and count(Coverage) == 0


def test_cover_left_open_ends_with_the_scheme(staff, company, next_year):
    head, _ = enrol(staff, company, next_year, D("2027-03-01"))
    (cover,) = services.coverages_of(head.id)
    assert (cover.start_date, cover.end_date) == (D("2027-03-01"), D("2027-12-31"))


def test_another_insurers_scheme_is_refused(staff, company, ins):
    theirs = ins.scheme(ins.company(code="ZEN", name="Zenith"), status="active", code="ZGOLD")
    with pytest.raises(Exception) as refused:  # 404 to a company user: the scheme is not theirs to see
        enrol(staff, company, theirs, D("2026-12-01"))
    assert refused.value.status in (404, 422) and count(Member) == 0
    admin = make_user(Role.ADMIN)
    with pytest.raises(Invalid) as refused:
        enrol(admin, company, theirs, D("2026-12-01"))
    assert "another insurer" in refused.value.errors["scheme_id"][0] and count(Member) == 0


def test_blank_member_numbers_follow_the_insurers_pattern_in_sequence(staff, company, ins):
    scheme = ins.scheme(company, status="active")
    head, family = enrol(staff, company, scheme, D("2026-12-01"), dependants=[person(first_name="Baraka")])
    assert (head.member_number, family[0].member_number) == ("ACME-000001", "ACME-000002")
    services.set_member_number_pattern(actor=staff, company_id=company.id, pattern="am/{seq:04d}")
    ins.member(company, number="AM/0004")  # typed by hand earlier: skipped, never reused
    made = [services.create_member(actor=staff, company_id=company.id, details=person()).member_number for _ in "ab"]
    assert made == ["AM/0003", "AM/0005"]


@pytest.mark.parametrize("pattern", ["{code}", "{seq:06d", "{name}-{seq}", "{seq:06d}" + "X" * 40, "<{seq}>"])
def test_a_pattern_that_cannot_make_a_member_number_is_refused(staff, company, pattern):
    with pytest.raises(Invalid) as refused:
        services.set_member_number_pattern(actor=staff, company_id=company.id, pattern=pattern)
    assert "member_number_pattern" in refused.value.errors
    db.session.expire_all()
    assert db.session.get(Company, company.id).member_number_pattern is None


# --- pages ----------------------------------------------------------------------------------------


@pytest.fixture
def platform_admin(login_as):
    return login_as(Role.ADMIN)


def test_the_page_shows_the_schemes_date_reason_on_the_field_and_keeps_the_form(
    client, staff, login_as, company, next_year
):
    login_as(Role.ADMIN, company_id=company.id)
    response = client.post("/insurance/members/new", data=enrol_form(next_year, start_date="2026-12-04"))
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "takes effect on 1 Jan 2027" in text and 'id="start_date-errors"' in text
    assert 'value="ACM-100"' in text and 'value="Baraka"' in text
    assert count(Member) == 0


def test_the_page_enrols_with_a_blank_member_number(client, login_as, company, ins):
    login_as(Role.ADMIN, company_id=company.id)
    scheme = ins.scheme(company, status="active")
    response = client.post(
        "/insurance/members/new",
        data=enrol_form(scheme, member_number="", **{"dependants-0-member_number": ""}, start_date="2026-12-01"),
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert sorted(db.session.scalars(select(Member.member_number))) == ["ACME-000001", "ACME-000002"]


def test_choosing_an_insurer_lists_only_its_schemes(client, platform_admin, company, ins):
    ours = ins.scheme(company, status="active", code="OURS")
    other = ins.company(code="ZEN", name="Zenith")
    theirs = ins.scheme(other, status="active", code="THEIRS")
    ins.scheme(other, status="retired", code="OLDZEN")
    swapped = client.get(f"/insurance/members/new/schemes?company_id={other.id}", headers=HX).get_data(as_text=True)
    assert swapped.lstrip().startswith('<div id="scheme-choice">')
    assert "THEIRS" in swapped and "OURS" not in swapped and "OLDZEN" not in swapped
    page = client.get("/insurance/members/new").get_data(as_text=True)
    assert 'hx-get="/insurance/members/new/schemes"' in page and "<noscript>" in page
    # without JavaScript: the button sends the form back with the chosen insurer's schemes, nothing enrolled
    typed = enrol_form(ours, company_id=str(other.id), show_schemes="1")
    back = client.post("/insurance/members/new", data=typed)
    text = back.get_data(as_text=True)
    assert back.status_code == 200 and f'value="{theirs.id}"' in text and "OURS" not in text
    assert 'value="Achieng"' in text and count(Member) == 0


def test_the_scheme_list_for_a_bad_insurer_is_empty_not_an_error(client, platform_admin):
    for value in ("999999", "abc", "-1"):
        response = client.get(f"/insurance/members/new/schemes?company_id={value}", headers=HX)
        assert response.status_code == 200 and "Choose a scheme" in response.get_data(as_text=True)


# --- API ------------------------------------------------------------------------------------------


def test_the_api_refuses_cover_outside_the_schemes_dates_with_the_reason(
    client, api_token, company, staff, next_year, ins
):
    ins.member(company, number="ACM-7")
    headers = api_token(staff)
    body = {"member_number": "ACM-7", "scheme_id": next_year.id, "start_date": "2026-12-04", "end_date": "2027-06-30"}
    problem = assert_problem(client.post("/api/v1/coverages", json=body, headers=headers), 422)
    assert "takes effect on 1 Jan 2027" in problem["errors"]["start_date"][0]
    made = client.post("/api/v1/coverages", json=body | {"start_date": "2027-01-01"}, headers=headers)
    assert made.status_code == 201 and made.get_json()["end_date"] == "2027-06-30"


def test_the_api_takes_a_member_number_pattern_for_a_new_insurer(client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    bad = client.post(
        "/api/v1/companies", json={"code": "JUB", "name": "Jubilee", "member_number_pattern": "{x}"}, headers=headers
    )
    assert "member_number_pattern" in assert_problem(bad, 422)["errors"]
    made = client.post(
        "/api/v1/companies",
        json={"code": "JUB", "name": "Jubilee", "member_number_pattern": "{code}{seq:05d}"},
        headers=headers,
    )
    assert made.status_code == 201
    assert db.session.get(Company, made.get_json()["id"]).member_number_pattern == "{code}{seq:05d}"
