"""Invoice pages: the list (filters, search as you type, bounded queries, insurer scoping), the invoice page
with a draft's lines edited inline (totals out of band), issue, void, credit notes, the patient's billing panel
on the hospital's patient page; roles, tenants, bad input that answers 422 and changes nothing, escaping."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.billing import services
from blueprints.billing.models import BillingItem, Invoice, InvoiceLine
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import make_patient

HX = {"HX-Request": "true"}
YES = {"confirmed": "yes"}
D = Decimal


def html(response) -> str:
    return response.get_data(as_text=True)


def toast(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(invoice) -> Invoice:
    db.session.expire_all()
    return db.session.get(Invoice, invoice.id)


def draft(world, patient=None, lines=(("CONSULT", 1, None),)) -> Invoice:
    return services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=(patient or world.self_pay).id,
        lines=[services.LineInput(code, qty, price) for code, qty, price in lines],
    )


def issued(world, patient=None, lines=(("CONSULT", 1, None),)) -> Invoice:
    return services.issue_invoice(actor=world.clerk, invoice_id=draft(world, patient, lines).id)


def line_edit(quantity="1", unit_price="2500.00", description="GP consultation", no=1) -> dict:
    return {f"line{no}-quantity": quantity, f"line{no}-unit_price": unit_price, f"line{no}-description": description}


@pytest.fixture
def clerk(world, login):
    """Hospital A's billing clerk, signed in."""
    return login(world.clerk)


# --- the list ------------------------------------------------------------------------------------


def test_invoice_list_is_a_page_and_its_rows_a_partial_for_htmx(client, world, clerk):
    first, second = draft(world), issued(world, world.insured)
    page = client.get("/billing/invoices")
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    text = html(page)
    assert "<html" in text and 'href="/billing/invoices"' in text  # the base layout, with the nav entry
    assert 'hx-trigger="search, keyup delay:200ms changed"' in text and 'id="invoice-results"' in text
    # newest first: the issued invoice was drafted last
    assert text.index(f'id="invoice-{second.id}"') < text.index(f'id="invoice-{first.id}"')
    assert second.number in text and "Baraka Mutua" in text and "Acme Insurance" in text

    partial = client.get("/billing/invoices", headers=HX)
    assert partial.status_code == 200 and "<html" not in html(partial)
    assert html(partial).lstrip().startswith('<div id="invoice-results"')
    assert f'id="invoice-{first.id}"' in html(partial)


def test_invoice_list_filters_by_status_number_and_patient(client, world, clerk):
    open_one, waiting = issued(world), draft(world, world.insured)
    by_status = html(client.get("/billing/invoices?status=draft", headers=HX))
    assert f'id="invoice-{waiting.id}"' in by_status and f'id="invoice-{open_one.id}"' not in by_status
    by_number = html(client.get("/billing/invoices?q=inv-ha-0000", headers=HX))
    assert f'id="invoice-{open_one.id}"' in by_number and f'id="invoice-{waiting.id}"' not in by_number
    nothing = html(client.get("/billing/invoices?q=ZZ", headers=HX))
    assert "No invoices match these filters." in nothing and 'href="/billing/invoices">Clear filters' in nothing
    by_patient = client.get(f"/billing/invoices?patient_id={world.insured.id}")
    assert f'id="invoice-{waiting.id}"' in html(by_patient) and f'id="invoice-{open_one.id}"' not in html(by_patient)
    assert "Invoices of Wanjiru Kamau" in html(by_patient)
    assert client.get("/billing/invoices?status=nonsense&page=-4").status_code == 200


def test_invoice_list_makes_the_same_number_of_queries_for_3_and_30_invoices(client, world, clerk, count_queries):
    for _ in range(3):
        draft(world, make_patient(world.hospital, first_name="Few"))
    db.session.commit()
    client.get("/billing/invoices")  # a warm process: it keeps the hospitals' and insurers' names
    with count_queries() as few:
        assert html(client.get("/billing/invoices")).count('<tr id="invoice-') == 3
    for _ in range(27):
        draft(world, make_patient(world.hospital, first_name="Many"))
    db.session.commit()
    with count_queries() as many:
        assert html(client.get("/billing/invoices")).count('<tr id="invoice-') == 30
    assert many.count == few.count


