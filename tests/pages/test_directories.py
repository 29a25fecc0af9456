"""The hospitals' and insurers' names every page shows are kept by the process (medcover.memo.per_process): read
once, not on every request; yet a rename made here shows at once, one made by another process within
DIRECTORY_SECONDS, a hospital added anywhere at once, and a change that is undone never shows."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, text

from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import memo
from medcover.extensions import db
from medcover.rbac import Role, Tenant
from tests.factories import make_company, make_institution, make_scheme, make_user


class Clock:
    now = 1_000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(memo, "time", fake)
    return fake


def _elsewhere(sql: str, **values) -> None:
    """A change as another process makes it: the rows change, and no flush of this process sees it."""
    db.session.execute(text(sql), values)


def test_names_are_read_once_and_another_process_s_rename_shows_when_the_time_is_up(app, clock, count_queries):
    riverside, acme = make_institution(name="Riverside"), make_company(name="Acme Insurance")
    db.session.commit()
    assert hospital.institution_names()[riverside.id] == "Riverside"
    assert insurance.company_names()[acme.id] == "Acme Insurance"
    _elsewhere("UPDATE medical_institutions SET name = 'Riverside County' WHERE id = :id", id=riverside.id)
    _elsewhere("UPDATE companies SET name = 'Acme Health' WHERE id = :id", id=acme.id)
    clock.now += app.config["DIRECTORY_SECONDS"] - 1
    with count_queries() as kept:
        assert hospital.institution_names()[riverside.id] == "Riverside"
        assert insurance.company_names()[acme.id] == "Acme Insurance"
    assert kept.count == 0
    clock.now += 1
    assert hospital.institution_names()[riverside.id] == "Riverside County"
    assert insurance.company_names()[acme.id] == "Acme Health"


def test_a_rename_made_by_this_process_shows_at_once(clock):
    riverside = make_institution(name="Riverside")
    db.session.commit()
    assert hospital.institution_names()[riverside.id] == "Riverside"
    riverside.name = "Riverside County"
    db.session.commit()
    assert hospital.institution_names()[riverside.id] == "Riverside County"


def test_a_hospital_added_elsewhere_is_named_at_once_and_an_unknown_one_is_looked_for_once_a_second(
    clock, count_queries
):
    make_institution(name="Riverside")
    db.session.commit()
    names = hospital.institution_names()
    clock.now += 2
    institutions = db.metadata.tables["medical_institutions"]  # a plain INSERT: the column defaults, no flush
    db.session.execute(insert(institutions).values(code="LAKE", name="Lakeside", kind="clinic", active=True))
    lakeside = db.session.scalar(text("SELECT id FROM medical_institutions WHERE code = 'LAKE'"))
    assert names.get(lakeside) == "Lakeside" and lakeside in hospital.institution_names()
    clock.now += 1
    with count_queries() as asked:
        # a row naming a hospital that is gone: one read, not one a row
        assert [hospital.institution_names().get(10**6, "") for _row in range(50)] == [""] * 50
    clock.now += 1
    with count_queries() as a_second_later:
        assert 10**6 not in hospital.institution_names()
    assert (asked.count, a_second_later.count) == (1, 1)


def test_a_change_read_before_it_is_undone_never_shows(clock):
    riverside = make_institution(name="Riverside")
    db.session.commit()
    hospital.institution_names()
    riverside.name = "Half-typed"
    db.session.flush()
    assert hospital.institution_names()[riverside.id] == "Half-typed"  # this transaction sees its own change
    db.session.rollback()
    assert hospital.institution_names()[riverside.id] == "Riverside"


def test_a_page_reads_the_names_once_per_process_not_once_per_request(client, login, count_queries):
    riverside = make_institution(name="Riverside")
    login(make_user(Role.BILLING_CLERK, institution_id=riverside.id))
    db.session.commit()
    client.get("/billing/invoices")
    with count_queries() as warm:
        page = client.get("/billing/invoices")
    assert page.status_code == 200 and "Riverside" in page.get_data(as_text=True)
    assert not any("FROM medical_institutions" in statement for statement in warm.statements)


def test_a_change_to_what_the_names_do_not_show_keeps_them(clock, count_queries):
    riverside = make_institution(name="Riverside")
    db.session.commit()
    hospital.institution_names()
    riverside.active = False
    db.session.commit()
    ident = riverside.id
    with count_queries() as kept:
        assert hospital.institution_names()[ident] == "Riverside"
    assert kept.count == 0, kept.statements


def test_a_change_read_before_it_is_undone_never_shows_even_when_nothing_was_kept(clock):
    riverside = make_institution(name="Riverside")
    db.session.commit()
    riverside.name = "Half-typed"
    db.session.flush()
    assert hospital.institution_names()[riverside.id] == "Half-typed"
    db.session.rollback()
    assert hospital.institution_names()[riverside.id] == "Riverside"


def test_no_hospital_at_all_is_not_looked_for(clock, count_queries):
    make_institution(name="Riverside")
    db.session.commit()
    hospital.institution_names()
    clock.now += 5
    with count_queries() as asked:
        assert hospital.institution_names().get(None, "") == "" and None not in hospital.institution_names()
    assert asked.count == 0


def test_the_work_queue_s_schemes_are_kept_and_each_tenant_sees_its_own(clock, count_queries):
    acme, other = make_company(code="ACME", name="Acme"), make_company(code="OTH", name="Other")
    silver, gold = make_scheme(acme, code="SILVER", name="Silver"), make_scheme(acme, code="GOLD", name="Gold")
    theirs = make_scheme(other, code="BASIC", name="Basic")
    db.session.commit()
    insurer, platform = Tenant(None, acme.id), Tenant(None, None)
    # by company and code, as schemes_of gives them
    assert insurance.scheme_codes_and_names(insurer) == {gold.id: ("GOLD", "Gold"), silver.id: ("SILVER", "Silver")}
    assert list(insurance.scheme_codes_and_names(platform)) == [gold.id, silver.id, theirs.id]
    assert insurance.scheme_codes_and_names(Tenant(1, None)) == {}
    with count_queries() as kept:
        insurance.scheme_codes_and_names(insurer)
    assert kept.count == 0
    gold.name = "Gold Plus"  # a rename made here shows at once
    db.session.commit()
    assert insurance.scheme_codes_and_names(insurer)[gold.id] == ("GOLD", "Gold Plus")
