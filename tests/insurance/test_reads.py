"""The reads other domains make of insurance: plain values and frozen dataclasses, scoped to the caller's
tenant, in a fixed number of queries."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from blueprints.insurance import services
from medcover.errors import NotFound
from medcover.extensions import db
from medcover.rbac import Tenant
from tests.factories import make_company, make_coverage, make_member, make_scheme

D = date.fromisoformat
EVERYONE = Tenant(None, None)


@pytest.fixture
def world():
    """Two insurers; Acme has two schemes and three members, Beta one of each."""
    acme, beta = make_company("ACME", "Acme Health"), make_company("BETA", "Beta Cover")
    gold = make_scheme(acme, code="GOLD", name="Gold", annual_limit=Decimal("500000.00"))
    basic = make_scheme(acme, code="BASIC", name="Basic", status="draft")
    other = make_scheme(beta, code="PLAN", name="Beta Plan")
    amani = make_member(acme, member_number="ACME-1", first_name="Amani", last_name="Kariuki", gender="male")
    baraka = make_member(acme, member_number="ACME-2", first_name="Baraka", last_name="Abdi")
    child = make_member(acme, member_number="ACME-2-01", first_name="Zawadi", last_name="Abdi", principal=baraka)
    neema = make_member(beta, member_number="BETA-1", first_name="Neema", last_name="Chebet")
    members = {"amani": amani, "baraka": baraka, "child": child, "neema": neema}
    return SimpleNamespace(acme=acme, beta=beta, gold=gold, basic=basic, other=other, members=members)


def mine(world) -> Tenant:
    return Tenant(None, world.acme.id)


def frozen(value) -> bool:
    return dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen


# --- schemes -------------------------------------------------------------------------------------


def test_schemes_of_lists_the_tenants_schemes_by_company_and_code_with_plain_status(world):
    found = services.schemes_of(mine(world))

    assert [(s.code, s.name, s.company_id) for s in found] == [
        ("BASIC", "Basic", world.acme.id),
        ("GOLD", "Gold", world.acme.id),
    ]
    assert all(frozen(s) for s in found)
    assert [type(s.status) for s in found] == [str, str] and [s.status for s in found] == ["draft", "active"]
    assert found[1].annual_limit == Decimal("500000.00") and found[0].annual_limit is None
    assert [s.id for s in services.schemes_of(EVERYONE)] == [world.basic.id, world.gold.id, world.other.id]
    assert services.schemes_of(Tenant(7, None)) == []


def test_get_scheme_is_a_summary_and_another_insurers_scheme_is_not_found(world):
    scheme = services.get_scheme(mine(world), world.gold.id)

    assert frozen(scheme) and (scheme.id, scheme.code, scheme.status) == (world.gold.id, "GOLD", "active")
    with pytest.raises(NotFound):
        services.get_scheme(mine(world), world.other.id)


# --- members -------------------------------------------------------------------------------------


def test_members_per_scheme_counts_distinct_members_with_active_cover_in_the_window(world):
    m = world.members
    make_coverage(m["amani"], world.gold, D("2026-01-01"), D("2026-12-31"))
    make_coverage(m["amani"], world.gold, D("2027-01-01"), D("2027-12-31"))  # renewed: still one member
    make_coverage(m["baraka"], world.gold, D("2026-03-01"), D("2026-06-30"))
    make_coverage(m["child"], world.gold, D("2026-01-01"), D("2026-12-31"), status="suspended")
    make_coverage(m["child"], world.basic, D("2025-01-01"), D("2025-12-31"))
    make_coverage(m["neema"], world.other, D("2026-01-01"), D("2026-12-31"))

    count = services.members_per_scheme

    assert count(mine(world), start=None, end=None) == {world.gold.id: 2, world.basic.id: 1}
    assert count(mine(world), start=D("2026-07-01"), end=D("2026-07-31")) == {world.gold.id: 1}
    assert count(mine(world), start=D("2026-06-30"), end=None) == {world.gold.id: 2}
    assert count(mine(world), start=None, end=D("2025-12-31")) == {world.basic.id: 1}
    assert count(EVERYONE, start=D("2026-01-01"), end=D("2026-12-31")) == {world.gold.id: 2, world.other.id: 1}


@pytest.mark.parametrize(
    ("start", "end"), [(None, None), ("2026-02-01", None), (None, "2026-02-01"), ("2026-04-01", "2026-05-31")]
)
def test_members_per_scheme_is_what_the_dashboard_counted_from_coverages_query(world, start, end):
    m = world.members
    make_coverage(m["amani"], world.gold, D("2026-01-01"), D("2026-03-31"))
    make_coverage(m["baraka"], world.gold, D("2026-05-01"), D("2026-12-31"))
    make_coverage(m["child"], world.basic, D("2026-01-01"), D("2026-12-31"), status="lapsed")
    make_coverage(m["neema"], world.other, D("2026-01-01"), D("2026-12-31"))
    start, end = (D(start) if start else None), (D(end) if end else None)

    for tenant in (mine(world), EVERYONE):
        covers = services.coverages_query(tenant, status="active").order_by(None).subquery()
        stmt = select(covers.c.scheme_id, func.count(func.distinct(covers.c.member_id))).group_by(covers.c.scheme_id)
        if start is not None:
            stmt = stmt.where(covers.c.end_date >= start)
        if end is not None:
            stmt = stmt.where(covers.c.start_date <= end)
        assert services.members_per_scheme(tenant, start=start, end=end) == dict(db.session.execute(stmt).all())


def test_member_names_by_number_for_the_tenants_members_only(world):
    names = services.member_names(mine(world), ["ACME-1", "ACME-2-01", "BETA-1", "NOBODY", ""])

    assert names == {"ACME-1": "Amani Kariuki", "ACME-2-01": "Zawadi Abdi"}
    assert services.member_names(EVERYONE, {"BETA-1"}) == {"BETA-1": "Neema Chebet"}
    assert services.member_names(mine(world), []) == {}


def test_members_for_seed_lists_every_member_by_name(world):
    found = services.members_for_seed()

    assert [m.member_number for m in found] == ["ACME-2", "ACME-2-01", "BETA-1", "ACME-1"]
    amani = found[-1]
    assert frozen(amani) and (amani.first_name, amani.last_name, amani.gender) == ("Amani", "Kariuki", "male")
    assert (amani.id, amani.date_of_birth, amani.phone) == (world.members["amani"].id, date(1985, 5, 17), None)


def test_member_reads_return_summaries_scoped_to_the_tenant(world):
    m = world.members
    amani = services.get_member(mine(world), m["amani"].id)
    by_number = services.member_by_number(mine(world), " acme-1 ")
    batch = services.members_by_id(mine(world), [m["amani"].id, m["baraka"].id, m["neema"].id, None])

    assert frozen(amani) and amani == by_number
    assert (amani.member_number, amani.full_name, amani.company_id) == ("ACME-1", "Amani Kariuki", world.acme.id)
    assert sorted(x.member_number for x in batch) == ["ACME-1", "ACME-2"] and all(frozen(x) for x in batch)
    assert services.members_by_id(mine(world), []) == []
    for lookup in (
        lambda: services.get_member(mine(world), m["neema"].id),
        lambda: services.member_by_number(mine(world), "BETA-1"),
    ):
        with pytest.raises(NotFound):
            lookup()


def test_get_company_is_a_summary(world):
    company = services.get_company(mine(world), world.acme.id)

    assert frozen(company) and (company.id, company.code, company.name, company.active) == (
        world.acme.id,
        "ACME",
        "Acme Health",
        True,
    )


# --- coverages -----------------------------------------------------------------------------------


def test_coverage_summaries_by_id_with_the_member_in_one_query(world, count_queries):
    m = world.members
    first = make_coverage(m["amani"], world.gold, D("2026-01-01"))
    second = make_coverage(m["child"], world.gold, D("2026-02-01"), status="suspended")
    theirs = make_coverage(m["neema"], world.other, D("2026-01-01"))

    with count_queries() as counted:
        found = services.coverage_summaries(mine(world), [first.id, second.id, theirs.id, 987654])

    assert counted.count == 1
    assert set(found) == {first.id, second.id}
    cover = found[second.id]
    assert frozen(cover) and (cover.member_id, cover.member_number, cover.member_name) == (
        m["child"].id,
        "ACME-2-01",
        "Zawadi Abdi",
    )
    assert (cover.scheme_id, cover.company_id, cover.start_date, cover.end_date) == (
        world.gold.id,
        world.acme.id,
        D("2026-02-01"),
        D("2027-01-31"),
    )
    assert cover.status == "suspended" and cover.status.value == "suspended"
    assert set(services.coverage_summaries(EVERYONE, [theirs.id])) == {theirs.id}
    assert services.coverage_summaries(mine(world), []) == {}


def test_get_coverage_and_coverages_of_are_summaries_latest_first(world):
    m = world.members
    old = make_coverage(m["amani"], world.gold, D("2025-01-01"))
    new = make_coverage(m["amani"], world.gold, D("2026-01-01"))
    theirs = make_coverage(m["neema"], world.other, D("2026-01-01"))

    cover = services.get_coverage(mine(world), new.id)
    assert frozen(cover) and (cover.id, cover.member_number, cover.status) == (new.id, "ACME-1", "active")
    assert [c.id for c in services.coverages_of(m["amani"].id)] == [new.id, old.id]
    assert all(frozen(c) for c in services.coverages_of(m["amani"].id))
    assert services.coverages_of(m["baraka"].id) == []
    with pytest.raises(NotFound):
        services.get_coverage(mine(world), theirs.id)


def test_members_by_id_gives_the_platform_every_member_and_a_hospital_none(world):
    ids = [member.id for member in world.members.values()]
    everyone = services.members_by_id(Tenant(None, None), ids)
    assert sorted(x.id for x in everyone) == sorted(ids)
    assert services.members_by_id(Tenant(institution_id=1, company_id=None), ids) == []
