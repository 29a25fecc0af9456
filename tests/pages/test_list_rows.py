"""What a row of each list page says, cell by cell: the claims list (a hospital's and an insurer's), the work queue
and the invoices list read only the columns they show and draw their status badges with a Python helper; the rows
read as they did when every row was a whole record drawn by macros."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from blueprints.billing.models import Invoice
from blueprints.claims.models import Claim
from medcover import clock
from medcover.extensions import db
from medcover.labels import day
from medcover.rbac import Role
from tests import bulk
from tests.factories import make_company, make_institution, make_scheme, make_user


@pytest.fixture
def world(db_session):
    hospital = make_institution(code="HA", name="Hospital A")
    company = make_company(code="ACME", name="Acme Insurance")
    scheme = make_scheme(company, code="GOLD", name="Gold")
    patients = bulk.patients(2, institution=hospital)
    members = bulk.members(2, company=company)
    waiting, voided = bulk.claims(
        2,
        institution_id=hospital.id,
        company_id=company.id,
        member_ids=members,
        patient_ids=patients,
        submitted_at=clock.now() - timedelta(days=3),
    )
    db.session.execute(
        update(Claim)
        .where(Claim.id == waiting)
        .values(scheme_id=scheme.id, review_codes=["V02", "S01"], total_approved=Decimal("750.50"))
    )
    db.session.execute(update(Claim).where(Claim.id == voided).values(status="void", void_reason="Wrong patient"))
    bulk.invoices(1, patient_ids=patients[:1], institution_id=hospital.id, company_id=company.id, status="issued")
    db.session.commit()
    invoice = db.session.scalar(db.select(Invoice.id))
    return {
        "clerk": make_user(Role.BILLING_CLERK, institution_id=hospital.id),
        "adjudicator": make_user(Role.ADJUDICATOR, company_id=company.id),
        "waiting": waiting,
        "voided": voided,
        "invoice": invoice,
    }


def _row(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert found, row_id
    return " ".join(found.group(1).split())


def test_the_claims_list_rows_say_status_claimant_provider_and_amounts(world, client, login):
    login(world["clerk"])
    page = client.get("/claims", headers={"HX-Request": "true"}).get_data(as_text=True)
    waiting, voided = world["waiting"], world["voided"]
    row = _row(page, f"claim-{waiting}")
    assert f'<a href="/claims/{waiting}">CL-BULK-' in row
    assert '<td class="nowrap"><span class="badge warn" data-status="pending_review">Pending review</span></td>' in row
    assert re.search(r'title="ACM-001 · \w+ \w+">ACM-001<span class="truncate muted">\w+ \w+</span>', row)
    assert '<td class="opt truncate" title="Hospital A">Hospital A</td>' in row
    assert '<td class="num">1,000.00</td> <td class="num">750.50</td> <td class="num opt">0.00</td>' in row
    assert re.search(r'<td class="nowrap">\d{1,2} [A-Z][a-z]{2} \d{4}</td>', row)  # the service date, in words
    assert not re.search(r"\d{4}-\d{2}-\d{2}", row)
    row = _row(page, f"claim-{voided}")
    assert '<span class="badge off" data-status="void">Void</span><span class="truncate muted void-reason"' in row
    assert ">Wrong patient</span>" in row


def test_an_insurer_reads_its_members_names_on_the_claims_list(world, client, login):
    login(world["adjudicator"])
    row = _row(client.get("/claims").get_data(as_text=True), f"claim-{world['waiting']}")
    assert re.search(r'title="ACM-001 · \w+ \w+">ACM-001<span class="truncate muted">\w+ \w+</span>', row)


def test_the_work_queue_rows_say_why_who_where_how_long_and_how_much(world, client, login):
    login(world["adjudicator"])
    row = _row(client.get("/claims/queue").get_data(as_text=True), f"queue-{world['waiting']}")
    assert f'name="claim_ids" value="{world["waiting"]}"' in row and 'data-amount="750.50"' in row
    assert row.count('<span class="tag" title="') == 2
    assert '<td class="truncate" title="Hospital A">Hospital A</td>' in row
    assert '<td class="opt truncate" title="GOLD · Gold">GOLD · Gold</td>' in row
    assert '<td class="num">3 days</td> <td class="num">1,000.00</td> <td class="num">750.50</td>' in row


def test_the_invoices_list_rows_say_patient_insurer_status_dates_and_amounts(world, client, login):
    login(world["clerk"])
    row = _row(client.get("/billing/invoices").get_data(as_text=True), f"invoice-{world['invoice']}")
    assert f'<a href="/billing/invoices/{world["invoice"]}">BLK-' in row
    assert re.search(r'\w+ \w+ <span class="muted">HA-8\d{7}</span>', row)
    assert '<td class="truncate" title="Acme Insurance">Acme Insurance</td>' in row
    assert '<td class="nowrap"><span class="badge warn" data-status="issued">Issued</span></td>' in row
    assert f'<td class="nowrap">{day(clock.today() - timedelta(days=10))}</td>' in row
    assert '<td class="num">100.00</td> <td class="num">100.00</td>' in row
