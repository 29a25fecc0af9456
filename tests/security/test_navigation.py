"""The side navigation offers only what opens: every entry, for every role on each side, answers the person
who sees it; entries are filtered by the route permission table and by side; and the nav is worked out once
per request."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from blueprints.hospital.services import orders, personnel
from medcover import navigation
from medcover.extensions import db
from medcover.rbac import STAFF, Role
from tests.core.conftest import RequestScopedClient
from tests.factories import PASSWORD, make_company, make_institution, make_personnel, make_user

HOSPITAL_BILLING = {"Invoices", "Tariffs", "Receivables", "Billing settings"}
INSURER_ONLY = {"Schemes", "Members", "Work queue", "Claims dashboard", "Agents"}
HOSPITAL_ONLY = HOSPITAL_BILLING | {"Patients", "Appointments", "Staff", "Pharmacy", "Lab", "Radiology"}
#: (role, side) for each kind of account: each demo role, both sides where a role exists on both, the platform
ACCOUNTS = [
    (Role.ADMIN, "hospital"),
    (Role.RECEPTIONIST, "hospital"),
    (Role.BILLING_CLERK, "hospital"),
    (Role.FINANCE_OFFICER, "hospital"),
    (Role.AUDITOR, "hospital"),
    (Role.ADMIN, "insurer"),
    (Role.ADJUDICATOR, "insurer"),
    (Role.FINANCE_OFFICER, "insurer"),
    (Role.AUDITOR, "insurer"),
    (Role.ADMIN, "platform"),
    (Role.AUDITOR, "platform"),
]
_NAV = re.compile(r'<nav id="sidenav" class="sidenav" aria-label="Main">(.*?)</nav>', re.S)
_LINK = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')


@pytest.fixture
def client(app):
    return RequestScopedClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def new_client(app):
    """``new_client(user)`` -> another browser, signed in as that user."""

    def signed_in(user):
        other = RequestScopedClient(app, app.response_class, use_cookies=True)
        assert other.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 303
        return other

    return signed_in


@dataclass(frozen=True)
class Sides:
    hospital: object
    insurer: object

    def tenant(self, side: str) -> dict:
        return {
            "hospital": {"institution_id": self.hospital.id, "company_id": None},
            "insurer": {"institution_id": None, "company_id": self.insurer.id},
            "platform": {"institution_id": None, "company_id": None},
        }[side]


@pytest.fixture
def sides(db_session) -> Sides:
    return Sides(make_institution(code="HA", name="Hospital A"), make_company(code="ACME", name="Acme"))


def nav_links(client) -> list[tuple[str, str]]:
    """(label, href) of each entry in the side navigation of the home page."""
    home = client.get("/")
    assert home.status_code == 200
    found = _NAV.search(home.get_data(as_text=True))
    assert found, "no side navigation on the home page"
    return _LINK.findall(found.group(1))


def labels(client) -> set[str]:
    return {label for _href, label in nav_links(client)}


@pytest.mark.parametrize(("role", "side"), ACCOUNTS, ids=[f"{side}-{role.value}" for role, side in ACCOUNTS])
def test_every_navigation_entry_opens_for_whoever_sees_it(client, login, sides, role, side):
    login(make_user(role, **sides.tenant(side)))
    links = nav_links(client)
    assert links[0] == ("/", "Home")
    assert len(links) >= 4, links  # everyone has work to reach, not just Home
    refused = []
    for href, label in links:
        response = client.get(href, follow_redirects=True)
        if response.status_code != 200 or response.request.path == "/auth/login":
            refused.append(f"{label} {href}: {response.status_code} at {response.request.path}")
    assert refused == []


def test_an_insurers_finance_officer_sees_no_hospital_billing(client, login, sides):
    login(make_user(Role.FINANCE_OFFICER, **sides.tenant("insurer")))
    shown = labels(client)
    assert shown & HOSPITAL_ONLY == set()
    assert {"Claims", "Payments", "Settlements", "Agents", "Members"} <= shown


def test_a_billing_clerk_sees_no_insurer_only_page(client, login, sides):
    login(make_user(Role.BILLING_CLERK, **sides.tenant("hospital")))
    shown = labels(client)
    assert shown & INSURER_ONLY == set()
    assert HOSPITAL_BILLING | {"Patients", "Claims", "Payments", "Verify cover"} <= shown


def test_a_hospital_finance_officer_sees_the_billing_pages_an_insurers_does_not(client, login, sides):
    login(make_user(Role.FINANCE_OFFICER, **sides.tenant("hospital")))
    shown = labels(client)
    assert shown >= HOSPITAL_BILLING
    assert shown & INSURER_ONLY == set()


def test_a_platform_admin_sees_both_sides(client, login, sides):
    login(make_user(Role.ADMIN, **sides.tenant("platform")))
    assert HOSPITAL_ONLY | INSURER_ONLY | {"Users", "Audit log", "Jobs"} <= labels(client)


def test_the_work_queues_are_offered_to_clinical_staff_only(client, new_client, login, sides):
    login(make_user(Role.RECEPTIONIST, **sides.tenant("hospital")))
    assert {"Pharmacy", "Lab", "Radiology"} & labels(client) == set()

    nurse = make_user(Role.RECEPTIONIST, **sides.tenant("hospital"))
    make_personnel(sides.hospital, kind="nurse", user=nurse)
    assert {"Pharmacy", "Lab", "Radiology"} <= labels(new_client(nurse))


def test_the_queue_links_follow_the_clinical_staff_at_once_without_a_query_a_page(client, login, sides, count_queries):
    nurse = make_user(Role.RECEPTIONIST, **sides.tenant("hospital"))
    record = make_personnel(sides.hospital, kind="nurse", user=nurse)
    db.session.commit()
    login(nurse)
    assert {"Pharmacy", "Lab", "Radiology"} <= labels(client)
    hospital_id = sides.hospital.id
    with count_queries() as asked:
        assert personnel.listed_as_clinical(nurse, hospital_id)  # kept by the process, as names are
    assert asked.count == 0
    record.active = False  # a change made here: the links go on the next page
    db.session.commit()
    assert {"Pharmacy", "Lab", "Radiology"} & labels(client) == set()
    assert not orders.may_use_queues(nurse)  # what the queues let in is still read every time


def test_the_navigation_is_grouped_by_area_of_work_in_order(client, login, sides):
    login(make_user(Role.ADMIN, **sides.tenant("platform")))
    page = client.get("/").get_data(as_text=True)
    groups = re.findall(r'<span class="navgroup" id="navgroup-\d+">([^<]+)</span>', _NAV.search(page).group(1))
    assert groups == list(navigation.GROUPS)


def test_an_entry_wider_than_its_route_is_narrowed_by_the_route(client, new_client, login, sides, monkeypatch):
    # A domain means "Users" for all staff, but the route lets admins only: the permission table wins.
    loose = navigation.NavItem("Users for everyone", "core.users", STAFF, group="Administration")
    monkeypatch.setattr(navigation, "_items", [*navigation._items, loose])
    login(make_user(Role.RECEPTIONIST, **sides.tenant("hospital")))
    assert "Users for everyone" not in labels(client)
    assert "Users for everyone" in labels(new_client(make_user(Role.ADMIN, **sides.tenant("hospital"))))


def test_the_navigation_is_worked_out_once_per_request(client, login, sides, monkeypatch):
    asked = []

    def clinical(user):
        asked.append(user.id)
        return True

    extra = [
        navigation.NavItem("Ward A", "hospital.patients", STAFF, group="Clinical", when=clinical),
        navigation.NavItem("Ward B", "hospital.appointments", STAFF, group="Clinical", when=clinical),
    ]
    monkeypatch.setattr(navigation, "_items", [*navigation._items, *extra])
    login(make_user(Role.RECEPTIONIST, **sides.tenant("hospital")))
    assert {"Ward A", "Ward B"} <= labels(client)
    assert len(asked) == 1  # one test for both entries, one computation for the whole page


def test_every_registered_entry_names_a_route_that_declares_its_access(app):
    with app.test_request_context():
        for item in navigation._items:
            assert navigation.route_roles(item.endpoint), item
            assert item.roles & navigation.route_roles(item.endpoint), f"{item.label}: nobody could see it"


def test_the_current_page_is_marked_and_so_is_the_list_above_a_record(client, login, sides):
    login(make_user(Role.ADMIN, **sides.tenant("platform")))
    page = client.get("/admin/users").get_data(as_text=True)
    assert '<a href="/admin/users" aria-current="page">Users</a>' in page
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert '<a href="/admin/users" aria-current="true">Users</a>' in page
    assert page.count("aria-current=") == 1
