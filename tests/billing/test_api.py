"""Billing JSON API: API.md's shapes with exact amounts, tariff history, CSV import, drafting and issuing,
line edits, void and credit notes, payments arriving as events, receivables, settings, the PDF, tenant
isolation, roles, and bad input that answers 422/409 and leaves nothing behind."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from blueprints.billing import services
from blueprints.billing.models import (
    AccountReceivable,
    BillingItem,
    BillingSettings,
    Invoice,
    InvoiceLine,
    ServiceTariff,
)
from medcover import clock
from medcover.api import PREFIX
from medcover.events import dispatch_pending, publish
from medcover.extensions import db
from medcover.openapi import build_spec
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_user

PAGE_KEYS = {"items", "page", "per_page", "total"}
TARIFF_KEYS = {
    "id",
    "institution_id",
    "service_code",
    "description",
    "benefit_code",
    "unit_price",
    "effective_from",
    "effective_to",
}
LINE_KEYS = {
    "line_no",
    "service_code",
    "description",
    "benefit_code",
    "service_date",
    "quantity",
    "unit_price",
    "net",
    "tax",
    "amount",
    "insurer_amount",
    "patient_amount",
}
INVOICE_KEYS = {
    "id",
    "number",
    "kind",
    "status",
    "institution_id",
    "patient_id",
    "company_id",
    "member_number",
    "currency",
    "issued_on",
    "due_on",
    "subtotal",
    "tax",
    "total",
    "insurer_part",
    "patient_part",
    "paid",
    "refunded",
    "credited",
    "balance",
    "void_reason",
    "credited_invoice_id",
    "notes",
}
ITEM_KEYS = {
    "id",
    "institution_id",
    "patient_id",
    "service_code",
    "description",
    "benefit_code",
    "quantity",
    "unit_price",
    "service_date",
    "status",
    "invoice_id",
    "source",
}
RECEIVABLE_KEYS = {
    "invoice_id",
    "number",
    "payer",
    "company_id",
    "patient_id",
    "issued_on",
    "due_on",
    "amount",
    "paid",
    "balance",
    "age_days",
    "bucket",
}
BUCKETS = ["current", "d30", "d60", "d90", "d120"]
TABLES = (ServiceTariff, BillingItem, Invoice, InvoiceLine, AccountReceivable, BillingSettings)
CSV = (
    "service_code,description,benefit_code,unit_price,effective_from\n"
    "CONSULT,GP consultation,OUTPATIENT,2750.00,2026-12-01\n"
    "LAB-FBC,Full blood count,LAB,1200.00,2020-01-01\n"
    "XRAY-CH,Chest X-ray,OUTPATIENT,1800,2026-12-01\n"
)


class Api:
    """A caller of the API with one user's token."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def __call__(self, method: str, path: str, body=None, status: int | None = None, headers=None, **kwargs):
        response = self.client.open(
            PREFIX + path, method=method, json=body, headers={**self.headers, **(headers or {})}, **kwargs
        )
        if status is not None:
            assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
        return response

    def get(self, path: str, status: int = 200):
        return self("GET", path, status=status).get_json()

    def post(self, path: str, body=None, status: int = 201):
        return self("POST", path, body, status=status).get_json()

    def put(self, path: str, body=None, status: int = 200):
        return self("PUT", path, body, status=status).get_json()

    def patch(self, path: str, body=None, status: int = 200):
        return self("PATCH", path, body, status=status).get_json()


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in TABLES}


@pytest.fixture
def as_user(client, api_token):
    """``as_user(role, **tenant)`` -> an ``Api`` for a new user of that role."""

    def build(role: Role = Role.ADMIN, **tenant) -> Api:
        return Api(client, api_token(make_user(role, **tenant)))

    return build


@pytest.fixture
def clerk(world, client, api_token) -> Api:
    return Api(client, api_token(world.clerk))


@pytest.fixture
def other_clerk(world, client, api_token) -> Api:
    return Api(client, api_token(world.other_clerk))


def _invoice(world, patient=None, lines=None) -> dict:
    return {
        "patient_id": (patient or world.insured).id,
        "institution_id": world.hospital.id,
        "lines": lines or [{"service_code": "CONSULT", "quantity": 1}],
    }


def _draft(api: Api, world, patient=None, lines=None) -> dict:
    return api.post("/invoices", _invoice(world, patient, lines))


def _issued(api: Api, world, patient=None, lines=None) -> dict:
    return api.post(f"/invoices/{_draft(api, world, patient, lines)['id']}/issue", status=200)


def _pay(invoice_id: int, amount: str, payer: str, payment_id: int) -> None:
    publish(
        "payment.recorded",
        {"payment_id": payment_id, "kind": "invoice", "invoice_id": invoice_id, "payer": payer, "amount": amount},
    )
    dispatch_pending()


# --- tariffs -------------------------------------------------------------------------------------


def test_a_new_price_through_the_api_keeps_the_history(world, clerk):
    created = clerk.post(
        "/tariffs",
        {
            "institution_id": world.hospital.id,
            "service_code": "consult",
            "description": "GP consultation",
            "benefit_code": "OUTPATIENT",
            "unit_price": "3000.00",
            "effective_from": "2026-07-01",
        },
    )
    assert set(created) == TARIFF_KEYS
    assert (created["service_code"], created["unit_price"], created["effective_from"], created["effective_to"]) == (
        "CONSULT",
        "3000.00",
        "2026-07-01",
        None,
    )
    assert clerk.get(f"/tariffs/{created['id']}") == created

    price = f"/tariffs/price?institution_id={world.hospital.id}&service_code=CONSULT"
    before = clerk.get(price + "&on=2026-06-30")
    assert (before["unit_price"], before["effective_from"], before["effective_to"]) == (
        "2500.00",
        "2020-01-01",
        "2026-06-30",
    )
    assert clerk.get(price + "&on=2026-07-01")["unit_price"] == "3000.00"
    assert clerk.get(price + "&on=2026-07-01")["tariff_id"] == created["id"]

    history = clerk.get("/tariffs?q=CONSULT")
    assert set(history) == PAGE_KEYS and history["total"] == 2
    assert [(t["unit_price"], t["effective_from"], t["effective_to"]) for t in history["items"]] == [
        ("3000.00", "2026-07-01", None),
        ("2500.00", "2020-01-01", "2026-06-30"),
    ]
    on_day = clerk.get("/tariffs?q=CONSULT&on=2026-06-30")
    assert [t["unit_price"] for t in on_day["items"]] == ["2500.00"]

    # An invoice line dated before the change keeps the old price, one after takes the new.
    invoice = _draft(
        clerk,
        world,
        world.self_pay,
        [
            {"service_code": "CONSULT", "quantity": 1, "service_date": "2026-06-30"},
            {"service_code": "CONSULT", "quantity": 1, "service_date": "2026-07-01"},
        ],
    )
    assert [line["unit_price"] for line in invoice["lines"]] == ["2500.00", "3000.00"]
    assert invoice["total"] == "5500.00"


