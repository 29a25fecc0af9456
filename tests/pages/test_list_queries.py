"""The list pages read a fixed number of times, whatever the data: the claims list, the adjudicators' work queue,
the invoices list and the patient search, whole and as their HTMX partials, send the same statements with 10 rows
as with 10,000, and no more than six (the session with its user, the tenant's name, the page with its count, the
names on it, and the page's own filters or audit entry)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import event, text

from medcover.extensions import db
from medcover.rbac import Role
from tests import bulk
from tests.core.conftest import RequestScopedClient
from tests.factories import make_company, make_institution, make_scheme, make_user

MAX_QUERIES = 6
HX = {"HX-Request": "true"}
#: (who, address, a row's marker, the rows it lists): the clerk's claims and invoices, the adjudicator's queue, the
#: desk's search
PAGES = {
    "claims list": ("clerk", "/claims", '<tr id="claim-', "claims"),
    "claims list, insurer's side": ("adjudicator", "/claims", '<tr id="claim-', "claims"),
    "work queue": ("adjudicator", "/claims/queue", '<tr id="queue-', "claims"),
    "invoices list": ("clerk", "/billing/invoices", '<tr id="invoice-', "invoices"),
    "patient search": ("desk", "/hospital/patients?q=mwa", '<tr id="patient-', "patients"),
}


@pytest.fixture
def client(app):
    return RequestScopedClient(app, app.response_class, use_cookies=True)


@dataclass
class Lists:
    hospital: object
    company: object
    users: dict

    def grow(self, n: int, rows: str) -> None:
        """``n`` more patients, and as many claims waiting for review (of as many members) or issued invoices."""
        patients = bulk.patients(n, institution=self.hospital)
        if rows == "claims":
            members = bulk.members(n, company=self.company)
            bulk.claims(
                n, institution_id=self.hospital.id, company_id=self.company.id, member_ids=members, patient_ids=patients
            )
        elif rows == "invoices":
            bulk.invoices(
                n, patient_ids=patients, institution_id=self.hospital.id, company_id=self.company.id, status="issued"
            )
        db.session.commit()


@pytest.fixture
def lists(db_session) -> Lists:
    hospital = make_institution(code="HA", name="Hospital A")
    make_institution(code="HB", name="Hospital B")
    company = make_company(code="ACME", name="Acme Insurance")
    make_scheme(company, code="GOLD", name="Gold")
    users = {
        "clerk": make_user(Role.BILLING_CLERK, institution_id=hospital.id),
        "desk": make_user(Role.RECEPTIONIST, institution_id=hospital.id),
        "adjudicator": make_user(Role.ADJUDICATOR, company_id=company.id),
    }
    return Lists(hospital, company, users)


def _reads(client, count_queries, address: str, marker: str) -> list[tuple[int, int]]:
    """(statements, rows shown) of the whole page and of its HTMX partial."""
    found = []
    for headers in ({}, HX):
        client.get(address, headers=headers)  # the first request of a session may write (its last-seen time)
        with count_queries() as counted:
            answer = client.get(address, headers=headers)
        assert answer.status_code == 200
        found.append((counted.queries, answer.get_data(as_text=True).count(marker)))
    return found


@pytest.mark.parametrize("page", list(PAGES))
def test_a_list_page_reads_as_often_for_10_000_rows_as_for_10(lists, client, login, count_queries, page):
    who, address, marker, rows = PAGES[page]
    login(lists.users[who])
    lists.grow(10, rows)
    few = _reads(client, count_queries, address, marker)
    assert [shown for _queries, shown in few] == [10, 10]
    lists.grow(9_990, rows)
    many = _reads(client, count_queries, address, marker)
    per_page = 20 if rows == "patients" else 50  # the search's first matches; a page of a list
    assert [shown for _queries, shown in many] == [per_page, per_page]
    assert [queries for queries, _shown in few] == [queries for queries, _shown in many]
    assert all(queries <= MAX_QUERIES for queries, _shown in many), many


def _page_statement(client, address: str) -> tuple[str, dict]:
    """The statement that reads the page's rows with their count, as sent to the database, and its parameters."""
    sent = []

    def before(conn, cursor, statement, params, context, executemany):
        sent.append((statement, params))

    client.get(address, headers=HX)
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        assert client.get(address, headers=HX).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    [found] = [(statement, params) for statement, params in sent if "total_rows" in statement]
    return found


def _page_node(plan: dict) -> dict:
    """Under the page's LIMIT, the node that gives its rows (the count is an InitPlan beside it)."""
    assert plan["Node Type"] == "Limit", plan["Node Type"]
    [rows] = [child for child in plan["Plans"] if child.get("Parent Relationship") == "Outer"]
    return rows


@pytest.mark.parametrize("page", [p for p, (_w, _a, _m, rows) in PAGES.items() if rows != "patients"])
def test_on_postgresql_a_list_page_is_read_off_an_index_in_its_order(lists, client, login, page):
    """Its 50 rows are the first entries of an index in the list's order: PostgreSQL neither reads nor sorts the
    other 9,950 to find them (migration 0021)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    who, address, _marker, rows = PAGES[page]
    login(lists.users[who])
    lists.grow(10_000, rows)
    db.session.execute(text(f"ANALYZE {rows}"))  # as autovacuum would have after such a load
    statement, params = _page_statement(client, address)

    [[explained]] = db.session.connection().exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).all()
    node = _page_node(explained[0]["Plan"])

    assert node["Node Type"] in ("Index Scan", "Index Only Scan"), node
    assert node["Relation Name"] == rows