def test_an_insurers_finance_officer_sees_only_the_invoices_billed_to_its_company(client, world, login_as):
    billed, self_paid = issued(world, world.insured), issued(world, world.self_pay)
    assert billed.company_id == world.company.id and self_paid.company_id is None
    login_as(Role.FINANCE_OFFICER, company_id=world.company.id)
    text = html(client.get("/billing/invoices"))
    assert f'id="invoice-{billed.id}"' in text and f'id="invoice-{self_paid.id}"' not in text
    page = client.get(f"/billing/invoices/{billed.id}")
    assert page.status_code == 200 and billed.number in html(page)
    assert 'name="line1-quantity"' not in html(page) and 'id="void"' not in html(page)  # reads, never edits
    assert client.get(f"/billing/invoices/{self_paid.id}").status_code == 404


def test_another_insurers_finance_officer_sees_none_of_them(client, world, login_as):
    billed = issued(world, world.insured)
    login_as(Role.FINANCE_OFFICER, company_id=world.other_company.id)
    assert f'id="invoice-{billed.id}"' not in html(client.get("/billing/invoices"))
    assert client.get(f"/billing/invoices/{billed.id}").status_code == 404


# --- the invoice page ----------------------------------------------------------------------------


def test_draft_page_shows_header_lines_totals_and_payer_parts_with_inline_editing(client, world, clerk):
    invoice = draft(world, world.insured)
    page = client.get(f"/billing/invoices/{invoice.id}")
    assert page.status_code == 200
    text = html(page)
    assert "<html" in text and "Draft" in text and 'data-status="draft"' in text
    assert "Wanjiru Kamau" in text and "Acme Insurance" in text and "Hospital A" in text
    assert 'name="line1-quantity"' in text and 'name="line1-unit_price"' in text and 'name="line1-description"' in text
    assert f'hx-post="/billing/invoices/{invoice.id}/lines/1"' in text and 'id="line-add"' in text
    # 10% copay on the consultation: the insurer 2,250.00, the patient 250.00
    assert "KES 2,500.00" in text and "KES 2,250.00" in text and "KES 250.00" in text
    assert 'id="credit"' not in text and 'id="void"' in text
    assert f'href="/billing/invoices/{invoice.id}.pdf"' in text

    partial = client.get(f"/billing/invoices/{invoice.id}", headers=HX)
    assert "<html" not in html(partial) and html(partial).lstrip().startswith('<section class="invoice-page"')


def test_issued_page_shows_payments_and_balance_and_no_editing(client, world, clerk):
    invoice = issued(world, world.insured)
    services.record_payment_event(
        1, {"payment_id": 1, "invoice_id": invoice.id, "payer": "patient", "amount": "250.00", "method": "mpesa"}
    )
    db.session.commit()
    text = html(client.get(f"/billing/invoices/{invoice.id}"))
    assert invoice.number in text and 'data-status="partially_paid"' in text
    assert 'id="transactions"' in text and "M-Pesa" in text and 'data-amount="balance"' in text
    assert "KES 2,250.00" in text  # the balance: the insurer's part
    assert 'name="line1-quantity"' not in text and 'id="line-add"' not in text
    assert 'id="credit"' in text and 'id="void"' not in text


def test_inline_line_edit_answers_the_row_and_the_totals_out_of_band(client, world, clerk):
    invoice = draft(world)
    response = client.post(
        f"/billing/invoices/{invoice.id}/lines/1", data=line_edit(quantity="3", unit_price="2000.00"), headers=HX
    )
    assert response.status_code == 200, html(response)
    text = html(response)
    assert text.lstrip().startswith('<tr id="line-1"') and "<html" not in text
    assert '<dl id="invoice-totals"' in text and 'hx-swap-oob="true"' in text
    assert "KES 6,000.00" in text  # the new total, in the row and in the totals
    assert toast(response) == "Line 1 saved."
    invoice = fresh(invoice)
    assert invoice.total == D("6000.00") and invoice.patient_part == D("6000.00")