def test_a_second_price_from_the_same_day_is_409_and_unknown_prices_are_404(world, clerk):
    body = {
        "institution_id": world.hospital.id,
        "service_code": "CONSULT",
        "description": "GP",
        "benefit_code": "OUTPATIENT",
        "unit_price": "1.00",
        "effective_from": "2020-01-01",
    }
    before = counts()
    assert_problem(clerk("POST", "/tariffs", body), 409)
    body.update(benefit_code="NOPE", effective_from="2026-01-01")
    assert "benefit_code" in assert_problem(clerk("POST", "/tariffs", body), 422)["errors"]
    assert counts() == before
    assert_problem(clerk("GET", f"/tariffs/price?institution_id={world.hospital.id}&service_code=NOPE"), 404)
    assert_problem(
        clerk("GET", f"/tariffs/price?institution_id={world.hospital.id}&service_code=CONSULT&on=2019-12-31"), 404
    )
    missing = assert_problem(clerk("GET", "/tariffs/price?service_code=CONSULT"), 422)
    assert set(missing["errors"]) == {"institution_id"}
    assert_problem(
        clerk("GET", f"/tariffs/price?institution_id={world.hospital.id}&service_code=CONSULT&on=2026-13-01"), 422
    )


def test_a_price_list_import_previews_then_applies_all_or_nothing(world, clerk):
    before = counts()
    preview = clerk.post(
        "/tariffs/import", {"institution_id": world.hospital.id, "csv": CSV, "dry_run": True}, status=200
    )
    assert (preview["dry_run"], preview["applied"], preview["ok"], preview["errors"]) == (True, False, True, [])
    assert preview["counts"] == {"new": 1, "change": 1, "same": 1, "error": 0}
    assert [
        (r["line"], r["service_code"], r["action"], r["unit_price"], r["current_price"]) for r in preview["rows"]
    ] == [
        (2, "CONSULT", "change", "2750.00", "2500.00"),
        (3, "LAB-FBC", "same", "1200.00", "1200.00"),
        (4, "XRAY-CH", "new", "1800.00", None),
    ]
    assert counts() == before

    bad = CSV + "MRI,MRI head,NOPE,9000.00,2026-12-01\nCT,,OUTPATIENT,abc,2026-12-01\n"
    shown = clerk.post(
        "/tariffs/import", {"institution_id": world.hospital.id, "csv": bad, "dry_run": True}, status=200
    )
    assert not shown["ok"] and [r["line"] for r in shown["rows"] if r["errors"]] == [5, 6]
    assert shown["rows"][4]["action"] == "error" and shown["rows"][4]["unit_price"] is None
    refused = assert_problem(clerk("POST", "/tariffs/import", {"institution_id": world.hospital.id, "csv": bad}), 422)
    assert any(m.startswith("Line 5:") for m in refused["errors"]["csv"])
    assert any(m.startswith("Line 6:") for m in refused["errors"]["csv"])
    assert counts() == before

    done = clerk.post("/tariffs/import", {"institution_id": world.hospital.id, "csv": CSV}, status=200)
    assert (done["applied"], done["ok"]) == (True, True)
    assert counts()["ServiceTariff"] == before["ServiceTariff"] + 2
    price = f"/tariffs/price?institution_id={world.hospital.id}&on=2026-12-01&service_code="
    assert clerk.get(price + "CONSULT")["unit_price"] == "2750.00"
    assert clerk.get(price + "XRAY-CH")["unit_price"] == "1800.00"


def test_an_unreadable_price_list_is_a_preview_with_a_reason_or_a_422(world, clerk):
    body = {"institution_id": world.hospital.id, "csv": "code,price\nX,1\n"}
    preview = clerk.post("/tariffs/import", {**body, "dry_run": True}, status=200)
    assert not preview["ok"] and "missing" in preview["errors"][0] and preview["rows"] == []
    assert "csv" in assert_problem(clerk("POST", "/tariffs/import", body), 422)["errors"]
    assert "dry_run" in assert_problem(clerk("POST", "/tariffs/import", {**body, "dry_run": "yes"}), 422)["errors"]


# --- billing items -------------------------------------------------------------------------------


