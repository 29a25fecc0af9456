"""Picking what exists: the price list's services as a clerk types a code or a description (the options of the
charge and invoice-line forms), and "New invoice": find the patient, then enter their charges."""

from __future__ import annotations

from contextlib import suppress

from flask import request

from blueprints.billing import bp, services
from blueprints.billing.services import WRITERS
from blueprints.billing.web.access import READERS, text
from blueprints.hospital import services as hospital
from medcover import clock
from medcover.errors import Invalid
from medcover.fields import day
from medcover.pages import render, tenant
from medcover.rbac import allow


@bp.get("/billing/price-list/options")
@allow(READERS)
def price_options():
    """``<option>``s for the service-code box's list (and, out of band, how many matched): the services in effect
    on the service date at the institution, by code or description."""
    institution_id = request.args.get("institution_id", type=int) or 0
    scope = tenant()
    if scope.institution_id is not None:
        institution_id = scope.institution_id
    q = text(request.args.get("q", ""), 60).strip()
    # each form names its own fields: take whichever code and date it sent
    for name, value in request.args.items():
        if name.endswith("service_code") and not q:
            q = text(value, 60).strip()
    on = clock.today()
    for name, value in request.args.items():
        if name.endswith("service_date") and value:
            with suppress(Invalid):  # a half-typed date: today's prices
                on = day(value, "service_date")
    target = request.args.get("list", "price-options")
    options = services.price_options(scope, institution_id, q, on) if institution_id and q else []
    return render(
        "billing/_price_options.html", options=options, q=q, list_id=_safe_id(target), on=on, limit=services.PICK_LIMIT
    )


def _safe_id(value: str) -> str:
    cleaned = "".join(c for c in value if c.isalnum() or c in "-_")[:60]
    return cleaned or "price-options"


@bp.get("/billing/invoices/new")
@allow(WRITERS)
def invoice_new():
    """A new invoice starts with its patient: search by name or number, then enter the charges on their billing
    page and draft the invoice from them."""
    q = text(request.args.get("q", ""), 60).strip()
    patients = hospital.search_patients(tenant(), q) if len(q) >= 2 else []
    return render("billing/invoice_new.html", "billing/_invoice_new_results.html", q=q, patients=patients)
