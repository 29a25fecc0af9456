"""Billing items: the charges waiting to be billed (from hospital orders through ``charge.created``, or
entered by a clerk), and the pricing of a charge from the tariff that invoice lines share."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blueprints.billing.models import BillingItem, ItemStatus
from blueprints.billing.services.access import patient_for_write
from blueprints.billing.services.price_list import known_code
from blueprints.billing.services.tariffs import tariff_price
from blueprints.core import services as core
from medcover import clock, fields
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.money import ZERO
from medcover.rbac import Tenant, scope

MAX_QUANTITY = 10_000


def record_charge(event_id: int, payload: dict) -> BillingItem | None:
    """Subscriber of ``charge.created``: one unbilled item per source, however often the event arrives.
    The price is the tariff's on the day of the service; without one the item waits at 0.00 for a clerk."""
    source = str(payload.get("source") or f"event:{event_id}")[:80]
    existing = db.session.scalar(select(BillingItem).where(BillingItem.source == source))
    if existing is not None:
        return existing
    institution_id = int(payload["institution_id"])
    code = str(payload["service_code"]).strip().upper()[:30]
    day = date.fromisoformat(payload.get("occurred_on") or clock.today().isoformat())
    price = tariff_price(institution_id, code, day)
    item = BillingItem(
        institution_id=institution_id,
        patient_id=int(payload["patient_id"]),
        service_code=code,
        description=(price.description if price else str(payload.get("description") or f"{code} (no tariff)"))[:200],
        benefit_code=price.benefit_code if price else None,
        quantity=max(1, int(payload.get("quantity") or 1)),
        unit_price=price.unit_price if price else ZERO,
        service_date=day,
        source=source,
        status=ItemStatus.UNBILLED,
    )
    savepoint = db.session.begin_nested()
    try:
        db.session.add(item)
        db.session.flush()
        savepoint.commit()
    except IntegrityError:  # the same charge landing twice at once: the other copy stands
        savepoint.rollback()
        return db.session.scalar(select(BillingItem).where(BillingItem.source == source))
    core.record_audit(
        None,
        "create",
        "billing_item",
        item.id,
        after={"source": source, "service_code": code, "quantity": item.quantity, "unit_price": str(item.unit_price)},
        institution_id=institution_id,
    )
    return item


def add_item(
    *,
    actor,
    patient_id: int,
    service_code: str,
    quantity: int | str = 1,
    unit_price: Decimal | str | None = None,
    service_date: date | str | None = None,
    description: str | None = None,
) -> BillingItem:
    """A billable service entered by a clerk (priced from the tariff unless a price is given)."""
    patient = patient_for_write(actor, patient_id)
    line = line_values(patient.institution_id, service_code, quantity, unit_price, service_date, description)
    item = BillingItem(
        institution_id=patient.institution_id,
        patient_id=patient.id,
        source=f"manual:{uuid.uuid4().hex}",
        status=ItemStatus.UNBILLED,
        created_by_id=actor.id,
        **line,
    )
    db.session.add(item)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "billing_item",
        item.id,
        after={"service_code": item.service_code, "quantity": item.quantity, "unit_price": str(item.unit_price)},
        institution_id=item.institution_id,
    )
    return item


def unbilled_items(tenant: Tenant, patient_id: int) -> list[BillingItem]:
    stmt = scope(select(BillingItem), BillingItem, tenant).where(
        BillingItem.patient_id == patient_id, BillingItem.status == ItemStatus.UNBILLED
    )
    return list(db.session.scalars(stmt.order_by(BillingItem.service_date, BillingItem.id)))


def items_query(tenant: Tenant, *, patient_id: int | None = None, status: str = ""):
    stmt = scope(select(BillingItem), BillingItem, tenant).order_by(BillingItem.service_date.desc(), BillingItem.id)
    if patient_id:
        stmt = stmt.where(BillingItem.patient_id == patient_id)
    if status in {s.value for s in ItemStatus}:
        stmt = stmt.where(BillingItem.status == ItemStatus(status))
    return stmt


def line_values(institution_id, service_code, quantity, unit_price, service_date, description, prefix=""):
    """The columns of a priced charge (a billing item's or a draft line's): the tariff's price on the service
    day unless a price is given. ``prefix`` places the field errors of one entry in a list."""
    code = fields.code(service_code, prefix + "service_code")
    day = fields.day(service_date, prefix + "service_date") if service_date else clock.today()
    price = tariff_price(institution_id, code, day)
    if unit_price is None or unit_price == "":
        if price is None and not known_code(institution_id, code):
            raise Invalid.field(
                prefix + "service_code",
                f"{code} is not a service on the price list. Check the code, or pick the service from the list.",
            )
        if price is None:
            raise Invalid.field(prefix + "unit_price", f"{code} has no price on {day}; enter a unit price.")
        amount = price.unit_price
    else:
        amount = fields.amount(unit_price, prefix + "unit_price")
    text = fields.text(description, prefix + "description", 200, required=False) if description else ""
    return {
        "service_code": code,
        "description": text or (price.description if price else code),
        "benefit_code": price.benefit_code if price else None,
        "quantity": fields.whole(quantity, prefix + "quantity", 1, MAX_QUANTITY),
        "unit_price": amount,
        "service_date": day,
    }