def test_billing_items_are_priced_from_the_tariff_listed_and_drafted_into_an_invoice(world, clerk):
    consult = clerk.post("/billing-items", {"patient_id": world.insured.id, "service_code": "CONSULT"})
    assert set(consult) == ITEM_KEYS
    assert (consult["unit_price"], consult["quantity"], consult["status"], consult["benefit_code"]) == (
        "2500.00",
        1,
        "unbilled",
        "OUTPATIENT",
    )
    assert consult["service_date"] == clock.today().isoformat() and consult["source"].startswith("manual:")
    lab = clerk.post(
        "/billing-items",
        {"patient_id": world.insured.id, "service_code": "LAB-FBC", "quantity": 3, "description": "FBC x3"},
    )
    assert (lab["unit_price"], lab["description"]) == ("1200.00", "FBC x3")
    priced = clerk.post(
        "/billing-items",
        {
            "patient_id": world.self_pay.id,
            "service_code": "DRESSING",
            "unit_price": "350.50",
            "service_date": "2026-11-01",
        },
    )
    assert (priced["unit_price"], priced["service_date"], priced["benefit_code"]) == ("350.50", "2026-11-01", None)

    listed = clerk.get(f"/billing-items?patient_id={world.insured.id}&status=unbilled")
    assert listed["total"] == 2 and {i["id"] for i in listed["items"]} == {consult["id"], lab["id"]}

    invoice = clerk.post("/invoices/from-items", {"patient_id": world.insured.id})
    # CONSULT 2500.00: 10% copay -> insurer 2250.00, patient 250.00
    # LAB-FBC 3 x 1200.00 = 3600.00: no copay, lab limit 3000.00 -> insurer 3000.00, patient 600.00
    assert (invoice["status"], invoice["total"], invoice["insurer_part"], invoice["patient_part"]) == (
        "draft",
        "6100.00",
        "5250.00",
        "850.00",
    )
    assert invoice["company_id"] == world.company.id
    assert [(li["service_code"], li["insurer_amount"], li["patient_amount"]) for li in invoice["lines"]] == [
        ("CONSULT", "2250.00", "250.00"),
        ("LAB-FBC", "3000.00", "600.00"),
    ]
    billed = clerk.get(f"/billing-items?patient_id={world.insured.id}&status=billed")
    assert {i["invoice_id"] for i in billed["items"]} == {invoice["id"]} and billed["total"] == 2
    before = counts()
    assert_problem(clerk("POST", "/invoices/from-items", {"patient_id": world.insured.id}), 409)
    assert counts() == before


def test_a_draft_from_chosen_items_bills_only_those(world, clerk):
    first = clerk.post("/billing-items", {"patient_id": world.self_pay.id, "service_code": "CONSULT"})
    second = clerk.post("/billing-items", {"patient_id": world.self_pay.id, "service_code": "LAB-FBC"})
    invoice = clerk.post("/invoices/from-items", {"patient_id": world.self_pay.id, "item_ids": [second["id"]]})
    assert invoice["total"] == "1200.00" and invoice["insurer_part"] == "0.00"
    left = clerk.get(f"/billing-items?patient_id={world.self_pay.id}&status=unbilled")
    assert [i["id"] for i in left["items"]] == [first["id"]]
    assert (
        "item_ids"
        in assert_problem(
            clerk("POST", "/invoices/from-items", {"patient_id": world.self_pay.id, "item_ids": []}), 422
        )["errors"]
    )
    assert "status" in assert_problem(clerk("GET", "/billing-items?status=lost"), 422)["errors"]


# --- invoices: drafting and lines ----------------------------------------------------------------


def test_an_insured_consultation_is_split_between_insurer_and_patient(world, clerk):
    invoice = _draft(clerk, world)
    assert set(invoice) == INVOICE_KEYS | {"lines"}
    assert (invoice["number"], invoice["kind"], invoice["status"], invoice["currency"]) == (
        None,
        "invoice",
        "draft",
        "KES",
    )
    assert (invoice["total"], invoice["insurer_part"], invoice["patient_part"], invoice["balance"]) == (
        "2500.00",
        "2250.00",
        "250.00",
        "2500.00",
    )
    assert (invoice["company_id"], invoice["member_number"], invoice["issued_on"]) == (
        world.company.id,
        "ACM-001",
        None,
    )
    (line,) = invoice["lines"]
    assert set(line) == LINE_KEYS
    assert line == {
        "line_no": 1,
        "service_code": "CONSULT",
        "description": "GP consultation",
        "benefit_code": "OUTPATIENT",
        "service_date": clock.today().isoformat(),
        "quantity": 1,
        "unit_price": "2500.00",
        "net": "2500.00",
        "tax": "0.00",
        "amount": "2500.00",
        "insurer_amount": "2250.00",
        "patient_amount": "250.00",
    }
    assert clerk.get(f"/invoices/{invoice['id']}") == invoice


def test_a_line_with_its_own_price_and_a_self_paying_patient(world, clerk):
    invoice = _draft(
        clerk,
        world,
        world.self_pay,
        [
            {"service_code": "CONSULT", "quantity": 1},
            {"service_code": "LAB-FBC", "quantity": 2, "unit_price": "1000.00"},
        ],
    )
    assert (invoice["total"], invoice["insurer_part"], invoice["patient_part"], invoice["company_id"]) == (
        "4500.00",
        "0.00",
        "4500.00",
        None,
    )


def test_editing_a_drafts_lines_updates_its_totals(world, clerk):
    invoice = _draft(clerk, world, world.self_pay)
    path = f"/invoices/{invoice['id']}"
    added = clerk.post(path + "/lines", {"service_code": "LAB-FBC", "quantity": 2})
    assert (added["total"], [li["line_no"] for li in added["lines"]]) == ("4900.00", [1, 2])
    changed = clerk.patch(path + "/lines/2", {"quantity": 1, "unit_price": "999.99"})
    assert changed["total"] == "3499.99" and changed["lines"][1]["unit_price"] == "999.99"
    described = clerk.patch(path + "/lines/2", {"description": "FBC, urgent"})
    assert described["lines"][1]["description"] == "FBC, urgent" and described["total"] == "3499.99"
    assert clerk("DELETE", path + "/lines/1", status=204).get_data() == b""
    left = clerk.get(path)
    assert (left["total"], left["balance"], [li["line_no"] for li in left["lines"]]) == ("999.99", "999.99", [2])
    assert_problem(clerk("DELETE", path + "/lines/1"), 404)
    assert_problem(clerk("PATCH", path + "/lines/7", {"quantity": 2}), 404)
    before = counts()
    assert "quantity" in assert_problem(clerk("PATCH", path + "/lines/2", {"quantity": 0}), 422)["errors"]
    assert "unit_price" in assert_problem(clerk("PATCH", path + "/lines/2", {"unit_price": 12.5}), 422)["errors"]
    assert "colour" in assert_problem(clerk("PATCH", path + "/lines/2", {"colour": "red"}), 422)["errors"]
    assert (
        "service_code"
        in assert_problem(clerk("POST", path + "/lines", {"service_code": "NOPE", "quantity": 1}), 422)["errors"]
    )
    assert counts() == before
    assert clerk.get(path)["total"] == "999.99"


