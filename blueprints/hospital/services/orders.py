"""Pharmacy, lab and radiology orders from an encounter, their fulfilment (dispensing from stock, entering
results) and pharmacy stock. Each fulfilment publishes one ``charge.created`` event for billing.

Orders follow the record's access rule: clinical staff of the institution (pharmacists, lab technicians
and radiographers included) and its admins.
"""

from __future__ import annotations

import json
import re
import unicodedata

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from blueprints.core import services as core
from blueprints.hospital.models import ClinicalOrder, OrderKind, OrderStatus, PharmacyStock
from blueprints.hospital.services import institutions, personnel
from blueprints.hospital.services.records import may_access_records, record_for_write, require_clinical_access
from medcover import clock
from medcover.errors import Conflict, Hidden, Invalid, NotFound
from medcover.events import publish
from medcover.extensions import db
from medcover.rbac import Role, Tenant, scope, tenant_of

#: a tariff or stock code: letters, digits, dots, dashes, underscores (upper-cased)
SERVICE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_.-]{0,29}")
MAX_QUANTITY = 1000
MAX_STOCK_RECEIPT = 1_000_000
ORDER_TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    OrderStatus.ORDERED: {OrderStatus.DISPENSED, OrderStatus.RESULTED, OrderStatus.CANCELLED},
    OrderStatus.DISPENSED: set(),
    OrderStatus.RESULTED: set(),
    OrderStatus.CANCELLED: set(),
}
#: the status that fulfils each kind of order
FULFILLED_AS = {
    OrderKind.PHARMACY: OrderStatus.DISPENSED,
    OrderKind.LAB: OrderStatus.RESULTED,
    OrderKind.RADIOLOGY: OrderStatus.RESULTED,
}
ANALYTE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.%/()+-]{0,39}")
MAX_ANALYTES = 100
REPORT_CHARS = 20_000
RESULT_BYTES = 64 * 1024


def _code(value, field: str) -> str:
    code = str(value or "").strip().upper()
    if not SERVICE_CODE.fullmatch(code):
        raise Invalid.field(field, "Use 1 to 30 letters, digits, dots, dashes or underscores.")
    return code


