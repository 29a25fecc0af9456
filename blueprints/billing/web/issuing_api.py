"""Billing JSON endpoints that move an invoice on: issuing a draft, voiding, crediting a payer's part (who may
call them: api.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from blueprints.billing import api_bp, services
from blueprints.billing.models import Payer
from blueprints.billing.web.api import ID, TAG, WRITERS, invoice_writer
from blueprints.billing.web.invoice_api import InvoiceDetailOut, invoice_detail
from medcover.api import MoneyIn, Schema, created, documented, optional_body, parse, saved
from medcover.rbac import allow

Reason = Annotated[str, Field(min_length=1, max_length=300)]


class EmptyIn(Schema):
    """No fields: the body may be left out or be ``{}``."""


class VoidIn(Schema):
    reason: Reason


class CreditNoteIn(Schema):
    amount: MoneyIn
    reason: Reason
    payer: Payer = Payer.PATIENT


@api_bp.post(f"/invoices/<{ID}:invoice_id>/issue")
@allow(WRITERS)
@documented(
    "Issue a draft: numbered from the institution's sequence, due by its payment terms",
    tag=TAG,
    body=EmptyIn,
    responses={200: InvoiceDetailOut, 404: None, 409: None},
    description="The body may be left out. Issued already, void, or without lines: 409.",
)
def issue_invoice(invoice_id: int):
    optional_body(EmptyIn)
    invoice = services.issue_invoice(actor=invoice_writer(invoice_id), invoice_id=invoice_id)
    return saved(invoice_detail(invoice))


@api_bp.post(f"/invoices/<{ID}:invoice_id>/void")
@allow(WRITERS)
@documented(
    "Void a draft or an issued invoice with no money on it, with a reason; its items become unbilled",
    tag=TAG,
    body=VoidIn,
    responses={200: InvoiceDetailOut, 404: None, 409: None},
    description="An invoice with payments or credit notes on it: 409 (credit it instead).",
)
def void_invoice(invoice_id: int):
    data = parse(VoidIn)
    invoice = services.void_invoice(actor=invoice_writer(invoice_id), invoice_id=invoice_id, reason=data.reason)
    return saved(invoice_detail(invoice))


@api_bp.post(f"/invoices/<{ID}:invoice_id>/credit-notes")
@allow(WRITERS)
@documented(
    "Credit an amount off what a payer owes on an open invoice; answers the numbered credit note",
    tag=TAG,
    body=CreditNoteIn,
    responses={201: InvoiceDetailOut, 404: None, 409: None},
    description="payer: patient (default) or insurer. More than the payer still owes: 422 on amount. "
    "A draft, paid or void invoice: 409.",
)
def create_credit_note(invoice_id: int):
    data = parse(CreditNoteIn)
    note = services.issue_credit_note(
        actor=invoice_writer(invoice_id),
        invoice_id=invoice_id,
        amount=data.amount,
        reason=data.reason,
        payer=data.payer.value,
    )
    return created(invoice_detail(note))