def test_line_edit_without_htmx_redirects_back_to_the_page(client, world, clerk):
    invoice = draft(world)
    response = client.post(f"/billing/invoices/{invoice.id}/lines/1", data=line_edit(description="Night visit"))
    assert response.status_code == 303 and response.headers["Location"] == f"/billing/invoices/{invoice.id}"
    assert db.session.scalar(select(InvoiceLine.description).where(InvoiceLine.invoice_id == invoice.id)) == (
        "Night visit"
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"quantity": "0"}, "quantity", "Enter a number from 1 to 10,000."),
        ({"quantity": "two"}, "quantity", "Enter a whole number."),
        ({"unit_price": "abc"}, "unit_price", "Enter an amount such as 1250.00."),
        ({"unit_price": "-5"}, "unit_price", "Amounts cannot be negative."),
        ({"description": " "}, "description", "Enter the description"),
    ],
)
def test_bad_line_input_shows_the_field_error_and_changes_nothing(client, world, clerk, changes, field, message):
    invoice = draft(world)
    response = client.post(f"/billing/invoices/{invoice.id}/lines/1", data=line_edit(**changes), headers=HX)
    assert response.status_code == 422
    text = html(response)
    assert message in text and f'id="line1-{field}-errors"' in text
    assert re.search(
        rf'name="line1-{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*name="line1-{field}"', text
    )
    line = db.session.scalar(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
    db.session.refresh(line)
    assert (line.quantity, line.unit_price, line.description) == (1, D("2500.00"), "GP consultation")
    assert fresh(invoice).total == D("2500.00")


def test_bad_line_input_without_htmx_shows_the_page_with_the_error(client, world, clerk):
    invoice = draft(world)
    response = client.post(f"/billing/invoices/{invoice.id}/lines/1", data=line_edit(quantity="0"))
    assert response.status_code == 422 and "<html" in html(response)
    assert "Enter a number from 1 to 10,000." in html(response)
    assert fresh(invoice).total == D("2500.00")


def test_adding_a_line_prices_it_from_the_tariff_and_updates_the_totals(client, world, clerk):
    invoice = draft(world)
    response = client.post(
        f"/billing/invoices/{invoice.id}/lines", data={"add-service_code": "lab-fbc", "add-quantity": "2"}, headers=HX
    )
    assert response.status_code == 200, html(response)
    text = html(response)
    assert text.lstrip().startswith('<tr id="line-2"') and 'id="line-add"' in text  # the new row, then a fresh add row
    assert "Full blood count" in text and "KES 4,900.00" in text and 'hx-swap-oob="true"' in text
    assert toast(response) == "Line 2 added."
    assert fresh(invoice).total == D("4900.00")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"add-service_code": "NOPE", "add-quantity": "1"}, "service_code", "NOPE is not a service on the price list."),
        ({"add-service_code": "CONSULT", "add-quantity": "0"}, "quantity", "Enter a number from 1 to 10,000."),
        ({"add-service_code": "CONSULT", "add-unit_price": "abc"}, "unit_price", "Enter an amount such as 1250.00."),
        ({"add-service_code": ""}, "service_code", "Enter the service code"),
    ],
)
def test_a_refused_new_line_reshows_the_add_row_with_the_error(client, world, clerk, data, field, message):
    invoice = draft(world)
    response = client.post(f"/billing/invoices/{invoice.id}/lines", data=data, headers=HX)
    assert response.status_code == 422
    text = html(response)
    assert text.lstrip().startswith('<tr id="line-add"') and message in text and 'aria-invalid="true"' in text
    assert count(InvoiceLine, InvoiceLine.invoice_id == invoice.id) == 1
    assert fresh(invoice).total == D("2500.00")


def test_removing_a_line_answers_the_totals_alone(client, world, clerk):
    invoice = draft(world, lines=(("CONSULT", 1, None), ("LAB-FBC", 1, None)))
    response = client.post(f"/billing/invoices/{invoice.id}/lines/1/remove", headers=HX)
    assert response.status_code == 200
    text = html(response)
    assert (
        'id="line-1"' not in text and '<dl id="invoice-totals" class="facts summary invoice-totals" hx-swap-oob' in text
    )
    assert "KES 1,200.00" in text and toast(response) == "Line 1 removed."
    assert count(InvoiceLine, InvoiceLine.invoice_id == invoice.id) == 1
    assert client.post(f"/billing/invoices/{invoice.id}/lines/9/remove", headers=HX).status_code == 404


