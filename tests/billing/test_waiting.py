"""Billing's work waiting for the home page: charges not yet billed, draft invoices and overdue invoices, counted
for the reader's hospital in one query; the charges list and the invoices list's "overdue" filter they link to."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from blueprints.billing import services
from medcover import clock
from medcover.extensions import db
from medcover.rbac import Role, Tenant
from tests import bulk

HX = {"HX-Request": "true"}
KEYS = frozenset({"unbilled_charges", "draft_invoices", "overdue_invoices"})


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def hospital_of(world) -> Tenant:
    return Tenant(institution_id=world.hospital.id, company_id=None)


def issued(world, patient):
    draft = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=patient.id,
        lines=[services.LineInput("CONSULT", 1)],
    )
    return services.issue_invoice(actor=world.clerk, invoice_id=draft.id)


@pytest.fixture
def clerk(world, login):
    return login(world.clerk)


# --- the count read ------------------------------------------------------------------------------


def test_a_clerk_counts_their_own_hospitals_charges_drafts_and_overdue_invoices(world):
    bulk.charges(2, patient=world.self_pay)
    bulk.charges(4, patient=world.self_pay, status="billed")
    bulk.charges(3, patient=world.other_patient)
    bulk.invoices(1, patient=world.self_pay, status="draft")
    bulk.invoices(5, patient=world.other_patient, status="draft")
    bulk.invoices(2, patient=world.self_pay, status="issued")  # due ten days ago, owing
    bulk.invoices(6, patient=world.other_patient, status="issued")
    assert services.work_waiting(hospital_of(world), KEYS) == {
        "unbilled_charges": 2,
        "draft_invoices": 1,
        "overdue_invoices": 2,
    }
    other = Tenant(institution_id=world.other_hospital.id, company_id=None)
    assert services.work_waiting(other, KEYS) == {"unbilled_charges": 3, "draft_invoices": 5, "overdue_invoices": 6}
    everyone = Tenant(institution_id=None, company_id=None)
    assert services.work_waiting(everyone, KEYS) == {"unbilled_charges": 5, "draft_invoices": 6, "overdue_invoices": 8}


def test_an_issued_invoice_becomes_overdue_the_day_after_its_due_date(world):
    invoice = issued(world, world.self_pay)
    days = (invoice.due_on - clock.today()).days
    assert services.work_waiting(hospital_of(world), {"overdue_invoices"}) == {"overdue_invoices": 0}
    with clock.travel(timedelta(days=days)):  # the due date itself: not yet overdue
        assert services.work_waiting(hospital_of(world), {"overdue_invoices"}) == {"overdue_invoices": 0}
    with clock.travel(timedelta(days=days + 1)):
        assert services.work_waiting(hospital_of(world), {"overdue_invoices"}) == {"overdue_invoices": 1}


def test_overdue_means_open_with_a_balance_after_the_due_date(world):
    past, today = clock.today() - timedelta(days=1), clock.today()
    bulk.invoices(1, patient=world.self_pay, status="issued", due_on=past)  # yes
    bulk.invoices(1, patient=world.self_pay, status="partially_paid", due_on=past, balance=Decimal("40.00"))  # yes
    bulk.invoices(1, patient=world.self_pay, status="issued", due_on=today)  # due today: not yet
    bulk.invoices(1, patient=world.self_pay, status="issued", due_on=past, balance=Decimal("0.00"))  # owes nothing
    bulk.invoices(1, patient=world.self_pay, status="paid", due_on=past, balance=Decimal("0.00"))
    bulk.invoices(1, patient=world.self_pay, status="void", due_on=past)
    bulk.invoices(1, patient=world.self_pay, status="draft")
    assert services.work_waiting(hospital_of(world), {"overdue_invoices"}) == {"overdue_invoices": 2}


def test_only_the_counts_asked_for_are_read_in_one_query(world, count_queries):
    bulk.charges(3, patient=world.self_pay)
    with count_queries() as counted:
        assert services.work_waiting(hospital_of(world), {"unbilled_charges"}) == {"unbilled_charges": 3}
    assert counted.count == 1
    with count_queries() as counted:
        assert len(services.work_waiting(hospital_of(world), KEYS)) == 3
    assert counted.count == 1
    assert services.work_waiting(hospital_of(world), set()) == {}


def test_an_insurers_tenant_has_no_hospital_charges_to_count(world):
    bulk.charges(2, patient=world.self_pay)
    insurer = Tenant(institution_id=None, company_id=world.company.id)
    assert services.work_waiting(insurer, {"unbilled_charges"}) == {"unbilled_charges": 0}


# --- the invoices list, overdue ------------------------------------------------------------------


def test_the_overdue_filter_lists_an_invoice_once_its_due_date_has_passed(client, world, clerk, login):
    invoice = issued(world, world.self_pay)
    db.session.commit()
    before = html(client.get("/billing/invoices?status=overdue"))
    assert '<option value="overdue" selected>Overdue</option>' in before
    assert f'id="invoice-{invoice.id}"' not in before
    with clock.travel(timedelta(days=(invoice.due_on - clock.today()).days + 1)):
        login(world.clerk)  # a month later: the session has long expired
        after = html(client.get("/billing/invoices?status=overdue", headers=HX))
    assert f'id="invoice-{invoice.id}"' in after and invoice.number in after


def test_the_overdue_filter_leaves_out_a_paid_invoice_and_another_hospitals(client, world, clerk):
    bulk.invoices(2, patient=world.self_pay, status="issued")
    bulk.invoices(1, patient=world.self_pay, status="paid", balance=Decimal("0.00"))
    bulk.invoices(3, patient=world.other_patient, status="issued")
    db.session.commit()
    rows = html(client.get("/billing/invoices?status=overdue", headers=HX))
    assert rows.count('<tr id="invoice-') == 2


@pytest.mark.parametrize("status", ["OVERDUE", "overdue'--", "x" * 5000, "issued,overdue", "%00"])
def test_an_unknown_invoice_status_is_ignored_not_an_error(client, world, clerk, status):
    bulk.invoices(1, patient=world.self_pay, status="issued")
    bulk.invoices(1, patient=world.self_pay, status="draft")
    db.session.commit()
    rows = html(client.get("/billing/invoices", query_string={"status": status}, headers=HX))
    assert rows.count('<tr id="invoice-') == 2


# --- the charges list ----------------------------------------------------------------------------


def test_the_charges_list_shows_the_hospitals_charges_not_yet_billed(client, world, clerk):
    bulk.charges(2, patient=world.self_pay)
    bulk.charges(1, patient=world.insured, status="billed")
    bulk.charges(4, patient=world.other_patient)
    db.session.commit()
    page = client.get("/billing/charges")
    text = html(page)
    assert "<html" in text and "<h1>Charges</h1>" in text and "HX-Request" in page.headers["Vary"]
    assert text.count('<tr id="charge-') == 2
    assert '<option value="unbilled" selected>Not yet billed</option>' in text
    assert "Baraka Mutua" in text and "Zawadi" not in text  # Hospital B's patient is not Hospital A's business
    assert f'href="/billing/patients/{world.self_pay.id}/billing"' in text
    assert "Amount (KES)" in text and "2,500.00" in text and "KES 2,500.00" not in text
    day = clock.today()
    assert f"{day.day} {day:%b %Y}" in text
    assert "unbilled" not in text.split('id="charge-results"', 1)[1]  # words, not the stored value


def test_the_charges_list_filters_by_status_and_shows_all_on_request(client, world, clerk):
    bulk.charges(2, patient=world.self_pay)
    bulk.charges(1, patient=world.insured, status="billed")
    db.session.commit()
    assert html(client.get("/billing/charges?status=billed", headers=HX)).count('<tr id="charge-') == 1
    every = html(client.get("/billing/charges?status=", headers=HX))
    assert every.count('<tr id="charge-') == 3 and "Billed" in every and "Not yet billed" in every
    partial = html(client.get("/billing/charges", headers=HX))
    assert "<html" not in partial and partial.lstrip().startswith('<div id="charge-results"')


@pytest.mark.parametrize("status", ["UNBILLED", "<script>alert(1)</script>", "y" * 3000, "billed'--"])
def test_an_unknown_charge_status_shows_every_charge_and_is_not_echoed(client, world, clerk, status):
    bulk.charges(1, patient=world.self_pay)
    bulk.charges(1, patient=world.self_pay, status="cancelled")
    db.session.commit()
    text = html(client.get("/billing/charges", query_string={"status": status, "page": "-3"}))
    assert text.count('<tr id="charge-') == 2
    assert "<script>alert" not in text
    assert '<option value="" selected>All</option>' in text


def test_the_charges_list_says_whether_nothing_waits_or_the_filter_hides_it(client, world, clerk):
    assert "Every charge is billed: nothing waits." in html(client.get("/billing/charges"))
    hidden = html(client.get("/billing/charges?status=cancelled"))
    assert "No charges with this status." in hidden and 'href="/billing/charges?status="' in hidden
    assert "No charges yet." in html(client.get("/billing/charges?status="))


def test_the_charges_list_pages_and_its_total_is_the_homes_count(client, world, clerk):
    bulk.charges(60, patient=world.self_pay)
    db.session.commit()
    assert html(client.get("/billing/charges")).count('<tr id="charge-') == 50
    assert html(client.get("/billing/charges?status=unbilled&page=2")).count('<tr id="charge-') == 10
    assert services.work_waiting(hospital_of(world), {"unbilled_charges"}) == {"unbilled_charges": 60}


def test_a_receptionist_may_not_open_the_charges_list(client, world, login_as):
    login_as(Role.RECEPTIONIST, institution_id=world.hospital.id)
    assert client.get("/billing/charges").status_code == 403


def test_a_platform_admin_sees_which_hospital_each_charge_is_from(client, world, login_as):
    bulk.charges(1, patient=world.self_pay)
    bulk.charges(1, patient=world.other_patient)
    db.session.commit()
    login_as(Role.ADMIN)
    text = html(client.get("/billing/charges"))
    assert ">Hospital</th>" in text and "Hospital A" in text and "Hospital B" in text
    assert "Amount</th>" in text  # several hospitals: no single currency to name in the header