# --- issuing, state changes ----------------------------------------------------------------------


def test_issuing_numbers_the_invoice_and_twice_is_409(world, clerk):
    draft = _draft(clerk, world)
    issued = clerk.post(f"/invoices/{draft['id']}/issue", status=200)
    today = clock.today()
    assert (issued["number"], issued["status"], issued["issued_on"], issued["due_on"]) == (
        "INV-HA-000001",
        "issued",
        today.isoformat(),
        (today + timedelta(days=30)).isoformat(),
    )
    assert issued["balance"] == "2500.00"
    assert _issued(clerk, world)["number"] == "INV-HA-000002"
    before = counts()
    assert_problem(clerk("POST", f"/invoices/{draft['id']}/issue"), 409)
    assert_problem(clerk("POST", f"/invoices/{draft['id']}/issue", {"now": True}), 422)
    assert counts() == before


def test_an_issued_invoice_cannot_be_edited(world, clerk):
    issued = _issued(clerk, world)
    path = f"/invoices/{issued['id']}"
    before = counts()
    assert_problem(clerk("POST", path + "/lines", {"service_code": "CONSULT", "quantity": 1}), 409)
    assert_problem(clerk("PATCH", path + "/lines/1", {"quantity": 2}), 409)
    assert_problem(clerk("DELETE", path + "/lines/1"), 409)
    assert counts() == before
    assert clerk.get(path)["total"] == "2500.00"


def test_voiding_keeps_the_invoice_with_its_reason(world, clerk):
    issued = _issued(clerk, world)
    assert "reason" in assert_problem(clerk("POST", f"/invoices/{issued['id']}/void", {}), 422)["errors"]
    assert "reason" in assert_problem(clerk("POST", f"/invoices/{issued['id']}/void", {"reason": "  "}), 422)["errors"]
    void = clerk.post(f"/invoices/{issued['id']}/void", {"reason": "Wrong patient"}, status=200)
    assert (void["status"], void["void_reason"], void["number"]) == ("void", "Wrong patient", "INV-HA-000001")
    assert_problem(clerk("POST", f"/invoices/{issued['id']}/void", {"reason": "again"}), 409)
    assert_problem(clerk("POST", f"/invoices/{issued['id']}/issue"), 409)
    draft = _draft(clerk, world)
    assert clerk.post(f"/invoices/{draft['id']}/void", {"reason": "Duplicate"}, status=200)["status"] == "void"


def test_a_payment_event_moves_the_balance_and_a_paid_invoice_cannot_be_voided(world, clerk):
    issued = _issued(clerk, world)
    path = f"/invoices/{issued['id']}"
    _pay(issued["id"], "250.00", "patient", 1)
    _pay(issued["id"], "250.00", "patient", 1)  # the same payment again changes nothing
    part = clerk.get(path)
    assert (part["paid"], part["balance"], part["status"]) == ("250.00", "2250.00", "partially_paid")
    assert_problem(clerk("POST", path + "/void", {"reason": "oops"}), 409)
    _pay(issued["id"], "2250.00", "insurer", 2)
    paid = clerk.get(path)
    assert (paid["paid"], paid["balance"], paid["status"]) == ("2500.00", "0.00", "paid")
    before = counts()
    assert_problem(clerk("POST", path + "/void", {"reason": "oops"}), 409)
    assert_problem(clerk("POST", path + "/credit-notes", {"amount": "1.00", "reason": "x"}), 409)
    assert counts() == before
    assert clerk.get(path)["status"] == "paid"


def test_a_credit_note_is_numbered_apart_and_reduces_what_the_payer_owes(world, clerk):
    issued = _issued(clerk, world)
    path = f"/invoices/{issued['id']}"
    note = clerk.post(path + "/credit-notes", {"amount": "2250.00", "reason": "Insurer declined", "payer": "insurer"})
    assert set(note) == INVOICE_KEYS | {"lines"}
    assert (note["number"], note["kind"], note["status"], note["total"], note["credited_invoice_id"]) == (
        "INV-HA-CN-000001",
        "credit_note",
        "paid",
        "2250.00",
        issued["id"],
    )
    assert (note["insurer_part"], note["patient_part"], note["notes"]) == ("2250.00", "0.00", "Insurer declined")
    after = clerk.get(path)
    assert (after["credited"], after["balance"], after["status"]) == ("2250.00", "250.00", "partially_paid")
    assert clerk.get(f"/invoices/{note['id']}") == note
    assert clerk.get("/invoices?kind=credit_note")["total"] == 1
    before = counts()
    too_much = assert_problem(clerk("POST", path + "/credit-notes", {"amount": "250.01", "reason": "x"}), 422)
    assert set(too_much["errors"]) == {"amount"}
    assert (
        "amount" in assert_problem(clerk("POST", path + "/credit-notes", {"amount": 10, "reason": "x"}), 422)["errors"]
    )
    assert (
        "amount"
        in assert_problem(clerk("POST", path + "/credit-notes", {"amount": "0.00", "reason": "x"}), 422)["errors"]
    )
    assert (
        "payer"
        in assert_problem(
            clerk("POST", path + "/credit-notes", {"amount": "1.00", "reason": "x", "payer": "bank"}), 422
        )["errors"]
    )
    assert counts() == before
    draft = _draft(clerk, world)
    assert_problem(clerk("POST", f"/invoices/{draft['id']}/credit-notes", {"amount": "1.00", "reason": "x"}), 409)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("lines"), "lines"),
        (lambda b: b.pop("patient_id"), "patient_id"),
        (lambda b: b.pop("institution_id"), "institution_id"),
        (lambda b: b.update(lines=[]), "lines"),
        (lambda b: b.update(colour="red"), "colour"),
        (lambda b: b.update(patient_id="7"), "patient_id"),
        (lambda b: b["lines"][0].update(discount="10"), "lines.0.discount"),
        (lambda b: b["lines"][0].pop("quantity"), "lines.0.quantity"),
        (lambda b: b["lines"][0].update(quantity=0), "lines.0.quantity"),
        (lambda b: b["lines"][0].update(quantity=1.5), "lines.0.quantity"),
        (lambda b: b["lines"][0].update(quantity="2"), "lines.0.quantity"),
        (lambda b: b["lines"][0].update(unit_price=2500.00), "lines.0.unit_price"),
        (lambda b: b["lines"][0].update(unit_price=2500), "lines.0.unit_price"),
        (lambda b: b["lines"][0].update(unit_price="-1.00"), "lines.0.unit_price"),
        (lambda b: b["lines"][0].update(unit_price="12.345"), "lines.0.unit_price"),
        (lambda b: b["lines"][0].update(service_code="CON SULT"), "lines.0.service_code"),
        (lambda b: b["lines"][0].update(service_date="2026-02-30"), "lines.0.service_date"),
        (lambda b: b["lines"].append({"service_code": "NOPE", "quantity": 1}), "lines.1.service_code"),
    ],
)
def test_a_bad_invoice_body_is_422_naming_the_field_and_writes_nothing(world, clerk, change, field):
    body = _invoice(world)
    change(body)
    before = counts()
    problem = assert_problem(clerk("POST", "/invoices", body), 422)
    assert field in problem["errors"], problem
    assert counts() == before