def test_issuing_redirects_to_the_page_which_shows_the_number(client, world, clerk):
    invoice = draft(world)
    response = client.post(f"/billing/invoices/{invoice.id}/issue", data=YES)
    assert response.status_code == 303 and response.headers["Location"] == f"/billing/invoices/{invoice.id}"
    page = html(client.get(response.headers["Location"]))
    assert "Invoice INV-HA-000001 issued." in page
    assert '<h1 id="invoice-number">INV-HA-000001' in page and 'data-status="issued"' in page
    assert 'name="line1-quantity"' not in page
    # issued: the lines are fixed now
    again = client.post(f"/billing/invoices/{invoice.id}/lines/1", data=line_edit(quantity="5"), headers=HX)
    assert again.status_code == 422 and "only drafts change" in toast(again)
    assert fresh(invoice).total == D("2500.00")


def test_issuing_an_empty_draft_shows_why_not(client, world, clerk):
    invoice = draft(world)
    client.post(f"/billing/invoices/{invoice.id}/lines/1/remove")
    response = client.post(f"/billing/invoices/{invoice.id}/issue", data=YES)
    assert response.status_code == 409 and "Add a line before issuing the invoice." in html(response)
    assert fresh(invoice).number is None


def test_voiding_needs_a_reason(client, world, clerk):
    invoice = issued(world)
    refused = client.post(f"/billing/invoices/{invoice.id}/void", data=YES | {"reason": ""})
    assert refused.status_code == 422 and "Say why the invoice is voided." in html(refused)
    assert fresh(invoice).status.value == "issued"
    done = client.post(f"/billing/invoices/{invoice.id}/void", data=YES | {"reason": "Wrong patient"})
    assert done.status_code == 303
    page = html(client.get(done.headers["Location"]))
    assert "Invoice INV-HA-000001 voided." in page and "Wrong patient" in page and 'data-status="void"' in page
    assert fresh(invoice).void_reason == "Wrong patient"


def test_voiding_an_invoice_with_money_on_it_is_409_with_the_message(client, world, clerk):
    invoice = issued(world)
    services.record_payment_event(1, {"payment_id": 1, "invoice_id": invoice.id, "amount": "100.00"})
    db.session.commit()
    response = client.post(f"/billing/invoices/{invoice.id}/void", data=YES | {"reason": "Mistake"})
    assert response.status_code == 409
    assert "refund or credit it instead of voiding" in html(response)
    assert fresh(invoice).status.value == "partially_paid"


def test_a_credit_note_on_an_open_invoice(client, world, clerk):
    invoice = issued(world)
    refused = client.post(
        f"/billing/invoices/{invoice.id}/credit",
        data=YES | {"amount": "9999", "payer": "patient", "reason": "Discount"},
    )
    assert refused.status_code == 422 and "credit at most that" in html(refused)
    done = client.post(
        f"/billing/invoices/{invoice.id}/credit", data=YES | {"amount": "500", "payer": "patient", "reason": "Discount"}
    )
    assert done.status_code == 303
    page = html(client.get(done.headers["Location"]))
    assert "Credit note INV-HA-CN-000001 issued for 500.00." in page and "KES 2,000.00" in page
    assert fresh(invoice).balance == D("2000.00")


# --- roles and tenants ---------------------------------------------------------------------------


def _writes(invoice_id: int, patient_id: int) -> list[tuple[str, dict]]:
    return [
        (f"/billing/invoices/{invoice_id}/lines", {"add-service_code": "CONSULT"}),
        (f"/billing/invoices/{invoice_id}/lines/1", line_edit(quantity="9")),
        (f"/billing/invoices/{invoice_id}/lines/1/remove", {}),
        (f"/billing/invoices/{invoice_id}/issue", {}),
        (f"/billing/invoices/{invoice_id}/void", {"reason": "x"}),
        (f"/billing/invoices/{invoice_id}/credit", {"amount": "1", "payer": "patient", "reason": "x"}),
        (f"/billing/patients/{patient_id}/items", {"charge-service_code": "CONSULT"}),
        (f"/billing/patients/{patient_id}/invoices", {"item_ids": "1"}),
    ]


