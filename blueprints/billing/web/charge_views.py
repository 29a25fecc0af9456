"""The charges list: billing items across the hospital's patients, unbilled first (the clerk's work waiting);
each row leads to the patient's billing, where a draft invoice is made from them."""

from __future__ import annotations

from flask import request

from blueprints.billing import bp, services
from blueprints.billing.models import ItemStatus
from blueprints.billing.web.access import READERS, institution_names
from blueprints.hospital import services as hospital
from medcover.pages import page_of, render, tenant
from medcover.rbac import allow

#: the filter's values in the order offered; "" shows every charge
STATUS_LABELS = {
    ItemStatus.UNBILLED.value: "Not yet billed",
    ItemStatus.BILLED.value: "Billed",
    ItemStatus.CANCELLED.value: "Cancelled",
}


@bp.get("/billing/charges")
@allow(READERS)
def charges():
    """Newest service date first; not yet billed unless another status (or every one) is asked for."""
    scope = tenant()
    status = request.args.get("status", ItemStatus.UNBILLED.value)
    status = status if status in STATUS_LABELS else ""
    rows, paging = page_of(services.items_query(scope, status=status))
    currency = services.settings_for(scope.institution_id).currency if scope.institution_id else None
    return render(
        "billing/charges.html",
        "billing/_charge_rows.html",
        rows=rows,
        paging=paging,
        status_filter=status,
        status_labels=STATUS_LABELS,
        currency=currency,
        patients=hospital.patients_by_id({row.patient_id for row in rows}),
        institutions=institution_names() if rows else {},
    )
