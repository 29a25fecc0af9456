"""Orders and pharmacy stock over the API: place, list, read, dispense (stock never below zero), results and
cancel; charge.created on each fulfilment; 401/403/404/409/422 and another hospital's rows kept out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from blueprints.hospital.models import ClinicalOrder, PharmacyStock
from medcover.api import PREFIX
from medcover.events import OutboxEvent
from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.core.conftest import RequestScopedClient
from tests.factories import (
    make_institution,
    make_order,
    make_patient,
    make_personnel,
    make_record,
    make_stock,
    make_user,
)

ORDER_KEYS = {
    "id",
    "institution_id",
    "record_id",
    "patient_id",
    "kind",
    "service_code",
    "description",
    "quantity",
    "status",
    "result",
    "ordered_by_id",
    "fulfilled_by_id",
    "fulfilled_at",
    "created_at",
}


@pytest.fixture
def client(app):
    return RequestScopedClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def w(api_token):
    """Hospital A with a clinician and a receptionist, hospital B with a clinician; an encounter at each."""
    a, b = make_institution("OA", "Orders A"), make_institution("OB", "Orders B")
    doc, doc_b = make_user(Role.RECEPTIONIST, institution_id=a.id), make_user(Role.RECEPTIONIST, institution_id=b.id)
    make_personnel(a, user=doc)
    make_personnel(b, user=doc_b)
    return {
        "A": a,
        "B": b,
        "doc": api_token(doc),
        "doc_B": api_token(doc_b),
        "desk": api_token(make_user(Role.RECEPTIONIST, institution_id=a.id)),
        "billing": api_token(make_user(Role.BILLING_CLERK, institution_id=a.id)),
        "record": make_record(make_patient(a)),
        "record_B": make_record(make_patient(b)),
    }


def call(client, headers, method, path, body=None, status=None):
    response = client.open(PREFIX + path, method=method, headers=headers, json=body)
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)[:600]
    return response


def place(client, w, status=201, **fields):
    body = {"record_id": w["record"].id, "kind": "pharmacy", "service_code": "amox-500", "description": "Amoxicillin"}
    return call(client, w["doc"], "POST", "/orders", body | fields, status).get_json()


def charges() -> list[OutboxEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == "charge.created")))


def stock_of(institution, code: str) -> int | None:
    db.session.expire_all()
    return db.session.scalar(
        select(PharmacyStock.quantity).where(
            PharmacyStock.institution_id == institution.id, PharmacyStock.item_code == code
        )
    )


def order_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ClinicalOrder))


def test_place_read_and_list_orders(client, w):
    made = place(client, w, quantity=3)
    assert set(made) == ORDER_KEYS
    assert made["status"] == "ordered" and made["service_code"] == "AMOX-500" and made["quantity"] == 3
    assert made["patient_id"] == w["record"].patient_id and made["result"] is None
    assert call(client, w["doc"], "GET", f"/orders/{made['id']}", status=200).get_json() == made
    lab = place(client, w, kind="lab", service_code="FBC", description="Full blood count")
    every = call(client, w["doc"], "GET", "/orders", status=200).get_json()
    assert set(every) == {"items", "page", "per_page", "total"} and every["total"] == 2
    only_lab = call(client, w["doc"], "GET", "/orders?kind=lab", status=200).get_json()
    assert [o["id"] for o in only_lab["items"]] == [lab["id"]]
    other_patient = call(client, w["doc"], "GET", f"/orders?patient_id={w['record_B'].patient_id}", status=200)
    assert other_patient.get_json()["items"] == []
    assert call(client, w["doc"], "GET", "/orders?status=dispensed", status=200).get_json()["total"] == 0
    assert_problem(call(client, w["doc"], "GET", "/orders?kind=surgery"), 422)
    assert_problem(call(client, w["doc"], "GET", "/orders?per_page=500"), 422)


def test_dispense_takes_stock_publishes_a_charge_and_refuses_below_zero(client, w):
    make_stock(w["A"], "AMOX-500", 4)
    first = place(client, w, quantity=3)
    second = place(client, w, quantity=3)
    done = call(client, w["doc"], "POST", f"/orders/{first['id']}/dispense", status=200).get_json()
    assert done["status"] == "dispensed" and done["fulfilled_at"] and stock_of(w["A"], "AMOX-500") == 1
    [event] = charges()
    assert event.payload["source"] == f"order:{first['id']}" and event.payload["service_code"] == "AMOX-500"
    refused = call(client, w["doc"], "POST", f"/orders/{second['id']}/dispense", {})
    assert_problem(refused, 409)
    assert refused.get_json()["detail"] == "Not enough stock: 1 left"
    assert stock_of(w["A"], "AMOX-500") == 1 and len(charges()) == 1
    assert_problem(call(client, w["doc"], "POST", f"/orders/{first['id']}/dispense"), 409)  # already dispensed
    assert_problem(call(client, w["doc"], "POST", f"/orders/{second['id']}/dispense", {"force": True}), 422)


def test_results_for_lab_and_radiology_publish_a_charge(client, w):
    lab = place(client, w, kind="lab", service_code="FBC", description="Full blood count")
    scan = place(client, w, kind="radiology", service_code="XR-CHEST", description="Chest X-ray")
    values = {"values": {"HB": {"value": 13.2, "unit": "g/dL", "range": "12-16"}}, "comment": "Normal."}
    done = call(client, w["doc"], "POST", f"/orders/{lab['id']}/result", {"result": values}, 200).get_json()
    assert done["status"] == "resulted"
    assert done["result"] == {
        "values": {"HB": {"value": "13.2", "unit": "g/dL", "range": "12-16"}},
        "comment": "Normal.",
    }
    report = call(client, w["doc"], "POST", f"/orders/{scan['id']}/result", {"result": {"report": "Clear."}}, 200)
    assert report.get_json()["result"] == {"report": "Clear."}
    assert sorted(e.payload["service_code"] for e in charges()) == ["FBC", "XR-CHEST"]
    assert_problem(call(client, w["doc"], "POST", f"/orders/{lab['id']}/result", {"result": values}), 409)


def test_bad_results_are_422_and_the_order_stays_open(client, w):
    lab = place(client, w, kind="lab", service_code="FBC", description="Full blood count")
    for body in ({}, {"result": "13.2"}, {"result": {"values": {}}}, {"result": {"report": "x"}, "extra": 1}):
        assert_problem(call(client, w["doc"], "POST", f"/orders/{lab['id']}/result", body), 422)
    pharmacy = place(client, w)
    assert_problem(call(client, w["doc"], "POST", f"/orders/{pharmacy['id']}/result", {"result": {"report": "x"}}), 409)
    assert call(client, w["doc"], "GET", f"/orders/{lab['id']}", status=200).get_json()["status"] == "ordered"
    assert charges() == []


def test_cancel_then_nothing_more(client, w):
    made = place(client, w)
    assert (
        call(client, w["doc"], "POST", f"/orders/{made['id']}/cancel", status=200).get_json()["status"] == "cancelled"
    )
    assert_problem(call(client, w["doc"], "POST", f"/orders/{made['id']}/cancel"), 409)
    assert_problem(call(client, w["doc"], "POST", f"/orders/{made['id']}/dispense"), 409)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "surgery"}, "kind"),
        ({"service_code": "has spaces"}, "service_code"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "2"}, "quantity"),
        ({"description": ""}, "description"),
        ({"record_id": True}, "record_id"),
        ({"priority": "urgent"}, "priority"),
    ],
)
def test_bad_orders_are_422_and_write_nothing(client, w, fields, field):
    response = place(client, w, status=422, **fields)
    assert field in response["errors"]
    assert order_count() == 0


def test_the_record_of_another_hospital_is_a_field_error(client, w):
    assert "record_id" in place(client, w, status=422, record_id=w["record_B"].id)["errors"]
    assert "record_id" in place(client, w, status=422, record_id=2**31 - 1)["errors"]
    assert order_count() == 0


def test_other_hospitals_orders_are_404_and_never_listed(client, w):
    theirs = make_order(w["record_B"], "pharmacy", "AMOX-500")
    make_stock(w["B"], "AMOX-500", 10)
    for method, path in (
        ("GET", f"/orders/{theirs.id}"),
        ("POST", f"/orders/{theirs.id}/dispense"),
        ("POST", f"/orders/{theirs.id}/cancel"),
    ):
        assert_problem(call(client, w["doc"], method, path), 404)
    assert_problem(call(client, w["doc"], "POST", f"/orders/{theirs.id}/result", {"result": {"report": "x"}}), 404)
    assert call(client, w["doc"], "GET", "/orders", status=200).get_json()["total"] == 0
    assert call(client, w["doc"], "GET", "/pharmacy/stock", status=200).get_json()["total"] == 0
    assert stock_of(w["B"], "AMOX-500") == 10
    assert_problem(call(client, w["doc"], "GET", "/orders/0"), 404)
    assert_problem(call(client, w["doc"], "GET", f"/orders/{2**31}"), 404)


@pytest.mark.parametrize("who", ["desk", "billing"])
def test_staff_without_clinical_access_are_refused(client, w, who):
    made = make_order(w["record"], "pharmacy", "AMOX-500")
    make_stock(w["A"], "AMOX-500", 10)
    headers = w[who]
    body = {"record_id": w["record"].id, "kind": "lab", "service_code": "FBC", "description": "Full blood count"}
    assert_problem(call(client, headers, "POST", "/orders", body), 403)
    assert_problem(call(client, headers, "GET", f"/orders/{made.id}"), 403)
    assert_problem(call(client, headers, "POST", f"/orders/{made.id}/dispense"), 403)
    assert_problem(call(client, headers, "POST", f"/orders/{made.id}/cancel"), 403)
    delivery = {"institution_id": w["A"].id, "item_code": "AMOX-500", "name": "Amoxicillin", "quantity": 5}
    assert_problem(call(client, headers, "POST", "/pharmacy/stock", delivery), 403)
    # lists show what the caller may see: nothing
    assert call(client, headers, "GET", "/orders", status=200).get_json()["items"] == []
    assert call(client, headers, "GET", "/pharmacy/stock", status=200).get_json()["items"] == []
    assert stock_of(w["A"], "AMOX-500") == 10 and order_count() == 1


def test_no_token_is_401_and_insurer_roles_403(client, w, api_token):
    assert_problem(call(client, {}, "GET", "/orders"), 401)
    assert_problem(call(client, {}, "POST", "/pharmacy/stock", {}), 401)
    adjudicator = api_token(make_user(Role.ADJUDICATOR))
    assert_problem(call(client, adjudicator, "GET", "/orders"), 403)


def test_stock_receipts_and_search(client, w):
    delivery = {"institution_id": w["A"].id, "item_code": "amox-500", "name": "Amoxicillin 500mg", "quantity": 20}
    made = call(client, w["doc"], "POST", "/pharmacy/stock", delivery, 201).get_json()
    assert made == {
        "id": made["id"],
        "institution_id": w["A"].id,
        "item_code": "AMOX-500",
        "name": "Amoxicillin 500mg",
        "unit": "unit",
        "quantity": 20,
    }
    more = call(client, w["doc"], "POST", "/pharmacy/stock", delivery | {"quantity": 5, "unit": "tab"}, 201)
    assert more.get_json()["quantity"] == 25 and more.get_json()["id"] == made["id"]
    call(client, w["doc"], "POST", "/pharmacy/stock", delivery | {"item_code": "PCM-1G", "name": "Paracetamol"}, 201)
    found = call(client, w["doc"], "GET", "/pharmacy/stock?q=amo", status=200).get_json()
    assert [s["item_code"] for s in found["items"]] == ["AMOX-500"]
    for bad in (
        delivery | {"quantity": 0},
        delivery | {"quantity": "5"},
        delivery | {"item_code": "a b"},
        delivery | {"institution_id": w["B"].id},
        delivery | {"expiry": "2030-01-01"},
        {k: v for k, v in delivery.items() if k != "name"},
    ):
        assert_problem(call(client, w["doc"], "POST", "/pharmacy/stock", bad), 422)
    assert stock_of(w["A"], "AMOX-500") == 25 and stock_of(w["B"], "AMOX-500") is None


def test_order_endpoints_are_in_the_openapi_document(client):
    paths = client.get(PREFIX + "/openapi.json").get_json()["paths"]
    for path in (
        "/orders",
        "/orders/{order_id}",
        "/orders/{order_id}/dispense",
        "/orders/{order_id}/result",
        "/orders/{order_id}/cancel",
        "/pharmacy/stock",
        "/personnel/{personnel_id}/schedule",
    ):
        assert any(p.endswith(path) for p in paths), path