def test_a_receptionist_gets_403_on_every_write_route_and_the_pages(client, world, login_as):
    invoice = draft(world)
    login_as(Role.RECEPTIONIST, institution_id=world.hospital.id)
    for url, data in _writes(invoice.id, world.self_pay.id):
        assert client.post(url, data=data).status_code == 403, url
    assert client.get(f"/billing/invoices/{invoice.id}").status_code == 403
    assert client.get(f"/billing/patients/{world.self_pay.id}/billing").status_code == 403
    assert fresh(invoice).total == D("2500.00") and fresh(invoice).number is None


def test_an_auditor_reads_but_changes_nothing(client, world, login_as):
    invoice = draft(world)
    login_as(Role.AUDITOR)
    page = client.get(f"/billing/invoices/{invoice.id}")
    assert page.status_code == 200 and 'name="line1-quantity"' not in html(page) and "Issue invoice" not in html(page)
    assert client.post(f"/billing/invoices/{invoice.id}/issue", data=YES).status_code == 403


def test_another_hospitals_clerk_gets_404_for_the_invoice_and_its_line_routes(client, world, login):
    invoice = draft(world)
    login(world.other_clerk)
    assert client.get(f"/billing/invoices/{invoice.id}").status_code == 404
    assert client.get(f"/billing/invoices/{invoice.id}", headers=HX).status_code == 404
    for url, data in _writes(invoice.id, world.self_pay.id):
        assert client.post(url, data=data, headers=HX).status_code == 404, url
    assert f'id="invoice-{invoice.id}"' not in html(client.get("/billing/invoices"))
    invoice = fresh(invoice)
    assert (invoice.total, invoice.number, invoice.status.value) == (D("2500.00"), None, "draft")
    assert count(InvoiceLine, InvoiceLine.invoice_id == invoice.id) == 1


# --- the patient's billing panel -----------------------------------------------------------------


def test_the_patient_page_lazy_loads_the_billing_panel(client, world, clerk):
    text = html(client.get(f"/hospital/patients/{world.self_pay.id}"))
    url = f"/billing/patients/{world.self_pay.id}/billing"
    assert re.search(rf'<section class="card"[^>]*hx-get="{url}" hx-trigger="load"', text)
    assert "Billing comes later" not in text


def test_a_receptionist_sees_no_billing_panel_on_the_patient_page(client, world, login_as):
    login_as(Role.RECEPTIONIST, institution_id=world.hospital.id)
    text = html(client.get(f"/hospital/patients/{world.self_pay.id}"))
    assert "/billing/patients/" not in text and "open to the billing staff" in text


