"""The home page as each role meets it: the work waiting, as counts that link to the lists they counted, in the
same small number of queries at 10 and at 1,000 rows of each kind."""

from __future__ import annotations

import html as html_lib
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import template_rendered

from medcover import clock, work
from medcover.extensions import db
from medcover.rbac import Role, Tenant
from medcover.work import HOSPITAL, INSURER
from tests import bulk
from tests.factories import (
    add_benefit,
    make_benefit,
    make_category,
    make_company,
    make_coverage,
    make_institution,
    make_member,
    make_patient,
    make_personnel,
    make_scheme,
)

#: the most statements the home page may send, whatever the data size (sign-in session, user, the counts)
MAX_QUERIES = 12
#: the claims waiting for review were submitted this many days ago
WAITED = 9


@dataclass
class HomeWorld:
    hospital: object
    other_hospital: object
    company: object
    other_company: object
    member: object
    other_member: object
    benefit: object
    patient: object
    other_patient: object
    clinician: object
    other_clinician: object


@pytest.fixture
def hw(db_session) -> HomeWorld:
    today = clock.today()
    hospital = make_institution(code="HA", name="Hospital A")
    other_hospital = make_institution(code="HB", name="Hospital B")
    company = make_company(code="ACME", name="Acme Insurance")
    other_company = make_company(code="ZEN", name="Zenith Assurance")
    outpatient = make_benefit(code="OUTPATIENT", name="Outpatient", category=make_category(code="MED", name="Medical"))
    scheme = make_scheme(company, code="GOLD", name="Gold")
    add_benefit(scheme, outpatient)
    member = make_member(company, member_number="ACM-001", first_name="Wanjiru", last_name="Kamau")
    make_coverage(member, scheme, today - timedelta(days=60), today + timedelta(days=300))
    other_member = make_member(other_company, member_number="ZEN-001", first_name="Otieno", last_name="Ochieng")
    return HomeWorld(
        hospital=hospital,
        other_hospital=other_hospital,
        company=company,
        other_company=other_company,
        member=member,
        other_member=other_member,
        benefit=outpatient,
        patient=make_patient(hospital, first_name="Wanjiru", last_name="Kamau", member_number="ACM-001"),
        other_patient=make_patient(other_hospital, first_name="Zawadi", last_name="Njeri"),
        clinician=make_personnel(hospital, full_name="Dr Achieng Odhiambo"),
        other_clinician=make_personnel(other_hospital, full_name="Dr Baraka Mutua"),
    )


def fill(w: HomeWorld, n: int) -> None:
    """``n`` rows of every kind of work for Hospital A and Acme, and as many for Hospital B and Zenith (which
    Hospital A's and Acme's people never count), plus rows of each kind that wait for nobody."""
    mine = {"institution_id": w.hospital.id, "company_id": w.company.id}
    theirs = {"institution_id": w.other_hospital.id, "company_id": w.other_company.id}
    waited = clock.now() - timedelta(days=WAITED)
    bulk.appointments(n, patient=w.patient, personnel=w.clinician)
    bulk.appointments(n, patient=w.patient, personnel=w.clinician, status="checked_in")
    bulk.appointments(n, patient=w.patient, personnel=w.clinician, day=clock.today() + timedelta(days=1))
    bulk.appointments(n, patient=w.other_patient, personnel=w.other_clinician)
    bulk.charges(n, patient=w.patient)
    bulk.charges(n, patient=w.patient, status="billed")
    bulk.charges(n, patient=w.other_patient)
    bulk.invoices(n, patient=w.patient, status="draft")
    bulk.invoices(n, patient=w.patient, status="issued")  # overdue
    bulk.invoices(n, patient=w.patient, status="issued", due_on=clock.today() + timedelta(days=5))  # not yet due
    bulk.invoices(n, patient=w.other_patient, status="issued")
    bulk.claims(n, **mine, status="pending_review", submitted_at=waited)
    bulk.claims(n, **theirs, status="pending_review", submitted_at=waited - timedelta(days=30))
    bulk.claims(n, **mine, status="draft")
    bulk.claims(n, **theirs, status="draft", member_number="ZEN-001")
    bulk.claims(n, **mine, status="approved")
    bulk.claims(n, **theirs, status="approved", member_number="ZEN-001")
    bulk.disputes(n, **mine)
    bulk.disputes(n, **mine, status="dismissed")
    bulk.disputes(n, **theirs)
    bulk.refunds(n, institution_id=w.hospital.id, company_id=None)
    bulk.refunds(n, institution_id=None, company_id=w.company.id)
    bulk.refunds(n, institution_id=w.hospital.id, company_id=None, status="approved")
    bulk.refunds(n, institution_id=w.other_hospital.id, company_id=None)
    bulk.preauthorizations(n, member=w.member, benefit=w.benefit, institution_id=w.hospital.id)
    bulk.preauthorizations(n, member=w.member, benefit=w.benefit, institution_id=w.hospital.id, status="approved")
    bulk.preauthorizations(n, member=w.other_member, benefit=w.benefit, institution_id=w.other_hospital.id)
    bulk.notifications(n)
    bulk.notifications(n, status="unsure")
    bulk.notifications(n, status="delivered")
    db.session.commit()


