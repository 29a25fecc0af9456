"""Hospital JSON endpoints for clinical orders (pharmacy, lab, radiology) and pharmacy stock.

Who may call: the hospital's accounts (``web.api.WRITERS``) and, on top, the records' clinical rule: the clinical
staff of the institution, its admins and platform admins. Reception and billing staff get 403 on an order
and on every change, and empty lists (lists show the rows a caller may see, as ``rbac.scope`` does);
another institution's orders answer 404 as if they did not exist; an id in a body the caller may not see is
a 422 on that field. Dispensing and entering a result publish one ``charge.created`` event for billing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from flask import request
from pydantic import Field, Strict

from blueprints.hospital import api_bp, services
from blueprints.hospital.models import OrderKind, OrderStatus
from blueprints.hospital.services import orders, records
from blueprints.hospital.web.api import ID, PAGING, TAG, WRITERS, hospital_tenant
from medcover.api import (
    Id,
    Out,
    Schema,
    actor,
    choice_arg,
    created,
    documented,
    int_arg,
    jsonify_model,
    optional_body,
    page_model,
    page_response,
    parse,
    referenced,
    saved,
    text_pattern,
)
from medcover.rbac import allow

ORDER_ROLES = WRITERS
OrderQuantity = Annotated[int, Strict(), Field(ge=1, le=orders.MAX_QUANTITY)]
StockQuantity = Annotated[int, Strict(), Field(ge=1, le=orders.MAX_STOCK_RECEIPT)]


class OrderIn(Schema):
    record_id: Id
    kind: OrderKind
    service_code: Annotated[str, Field(min_length=1, max_length=30)]
    description: Annotated[str, Field(min_length=1, max_length=200)]
    quantity: OrderQuantity = 1


NOT_BLANK = text_pattern(filled=True)


def _words(limit: int) -> dict:
    return {"anyOf": [{"type": "string", "maxLength": limit}, {"type": "null"}]}


#: what a lab order's result is, as ``orders.enter_result`` checks it
LAB_RESULT = {
    "type": "object",
    "title": "Lab values",
    "additionalProperties": False,
    "required": ["values"],
    "properties": {
        "values": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": orders.MAX_ANALYTES,
            "propertyNames": {"pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9 _.%/()+-]{0,39}\s*$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["value"],
                "properties": {
                    "value": {
                        "anyOf": [
                            {"type": "string", "maxLength": 40, "pattern": NOT_BLANK},
                            {"type": "number", "minimum": -1e12, "maximum": 1e12},
                        ]
                    },
                    "unit": _words(20),
                    "range": _words(40),
                    "flag": _words(10),
                },
            },
        },
        "comment": _words(2000),
    },
}
#: a radiology order's
RADIOLOGY_RESULT = {
    "type": "object",
    "title": "Radiology report",
    "additionalProperties": False,
    "required": ["report"],
    "properties": {"report": {"type": "string", "maxLength": orders.REPORT_CHARS, "pattern": NOT_BLANK}},
}


class ResultIn(Schema):
    """``result``: lab values ``{"values": {"HB": {"value": "13.2", "unit": "g/dL", "range": "12-16"}},
    "comment": "..."}`` for a lab order, a report ``{"report": "..."}`` for a radiology order."""

    result: dict[str, Any] = Field(json_schema_extra={"oneOf": [LAB_RESULT, RADIOLOGY_RESULT]})


class OrderActionIn(Schema):
    """No fields: the body may be left out or be ``{}``."""


class StockIn(Schema):
    institution_id: Id
    item_code: Annotated[str, Field(min_length=1, max_length=30)]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    quantity: StockQuantity
    unit: Annotated[str, Field(min_length=1, max_length=20)] = "unit"


class OrderOut(Out):
    id: int
    institution_id: int
    record_id: int
    patient_id: int
    kind: OrderKind
    service_code: str
    description: str
    quantity: int
    status: OrderStatus
    #: lab values or a radiology report once resulted, else null
    result: dict | None
    ordered_by_id: int | None
    fulfilled_by_id: int | None
    fulfilled_at: datetime | None
    created_at: datetime


class StockOut(Out):
    id: int
    institution_id: int
    item_code: str
    name: str
    unit: str
    quantity: int


OrderPage = page_model(OrderOut)
StockPage = page_model(StockOut)


def _order(row) -> OrderOut:
    return OrderOut.model_validate(row)


# --- orders -----------------------------------------------------------------------------------------


@api_bp.post("/orders")
@allow(ORDER_ROLES)
@documented(
    "Order a medicine, a test or an imaging study from an encounter (clinical staff of the institution)",
    tag=TAG,
    body=OrderIn,
    responses={201: OrderOut},
    description="record_id: the encounter (medical record). service_code: the tariff's code billing prices it "
    "with; for pharmacy orders also the stock item's code.",
)
def create_order():
    data = parse(OrderIn)
    hospital_tenant()
    referenced("record_id", records.record_for_write, actor(), data.record_id)
    row = orders.place_order(actor=actor(), **data.model_dump(exclude={"kind"}), kind=data.kind.value)
    return created(_order(row))


@api_bp.get("/orders")
@allow(ORDER_ROLES)
@documented(
    "Clinical orders of the caller's institution, oldest first (a work queue; empty for non-clinical staff)",
    tag=TAG,
    responses={200: OrderPage},
    query={
        "kind": "pharmacy, lab or radiology",
        "status": "ordered, dispensed, resulted or cancelled",
        "patient_id": "one patient",
        **PAGING,
    },
)
def list_orders():
    hospital_tenant()
    stmt = orders.queue_query(
        actor(), choice_arg("kind", OrderKind), choice_arg("status", OrderStatus), patient_id=int_arg("patient_id")
    )
    return page_response(stmt, OrderOut, OrderPage)


@api_bp.get(f"/orders/<{ID}:order_id>")
@allow(ORDER_ROLES)
@documented("One clinical order with its result", tag=TAG, responses={200: OrderOut, 404: None})
def get_order(order_id: int):
    hospital_tenant()
    return jsonify_model(_order(orders.get_order(actor=actor(), order_id=order_id)))


@api_bp.post(f"/orders/<{ID}:order_id>/dispense")
@allow(ORDER_ROLES)
@documented(
    "Dispense a pharmacy order: the stock goes down by its quantity (not enough stock: 409)",
    tag=TAG,
    body=OrderActionIn,
    responses={200: OrderOut, 404: None, 409: None},
    description="Publishes charge.created for billing.",
)
def dispense_order(order_id: int):
    optional_body(OrderActionIn)
    hospital_tenant()
    return saved(_order(orders.dispense(actor=actor(), order_id=order_id)))


@api_bp.post(f"/orders/<{ID}:order_id>/result")
@allow(ORDER_ROLES)
@documented(
    "Enter a lab or radiology order's result; the order becomes resulted",
    tag=TAG,
    body=ResultIn,
    responses={200: OrderOut, 404: None, 409: None},
    description='Lab: {"result": {"values": {"HB": {"value": "13.2", "unit": "g/dL", "range": "12-16"}}, '
    '"comment": "..."}}. Radiology: {"result": {"report": "..."}}. Publishes charge.created for billing.',
)
def result_order(order_id: int):
    data = parse(ResultIn)
    hospital_tenant()
    return saved(_order(orders.enter_result(actor=actor(), order_id=order_id, result=data.result)))


@api_bp.post(f"/orders/<{ID}:order_id>/cancel")
@allow(ORDER_ROLES)
@documented(
    "Cancel an order that is not fulfilled yet",
    tag=TAG,
    body=OrderActionIn,
    responses={200: OrderOut, 404: None, 409: None},
)
def cancel_order(order_id: int):
    optional_body(OrderActionIn)
    hospital_tenant()
    return saved(_order(orders.cancel_order(actor=actor(), order_id=order_id)))


# --- pharmacy stock ---------------------------------------------------------------------------------


@api_bp.get("/pharmacy/stock")
@allow(ORDER_ROLES)
@documented(
    "Pharmacy stock of the caller's institution, by name (empty for non-clinical staff)",
    tag=TAG,
    responses={200: StockPage},
    query={"q": "item code starts with", **PAGING},
)
def list_stock():
    hospital_tenant()
    return page_response(orders.stock_for(actor(), request.args.get("q", "")[:30]), StockOut, StockPage)


@api_bp.post("/pharmacy/stock")
@allow(ORDER_ROLES)
@documented(
    "Receive a delivery: adds to the item's stock, creating the item the first time",
    tag=TAG,
    body=StockIn,
    responses={201: StockOut},
)
def receive_stock():
    data = parse(StockIn)
    referenced("institution_id", services.get_institution, hospital_tenant(), data.institution_id)
    row = orders.receive_stock(actor=actor(), **data.model_dump())
    return created(StockOut.model_validate(row))
