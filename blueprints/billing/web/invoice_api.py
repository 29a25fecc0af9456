"""Billing JSON endpoints for invoices and credit notes: drafting (by hand or from billing items), the list,
one invoice with its lines or as the printable PDF, and a draft's lines (who may call them: api.py)."""

from __future__ import annotations

from datetime import date

from flask import request
from pydantic import Field

from blueprints.billing import api_bp, services
from blueprints.billing.models import Invoice, InvoiceKind, InvoiceStatus
from blueprints.billing.web.api import (
    ID,
    PAGING,
    READERS,
    TAG,
    WRITERS,
    Code,
    Description,
    Quantity,
    invoice_writer,
    visible_institution,
    writer,
)
from blueprints.billing.web.print_views import PDF, invoice_pdf_response
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
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    page_model,
    page_response,
    parse,
    referenced,
    saved,
    tenant,
    text_arg,
)
from medcover.extensions import db
from medcover.rbac import allow


class LineIn(Schema):
    """A line without ``unit_price`` takes the tariff's on ``service_date`` (today when left out)."""

    service_code: Code
    quantity: Quantity
    unit_price: MoneyIn | None = None
    description: Description | None = None
    service_date: Day | None = None


class InvoiceIn(Schema):
    patient_id: Id
    institution_id: Id
    lines: list[LineIn] = Field(min_length=1, max_length=services.MAX_LINES)


class FromItemsIn(Schema):
    """``item_ids`` left out: all the patient's unbilled items."""

    patient_id: Id
    item_ids: list[Id] | None = Field(None, min_length=1, max_length=services.MAX_LINES)


class LineUpdateIn(Schema):
    """Fields left out (or null) keep their values."""

    quantity: Quantity | None = None
    unit_price: MoneyIn | None = None
    description: Description | None = None


class LineOut(Out):
    line_no: int
    service_code: str
    description: str
    benefit_code: str | None
    service_date: date | None
    quantity: int
    unit_price: Money
    net: Money
    tax: Money
    amount: Money
    insurer_amount: Money
    patient_amount: Money


class InvoiceOut(Out):
    id: int
    number: str | None
    kind: InvoiceKind
    status: InvoiceStatus
    institution_id: int
    patient_id: int
    company_id: int | None
    member_number: str | None
    currency: str
    issued_on: date | None
    due_on: date | None
    subtotal: Money
    tax: Money
    total: Money
    insurer_part: Money
    patient_part: Money
    paid: Money
    refunded: Money
    credited: Money
    balance: Money
    void_reason: str | None
    #: a credit note's invoice
    credited_invoice_id: int | None
    #: a credit note's reason
    notes: str | None


class InvoiceDetailOut(InvoiceOut):
    lines: list[LineOut]


InvoicePage = page_model(InvoiceOut)


def invoice_detail(invoice: Invoice) -> InvoiceDetailOut:
    lines = [LineOut.model_validate(line) for line in services.lines_of(invoice.id)]
    return InvoiceDetailOut(**InvoiceOut.model_validate(invoice).model_dump(), lines=lines)


@api_bp.post("/invoices")
@allow(WRITERS)
@documented(
    "Draft an invoice; a line without unit_price takes the tariff's",
    tag=TAG,
    body=InvoiceIn,
    responses={201: InvoiceDetailOut},
    description="The payer split (insurer_part / patient_part) is the claims engine's estimate for the patient's "
    "member until the invoice's claim is decided, then the decision's. "
    "A line whose service has no tariff and no unit_price: 422 on "
    "lines.N.unit_price.",
)
def create_invoice():
    data = parse(InvoiceIn)
    actor = writer()
    referenced("institution_id", visible_institution, data.institution_id)
    referenced("patient_id", hospital.get_patient, tenant(), data.patient_id)
    invoice = services.create_invoice(
        actor=actor,
        institution_id=data.institution_id,
        patient_id=data.patient_id,
        lines=[services.LineInput(**line.model_dump()) for line in data.lines],
    )
    return created(invoice_detail(invoice))


@api_bp.post("/invoices/from-items")
@allow(WRITERS)
@documented(
    "Draft an invoice from a patient's unbilled items (all of them, or those named)",
    tag=TAG,
    body=FromItemsIn,
    responses={201: InvoiceDetailOut, 409: None},
    description="Nothing unbilled (or none of the named items unbilled): 409. The items become billed.",
)
def create_invoice_from_items():
    data = parse(FromItemsIn)
    actor = writer()
    referenced("patient_id", hospital.get_patient, tenant(), data.patient_id)
    invoice = services.draft_from_items(actor=actor, patient_id=data.patient_id, item_ids=data.item_ids)
    return created(invoice_detail(invoice))