# --- reading the page ----------------------------------------------------------------------------


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@dataclass
class Card:
    count: int
    link: str
    text: str


def cards(body: str) -> dict[str, Card]:
    """The home page's cards by their id (``work-overdue-invoices``): the count shown (0 for "Nothing waiting"),
    the link and the card's words."""
    found = {}
    for key, block in re.findall(r'<li class="work-card[^"]*" id="work-([a-z-]+)">(.*?)</li>', body, re.S):
        number = re.search(r'class="work-count">([\d,]+)<', block)
        link = re.search(r'<a class="work-link" href="([^"]+)"', block)
        words = " ".join(re.sub(r"<[^>]+>", " ", block).split())
        count = int(number.group(1).replace(",", "")) if number else 0
        found[key] = Card(count, html_lib.unescape(link.group(1)), words)
    return found


@contextmanager
def rendered(app):
    """The context of each template a request renders: what the list page itself counted."""
    seen: list[tuple[str, dict]] = []

    def record(sender, template, context, **extra):
        seen.append((template.name, context))

    with template_rendered.connected_to(record, app):
        yield seen


def list_total(client, app, link: str) -> int:
    """Follow a card's link; the total the list page says it shows ("N of ...", "N appointments")."""
    with rendered(app) as seen:
        response = client.get(link)
    assert response.status_code == 200, (link, response.status_code)
    name, context = seen[0]
    if "paging" in context:
        return context["paging"]["total"]
    if "total" in context:  # the day view of appointments
        return context["total"]
    if "overview" in context:  # the jobs page
        return sum(q.failed for q in context["overview"].queues)
    raise AssertionError(f"{name} says no total")


# --- per role: what waits, and where it leads ----------------------------------------------------

ROLES = {
    "receptionist": (Role.RECEPTIONIST, "hospital"),
    "billing clerk": (Role.BILLING_CLERK, "hospital"),
    "adjudicator": (Role.ADJUDICATOR, "company"),
    "hospital finance officer": (Role.FINANCE_OFFICER, "hospital"),
    "insurer finance officer": (Role.FINANCE_OFFICER, "company"),
    "admin": (Role.ADMIN, None),
    "auditor": (Role.AUDITOR, None),
}
#: what each role's home counts when ``fill`` wrote n rows of each kind: card -> (count, the list it links to)
EXPECTED = {
    "receptionist": {
        "appointments-today": (2, "/hospital/appointments"),  # booked and checked in; not tomorrow's
        "still-to-arrive": (1, "/hospital/appointments?status=booked"),
        "preauths-waiting": (1, "/insurance/preauthorizations?status=requested"),
    },
    "billing clerk": {
        "unbilled-charges": (1, "/billing/charges?status=unbilled"),
        "draft-invoices": (1, "/billing/invoices?status=draft"),
        "overdue-invoices": (1, "/billing/invoices?status=overdue"),
        "draft-claims": (1, "/claims?status=draft"),
        "disputes-open": (1, "/disputes?status=open"),
    },
    "adjudicator": {
        "claims-to-review": (1, "/claims/queue?sort=age"),
        "disputes-to-resolve": (1, "/disputes?status=open"),
        "preauths-to-decide": (1, "/insurance/preauthorizations?status=requested"),
    },
    "hospital finance officer": {
        "overdue-invoices": (1, "/billing/invoices?status=overdue"),
        "refunds-to-approve": (1, "/refunds?status=pending_approval"),
    },
    "insurer finance officer": {
        "claims-to-pay": (1, "/claims?status=to_pay"),
        "refunds-to-approve": (1, "/refunds?status=pending_approval"),
    },
    "admin": {
        "failed-jobs": (0, "/admin/jobs"),
        "undelivered-notifications": (1, "/admin/notifications?status=dead"),
        "unsure-notifications": (1, "/admin/notifications?status=unsure"),
    },
    "auditor": {},
}


