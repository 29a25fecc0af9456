"""Payment pages: the lists (page and HTMX rows), recording an invoice payment through the form (what is owed,
overpayment and refusals answered inline, the method's fields swapped), refund and reverse, approving a refund
as another officer, a settlement through the pages, agents and commissions, payment methods; tenants and roles."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.insurance.models import Coverage
from blueprints.payment import services
from blueprints.payment.models import Agent, Commission, FinancialSettlement, Payment, PaymentMethod, Refund
from medcover.events import dispatch_pending
from medcover.extensions import db
from medcover.rbac import Role, tenant_of
from tests.core.conftest import RequestScopedClient
from tests.factories import PASSWORD, make_user

HX = {"HX-Request": "true"}
D = Decimal


def html(response) -> str:
    return response.get_data(as_text=True)


def toast(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def browser(app, user) -> RequestScopedClient:
    """Another browser signed in as ``user`` (a signed-in browser cannot switch users)."""
    client = RequestScopedClient(app, app.response_class, use_cookies=True)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303, html(response)[:300]
    return client


def pay(actor, kind, ref, amount, method="cash", reference=None, **extra) -> Payment:
    payment = services.record_payment(
        actor=actor,
        values=services.PaymentInput(
            kind=kind, reference_id=ref, amount=amount, method=method, reference=reference, **extra
        ),
    )
    db.session.commit()
    return payment


def cover_of(member) -> Coverage:
    return db.session.scalar(select(Coverage).where(Coverage.member_id == member.id))


# --- lists ---------------------------------------------------------------------------------------


def test_payments_list_is_a_page_and_its_rows_a_partial_for_htmx(client, login, people, issued, approved_claim):
    cash = pay(people.hospital, "invoice", issued.id, "250.00")
    transfer = pay(people.insurer, "claim", approved_claim.id, "100.00", "bank_transfer", "FT2611290001")
    login(people.hospital)
    page = client.get("/payments")
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    text = html(page)
    assert "<html" in text and 'href="/payments"' in text  # the layout, with the nav entry
    assert f'id="payment-{cash.id}"' in text and f'id="payment-{transfer.id}"' in text
    assert issued.number in text and approved_claim.claim_number in text
    assert "Amount (KES)" in text and '<td class="num">250.00</td>' in text  # the currency once, in the header
    assert text.index(f'id="payment-{transfer.id}"') < text.index(f'id="payment-{cash.id}"')  # newest first

    partial = client.get("/payments?kind=invoice", headers=HX)
    assert partial.status_code == 200 and "<html" not in html(partial)
    assert html(partial).lstrip().startswith('<div id="payment-results"')
    assert f'id="payment-{cash.id}"' in html(partial) and f'id="payment-{transfer.id}"' not in html(partial)
    tomorrow = (cash.paid_on + timedelta(days=1)).isoformat()
    assert "No payments match these filters." in html(client.get(f"/payments?paid_on={tomorrow}", headers=HX))
    assert client.get("/payments?kind=bogus&paid_on=nonsense&page=-3").status_code == 200


def test_refund_and_settlement_lists_are_pages_with_htmx_rows(client, login, people, issued):
    payment = pay(people.hospital, "invoice", issued.id, "250.00")
    refund = services.request_refund(actor=people.hospital, payment_id=payment.id, amount="50.00", reason="Overpaid")
    db.session.commit()
    login(people.hospital)
    page = html(client.get("/refunds"))
    assert "<html" in page and f'id="refund-{refund.id}"' in page and payment.number in page
    rows = client.get("/refunds?status=approved", headers=HX)
    assert html(rows).lstrip().startswith('<div id="refund-results"') and f'id="refund-{refund.id}"' in html(rows)
    assert "No refunds match these filters." in html(client.get("/refunds?status=rejected", headers=HX))
    assert "<html" in html(client.get("/settlements"))
    assert html(client.get("/settlements", headers=HX)).lstrip().startswith('<div id="settlement-results"')


# --- recording a payment -------------------------------------------------------------------------


def test_an_invoice_payment_is_found_by_number_and_recorded_through_the_form(client, login, cw, people, issued):
    login(people.hospital)
    found = client.get(f"/payments/new/targets?kind=invoice&q={issued.number[:4]}", headers=HX)
    assert html(found).lstrip().startswith('<div id="payment-targets"')
    assert f'href="/payments/new?kind=invoice&amp;reference_id={issued.id}"' in html(found)

    page = client.get(f"/payments/new?kind=invoice&reference_id={issued.id}")
    text = html(page)
    assert page.status_code == 200 and "<html" in text
    assert f"Invoice {issued.number} (patient&#39;s part)" in text
    assert 'id="owed-outstanding">KES 250.00' in text and 'name="amount"' in text
    insurer_part = html(client.get(f"/payments/new?kind=invoice&reference_id={issued.id}&payer=insurer", headers=HX))
    assert insurer_part.lstrip().startswith('<div id="record-payment"') and "KES 3,450.00" in insurer_part

    response = client.post(
        "/payments/new",
        data={
            "kind": "invoice",
            "reference_id": str(issued.id),
            "payer": "patient",
            "amount": "250.00",
            "method": "mobile_money",
            "reference": "qk7h2abc9",
            "phone": "0712 345 678",
            "last4": "9999",  # another method's leftover field is not sent on
        },
    )
    assert response.status_code == 303, html(response)
    payment = db.session.scalar(select(Payment))
    assert response.headers["Location"] == f"/payments/{payment.id}"
    assert (payment.amount, payment.reference, payment.method_details) == (
        D("250.00"),
        "QK7H2ABC9",
        {"phone": "0712345678"},
    )
    shown = html(client.get(response.headers["Location"]))
    assert f"Payment {payment.number} of KES 250.00 recorded." in shown and issued.number in shown
    dispatch_pending()
    db.session.expire_all()
    summary = billing.invoice_summary(tenant_of(cw.clerk), issued.id)
    assert (summary.paid, summary.patient_balance, summary.status) == (D("250.00"), D("0.00"), "partially_paid")


def test_an_htmx_post_that_finishes_redirects_the_whole_page(client, login, people, issued):
    login(people.hospital)
    data = {"kind": "invoice", "reference_id": str(issued.id), "amount": "100.00", "method": "cash"}
    response = client.post("/payments/new", data=data, headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/payments/")


def test_an_overpayment_is_shown_on_the_amount_with_what_is_owed_and_writes_nothing(client, login, people, issued):
    pay(people.hospital, "invoice", issued.id, "100.00")
    login(people.hospital)
    data = {"kind": "invoice", "reference_id": str(issued.id), "amount": "150.01", "method": "cash"}
    response = client.post("/payments/new", data=data)
    assert response.status_code == 422
    text = html(response)
    assert "<html" in text and 'id="amount-errors"' in text
    errors = text[text.index('id="amount-errors"') :]
    assert "Only KES 150.00 is still owed" in errors[:300]
    assert 'value="150.01"' in text  # what was typed stays
    assert count(Payment) == 1

    swapped = client.post("/payments/new", data=data, headers=HX)
    assert swapped.status_code == 422 and html(swapped).lstrip().startswith('<div id="record-payment"')
    assert "Only KES 150.00 is still owed" in html(swapped)
    assert count(Payment) == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "abc"}, "amount", "Enter an amount such as 1250.00."),
        ({"method": "cheque", "reference": "12AB"}, "reference", "That is not the cheque number."),
        ({"method": "card", "reference": "APPR01", "last4": "12"}, "last4", "Give the card&#39;s last four digits."),
    ],
)
def test_bad_input_is_shown_on_its_field(client, login, people, issued, changes, field, message):
    login(people.hospital)
    data = {"kind": "invoice", "reference_id": str(issued.id), "amount": "10.00", "method": "cash", **changes}
    response = client.post("/payments/new", data=data, headers=HX)
    assert response.status_code == 422
    text = html(response)
    assert f'id="{field}-errors"' in text and message in text[text.index(f'id="{field}-errors"') :][:300]
    assert count(Payment) == 0


def test_a_void_invoice_shows_why_and_a_payment_on_it_is_a_conflict(client, login, cw, people, issued):
    billing.void_invoice(actor=cw.clerk, invoice_id=issued.id, reason="wrong patient")
    db.session.commit()
    login(people.hospital)
    page = html(client.get(f"/payments/new?kind=invoice&reference_id={issued.id}"))
    assert f"Invoice {issued.number} is void; nothing can be paid on it." in page and 'name="amount"' not in page
    data = {"kind": "invoice", "reference_id": str(issued.id), "amount": "10.00", "method": "cash"}
    response = client.post("/payments/new", data=data)
    assert response.status_code == 409 and "is void" in html(response)
    assert count(Payment) == 0


@pytest.mark.parametrize(
    ("method", "present", "hint"),
    [
        ("card", 'name="last4"', "The card terminal&#39;s approval code"),
        ("mobile_money", 'name="phone"', "The mobile money transaction code"),
        ("cheque", 'name="bank"', "The cheque number"),
        ("bank_transfer", 'name="bank"', "The bank transfer reference"),
        ("cash", 'name="reference"', "A receipt number (optional)"),
    ],
)
def test_the_methods_fields_swap_in_on_change(client, login, people, issued, method, present, hint):
    login(people.hospital)
    response = client.get(
        f"/payments/new/method-fields?kind=invoice&reference_id={issued.id}&method={method}", headers=HX
    )
    text = html(response)
    assert response.status_code == 200 and text.lstrip().startswith('<div id="method-fields"')
    assert present in text and hint in text
    others = {'name="last4"', 'name="phone"', 'name="bank"'} - {present}
    assert not any(other in text for other in others)
    # the record form asks for the swap when the method changes
    page = html(client.get(f"/payments/new?kind=invoice&reference_id={issued.id}"))
    assert 'hx-get="/payments/new/method-fields"' in page and 'hx-target="#method-fields"' in page


def test_the_invoice_page_links_to_recording_a_payment_on_it(client, login, people, issued):
    payment = pay(people.hospital, "invoice", issued.id, "50.00")
    login(people.hospital)
    assert f'hx-get="/payments/invoices/{issued.id}"' in html(client.get(f"/billing/invoices/{issued.id}"))
    panel = html(client.get(f"/payments/invoices/{issued.id}"))
    assert panel.lstrip().startswith('<div id="invoice-payments"') and payment.number in panel
    assert f'href="/payments/new?kind=invoice&amp;reference_id={issued.id}"' in panel


def test_an_insurer_pays_an_approved_claim_found_by_its_number(client, login, people, approved_claim):
    login(people.insurer)
    found = html(client.get("/payments/new/targets?kind=claim&q=", headers=HX))
    assert approved_claim.claim_number in found
    page = html(client.get(f"/payments/new?kind=claim&reference_id={approved_claim.id}"))
    assert 'id="owed-outstanding">KES 3,450.00' in page
    data = {
        "kind": "claim",
        "reference_id": str(approved_claim.id),
        "amount": "3450.00",
        "method": "bank_transfer",
        "reference": "FT2611290001",
    }
    assert client.post("/payments/new", data=data).status_code == 303
    dispatch_pending()
    db.session.refresh(approved_claim)
    assert approved_claim.status.value == "paid"


# --- refund and reverse --------------------------------------------------------------------------


def test_a_refund_through_the_form_and_one_too_large_answered_inline(client, login, people, issued):
    payment = pay(people.hospital, "invoice", issued.id, "250.00")
    login(people.hospital)
    page = html(client.get(f"/payments/{payment.id}"))
    assert 'id="refund"' in page and 'id="reverse"' in page and 'id="refundable">KES 250.00' in page
    response = client.post(
        f"/payments/{payment.id}/refund", data={"amount": "100.00", "reason": "Overcharged", "confirmed": "yes"}
    )
    assert response.status_code == 303 and response.headers["Location"] == f"/payments/{payment.id}"
    assert "Refund of 100.00 recorded." in html(client.get(f"/payments/{payment.id}"))
    assert count(Refund) == 1

    too_much = client.post(
        f"/payments/{payment.id}/refund", data={"amount": "150.01", "reason": "Rest", "confirmed": "yes"}, headers=HX
    )
    assert too_much.status_code == 422 and html(too_much).lstrip().startswith('<section class="payment-page"')
    assert "At most KES 150.00" in html(too_much) and "At most KES 150.00" in toast(too_much)
    assert count(Refund) == 1
    done = client.post(
        f"/payments/{payment.id}/refund", data={"amount": "150.00", "reason": "Rest", "confirmed": "yes"}, headers=HX
    )
    assert done.status_code == 200 and toast(done) == "Refund of 150.00 recorded."
    assert 'id="refund"' not in html(done)  # nothing left to refund
    dispatch_pending()
    db.session.expire_all()
    assert billing.invoice_summary(tenant_of(people.hospital), issued.id).patient_balance == D("250.00")


def test_a_reversal_through_the_form_then_a_second_one_is_a_conflict(client, login, people, issued):
    payment = pay(people.hospital, "invoice", issued.id, "250.00")
    login(people.hospital)
    assert client.post(f"/payments/{payment.id}/reverse", data={"reason": ""}).status_code == 422
    response = client.post(f"/payments/{payment.id}/reverse", data={"reason": "Keyed twice", "confirmed": "yes"})
    assert response.status_code == 303
    reversal = db.session.scalar(select(Payment).where(Payment.reversal_of_id == payment.id))
    assert reversal.amount == D("-250.00")
    page = html(client.get(response.headers["Location"]))
    assert f"Payment reversed by {reversal.number}." in page and reversal.number in page
    assert 'id="reverse"' not in page and 'id="refund"' not in page
    again = client.post(f"/payments/{payment.id}/reverse", data={"reason": "again", "confirmed": "yes"})
    assert again.status_code == 409 and "already reversed" in html(again)
    assert count(Payment) == 2


def test_another_finance_officer_approves_a_pending_refund(app, client, login, cw, people, approved_claim):
    payment = pay(people.insurer, "claim", approved_claim.id, "3450.00", "bank_transfer", "FT2611290001")
    app.config["REFUND_APPROVAL_THRESHOLD"] = "1000.00"
    try:
        login(people.insurer)
        asked = client.post(
            f"/payments/{payment.id}/refund", data={"amount": "2000.00", "reason": "Duplicate", "confirmed": "yes"}
        )
        assert asked.status_code == 303
        refund = db.session.scalar(select(Refund))
        assert refund.status.value == "pending_approval"
        own = html(client.get("/refunds?status=pending_approval"))
        assert "another finance officer approves it" in own and f"/refunds/{refund.id}/approve" not in own

        colleague = browser(app, make_user(Role.FINANCE_OFFICER, company_id=cw.company.id))
        listed = html(colleague.get("/refunds?status=pending_approval"))
        assert f'hx-post="/refunds/{refund.id}/approve"' in listed
        refused = colleague.post(f"/refunds/{refund.id}/reject", data={"note": ""}, headers=HX)
        assert refused.status_code == 422 and "Enter the " in html(refused)
        asked = colleague.post(f"/refunds/{refund.id}/approve", headers=HX)
        assert "Approve the refund of KES 2,000.00 on payment" in html(asked) and count(Payment) == 1
        approved = colleague.post(f"/refunds/{refund.id}/approve", data={"confirmed": "yes"}, headers=HX)
        assert approved.status_code == 200 and toast(approved) == "Refund approved."
        assert html(approved).lstrip().startswith(f'<tr id="refund-{refund.id}"') and "Approved" in html(approved)
        db.session.expire_all()
        assert db.session.get(Refund, refund.id).status.value == "approved"
    finally:
        app.config.pop("REFUND_APPROVAL_THRESHOLD")
    dispatch_pending()
    db.session.refresh(approved_claim)
    assert approved_claim.total_paid == D("1450.00")


# --- settlements ---------------------------------------------------------------------------------


def _period(cw) -> dict:
    return {
        "institution_id": str(cw.hospital.id),
        "period_start": (cw.today - timedelta(days=10)).isoformat(),
        "period_end": cw.today.isoformat(),
    }


def test_a_settlement_through_the_pages_marks_the_claims_paid(client, login, cw, people, approved_claim):
    login(people.insurer)
    period = _period(cw)
    query = "&".join(f"{k}={v}" for k, v in period.items())
    preview = client.get(f"/settlements/new?{query}", headers=HX)
    text = html(preview)
    assert preview.status_code == 200 and text.lstrip().startswith('<div id="settlement-preview"')
    assert approved_claim.claim_number in text and "ACM-001" in text and "Check and pay the ticked claims" in text
    assert f'name="claim_ids" value="{approved_claim.id}"' in text and 'data-amount="3450.00"' in text

    # a total that no longer matches what would be paid: refused, nothing written
    stale = client.post(
        "/settlements/new",
        data={**period, "total": "100.00", "method": "bank_transfer", "reference": "EFT-0042", "confirmed": "yes"},
    )
    assert stale.status_code == 409 and "changed since the preview" in html(stale)
    assert count(FinancialSettlement) == 0 and count(Payment) == 0

    data = {**period, "total": "3450.00", "method": "bank_transfer", "reference": "EFT-0042"}
    asked = html(client.post("/settlements/new", data=data))
    assert "Pay Hospital" in asked or "KES 3,450.00?" in asked
    assert approved_claim.claim_number in asked and count(Payment) == 0
    response = client.post("/settlements/new", data=data | {"confirmed": "yes"})
    assert response.status_code == 303, html(response)
    settlement = db.session.scalar(select(FinancialSettlement))
    assert response.headers["Location"] == f"/settlements/{settlement.id}"
    page = html(client.get(response.headers["Location"]))
    assert f"Settlement {settlement.number} pays 1 claims, KES 3,450.00." in page
    assert approved_claim.claim_number in page and f'href="/settlements/{settlement.id}.pdf"' in page
    assert settlement.number in html(client.get("/settlements"))
    dispatch_pending()
    db.session.refresh(approved_claim)
    assert approved_claim.status.value == "paid"
    # the provider sees the settlement it was paid
    hospital_view = browser(client.application, people.hospital)
    assert settlement.number in html(hospital_view.get("/settlements"))
    assert hospital_view.get(f"/settlements/{settlement.id}").status_code == 200
    assert "made by an insurer" in html(hospital_view.get("/settlements/new"))


def test_a_settlement_with_nothing_waiting_says_so(client, login, cw, people):
    login(people.insurer)
    query = "&".join(f"{k}={v}" for k, v in _period(cw).items())
    assert "No approved claims wait for payment" in html(client.get(f"/settlements/new?{query}"))
    bad = client.get(f"/settlements/new?institution_id={cw.hospital.id}&period_start=2026-02-10&period_end=2026-01-01")
    assert bad.status_code == 422 and "The period ends before it starts." in html(bad)


# --- agents and commissions ----------------------------------------------------------------------


def test_agents_rates_assignment_and_paying_commissions_through_the_pages(client, login, cw, people):
    login(people.insurer)
    assert client.post("/agents", data={"code": "AG-01", "name": "Njeri Mwangi"}).status_code == 303
    agent = db.session.scalar(select(Agent))
    taken = client.post("/agents", data={"code": "AG-01", "name": "Another"})
    assert taken.status_code == 409 and "Another agent has this code." in html(taken)
    rate = {
        "scheme_id": str(cw.scheme.id),
        "rate_percent": "7.5",
        "effective_from": (cw.today - timedelta(days=400)).isoformat(),
    }
    assert client.post("/agents/rates", data=rate).status_code == 303
    nobody = client.post("/agents/assign", data={"agent_id": str(agent.id), "coverage": "NOPE-1"})
    assert nobody.status_code == 422 and "No such coverage or member" in html(nobody)
    assign = client.post("/agents/assign", data={"agent_id": str(agent.id), "coverage": "acm-001"})
    assert assign.status_code == 303, html(assign)
    page = html(client.get("/agents"))
    assert "Njeri Mwangi" in page and "7.50%" in page

    pay(people.insurer, "premium", cover_of(cw.member).id, "12345.67", "mobile_money", "QK7H2ABC9")
    statement = html(client.get(f"/agents/{agent.id}"))
    assert "925.93" in statement and 'id="pay-commissions"' in statement
    paid = client.post(f"/agents/{agent.id}/pay", data={"method": "bank_transfer", "reference": "COMM-11"})
    assert paid.status_code == 303
    assert "Paid Njeri Mwangi 925.93 for 1 commissions." in html(client.get(paid.headers["Location"]))
    assert count(Commission, Commission.commission_payment_id.is_(None)) == 0
    again = client.post(f"/agents/{agent.id}/pay", data={"method": "bank_transfer", "reference": "COMM-12"})
    assert again.status_code == 409 and "Nothing is owed" in html(again)
    future = html(client.get(f"/agents/{agent.id}?start={(cw.today + timedelta(days=1)).isoformat()}"))
    assert "None in this period." in future
    assert client.get(f"/agents/{agent.id}?start=nonsense").status_code == 422


def test_a_premium_is_recorded_for_a_member_found_by_number(client, login, cw, people):
    login(people.insurer)
    found = html(client.get("/payments/new/targets?kind=premium&q=ACM-001", headers=HX))
    cover = cover_of(cw.member)
    assert f"Coverage {cover.id}" in found and "Wanjiru Kamau" in found
    assert "No member ZEN-001 with your company." in html(
        client.get("/payments/new/targets?kind=premium&q=ZEN-001", headers=HX)
    )


def test_a_hospital_finance_officer_sees_why_agents_are_not_theirs(client, login, people):
    login(people.hospital)
    page = client.get("/agents")
    assert page.status_code == 200 and "They belong to" in html(page) and 'id="add-agent"' not in html(page)


# --- payment methods -----------------------------------------------------------------------------


def test_payment_methods_are_added_and_switched_off_in_place(app, client, login, people):
    login(people.hospital)
    data = {"kind": "mobile_money", "label": "M-Pesa paybill", "paybill": "400200", "account": "<b>HA</b>"}
    assert client.post("/payment-methods", data=data).status_code == 303
    method = db.session.scalar(select(PaymentMethod))
    assert method.settings == {"paybill": "400200", "account": "<b>HA</b>"}
    page = html(client.get("/payment-methods"))
    assert "M-Pesa paybill" in page and "&lt;b&gt;HA&lt;/b&gt;" in page and "<b>HA</b>" not in page
    assert client.post("/payment-methods", data=data).status_code == 409
    off = client.post(f"/payment-methods/{method.id}/active", data={"active": "0"}, headers=HX)
    assert off.status_code == 200 and toast(off) == "M-Pesa paybill deactivated."
    assert html(off).lstrip().startswith(f'<tr id="method-{method.id}"') and 'data-status="inactive"' in html(off)
    db.session.expire_all()
    assert db.session.get(PaymentMethod, method.id).active is False
    # a platform admin reads every organisation's methods but sets up none
    admin = browser(app, make_user(Role.ADMIN))
    admin_page = html(admin.get("/payment-methods"))
    assert "M-Pesa paybill" in admin_page and "belong to a hospital or an insurer" in admin_page
    assert 'id="add-method"' not in admin_page
    other = browser(app, people.other_hospital)
    assert "M-Pesa paybill" not in html(other.get("/payment-methods"))
    assert other.post(f"/payment-methods/{method.id}/active", data={"active": "1"}).status_code == 404


# --- tenants and roles ---------------------------------------------------------------------------


def test_another_hospital_sees_none_of_the_payments(app, client, login, people, issued):
    payment = pay(people.hospital, "invoice", issued.id, "250.00")
    refund = services.request_refund(actor=people.hospital, payment_id=payment.id, amount="10.00", reason="x")
    db.session.commit()
    login(people.other_hospital)
    assert payment.number not in html(client.get("/payments"))
    assert f'id="refund-{refund.id}"' not in html(client.get("/refunds"))
    assert client.get(f"/payments/{payment.id}").status_code == 404
    assert client.post(f"/payments/{payment.id}/refund", data={"amount": "1.00", "reason": "x"}).status_code == 404
    assert client.post(f"/payments/{payment.id}/reverse", data={"reason": "x"}).status_code == 404
    assert client.get(f"/payments/invoices/{issued.id}").status_code == 404
    assert client.get(f"/payments/new?kind=invoice&reference_id={issued.id}").status_code == 404
    data = {"kind": "invoice", "reference_id": str(issued.id), "amount": "1.00", "method": "cash"}
    assert client.post("/payments/new", data=data).status_code == 404
    assert count(Payment) == 1
    approver = browser(
        app, make_user(Role.FINANCE_OFFICER, institution_id=people.other_hospital.institution_id, company_id=None)
    )
    assert approver.post(f"/refunds/{refund.id}/approve").status_code == 404


def test_another_insurer_sees_none_of_the_settlements_agents_or_refunds(app, client, login, cw, people, approved_claim):
    payment = pay(people.insurer, "claim", approved_claim.id, "100.00", "bank_transfer", "FT0001")
    settlement = services.settle(
        actor=people.insurer,
        institution_id=cw.hospital.id,
        period_start=cw.today - timedelta(days=10),
        period_end=cw.today,
        method="bank_transfer",
        reference="EFT-0042",
    )
    agent = services.create_agent(actor=people.insurer, code="AG-01", name="Njeri Mwangi")
    db.session.commit()
    login(people.other_insurer)
    assert payment.number not in html(client.get("/payments"))
    assert settlement.number not in html(client.get("/settlements"))
    assert "Njeri Mwangi" not in html(client.get("/agents"))
    for url in (
        f"/payments/{payment.id}",
        f"/settlements/{settlement.id}",
        f"/settlements/{settlement.id}.pdf",
        f"/agents/{agent.id}",
        f"/payments/new?kind=claim&reference_id={approved_claim.id}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/agents/{agent.id}/pay", data={"method": "cash"}).status_code == 404
    query = "&".join(f"{k}={v}" for k, v in _period(cw).items())
    assert approved_claim.claim_number not in html(client.get(f"/settlements/new?{query}"))


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/payments"),
        ("GET", "/payments/new"),
        ("POST", "/payments/new"),
        ("GET", "/refunds"),
        ("GET", "/settlements"),
        ("GET", "/settlements/new"),
        ("GET", "/agents"),
        ("GET", "/payment-methods"),
        ("POST", "/payment-methods"),
    ],
)
def test_a_receptionist_is_refused_the_money_pages(client, login_as, cw, method, url):
    login_as(Role.RECEPTIONIST, institution_id=cw.hospital.id)
    assert client.open(url, method=method).status_code == 403


def test_an_auditor_reads_but_records_nothing(client, login_as, people, issued):
    payment = pay(people.hospital, "invoice", issued.id, "250.00")
    login_as(Role.AUDITOR)
    page = html(client.get(f"/payments/{payment.id}"))
    assert payment.number in page and 'id="refund"' not in page and 'id="reverse"' not in page
    assert client.get("/payments/new").status_code == 403
    assert client.post(f"/payments/{payment.id}/refund", data={"amount": "1", "reason": "x"}).status_code == 403


def test_a_settlement_can_leave_a_claim_out_and_pays_only_the_ticked_ones(client, login, cw, people, approved_claim):
    second_invoice = billing.create_invoice(
        actor=cw.clerk,
        institution_id=cw.hospital.id,
        patient_id=cw.patient.id,
        lines=[billing.LineInput("LAB-FBC", 1, service_date=cw.today - timedelta(days=3))],
    )
    billing.issue_invoice(actor=cw.clerk, invoice_id=second_invoice.id)
    left_out = claims.submit_claim(
        actor=cw.clerk, claim_id=claims.claim_from_invoice(actor=cw.clerk, invoice_id=second_invoice.id).id
    )
    db.session.commit()
    login(people.insurer)
    period = _period(cw)
    form = {**period, "total": "4650.00", "method": "bank_transfer", "reference": "EFT-7", "pick": "1"}
    kept = form | {"claim_ids": [str(approved_claim.id)]}
    asked = client.post("/settlements/new", data=kept)
    text = html(asked)
    assert asked.status_code == 200 and "1 claim, KES 3,450.00?" in text
    assert approved_claim.claim_number in text and left_out.claim_number not in text
    assert '<input type="hidden" name="total" value="3450.00">' in text and count(Payment) == 0
    none_ticked = client.post("/settlements/new", data=form)
    assert none_ticked.status_code == 422 and "Tick at least one claim to pay." in html(none_ticked)
    done = client.post("/settlements/new", data=kept | {"total": "3450.00", "confirmed": "yes"})
    assert done.status_code == 303, html(done)
    settlement = db.session.scalar(select(FinancialSettlement))
    assert (settlement.claims, settlement.total) == (1, D("3450.00"))
    paid = db.session.scalars(select(Payment)).all()
    assert [(p.reference_id, p.amount) for p in paid] == [(approved_claim.id, D("3450.00"))]
    again = html(client.get("/settlements/new?" + "&".join(f"{k}={v}" for k, v in period.items())))
    assert approved_claim.claim_number not in again
    assert left_out.claim_number in again, (left_out.status, left_out.total_approved)


def test_refund_and_reversal_ask_first_with_the_payment_and_amount(client, login, people, issued):
    payment = pay(people.hospital, "invoice", issued.id, "250.00")
    login(people.hospital)
    page = html(client.get(f"/payments/{payment.id}"))
    assert f'data-confirm="Reverse payment {payment.number} of KES 250.00?"' in page
    assert 'class="card danger-zone" id="reverse"' in page and "hx-confirm" not in page
    asked = html(client.post(f"/payments/{payment.id}/refund", data={"amount": "100.00", "reason": "Overcharged"}))
    assert f"Refund KES 100.00 of payment {payment.number} to the patient?" in asked
    assert '<input type="hidden" name="amount" value="100.00">' in asked
    reversing = html(client.post(f"/payments/{payment.id}/reverse", data={"reason": "Keyed twice"}))
    assert f"Reverse payment {payment.number} of KES 250.00?" in reversing and "Keyed twice" in reversing
    assert count(Refund) == 0 and count(Payment) == 1