@api_bp.get("/invoices")
@allow(READERS)
@documented(
    "Invoices and credit notes, newest first (hospital staff: their institution's; insurers: those billing "
    "their company)",
    tag=TAG,
    responses={200: InvoicePage},
    query={
        "status": "draft, issued, partially_paid, paid or void",
        "kind": "invoice or credit_note",
        "patient_id": "one patient",
        "institution_id": "one institution",
        "company_id": "one insurer",
        "issued_on": "issued that day (YYYY-MM-DD)",
        "q": "invoice number starts with",
        **PAGING,
    },
)
def list_invoices():
    stmt = services.invoices_query(
        tenant(),
        status=choice_arg("status", InvoiceStatus),
        kind=choice_arg("kind", InvoiceKind),
        patient_id=int_arg("patient_id"),
        institution_id=int_arg("institution_id"),
        company_id=int_arg("company_id"),
        issued_on=day_arg("issued_on"),
        q=text_arg("q", 40),
    )
    return page_response(stmt, InvoiceOut, InvoicePage)


def _pdf(invoice_id: int):
    response = invoice_pdf_response(invoice_id)  # another tenant's invoice: 404
    response.vary.add("Accept")
    return response


@api_bp.get(f"/invoices/<{ID}:invoice_id>")
@allow(READERS)
@documented(
    "One invoice or credit note with its lines (Accept: application/pdf gives the printable PDF)",
    tag=TAG,
    responses={200: InvoiceDetailOut, 404: None},
)
def get_invoice(invoice_id: int):
    if request.accept_mimetypes.best_match(["application/json", PDF]) == PDF:
        return _pdf(invoice_id)
    response = jsonify_model(invoice_detail(services.get_invoice(tenant(), invoice_id)))
    response.vary.add("Accept")
    return response


@api_bp.get(f"/invoices/<{ID}:invoice_id>.pdf")
@allow(READERS)
@documented(
    "The printable invoice as an A4 PDF",
    tag=TAG,
    responses={200: None, 404: None},
    description="Answers application/pdf, shown inline, named after the invoice number.",
)
def get_invoice_pdf(invoice_id: int):
    return _pdf(invoice_id)


@api_bp.post(f"/invoices/<{ID}:invoice_id>/lines")
@allow(WRITERS)
@documented(
    "Add a line to a draft; answers the invoice with its new totals",
    tag=TAG,
    body=LineIn,
    responses={201: InvoiceDetailOut, 404: None, 409: None},
    description="Only drafts change: 409 for an issued or void invoice.",
)
def add_invoice_line(invoice_id: int):
    data = parse(LineIn)
    actor = invoice_writer(invoice_id)
    services.add_line(actor=actor, invoice_id=invoice_id, line=services.LineInput(**data.model_dump()))
    return created(invoice_detail(services.get_invoice(tenant(), invoice_id)))


@api_bp.patch(f"/invoices/<{ID}:invoice_id>/lines/<{ID}:line_no>")
@allow(WRITERS)
@documented(
    "Change a draft's line (quantity, unit_price, description); answers the invoice",
    tag=TAG,
    body=LineUpdateIn,
    responses={200: InvoiceDetailOut, 404: None, 409: None},
    description="Fields left out keep their values. Only drafts change: 409 otherwise.",
)
def update_invoice_line(invoice_id: int, line_no: int):
    data = parse(LineUpdateIn)
    actor = invoice_writer(invoice_id)
    services.update_line(actor=actor, invoice_id=invoice_id, line_no=line_no, **data.model_dump())
    return saved(invoice_detail(services.get_invoice(tenant(), invoice_id)))


@api_bp.delete(f"/invoices/<{ID}:invoice_id>/lines/<{ID}:line_no>")
@allow(WRITERS)
@documented(
    "Remove a draft's line (an item it billed becomes unbilled again)",
    tag=TAG,
    responses={204: None, 404: None, 409: None},
)
def delete_invoice_line(invoice_id: int, line_no: int):
    services.remove_line(actor=invoice_writer(invoice_id), invoice_id=invoice_id, line_no=line_no)
    db.session.commit()
    return "", 204