def sign_in_as(login_as, hw: HomeWorld, who: str):
    role, side = ROLES[who]
    tenant = {"institution_id": None, "company_id": None}
    if side == "hospital":
        tenant["institution_id"] = hw.hospital.id
    elif side == "company":
        tenant["company_id"] = hw.company.id
    return login_as(role, **tenant)


@pytest.mark.parametrize("who", list(ROLES))
def test_each_role_sees_its_own_work_counted_and_linked_to_the_list_it_counted(client, app, login_as, hw, who):
    fill(hw, 3)
    sign_in_as(login_as, hw, who)
    shown = cards(page(client.get("/")))
    assert {key: (card.count, card.link) for key, card in shown.items()} == {
        key: (per_row * 3, link) for key, (per_row, link) in EXPECTED[who].items()
    }
    for key, card in shown.items():
        assert list_total(client, app, card.link) == card.count, key


def test_the_home_is_not_a_second_copy_of_the_navigation(client, login_as, hw):
    sign_in_as(login_as, hw, "billing clerk")
    body = page(client.get("/"))
    home = body.split('<section class="home">', 1)[1].split("</section>", 1)[0]
    assert 'class="tile"' not in home
    for nav_only in ("/billing/tariffs", "/billing/receivables", "/hospital/patients", "/auth/profile"):
        assert f'href="{nav_only}"' not in home
    assert home.count("<a ") == len(EXPECTED["billing clerk"])  # one link per count, nothing else


def test_nothing_waiting_is_said_plainly_and_the_card_stays(client, login_as, hw):
    sign_in_as(login_as, hw, "billing clerk")
    shown = cards(page(client.get("/")))
    assert set(shown) == set(EXPECTED["billing clerk"])
    for card in shown.values():
        assert card.count == 0
        assert "Nothing waiting" in card.text


def test_the_oldest_claim_waiting_for_review_says_since_when(client, login_as, hw):
    fill(hw, 2)
    sign_in_as(login_as, hw, "adjudicator")
    card = cards(page(client.get("/")))["claims-to-review"]
    since = clock.today() - timedelta(days=WAITED)
    assert f"Oldest waiting since {since.day} {since:%b %Y} ({WAITED} days)" in card.text
    # Zenith's claims waited longer, but they are not Acme's work
    assert "39 days" not in card.text


def test_counts_are_written_with_thousands_separators(client, login_as, hw):
    bulk.charges(1234, patient=hw.patient)
    db.session.commit()
    sign_in_as(login_as, hw, "billing clerk")
    body = page(client.get("/"))
    assert '<span class="work-count">1,234</span>' in body


def test_an_auditor_is_told_plainly_that_nothing_waits_for_the_role(client, login_as, hw):
    fill(hw, 1)
    sign_in_as(login_as, hw, "auditor")
    body = page(client.get("/"))
    assert cards(body) == {}
    assert "No work waits for your role here." in body


def test_the_admin_is_told_when_jobs_run_inline_and_none_can_be_kept_as_failed(client, login_as, hw):
    sign_in_as(login_as, hw, "admin")
    card = cards(page(client.get("/")))["failed-jobs"]
    assert "Nothing waiting" in card.text
    assert "jobs run inside the web process" in card.text


# --- the registry ------------------------------------------------------------------------------


@pytest.fixture
def registry(monkeypatch):
    """An empty registry for the test (the domains' own entries come back afterwards)."""
    monkeypatch.setattr(work, "_items", [])
    monkeypatch.setattr(work, "_sources", {})
    return work


class Person:
    is_authenticated = True

    def __init__(self, role, institution_id=None, company_id=None):
        self.role, self.institution_id, self.company_id = role, institution_id, company_id


