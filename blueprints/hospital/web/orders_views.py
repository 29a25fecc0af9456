"""Hospital pages for clinical orders: the pharmacy, lab and radiology work queues with their row actions
(dispense, enter results, cancel), and orders placed from an encounter on the patient page. The records'
rule applies: the queues show nothing to non-clinical staff (the page says why), and their actions on an
order are refused (403; another hospital's order: 404)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from blueprints.hospital import bp, services
from blueprints.hospital.models import OrderKind, OrderStatus
from blueprints.hospital.services import orders, records
from blueprints.hospital.services.patients import patient_row
from blueprints.hospital.web.forms import LabResultForm, OrderActionForm, OrderForm, RadiologyResultForm
from blueprints.hospital.web.patient_page import patient_page
from blueprints.hospital.web.views import HOSPITAL_STAFF
from medcover.errors import Conflict, DomainError, Invalid
from medcover.extensions import db
from medcover.pages import actor, form_failed, page_of, render, safe_next, submit, tenant, toast, wants_partial
from medcover.rbac import allow

#: each kind's queue page
QUEUES = {
    OrderKind.PHARMACY: "hospital.pharmacy",
    OrderKind.LAB: "hospital.lab",
    OrderKind.RADIOLOGY: "hospital.radiology",
}
TITLES = {OrderKind.PHARMACY: "Pharmacy", OrderKind.LAB: "Laboratory", OrderKind.RADIOLOGY: "Radiology"}
ALL_STATUSES = "all"


# --- the work queues -------------------------------------------------------------------------------


def _status_arg() -> str:
    """The queue's status filter: ``ordered`` unless told (``all`` for every status)."""
    raw = request.args.get("status", OrderStatus.ORDERED.value)
    if raw == ALL_STATUSES:
        return ""
    return raw if raw in {s.value for s in OrderStatus} else OrderStatus.ORDERED.value


def _rows_context(rows, here: str, failed: dict | None = None, entered: dict | None = None) -> dict:
    """What order rows show beside the order: patients and stock, one query each however many rows."""
    return {
        "patients": services.patients_by_id(o.patient_id for o in rows),
        "stock": orders.stock_on_hand(rows),
        "failed": failed or {},
        "entered": entered or {},
        "here": here,
    }


def _queue(kind: OrderKind):
    status = _status_arg()
    rows, paging = page_of(orders.queue_query(actor(), kind.value, status))
    return render(
        "hospital/queue.html",
        "hospital/_queue_rows.html",
        kind=kind,
        title=TITLES[kind],
        endpoint=QUEUES[kind],
        status_filter=status,
        statuses=list(OrderStatus),
        clinical=orders.may_use_queues(actor()),
        rows=rows,
        paging=paging,
        **_rows_context(rows, request.full_path),
    )


@bp.get("/hospital/pharmacy")
@allow(HOSPITAL_STAFF)
def pharmacy():
    return _queue(OrderKind.PHARMACY)


@bp.get("/hospital/lab")
@allow(HOSPITAL_STAFF)
def lab():
    return _queue(OrderKind.LAB)


@bp.get("/hospital/radiology")
@allow(HOSPITAL_STAFF)
def radiology():
    return _queue(OrderKind.RADIOLOGY)


# --- row actions -----------------------------------------------------------------------------------


def _messages(form) -> list[str]:
    """Every message on a form, nested rows included, each once."""
    found: list[str] = list(getattr(form, "form_errors", []))
    for field in form:
        entries = getattr(field, "entries", None)
        if entries is not None:
            for entry in entries:
                found.extend(m for sub in getattr(entry, "form", entry) for m in sub.errors)
        elif isinstance(field.errors, list | tuple):
            found.extend(m for m in field.errors if isinstance(m, str))
    return list(dict.fromkeys(found))


def _attempt(form, action) -> str | None:
    """One service call for a row; None when it worked (committed), else the refusal to show in the row."""
    if not form.validate_on_submit():
        return " ".join(_messages(form)) or "The form expired; reload the page and try again."
    try:
        action()
    except DomainError as exc:
        form_failed(form, exc)  # undoes the writes; another hospital's order is re-raised as a 404
        if isinstance(exc, Conflict) or not exc.errors:
            return exc.detail
        return " ".join(dict.fromkeys(m for messages in exc.errors.values() for m in messages))
    db.session.commit()
    return None