def test_a_body_that_is_not_a_json_object_is_422(world, clerk):
    assert_problem(clerk("POST", "/invoices", data="not json", headers={"Content-Type": "application/json"}), 422)
    assert_problem(clerk("POST", "/invoices", [1, 2]), 422)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(unit_price=3000.0), "unit_price"),
        (lambda b: b.update(unit_price="3,000.00.0"), "unit_price"),
        (lambda b: b.pop("description"), "description"),
        (lambda b: b.update(effective_from="01/07/2026"), "effective_from"),
        (lambda b: b.update(margin="5"), "margin"),
        (lambda b: b.update(institution_id=True), "institution_id"),
    ],
)
def test_a_bad_tariff_body_is_422_and_writes_nothing(world, clerk, change, field):
    body = {
        "institution_id": world.hospital.id,
        "service_code": "XRAY-CH",
        "description": "Chest X-ray",
        "benefit_code": "OUTPATIENT",
        "unit_price": "1800.00",
        "effective_from": "2026-07-01",
    }
    change(body)
    before = counts()
    assert field in assert_problem(clerk("POST", "/tariffs", body), 422)["errors"]
    assert counts() == before


def test_a_bad_billing_item_is_422_and_writes_nothing(world, clerk):
    before = counts()
    for body, field in (
        ({"patient_id": world.insured.id, "service_code": "CONSULT", "quantity": 0}, "quantity"),
        ({"patient_id": world.insured.id, "service_code": "CONSULT", "unit_price": 99.5}, "unit_price"),
        ({"patient_id": world.insured.id, "service_code": "NOPE"}, "service_code"),
        ({"service_code": "CONSULT"}, "patient_id"),
        ({"patient_id": world.insured.id, "service_code": "CONSULT", "extra": 1}, "extra"),
    ):
        assert field in assert_problem(clerk("POST", "/billing-items", body), 422)["errors"], body
    assert counts() == before


# --- lists ---------------------------------------------------------------------------------------


def test_invoice_lists_page_and_filter(world, clerk):
    first = _issued(clerk, world)
    second = _issued(clerk, world, world.self_pay)
    draft = _draft(clerk, world, world.self_pay)
    page = clerk.get("/invoices?per_page=2")
    assert set(page) == PAGE_KEYS and (page["page"], page["per_page"], page["total"]) == (1, 2, 3)
    assert [i["id"] for i in page["items"]] == [draft["id"], second["id"]]
    assert set(page["items"][0]) == INVOICE_KEYS
    assert [i["id"] for i in clerk.get("/invoices?per_page=2&page=2")["items"]] == [first["id"]]
    assert clerk.get("/invoices?page=3&per_page=2")["items"] == []
    assert [i["id"] for i in clerk.get("/invoices?status=draft")["items"]] == [draft["id"]]
    assert [i["id"] for i in clerk.get(f"/invoices?patient_id={world.insured.id}")["items"]] == [first["id"]]
    assert [i["id"] for i in clerk.get("/invoices?q=inv-ha-000002")["items"]] == [second["id"]]
    assert clerk.get("/invoices?q=INV-HA-0000")["total"] == 2
    assert clerk.get(f"/invoices?issued_on={clock.today()}")["total"] == 2
    assert clerk.get(f"/invoices?institution_id={world.hospital.id}")["total"] == 3
    assert [i["id"] for i in clerk.get(f"/invoices?company_id={world.company.id}")["items"]] == [first["id"]]
    for query, field in (
        ("status=lost", "status"),
        ("per_page=201", "per_page"),
        ("page=0", "page"),
        ("patient_id=abc", "patient_id"),
        ("issued_on=yesterday", "issued_on"),
    ):
        assert field in assert_problem(clerk("GET", f"/invoices?{query}"), 422)["errors"]


# --- tenants and roles ---------------------------------------------------------------------------


