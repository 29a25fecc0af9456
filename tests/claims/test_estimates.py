"""One source of truth for an invoice's payer split (ADJUDICATION.md "Estimates"): the engine's estimate, the
deductible included, until the claim is decided; under review while pending; then the decision's, receivables
included. Amounts worked by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from blueprints.billing import services as billing
from blueprints.billing.models import AccountReceivable
from blueprints.claims import services
from medcover.events import dispatch_pending
from medcover.extensions import db
from medcover.rbac import tenant_of
from tests.factories import add_benefit, make_coverage, make_member, make_patient, make_scheme

D = Decimal


@pytest.fixture
def deductible_member(cw):
    """DED: a 2,000.00 deductible, outpatient with a 10% copay, lab tests in full; review from 3,000.00."""
    from blueprints.insurance.models import Benefit

    scheme = make_scheme(cw.company, code="DED", name="Deductible", deductible=D("2000.00"), review_threshold=D("3000"))
    outpatient = db.session.scalar(select(Benefit).where(Benefit.code == "OUTPATIENT"))
    lab = db.session.scalar(select(Benefit).where(Benefit.code == "LAB"))
    add_benefit(scheme, outpatient, copay_percent=D("10"))
    add_benefit(scheme, lab)
    member = make_member(cw.company, member_number="ACM-DED", first_name="Achieng", last_name="Otieno")
    make_coverage(member, scheme, cw.today - timedelta(days=90), cw.today + timedelta(days=200))
    return make_patient(cw.hospital, first_name="Achieng", last_name="Otieno", member_number="ACM-DED")


def _invoice(cw, patient):
    return billing.create_invoice(
        actor=cw.clerk,
        institution_id=cw.hospital.id,
        patient_id=patient.id,
        lines=[billing.LineInput("CONSULT", 1), billing.LineInput("LAB-FBC", 1)],
    )


def _receivables(invoice) -> dict[str, tuple[Decimal, Decimal]]:
    rows = db.session.scalars(select(AccountReceivable).where(AccountReceivable.invoice_id == invoice.id))
    return {row.payer.value: (row.amount, row.balance) for row in rows}


def test_the_estimate_is_the_engines_with_the_deductible(cw, deductible_member):
    invoice = _invoice(cw, deductible_member)
    # CONSULT 2,500.00: 2,000.00 deductible, 10% copay on 500.00 = 50.00, payable 450.00.
    # LAB-FBC 1,200.00: nothing left of the deductible, no copay: 1,200.00.
    assert [line.insurer_amount for line in billing.lines_of(invoice.id)] == [D("450.00"), D("1200.00")]
    assert (invoice.total, invoice.insurer_part, invoice.patient_part) == (D("3700.00"), D("1650.00"), D("2050.00"))
    assert invoice.split_basis == "estimate"
    # Recording nothing, consuming nothing: a second estimate is the same.
    again = _invoice(cw, deductible_member)
    assert again.insurer_part == D("1650.00")


def test_after_the_decision_the_parts_are_the_decisions_and_the_receivables_follow(cw, deductible_member):
    invoice = _invoice(cw, deductible_member)
    billing.issue_invoice(actor=cw.clerk, invoice_id=invoice.id)
    assert _receivables(invoice) == {"insurer": (D("1650.00"), D("1650.00")), "patient": (D("2050.00"), D("2050.00"))}
    claim = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    # Both lines are claimed: the one the deductible ate is the insurer's to decide too.
    assert [i.service_code for i in services.items_of(claim.id)] == ["CONSULT", "LAB-FBC"]
    services.submit_claim(actor=cw.clerk, claim_id=claim.id)
    assert claim.status.value == "pending_review"  # 3,700.00 billed reaches 3,000.00
    dispatch_pending()
    db.session.refresh(invoice)
    assert (invoice.split_basis, invoice.insurer_part) == ("under_review", D("1650.00"))
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={2: ("1000.00", "Agreed lab price")})
    assert claim.total_approved == D("1450.00")
    dispatch_pending()
    db.session.refresh(invoice)
    assert (invoice.split_basis, invoice.insurer_part, invoice.patient_part) == (
        "decided",
        D("1450.00"),
        D("2250.00"),
    )
    assert _receivables(invoice) == {"insurer": (D("1450.00"), D("1450.00")), "patient": (D("2250.00"), D("2250.00"))}


HX = {"HX-Request": "true"}


def test_a_line_edit_updates_every_line_total_and_card_that_depends_on_it(cw, deductible_member, client, login):
    invoice = _invoice(cw, deductible_member)
    db.session.commit()
    login(cw.clerk)
    page = client.get(f"/billing/invoices/{invoice.id}").get_data(as_text=True)
    assert "(estimate)" in page and 'id="line-2-insurer">1,200.00<' in page
    response = client.post(
        f"/billing/invoices/{invoice.id}/lines/1",
        data={"line1-quantity": "1", "line1-unit_price": "1000.00", "line1-description": "GP consultation"},
        headers=HX,
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    # Line 1 now takes 1,000.00 of the deductible and pays nothing; line 2 takes the other 1,000.00: 200.00.
    assert 'id="line-2-insurer" hx-swap-oob="true">200.00<' in text
    assert 'id="line-1-insurer" hx-swap-oob' not in text  # line 1 comes whole in the main swap
    assert 'hx-swap-oob="innerHTML:[data-invoice-insurer-part]">KES 200.00<' in text
    assert '<dl id="invoice-totals"' in text and "KES 2,000.00" in text  # the patient part: 2,200.00 - 200.00
    panel = client.get(f"/claims/invoices/{invoice.id}").get_data(as_text=True)
    assert "data-invoice-insurer-part>KES 200.00<" in panel


def test_issuing_saves_the_line_values_on_the_screen_first(cw, deductible_member, client, login):
    invoice = _invoice(cw, deductible_member)
    db.session.commit()
    login(cw.clerk)
    refused = client.post(
        f"/billing/invoices/{invoice.id}/issue",
        data={"line1-quantity": "2", "add-service_code": "LAB-FBC", "add-quantity": "1", "confirmed": "yes"},
    )
    assert refused.status_code == 422 and "Unsaved changes" in refused.get_data(as_text=True)
    assert 'value="2"' in refused.get_data(as_text=True)  # what was typed is still there
    bad = client.post(f"/billing/invoices/{invoice.id}/issue", data={"line1-quantity": "0", "confirmed": "yes"})
    assert bad.status_code == 422 and "Line 1" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert billing.get_invoice(tenant_of(cw.clerk), invoice.id).status.value == "draft"
    done = client.post(f"/billing/invoices/{invoice.id}/issue", data={"line1-quantity": "2", "confirmed": "yes"})
    assert done.status_code == 303
    db.session.expire_all()
    issued = billing.get_invoice(tenant_of(cw.clerk), invoice.id)
    assert issued.status.value == "issued" and [li.quantity for li in billing.lines_of(invoice.id)] == [2, 1]
    # 2 x 2,500.00 + 1,200.00; CONSULT: 5,000.00 - 2,000.00 deductible - 300.00 copay = 2,700.00; LAB 1,200.00
    assert (issued.total, issued.insurer_part) == (D("6200.00"), D("3900.00"))


def test_the_page_and_pdf_say_estimate_then_show_what_each_payer_still_owes(cw, deductible_member, client, login):
    invoice = _invoice(cw, deductible_member)
    billing.issue_invoice(actor=cw.clerk, invoice_id=invoice.id)
    claim = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    services.submit_claim(actor=cw.clerk, claim_id=claim.id)
    dispatch_pending()
    db.session.commit()
    login(cw.clerk)
    page = client.get(f"/billing/invoices/{invoice.id}").get_data(as_text=True)
    assert "(estimate, claim under review)" in page and "insurer_owes" not in page
    html = billing.invoice_html(tenant_of(cw.clerk), invoice.id)
    assert "estimate, claim under review" in html
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={2: ("1000.00", "Agreed lab price")})
    dispatch_pending()
    db.session.commit()
    page = client.get(f"/billing/invoices/{invoice.id}").get_data(as_text=True)
    assert "(claim decided)" in page and "estimate" not in page.split('id="invoice-totals"')[1].split("</dl>")[0]
    assert 'data-amount="insurer_owes">KES 1,450.00<' in page and 'data-amount="patient_owes">KES 2,250.00<' in page
    html = billing.invoice_html(tenant_of(cw.clerk), invoice.id)
    assert "Insurer still owes" in html and "the insurance claim&#39;s decision" in html.replace("'", "&#39;")


def test_the_api_answers_the_estimate_in_api_md_fields(cw, deductible_member, client, api_token):
    invoice = _invoice(cw, deductible_member)
    db.session.commit()
    body = client.get(f"/api/v1/invoices/{invoice.id}", headers=api_token(cw.clerk)).get_json()
    assert (body["total"], body["insurer_part"], body["patient_part"]) == ("3700.00", "1650.00", "2050.00")