def _row(order, here: str, status: int = 200, refusal: str | None = None, entered=None):
    return render(
        "hospital/_order_row.html",
        status=status,
        o=order,
        kind=order.kind,
        **_rows_context(
            [order],
            here,
            failed={order.id: refusal} if refusal else None,
            entered={order.id: entered} if entered is not None else None,
        ),
    )


def _order_action(order_id: int, form, action, message: str):
    """Every row button: one service call; HTMX gets the row back (with the refusal in it), others a 303."""
    order = orders.get_order(actor=actor(), order_id=order_id)  # another hospital's: 404; not clinical: 403
    back = safe_next(form.next.data, url_for(QUEUES[order.kind]))
    refusal = _attempt(form, action)
    if not wants_partial():
        flash(refusal or message, "error" if refusal else "success")
        return redirect(back, 303)
    row = orders.get_order(actor=actor(), order_id=order_id)
    if refusal is None:
        return toast(_row(row, back), message)
    return toast(_row(row, back, 422, refusal, entered=form), refusal)


@bp.post("/hospital/orders/<id:order_id>/dispense")
@allow(HOSPITAL_STAFF)
def order_dispense(order_id: int):
    return _order_action(
        order_id,
        OrderActionForm(),
        lambda: orders.dispense(actor=actor(), order_id=order_id),
        "Dispensed; stock updated.",
    )


@bp.post("/hospital/orders/<id:order_id>/cancel")
@allow(HOSPITAL_STAFF)
def order_cancel(order_id: int):
    return _order_action(
        order_id,
        OrderActionForm(),
        lambda: orders.cancel_order(actor=actor(), order_id=order_id),
        "Order cancelled.",
    )


def _lab_values(form: LabResultForm) -> dict:
    """The result lines typed in, as the service takes them; blank lines are skipped."""
    values: dict = {}
    for entry in form.values.entries:
        line = entry.form
        name, value, unit, reference = (
            (f.data or "").strip() for f in (line.analyte, line.value, line.unit, line.range)
        )
        if not any((name, value, unit, reference)):
            continue
        if not name:
            raise Invalid.field("result", "Give each result line a test name.")
        if name in values:
            raise Invalid.field("result", f"{name} is entered twice.")
        values[name] = {"value": value or None, "unit": unit, "range": reference}
    if not values:
        raise Invalid.field("result", "Enter at least one test result.")
    result = {"values": values}
    if (form.comment.data or "").strip():
        result["comment"] = form.comment.data
    return result


@bp.post("/hospital/orders/<id:order_id>/result")
@allow(HOSPITAL_STAFF)
def order_result(order_id: int):
    """Lab values (a line per test) or a radiology report, by the order's kind."""
    order = orders.get_order(actor=actor(), order_id=order_id)
    if order.kind is OrderKind.LAB:
        form = LabResultForm()

        def result() -> dict:
            return _lab_values(form)
    else:
        form = RadiologyResultForm()

        def result() -> dict:
            return {"report": form.report.data or ""}

    return _order_action(
        order_id,
        form,
        lambda: orders.enter_result(actor=actor(), order_id=order_id, result=result()),
        "Result saved.",
    )


# --- orders from the patient page ---------------------------------------------------------------------


@bp.post("/hospital/records/<id:record_id>/orders")
@allow(HOSPITAL_STAFF)
def order_place(record_id: int):
    """Order a medicine, a test or an imaging study from one encounter on the patient page."""
    record = records.record_for_write(actor(), record_id)  # not clinical: 403; another hospital's: 404
    form = OrderForm()
    done = submit(
        form,
        lambda: orders.place_order(
            actor=actor(),
            record_id=record.id,
            kind=form.kind.data,
            service_code=form.service_code.data,
            description=form.description.data,
            quantity=form.quantity.data,
        ),
    )
    patient = patient_row(tenant(), record.patient_id)
    if done.ok:
        order = done.result
        flash(f"{TITLES[order.kind]} order {order.service_code} × {order.quantity} placed.", "success")
        return redirect(url_for("hospital.patient", patient_id=patient.id, _anchor=f"record-{record_id}"), 303)
    return patient_page(patient, done.status, order_form=form, order_record_id=record_id)
