"""Billing JSON endpoints for billing items: the charges waiting to be billed (who may call them: api.py)."""

from __future__ import annotations

from datetime import date

from blueprints.billing import api_bp, services
from blueprints.billing.models import ItemStatus
from blueprints.billing.web.api import PAGING, READERS, TAG, WRITERS, Code, Description, Quantity, writer
from blueprints.hospital import services as hospital
from medcover.api import (
    Day,
    Id,
    Money,
    MoneyIn,
    Out,
    Schema,
    choice_arg,
    created,
    documented,
    int_arg,
    page_model,
    page_response,
    parse,
    referenced,
    tenant,
)
from medcover.rbac import allow


class BillingItemIn(Schema):
    """``unit_price`` defaults to the tariff's on ``service_date`` (today when left out)."""

    patient_id: Id
    service_code: Code
    quantity: Quantity = 1
    unit_price: MoneyIn | None = None
    service_date: Day | None = None
    description: Description | None = None


class BillingItemOut(Out):
    id: int
    institution_id: int
    patient_id: int
    service_code: str
    description: str
    benefit_code: str | None
    quantity: int
    unit_price: Money
    service_date: date
    status: ItemStatus
    invoice_id: int | None
    #: where it came from: ``order:<id>`` for a hospital order, ``manual:...`` for an entry
    source: str


BillingItemPage = page_model(BillingItemOut)


@api_bp.post("/billing-items")
@allow(WRITERS)
@documented(
    "Record a billable service for a patient (priced from the tariff unless unit_price is given)",
    tag=TAG,
    body=BillingItemIn,
    responses={201: BillingItemOut},
    description="A service without a tariff on service_date needs a unit_price (422 otherwise).",
)
def create_billing_item():
    data = parse(BillingItemIn)
    actor = writer()
    referenced("patient_id", hospital.get_patient, tenant(), data.patient_id)
    item = services.add_item(actor=actor, **data.model_dump())
    return created(BillingItemOut.model_validate(item))


@api_bp.get("/billing-items")
@allow(READERS)
@documented(
    "Billing items, latest service first (hospital staff: their institution's)",
    tag=TAG,
    responses={200: BillingItemPage},
    query={"patient_id": "one patient", "status": "unbilled, billed or cancelled", **PAGING},
)
def list_billing_items():
    stmt = services.items_query(tenant(), patient_id=int_arg("patient_id"), status=choice_arg("status", ItemStatus))
    return page_response(stmt, BillingItemOut, BillingItemPage)