def test_another_hospital_sees_none_of_it(world, clerk, other_clerk):
    issued = _issued(clerk, world)
    path = f"/invoices/{issued['id']}"
    before = counts()
    assert_problem(other_clerk("GET", path), 404)
    assert_problem(other_clerk("GET", path + ".pdf"), 404)
    assert_problem(other_clerk("POST", path + "/void", {"reason": "x"}), 404)
    assert_problem(other_clerk("POST", path + "/credit-notes", {"amount": "1.00", "reason": "x"}), 404)
    assert_problem(other_clerk("PATCH", path + "/lines/1", {"quantity": 2}), 404)
    assert counts() == before
    assert other_clerk.get("/invoices")["total"] == 0
    assert other_clerk.get(f"/invoices?institution_id={world.hospital.id}")["total"] == 0
    assert other_clerk.get("/accounts-receivable")["rows"] == []
    assert other_clerk.get("/accounts-receivable/items")["total"] == 0
    assert {t["institution_id"] for t in other_clerk.get("/tariffs")["items"]} == {world.other_hospital.id}
    hospital_tariff = clerk.get("/tariffs?q=CONSULT")["items"][0]["id"]
    assert_problem(other_clerk("GET", f"/tariffs/{hospital_tariff}"), 404)
    assert_problem(other_clerk("GET", f"/tariffs/price?institution_id={world.hospital.id}&service_code=CONSULT"), 404)
    assert_problem(other_clerk("GET", f"/billing-settings/{world.hospital.id}"), 404)
    clerk.post("/billing-items", {"patient_id": world.insured.id, "service_code": "CONSULT"})
    assert other_clerk.get("/billing-items")["total"] == 0
    # A record named in a body that the caller may not see is a field error, as for one that does not exist.
    assert (
        "patient_id"
        in assert_problem(other_clerk("POST", "/invoices/from-items", {"patient_id": world.insured.id}), 422)["errors"]
    )
    assert (
        "patient_id"
        in assert_problem(
            other_clerk("POST", "/billing-items", {"patient_id": world.insured.id, "service_code": "CONSULT"}), 422
        )["errors"]
    )
    assert "institution_id" in assert_problem(other_clerk("POST", "/invoices", _invoice(world)), 422)["errors"]
    mixed = {**_invoice(world), "institution_id": world.other_hospital.id}
    assert "patient_id" in assert_problem(other_clerk("POST", "/invoices", mixed), 422)["errors"]
    assert counts()["Invoice"] == before["Invoice"]


def test_the_insurer_reads_the_invoices_it_pays_and_changes_nothing(world, clerk, as_user):
    insured = _issued(clerk, world)
    _issued(clerk, world, world.self_pay)
    officer = as_user(Role.FINANCE_OFFICER, company_id=world.company.id)
    assert [i["id"] for i in officer.get("/invoices")["items"]] == [insured["id"]]
    assert officer.get(f"/invoices/{insured['id']}")["insurer_part"] == "2250.00"
    report = officer.get("/accounts-receivable")
    assert [(r["payer"], r["company_id"], r["total"]) for r in report["rows"]] == [
        ("insurer", world.company.id, "2250.00")
    ]
    assert officer.get("/tariffs")["total"] == 0
    stranger = as_user(Role.FINANCE_OFFICER, company_id=world.other_company.id)
    assert stranger.get("/invoices")["total"] == 0
    assert_problem(stranger("GET", f"/invoices/{insured['id']}"), 404)
    before = counts()
    assert_problem(
        officer(
            "POST", f"/invoices/{insured['id']}/credit-notes", {"amount": "1.00", "reason": "x", "payer": "insurer"}
        ),
        403,
    )
    assert_problem(officer("POST", "/invoices", _invoice(world)), 403)
    assert_problem(officer("POST", "/billing-items", {"patient_id": world.insured.id, "service_code": "X"}), 403)
    # A hospital's settings are not the insurer's to see, let alone change.
    assert_problem(officer("GET", f"/billing-settings/{world.hospital.id}"), 404)
    assert_problem(officer("PUT", f"/billing-settings/{world.hospital.id}", {"invoice_prefix": "X"}), 404)
    assert counts() == before


def test_no_token_is_401(world, client):
    for method, path in (
        ("GET", "/invoices"),
        ("POST", "/invoices"),
        ("GET", "/invoices/1"),
        ("GET", "/invoices/1.pdf"),
        ("GET", "/tariffs"),
        ("POST", "/tariffs/import"),
        ("GET", "/accounts-receivable"),
        ("PUT", f"/billing-settings/{world.hospital.id}"),
    ):
        assert_problem(client.open(PREFIX + path, method=method, json={}), 401)
    assert_problem(client.get(PREFIX + "/invoices", headers={"Authorization": "Bearer nope"}), 401)


def test_a_receptionist_may_not_bill(world, clerk, as_user):
    draft = _draft(clerk, world)
    desk = as_user(Role.RECEPTIONIST, institution_id=world.hospital.id)
    before = counts()
    for method, path, body in (
        ("POST", "/invoices", _invoice(world)),
        ("POST", "/invoices/from-items", {"patient_id": world.insured.id}),
        ("POST", f"/invoices/{draft['id']}/issue", None),
        ("POST", f"/invoices/{draft['id']}/lines", {"service_code": "CONSULT", "quantity": 1}),
        ("POST", f"/invoices/{draft['id']}/void", {"reason": "x"}),
        ("DELETE", f"/invoices/{draft['id']}/lines/1", None),
        ("POST", "/billing-items", {"patient_id": world.insured.id, "service_code": "CONSULT"}),
        ("POST", "/tariffs/import", {"institution_id": world.hospital.id, "csv": CSV}),
        ("PUT", f"/billing-settings/{world.hospital.id}", {"invoice_prefix": "X"}),
        ("GET", "/invoices", None),
    ):
        assert_problem(desk(method, path, body), 403)
    assert counts() == before


def test_an_auditor_reads_everything_and_changes_nothing(world, clerk, as_user):
    issued = _issued(clerk, world)
    auditor = as_user(Role.AUDITOR)
    assert auditor.get(f"/invoices/{issued['id']}")["number"] == "INV-HA-000001"
    assert auditor.get("/invoices")["total"] == 1
    assert_problem(auditor("POST", f"/invoices/{issued['id']}/void", {"reason": "x"}), 403)