def _text(value, field: str, limit: int, *, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise Invalid.field(field, "This field is required.")
    if len(text) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise Invalid.field(field, "Remove the control characters.")
    return text


def _whole(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise Invalid.field(field, "Enter a whole number.")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise Invalid.field(field, "Enter a whole number.") from None
    if not low <= number <= high:
        raise Invalid.field(field, f"Enter a number from {low} to {high:,}.")
    return number


# --- orders --------------------------------------------------------------------------------------


def place_order(
    *, actor, record_id: int, kind: str, service_code: str, description: str, quantity: int = 1
) -> ClinicalOrder:
    record = record_for_write(actor, record_id)
    try:
        kind = OrderKind(kind)
    except ValueError:
        raise Invalid.field("kind", "Choose pharmacy, lab or radiology.") from None
    order = ClinicalOrder(
        institution_id=record.institution_id,
        record_id=record.id,
        patient_id=record.patient_id,
        kind=kind,
        service_code=_code(service_code, "service_code"),
        description=_text(description, "description", 200),
        quantity=_whole(quantity, "quantity", 1, MAX_QUANTITY),
        status=OrderStatus.ORDERED,
        ordered_by_id=actor.id,
    )
    db.session.add(order)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "clinical_order",
        order.id,
        after={"kind": kind.value, "service_code": order.service_code, "quantity": order.quantity},
        institution_id=order.institution_id,
    )
    return order


def get_order(*, actor, order_id: int) -> ClinicalOrder:
    order = db.session.get(ClinicalOrder, order_id) if order_id else None
    if order is None:
        raise NotFound("No such order.")
    if not tenant_of(actor).owns(order.institution_id, None):
        raise Hidden("No such order.", record=f"order {order.id}")
    require_clinical_access(actor, order.institution_id)
    return order


def orders_query(tenant: Tenant, kind: str = "", status: str = "", *, patient_id: int | None = None):
    """A work queue: the tenant's orders of a kind and status, oldest first (filters are allowlisted)."""
    stmt = scope(select(ClinicalOrder), ClinicalOrder, tenant).order_by(ClinicalOrder.created_at, ClinicalOrder.id)
    if kind in {k.value for k in OrderKind}:
        stmt = stmt.where(ClinicalOrder.kind == OrderKind(kind))
    if status in {s.value for s in OrderStatus}:
        stmt = stmt.where(ClinicalOrder.status == OrderStatus(status))
    if patient_id:
        stmt = stmt.where(ClinicalOrder.patient_id == patient_id)
    return stmt


def may_use_queues(actor) -> bool:
    """The work queues and the stock list follow the record rule: the clinical staff of the caller's
    institution, its admins, and platform admins."""
    tenant = tenant_of(actor)
    if tenant.institution_id is not None:
        return may_access_records(actor, tenant.institution_id)
    return tenant.is_global and actor.role == Role.ADMIN


def shows_queues(actor) -> bool:
    """Whether the side navigation links the work queues: ``may_use_queues`` with the clinical staff read from
    the directory the process keeps (``personnel.listed_as_clinical``), not a query on every page."""
    tenant = tenant_of(actor)
    if tenant.institution_id is not None and actor.role != Role.ADMIN:
        return personnel.listed_as_clinical(actor, tenant.institution_id)
    return may_use_queues(actor)


def queue_query(actor, kind: str = "", status: str = "", *, patient_id: int | None = None):
    """The orders the caller may work on; for callers outside the record rule, none (as ``scope`` does for
    another tenant's rows). A single order refused is ``get_order``'s 403/404."""
    stmt = orders_query(tenant_of(actor), kind, status, patient_id=patient_id)
    return stmt if may_use_queues(actor) else stmt.where(False)


def _check_transition(order: ClinicalOrder, target: OrderStatus) -> None:
    if target not in ORDER_TRANSITIONS[order.status]:
        raise Conflict(f"This order is already {order.status.value}; it cannot be {target.value} now.")


def _move(actor, order: ClinicalOrder, target: OrderStatus, **values) -> None:
    """Perform one transition with a guarded UPDATE, so two people fulfilling the same order at once
    cannot both succeed."""
    _check_transition(order, target)
    before = order.status
    result = db.session.execute(
        update(ClinicalOrder)
        .where(ClinicalOrder.id == order.id, ClinicalOrder.status == before)
        .values(status=target)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(order)
        raise Conflict(f"This order is already {order.status.value}; it cannot be {target.value} now.")
    # The guard above won the row; the rest is written through the ORM like any change.
    order.status = target
    for name, value in values.items():
        setattr(order, name, value)
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "clinical_order",
        order.id,
        before={"status": before.value},
        after={"status": target.value},
        institution_id=order.institution_id,
    )


def _charge(order: ClinicalOrder) -> None:
    """One billable charge per fulfilment; billing de-duplicates by ``source``."""
    publish(
        "charge.created",
        {
            "institution_id": order.institution_id,
            "patient_id": order.patient_id,
            "service_code": order.service_code,
            "quantity": order.quantity,
            "source": f"order:{order.id}",
            "occurred_on": clock.today().isoformat(),
            "order_id": order.id,
        },
    )


def dispense(*, actor, order_id: int) -> ClinicalOrder:
    """Hand out a pharmacy order: the stock goes down by the quantity, never below zero."""
    order = get_order(actor=actor, order_id=order_id)
    if order.kind is not OrderKind.PHARMACY:
        raise Conflict("Only pharmacy orders are dispensed.")
    _check_transition(order, OrderStatus.DISPENSED)
    savepoint = db.session.begin_nested()
    try:
        taken = db.session.execute(
            update(PharmacyStock)
            .where(
                PharmacyStock.institution_id == order.institution_id,
                PharmacyStock.item_code == order.service_code,
                PharmacyStock.quantity >= order.quantity,
            )
            .values(quantity=PharmacyStock.quantity - order.quantity)
            .execution_options(synchronize_session="fetch")
        )
        if taken.rowcount != 1:
            left = db.session.scalar(
                select(PharmacyStock.quantity).where(
                    PharmacyStock.institution_id == order.institution_id,
                    PharmacyStock.item_code == order.service_code,
                )
            )
            raise Conflict(f"Not enough stock: {left or 0} left", {"quantity": [f"{left or 0} in stock."]})
        _move(actor, order, OrderStatus.DISPENSED, fulfilled_by_id=actor.id, fulfilled_at=clock.now())
        _charge(order)
        savepoint.commit()
    except BaseException:
        savepoint.rollback()
        raise
    return order


def _lab_result(result: dict) -> dict:
    values = result.get("values")
    if set(result) - {"values", "comment"} or not isinstance(values, dict) or not values:
        raise Invalid.field("result", 'Give lab values as {"values": {"HB": {"value": "13.2", "unit": "g/dL"}}}.')
    if len(values) > MAX_ANALYTES:
        raise Invalid.field("result", f"Give at most {MAX_ANALYTES} values.")
    clean: dict = {}
    for analyte, entry in values.items():
        name = str(analyte).strip()
        if not ANALYTE.fullmatch(name):
            raise Invalid.field("result", f"{name[:40]!r} is not a test name (letters, digits, up to 40).")
        if not isinstance(entry, dict) or set(entry) - {"value", "unit", "range", "flag"}:
            raise Invalid.field("result", f"{name}: give value, unit and range.")
        value = entry.get("value")
        if value is None or isinstance(value, bool | dict | list):
            raise Invalid.field("result", f"{name}: the value is missing.")
        words = {key: entry.get(key) for key in ("unit", "range", "flag")}
        if any(word is not None and not isinstance(word, str) for word in words.values()):
            raise Invalid.field("result", f"{name}: the unit, range and flag are text.")
        clean[name] = {
            "value": _text(str(value), "result", 40),  # a measured 0 is a value too
            "unit": _text(words["unit"], "result", 20, required=False),
            "range": _text(words["range"], "result", 40, required=False),
        }
        if words["flag"]:
            clean[name]["flag"] = _text(words["flag"], "result", 10)
    out = {"values": clean}
    comment = result.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise Invalid.field("result", "The comment is text.")
    if comment:
        out["comment"] = _text(comment, "result", 2000)
    return out


def _radiology_result(result: dict) -> dict:
    report = result.get("report")
    if set(result) - {"report"} or not isinstance(report, str):
        raise Invalid.field("result", 'Give the radiology report as {"report": "..."}.')
    report = report.strip()
    if not report:
        raise Invalid.field("result", "The report is empty.")
    if len(report) > REPORT_CHARS:
        raise Invalid.field("result", f"The report takes at most {REPORT_CHARS:,} characters.")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in report):
        raise Invalid.field("result", "Remove the control characters.")
    return {"report": report}


