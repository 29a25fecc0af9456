"""The global search's look-up of invoices and credit notes by number (``medcover.navigation.add_lookup``)."""

from __future__ import annotations

from flask import url_for

from blueprints.billing.models import InvoiceKind
from blueprints.billing.services import invoices
from medcover.rbac import tenant_of


def invoices_numbered(user, text: str) -> list[tuple[str, str]]:
    found = []
    for invoice in invoices.invoices_numbered(tenant_of(user), text):
        kind = "Credit note" if invoice.kind == InvoiceKind.CREDIT_NOTE else "Invoice"
        status = invoice.status.value.replace("_", " ")
        found.append((f"{kind} {invoice.number}, {status}", url_for("billing.invoice", invoice_id=invoice.id)))
    return found


def invoice_names(ids: set[str]):
    """Invoices named by number for pages that list any kind of record (``medcover.naming``)."""
    from blueprints.billing.services import summaries
    from medcover.naming import Named, whole_ids

    found = {}
    for invoice_id, invoice in summaries.invoice_summaries(whole_ids(ids)).items():
        kind = "Credit note" if invoice.number and "-CN-" in invoice.number else "Invoice"
        url = url_for("billing.invoice", invoice_id=invoice_id)
        found[str(invoice_id)] = Named(f"{kind} {invoice.number}" if invoice.number else "Draft invoice", url)
    return found