def test_an_integration_reads_its_hospitals_billing(world, clerk, as_user):
    issued = _issued(clerk, world)
    integration = as_user(Role.INTEGRATION, institution_id=world.hospital.id)
    assert integration.get(f"/invoices/{issued['id']}")["total"] == "2500.00"
    assert (
        integration.get(f"/tariffs/price?institution_id={world.hospital.id}&service_code=CONSULT")["unit_price"]
        == "2500.00"
    )
    elsewhere = as_user(Role.INTEGRATION, institution_id=world.other_hospital.id)
    assert_problem(elsewhere("GET", f"/invoices/{issued['id']}"), 404)


def test_an_integration_bound_to_the_hospital_creates_its_invoices(world, as_user):
    integration = as_user(Role.INTEGRATION, institution_id=world.hospital.id)
    assert integration.post("/invoices", _invoice(world))["total"] == "2500.00"


# --- ids in the path -----------------------------------------------------------------------------


def test_unknown_and_out_of_range_ids_in_the_path_are_404(world, clerk):
    for method, path in (
        ("GET", "/invoices/999999"),
        ("GET", "/invoices/0"),
        ("GET", "/invoices/2147483648"),
        ("GET", "/invoices/99999999999.pdf"),
        ("GET", "/tariffs/0"),
        ("GET", "/tariffs/2147483648"),
        ("POST", "/invoices/2147483648/issue"),
        ("POST", "/invoices/0/lines"),
        ("PATCH", "/invoices/1/lines/0"),
        ("PATCH", "/invoices/2147483648/lines/1"),
        ("DELETE", "/invoices/999999/lines/1"),
        ("GET", "/billing-settings/0"),
        ("GET", "/billing-settings/999999"),
        ("PUT", "/billing-settings/999999"),
    ):
        assert_problem(clerk(method, path, {"invoice_prefix": "X"} if method != "GET" else None), 404)


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/invoices/1/lines/0"), ("PUT", "/billing-settings/2147483648")]
)
def test_out_of_range_ids_on_the_second_rule_of_a_path_are_404(world, clerk, method, path):
    assert_problem(clerk(method, path, {"invoice_prefix": "X"}), 404)


# --- receivables ---------------------------------------------------------------------------------


def test_receivables_are_aged_per_payer_with_a_drill_down(world, clerk):
    lines = [services.LineInput("CONSULT", 1, None)]
    for days, patient in ((0, world.insured), (45, world.self_pay), (130, world.self_pay)):
        with clock.travel(-timedelta(days=days)):
            draft = services.create_invoice(
                actor=world.clerk, institution_id=world.hospital.id, patient_id=patient.id, lines=lines
            )
            services.issue_invoice(actor=world.clerk, invoice_id=draft.id)
    db.session.commit()
    report = clerk.get("/accounts-receivable")
    assert (report["as_of"], report["buckets"]) == (clock.today().isoformat(), BUCKETS)
    rows = {(r["payer"], r["company_id"]): r for r in report["rows"]}
    assert set(rows) == {("insurer", world.company.id), ("patient", None)}
    insurer = rows[("insurer", world.company.id)]
    assert (insurer["current"], insurer["d30"], insurer["total"], insurer["invoices"]) == (
        "2250.00",
        "0.00",
        "2250.00",
        1,
    )
    patient = rows[("patient", None)]
    assert [patient[key] for key in BUCKETS] == ["250.00", "2500.00", "0.00", "0.00", "2500.00"]
    assert (patient["total"], patient["invoices"]) == ("5250.00", 3)
    assert report["totals"] == {"current": "2500.00", "d30": "2500.00", "d60": "0.00", "d90": "0.00", "d120": "2500.00"}
    assert report["total"] == "7500.00"

    # As of 60 days ago only the oldest invoice was open; the others are not counted, nor listed.
    earlier = clerk.get(f"/accounts-receivable?as_of={clock.today() - timedelta(days=60)}")
    assert [(r["payer"], r["d60"], r["total"]) for r in earlier["rows"]] == [("patient", "2500.00", "2500.00")]

    drill = clerk.get("/accounts-receivable/items?payer=patient&bucket=d30")
    assert set(drill) == PAGE_KEYS and drill["total"] == 1
    (item,) = drill["items"]
    assert set(item) == RECEIVABLE_KEYS
    assert (item["number"], item["age_days"], item["bucket"], item["amount"], item["paid"], item["balance"]) == (
        "INV-HA-000002",
        45,
        "d30",
        "2500.00",
        "0.00",
        "2500.00",
    )
    assert item["issued_on"] == (clock.today() - timedelta(days=45)).isoformat()
    insurer_items = clerk.get(f"/accounts-receivable/items?payer=insurer&company_id={world.company.id}")
    assert [(i["number"], i["balance"]) for i in insurer_items["items"]] == [("INV-HA-000001", "2250.00")]
    everything = clerk.get("/accounts-receivable/items?per_page=2")
    assert (everything["total"], len(everything["items"])) == (4, 2)
    assert everything["items"][0]["age_days"] == 130  # oldest first
    assert "bucket" in assert_problem(clerk("GET", "/accounts-receivable/items?bucket=d45"), 422)["errors"]
    assert "payer" in assert_problem(clerk("GET", "/accounts-receivable/items?payer=bank"), 422)["errors"]
    assert "as_of" in assert_problem(clerk("GET", "/accounts-receivable?as_of=2026-02-30"), 422)["errors"]

    _pay(db.session.scalar(select(Invoice.id).where(Invoice.number == "INV-HA-000001")), "250.00", "patient", 1)
    after = {(r["payer"], r["company_id"]): r for r in clerk.get("/accounts-receivable")["rows"]}
    assert after[("patient", None)]["current"] == "0.00"


# --- settings ------------------------------------------------------------------------------------