def enter_result(*, actor, order_id: int, result: dict) -> ClinicalOrder:
    """Lab values or a radiology report; the order becomes resulted and is billed."""
    order = get_order(actor=actor, order_id=order_id)
    if order.kind is OrderKind.PHARMACY:
        raise Conflict("Pharmacy orders are dispensed, not resulted.")
    _check_transition(order, OrderStatus.RESULTED)
    if not isinstance(result, dict):
        raise Invalid.field("result", "Give the result as an object.")
    if len(json.dumps(result, default=str)) > RESULT_BYTES:
        raise Invalid.field("result", "The result is too large.")
    clean = _lab_result(result) if order.kind is OrderKind.LAB else _radiology_result(result)
    _move(actor, order, OrderStatus.RESULTED, result=clean, fulfilled_by_id=actor.id, fulfilled_at=clock.now())
    _charge(order)
    return order


def cancel_order(*, actor, order_id: int) -> ClinicalOrder:
    order = get_order(actor=actor, order_id=order_id)
    _move(actor, order, OrderStatus.CANCELLED)
    return order


# --- pharmacy stock ------------------------------------------------------------------------------


def receive_stock(
    *, actor, institution_id: int, item_code: str, name: str, quantity: int, unit: str = "unit"
) -> PharmacyStock:
    """A delivery: creates the stock item or increases it (an atomic increment, safe under concurrency)."""
    institution = institutions.institution_for_write(actor, institution_id)
    require_clinical_access(actor, institution.id)
    code = _code(item_code, "item_code")
    quantity = _whole(quantity, "quantity", 1, MAX_STOCK_RECEIPT)
    name = _text(name, "name", 120)
    unit = _text(unit or "unit", "unit", 20)
    where = (PharmacyStock.institution_id == institution.id, PharmacyStock.item_code == code)
    for _attempt in range(3):
        added = db.session.execute(
            update(PharmacyStock)
            .where(*where)
            .values(quantity=PharmacyStock.quantity + quantity, name=name, unit=unit)
            .execution_options(synchronize_session="fetch")
        )
        if added.rowcount == 1:
            break
        savepoint = db.session.begin_nested()
        try:
            db.session.add(
                PharmacyStock(institution_id=institution.id, item_code=code, name=name, unit=unit, quantity=quantity)
            )
            db.session.flush()
            savepoint.commit()
            break
        except IntegrityError:  # another delivery created it a moment ago: add to that one
            savepoint.rollback()
    else:
        raise Conflict("Could not record the delivery; try again.")
    row = db.session.scalars(select(PharmacyStock).where(*where)).one()
    db.session.refresh(row)
    core.record_audit(
        actor,
        "receive",
        "pharmacy_stock",
        row.id,
        after={"item_code": code, "received": quantity, "quantity": row.quantity},
        institution_id=institution.id,
    )
    return row


def stock_on_hand(rows) -> dict[tuple[int, str], int]:
    """Batch form for a queue page: the stock of each pharmacy order's item, in one query."""
    wanted = {(o.institution_id, o.service_code) for o in rows if o.kind is OrderKind.PHARMACY}
    if not wanted:
        return {}
    stmt = select(PharmacyStock.institution_id, PharmacyStock.item_code, PharmacyStock.quantity).where(
        PharmacyStock.institution_id.in_({i for i, _code in wanted}),
        PharmacyStock.item_code.in_({code for _i, code in wanted}),
    )
    return {(i, code): quantity for i, code, quantity in db.session.execute(stmt) if (i, code) in wanted}


def stock_for(actor, q: str = ""):
    """The stock the caller may see: none outside the record rule (as ``queue_query``)."""
    stmt = stock_query(tenant_of(actor), q)
    return stmt if may_use_queues(actor) else stmt.where(False)


def stock_query(tenant: Tenant, q: str = ""):
    stmt = scope(select(PharmacyStock), PharmacyStock, tenant).order_by(PharmacyStock.name, PharmacyStock.id)
    code = q.strip().upper()[:30]
    if code:
        stmt = stmt.where(PharmacyStock.item_code.startswith(code, autoescape=True))
    return stmt
