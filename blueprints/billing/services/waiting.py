"""Billing's part of the home page: the charges, drafts and overdue invoices waiting, counted in one query."""

from __future__ import annotations

from blueprints.billing.models import InvoiceStatus, ItemStatus
from blueprints.billing.services.invoices import OVERDUE, invoices_query
from blueprints.billing.services.items import items_query
from medcover.rbac import Tenant
from medcover.work import counted, read_together

#: key -> the list page's own query, so a count is always that list's total
_LISTS = {
    "unbilled_charges": lambda tenant: items_query(tenant, status=ItemStatus.UNBILLED.value),
    "draft_invoices": lambda tenant: invoices_query(tenant, status=InvoiceStatus.DRAFT.value),
    "overdue_invoices": lambda tenant: invoices_query(tenant, status=OVERDUE),
}


def work_waiting(tenant: Tenant, keys) -> dict[str, int]:
    """The tenant's counts for the wanted keys (a clerk's hospital, the platform's every hospital)."""
    return read_together({key: counted(_LISTS[key](tenant)) for key in _LISTS if key in keys})