def test_a_person_gets_the_items_of_their_role_and_side_whose_list_they_may_open(app, registry):
    registry.add_work_counts("billing", lambda tenant, keys: {})
    registry.add_work("billing", "drafts", "Drafts", roles={Role.BILLING_CLERK}, endpoint="billing.invoices")
    registry.add_work(
        "billing", "mine", "Hospital only", roles={Role.BILLING_CLERK}, endpoint="billing.invoices", sides={HOSPITAL}
    )
    registry.add_work(
        "billing", "theirs", "Insurer only", roles={Role.BILLING_CLERK}, endpoint="billing.invoices", sides={INSURER}
    )
    # the users page is the administrators': a clerk's card to it would be a 403
    registry.add_work("billing", "users", "Users", roles={Role.BILLING_CLERK}, endpoint="core.users")
    registry.add_work("billing", "for_others", "Others", roles={Role.ADJUDICATOR}, endpoint="claims.queue")
    registry.add_work("nobody", "orphan", "No count read", roles={Role.BILLING_CLERK}, endpoint="billing.invoices")
    with app.test_request_context():
        clerk = [item.key for item in registry.work_for(Person(Role.BILLING_CLERK, institution_id=1))]
        insurer_side = [item.key for item in registry.work_for(Person(Role.BILLING_CLERK, company_id=1))]
    assert clerk == ["drafts", "mine"]
    assert insurer_side == ["drafts", "theirs"]


def test_each_domain_is_asked_once_for_the_keys_the_person_needs(app, registry):
    asked = []

    def billing(tenant, keys):
        asked.append(("billing", tenant, keys))
        return {"drafts": 3, "overdue": work.Waiting(2, oldest=clock.today())}

    def claims(tenant, keys):
        asked.append(("claims", tenant, keys))
        return {}

    registry.add_work_counts("billing", billing)
    registry.add_work_counts("claims", claims)
    clerks = {Role.BILLING_CLERK}
    registry.add_work("billing", "drafts", "Drafts", roles=clerks, endpoint="billing.invoices", order=2)
    registry.add_work("billing", "overdue", "Overdue", roles=clerks, endpoint="billing.invoices", order=1)
    registry.add_work("billing", "adjudicators", "Not a clerk's", roles={Role.ADJUDICATOR}, endpoint="claims.queue")
    registry.add_work(
        "claims", "drafts", "Draft claims", roles=clerks, endpoint="claims.claims", params={"status": "x"}
    )
    with app.test_request_context():
        shown = registry.waiting_for(Person(Role.BILLING_CLERK, institution_id=7))
    assert [(card.item.label, card.waiting.count, card.url) for card in shown] == [
        ("Overdue", 2, "/billing/invoices"),
        ("Drafts", 3, "/billing/invoices"),
        ("Draft claims", 0, "/claims?status=x"),  # a count the domain did not give is nothing waiting
    ]
    tenant = Tenant(institution_id=7, company_id=None)
    assert asked == [("billing", tenant, {"drafts", "overdue"}), ("claims", tenant, {"drafts"})]


def test_an_item_is_registered_once_and_its_side_must_be_known(registry):
    for _ in range(2):
        registry.add_work("billing", "drafts", "Drafts", roles={Role.BILLING_CLERK}, endpoint="billing.invoices")
    assert len(registry._items) == 1
    with pytest.raises(ValueError, match="unknown sides"):
        registry.add_work("billing", "x", "X", roles={Role.ADMIN}, endpoint="billing.invoices", sides={"hospitals"})


def test_nobody_signed_in_has_no_work(app, registry):
    class Anonymous:
        is_authenticated = False

    with app.test_request_context():
        assert registry.work_for(Anonymous()) == []


# --- bounded queries -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", list(ROLES))
def test_the_home_makes_the_same_few_queries_with_10_and_1000_rows_of_each_kind(
    client, login_as, hw, who, count_queries
):
    fill(hw, 10)
    sign_in_as(login_as, hw, who)
    client.get("/")  # the first visit after signing in may refresh the session row
    with count_queries() as few:
        small = cards(page(client.get("/")))
    fill(hw, 990)
    with count_queries() as many:
        large = cards(page(client.get("/")))
    assert few.count == many.count, (few.statements, many.statements)
    assert many.count <= MAX_QUERIES, many.statements
    assert {key: card.count for key, card in large.items()} == {
        key: per_row * 1000 for key, (per_row, _link) in EXPECTED[who].items()
    }
    assert {key: card.count for key, card in small.items()} == {
        key: per_row * 10 for key, (per_row, _link) in EXPECTED[who].items()
    }