def test_the_panel_is_a_fragment_for_htmx_and_a_page_otherwise(client, world, clerk):
    item = services.add_item(actor=world.clerk, patient_id=world.self_pay.id, service_code="LAB-FBC", quantity=2)
    old = issued(world)
    db.session.commit()
    url = f"/billing/patients/{world.self_pay.id}/billing"
    fragment = client.get(url, headers=HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    text = html(fragment)
    assert "<html" not in text
    assert text.lstrip().startswith('<div id="patient-billing"')
    assert f'name="item_ids" value="{item.id}"' in text and "Full blood count" in text
    assert f'href="/billing/invoices/{old.id}"' in text and "INV-HA-000001" in text
    assert "Create draft invoice from selected items" in text and "Add a charge" in text
    page = client.get(url)
    assert page.status_code == 200 and "<html" in html(page) and 'id="patient-billing"' in html(page)
    assert f'href="/hospital/patients/{world.self_pay.id}"' in html(page)


def test_adding_a_charge_by_hand_answers_the_panel(client, world, clerk):
    url = f"/billing/patients/{world.self_pay.id}/items"
    response = client.post(url, data={"charge-service_code": "dent-x", "charge-quantity": "2"}, headers=HX)
    assert response.status_code == 200 and "DENT-X" in html(response) and "Dental X-ray" in html(response)
    assert toast(response) == "DENT-X × 2 added to the unbilled items."
    refused = client.post(url, data={"charge-service_code": "NOPE", "charge-quantity": "1"}, headers=HX)
    assert refused.status_code == 422 and "NOPE is not a service on the price list." in html(refused)
    assert 'id="charge-service_code-errors"' in html(refused) and 'id="charge-unit_price-errors"' not in html(refused)
    priced = client.post(
        url, data={"charge-service_code": "NOPE", "charge-quantity": "1", "charge-unit_price": "abc"}, headers=HX
    )
    assert priced.status_code == 422 and "Enter an amount such as 1250.00." in html(priced)
    assert count(BillingItem, BillingItem.patient_id == world.self_pay.id) == 1


def test_a_draft_from_the_ticked_items_opens_the_new_draft(client, world, clerk):
    chosen = services.add_item(actor=world.clerk, patient_id=world.self_pay.id, service_code="CONSULT")
    left = services.add_item(actor=world.clerk, patient_id=world.self_pay.id, service_code="LAB-FBC")
    db.session.commit()
    url = f"/billing/patients/{world.self_pay.id}/invoices"
    refused = client.post(url, data={})
    assert refused.status_code == 422 and "Tick the items to bill." in html(refused)
    response = client.post(url, data={"item_ids": str(chosen.id)})
    assert response.status_code == 303
    invoice_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = html(client.get(response.headers["Location"]))
    assert "Draft invoice created with 1 lines." in page and "GP consultation" in page
    assert count(InvoiceLine, InvoiceLine.invoice_id == invoice_id) == 1
    assert count(BillingItem, BillingItem.id == left.id, BillingItem.status == "unbilled") == 1


# --- escaping ------------------------------------------------------------------------------------


def test_html_in_a_patient_name_is_escaped_on_every_page(client, world, clerk):
    patient = make_patient(world.hospital, first_name="<script>alert(1)</script>", last_name="<b>Bold</b>")
    invoice = draft(world, patient)
    db.session.commit()
    for url in (
        "/billing/invoices",
        f"/billing/invoices?patient_id={patient.id}",
        f"/billing/invoices/{invoice.id}",
        f"/billing/patients/{patient.id}/billing",
    ):
        text = html(client.get(url))
        assert "<script>alert(1)</script>" not in text and "<b>Bold</b>" not in text, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, url


# --- confirm before money moves (UI.md) ------------------------------------------------------------


def test_issuing_without_confirming_shows_what_will_happen_and_changes_nothing(client, world, clerk):
    invoice = draft(world)
    asked = client.post(f"/billing/invoices/{invoice.id}/issue")
    page = html(asked)
    assert asked.status_code == 200 and "Issue this draft invoice for KES 2,500.00?" in page
    assert "Issued invoices can&#39;t be edited; they can be voided or credited." in page
    assert f'action="/billing/invoices/{invoice.id}/issue"' in page and 'name="confirmed" value="yes"' in page
    assert f'href="/billing/invoices/{invoice.id}">Cancel' in page
    assert fresh(invoice).number is None and fresh(invoice).status.value == "draft"
    done = client.post(f"/billing/invoices/{invoice.id}/issue", data=YES)
    assert done.status_code == 303 and fresh(invoice).number == "INV-HA-000001"


def test_the_invoice_page_carries_the_dialogs_question_and_sets_void_apart(client, world, clerk):
    invoice = draft(world)
    page = html(client.get(f"/billing/invoices/{invoice.id}"))
    assert 'data-confirm="Issue this draft invoice for KES 2,500.00?"' in page
    void = page.index('id="void"')
    assert page.index('id="issue-form"') < void and 'class="card danger-zone" id="void"' in page
    assert 'class="danger">Void draft</button>' in page


def test_voiding_confirms_with_the_reason_typed_and_keeps_it(client, world, clerk):
    invoice = issued(world)
    asked = html(client.post(f"/billing/invoices/{invoice.id}/void", data={"reason": "Wrong patient"}))
    assert "Void invoice INV-HA-000001 for KES 2,500.00?" in asked and "This can&#39;t be undone." in asked
    assert (
        '<input type="hidden" name="reason" value="Wrong patient">' in asked and 'class="danger">Void INV-HA' in asked
    )
    assert fresh(invoice).status.value == "issued"
    blank = client.post(f"/billing/invoices/{invoice.id}/void", data={"reason": ""})
    assert blank.status_code == 422 and "Say why the invoice is voided." in html(blank)
    assert 'name="confirmed"' not in html(blank)


def test_a_credit_note_confirms_the_amount_and_payer_first(client, world, clerk):
    invoice = issued(world)
    asked = html(
        client.post(
            f"/billing/invoices/{invoice.id}/credit", data={"amount": "500", "payer": "patient", "reason": "Discount"}
        )
    )
    assert "Issue a credit note for KES 500 against invoice INV-HA-000001?" in asked
    assert "off what patient still owes" in asked and fresh(invoice).balance == D("2500.00")


# --- charge entry from the price list ---------------------------------------------------------------


def test_the_price_list_offers_services_by_code_or_description_as_you_type(client, world, clerk):
    url = f"/billing/price-list/options?institution_id={world.hospital.id}&list=charge-price-options"
    by_code = client.get(url + "&charge-service_code=cons", headers=HX)
    text = html(by_code)
    assert (
        by_code.status_code == 200 and '<option value="CONSULT">CONSULT · GP consultation · 2,500.00</option>' in text
    )
    assert 'id="charge-price-options-status"' in text and "1 service on the price list match" in text
    by_words = html(client.get(url + "&charge-service_code=blood", headers=HX))
    assert '<option value="LAB-FBC">' in by_words and "CONSULT" not in by_words.split("<span")[0]
    unknown = html(client.get(url + "&charge-service_code=zzz", headers=HX))
    assert "<option" not in unknown and "No service on the price list matches “zzz”." in unknown


def test_the_price_list_of_another_hospital_is_not_offered(client, world, clerk):
    from tests.factories import make_tariff

    make_tariff(world.other_hospital, "ONLY-B", "10.00", benefit_code="OUTPATIENT", description="Only at B")
    db.session.commit()
    url = f"/billing/price-list/options?institution_id={world.other_hospital.id}&q=ONLY"
    assert "ONLY-B" not in html(client.get(url, headers=HX))


def test_the_charge_form_picks_from_the_price_list_and_stays_open_for_the_next(client, world, clerk):
    url = f"/billing/patients/{world.self_pay.id}/billing"
    panel = html(client.get(url))
    assert 'list="charge-price-options"' in panel and '<datalist id="charge-price-options">' in panel
    assert (
        'hx-get="/billing/price-list/options?institution_id=' in panel
        and '<details class="add-charge" id="add-charge">' in panel
    )
    added = client.post(
        f"/billing/patients/{world.self_pay.id}/items",
        data={"charge-service_code": "CONSULT", "charge-quantity": "1", "charge-service_date": "2026-12-01"},
        headers=HX,
    )
    text = html(added)
    assert added.status_code == 200 and '<details class="add-charge" id="add-charge" open>' in text
    assert 'name="charge-service_date" type="text" value="2026-12-01"' in text or 'value="2026-12-01"' in text
    plain = client.post(
        f"/billing/patients/{world.self_pay.id}/items", data={"charge-service_code": "LAB-FBC", "charge-quantity": "1"}
    )
    assert plain.status_code == 303 and "adding=1" in plain.headers["Location"]
    assert '<details class="add-charge" id="add-charge" open>' in html(client.get(plain.headers["Location"]))


def test_new_invoice_starts_by_finding_the_patient(client, world, clerk):
    listing = html(client.get("/billing/invoices"))
    assert 'id="new-invoice"' in listing and 'href="/billing/invoices/new"' in listing
    found = client.get("/billing/invoices/new?q=Wanjiru")
    text = html(found)
    assert found.status_code == 200 and "Wanjiru Kamau" in text
    assert f'href="/billing/patients/{world.insured.id}/billing"' in text
    nothing = html(client.get("/billing/invoices/new?q=Zzyzx", headers=HX))
    assert "No patient matches" in nothing and "<html" not in nothing