def test_billing_settings_default_then_saved_and_used_when_issuing(world, clerk):
    path = f"/billing-settings/{world.hospital.id}"
    assert clerk.get(path) == {
        "institution_id": world.hospital.id,
        "invoice_prefix": "INV-HA",
        "currency": "KES",
        "tax_percent": "0.00",
        "payment_terms_days": 30,
        "bank_name": None,
        "bank_account": None,
        "bank_branch": None,
        "payment_instructions": None,
    }
    saved = clerk.put(
        path,
        {
            "invoice_prefix": "hosa",
            "tax_percent": "16",
            "payment_terms_days": 14,
            "bank_name": "KCB",
            "bank_account": "1234567890",
            "payment_instructions": "M-Pesa paybill 123456",
        },
    )
    assert (saved["invoice_prefix"], saved["tax_percent"], saved["payment_terms_days"], saved["bank_branch"]) == (
        "HOSA",
        "16.00",
        14,
        None,
    )
    assert clerk.get(path) == saved
    issued = _issued(clerk, world, world.self_pay, [{"service_code": "CONSULT", "quantity": 1, "unit_price": "10.05"}])
    # 10.05 x 16% = 1.608 -> 1.61
    assert (issued["number"], issued["subtotal"], issued["tax"], issued["total"]) == (
        "HOSA-000001",
        "10.05",
        "1.61",
        "11.66",
    )
    assert issued["due_on"] == (clock.today() + timedelta(days=14)).isoformat()
    before = counts()
    for body, field in (
        ({"invoice_prefix": "HA", "tax_percent": 16}, "tax_percent"),
        ({"invoice_prefix": "HA", "tax_percent": "101"}, "tax_percent"),
        ({"invoice_prefix": "H A"}, "invoice_prefix"),
        ({"invoice_prefix": "-HA"}, "invoice_prefix"),
        ({"tax_percent": "1"}, "invoice_prefix"),
        ({"invoice_prefix": "HA", "payment_terms_days": "30"}, "payment_terms_days"),
        ({"invoice_prefix": "HA", "logo": "x"}, "logo"),
    ):
        assert field in assert_problem(clerk("PUT", path, body), 422)["errors"], body
    assert counts() == before
    assert clerk.get(path) == saved


# --- the printable invoice -----------------------------------------------------------------------


def test_the_invoice_pdf_by_suffix_or_by_accept_header(world, clerk):
    issued = _issued(clerk, world)
    by_suffix = clerk("GET", f"/invoices/{issued['id']}.pdf", status=200)
    assert by_suffix.mimetype == "application/pdf" and by_suffix.data.startswith(b"%PDF")
    assert 'filename="INV-HA-000001.pdf"' in by_suffix.headers["Content-Disposition"]
    assert by_suffix.headers["Cache-Control"] == "no-store"
    by_accept = clerk("GET", f"/invoices/{issued['id']}", status=200, headers={"Accept": "application/pdf"})
    assert by_accept.mimetype == "application/pdf" and by_accept.data.startswith(b"%PDF")
    as_json = clerk("GET", f"/invoices/{issued['id']}", status=200, headers={"Accept": "application/json"})
    assert as_json.mimetype == "application/json" and "Accept" in as_json.headers["Vary"]


# --- the contract document -----------------------------------------------------------------------


def test_the_openapi_document_lists_the_billing_endpoints(client):
    spec = client.get(PREFIX + "/openapi.json").get_json()
    expected = {
        "/tariffs": {"get", "post"},
        "/tariffs/price": {"get"},
        "/tariffs/{tariff_id}": {"get"},
        "/tariffs/import": {"post"},
        "/billing-items": {"get", "post"},
        "/invoices": {"get", "post"},
        "/invoices/from-items": {"post"},
        "/invoices/{invoice_id}": {"get"},
        "/invoices/{invoice_id}.pdf": {"get"},
        "/invoices/{invoice_id}/lines": {"post"},
        "/invoices/{invoice_id}/lines/{line_no}": {"patch", "delete"},
        "/invoices/{invoice_id}/issue": {"post"},
        "/invoices/{invoice_id}/void": {"post"},
        "/invoices/{invoice_id}/credit-notes": {"post"},
        "/accounts-receivable": {"get"},
        "/accounts-receivable/items": {"get"},
        "/billing-settings/{institution_id}": {"get", "put"},
    }
    for path, methods in expected.items():
        assert path in spec["paths"], path
        assert set(spec["paths"][path]) == methods, path
        for operation in spec["paths"][path].values():
            assert operation["tags"] == ["Billing"] and operation["security"] == [{"bearerAuth": []}]
    create = spec["paths"]["/invoices"]["post"]
    body = spec["components"]["schemas"][
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    ]
    assert set(body["required"]) == {"patient_id", "institution_id", "lines"}
    assert "201" in create["responses"]
    tariff = spec["components"]["schemas"]["TariffIn"]
    assert set(tariff["required"]) == {
        "institution_id",
        "service_code",
        "description",
        "benefit_code",
        "unit_price",
        "effective_from",
    }


@pytest.mark.parametrize(
    ("currency", "accepted"),
    [("KES", True), (" usd ", True), ("\U0001f5a7-u", False), ("K3S", False), ("KE", False), ("KESH", False)],
)
def test_the_document_states_the_currency_the_settings_take(world, clerk, app, currency, accepted):
    """What the document's pattern takes (fuzzed with schemathesis) is exactly what the settings take."""
    stated = build_spec(app)["components"]["schemas"]["SettingsIn"]["properties"]["currency"]
    assert bool(re.search(stated["pattern"], currency)) is accepted
    body = {"invoice_prefix": "INV", "currency": currency}
    if accepted:
        assert clerk.put(f"/billing-settings/{world.hospital.id}", body)["currency"] == currency.strip().upper()
    else:
        problem = assert_problem(clerk("PUT", f"/billing-settings/{world.hospital.id}", body), 422)
        assert problem["errors"]["currency"] == ["Use a three-letter currency code such as KES."]
