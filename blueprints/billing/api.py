"""Billing JSON endpoints: tariffs and their history (with CSV import), billing items, invoices (drafts,
lines, issue, void, credit notes, the printable PDF), accounts receivable and billing settings
(API.md's fixed shapes for ``POST /tariffs`` and ``POST /invoices``).

Who may call what. Tenancy is the services': hospital staff see and change only their institution's rows,
insurer staff read only the invoices (and the receivables) that bill their company, and another tenant's
row answers 404 as if it did not exist. A record named in a body that the caller may not see is a 422 on
that field.

| resource                                         | read    | write                                  |
|--------------------------------------------------|---------|----------------------------------------|
| tariffs (+ price lookup, CSV import)             | READERS | WRITERS of the institution             |
| billing items                                    | READERS | WRITERS of the institution             |
| invoices (+ lines, issue, void, credit notes)    | READERS | WRITERS of the institution             |
| accounts receivable (+ drill-down)               | READERS | -                                      |
| billing settings                                 | READERS | WRITERS of the institution             |

READERS = ADMIN, BILLING_CLERK, FINANCE_OFFICER, AUDITOR, INTEGRATION. WRITERS = ``access.API_WRITERS``
(ADMIN, BILLING_CLERK, FINANCE_OFFICER): the services' ``access.institution_for_write`` decides, and it does
not yet let INTEGRATION change billing, so integrations read here until it does. Insurer-side writers
(a finance officer of a company) are refused with 403: insurers never change a hospital's billing.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Annotated

from flask import make_response, request
from flask_login import current_user
from pydantic import Field, Strict, StrictBool
from sqlalchemy import select

from blueprints.billing import access, api_bp, printing, receivables, services, tariffs
from blueprints.billing.models import AccountReceivable, Invoice, InvoiceKind, InvoiceStatus, ItemStatus, Payer
from blueprints.hospital import services as hospital
from medcover import clock
from medcover.api import (
    Day,
    Id,
    Money,
    MoneyIn,
    Out,
    Schema,
    choice_arg,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    optional_body,
    page_model,
    paginate,
    parse,
    referenced,
)
from medcover.errors import Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Role, allow, tenant_of

TAG = "Billing"
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION})
#: who changes billing: exactly whom the services let (an integration account for its own hospital too)
WRITERS = access.API_WRITERS
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}
PDF = "application/pdf"


# --- input types: strict, so `true`, `"7"`, 12.5 or a timestamp are not taken for a number, money or a date -


Quantity = Annotated[int, Strict(), Field(ge=1, le=services.MAX_QUANTITY)]
Code = Annotated[str, Field(min_length=1, max_length=30)]
Description = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=300)]


# --- request bodies ---------------------------------------------------------------------------------


class TariffIn(Schema):
    institution_id: Id
    service_code: Code
    description: Description
    benefit_code: Code
    unit_price: MoneyIn
    effective_from: Day


class TariffImportIn(Schema):
    """``csv``: the price list's text with the header service_code, description, benefit_code, unit_price,
    effective_from. ``dry_run`` true answers the preview and changes nothing."""

    institution_id: Id
    csv: Annotated[str, Field(min_length=1, max_length=tariffs.MAX_IMPORT_BYTES)]
    dry_run: StrictBool = False


class BillingItemIn(Schema):
    """``unit_price`` defaults to the tariff's on ``service_date`` (today when left out)."""

    patient_id: Id
    service_code: Code
    quantity: Quantity = 1
    unit_price: MoneyIn | None = None
    service_date: Day | None = None
    description: Description | None = None


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


class EmptyIn(Schema):
    """No fields: the body may be left out or be ``{}``."""


class VoidIn(Schema):
    reason: Reason


class CreditNoteIn(Schema):
    amount: MoneyIn
    reason: Reason
    payer: Payer = Payer.PATIENT


class SettingsIn(Schema):
    """The whole settings: fields left out take their defaults."""

    invoice_prefix: Annotated[str, Field(min_length=1, max_length=12)]
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "KES"
    tax_percent: MoneyIn = Decimal("0.00")
    payment_terms_days: Annotated[int, Strict(), Field(ge=0, le=365)] = 30
    bank_name: Annotated[str, Field(max_length=120)] | None = None
    bank_account: Annotated[str, Field(max_length=40)] | None = None
    bank_branch: Annotated[str, Field(max_length=80)] | None = None
    payment_instructions: Annotated[str, Field(max_length=1000)] | None = None


# --- answers ----------------------------------------------------------------------------------------


class TariffOut(Out):
    id: int
    institution_id: int
    service_code: str
    description: str
    benefit_code: str
    unit_price: Money
    effective_from: date
    #: the last day of this price; null while it is the current one
    effective_to: date | None


class TariffPriceOut(Out):
    institution_id: int
    service_code: str
    on: date
    tariff_id: int
    description: str
    benefit_code: str
    unit_price: Money
    effective_from: date
    effective_to: date | None


class ImportRowOut(Out):
    line: int
    service_code: str
    description: str
    benefit_code: str
    unit_price: Money | None
    effective_from: date | None
    #: new, change, same (nothing to do) or error
    action: str
    current_price: Money | None
    errors: list[str]


class ImportOut(Out):
    institution_id: int
    dry_run: bool
    #: true when the prices were imported (dry_run false and every row good)
    applied: bool
    ok: bool
    #: file-level problems (header, encoding, size); row problems are on the rows
    errors: list[str]
    counts: dict[str, int]
    rows: list[ImportRowOut]


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


class AgingRowOut(Out):
    #: patient (all patients together) or insurer (one row per company)
    payer: str
    company_id: int | None
    invoices: int
    current: Money
    d30: Money
    d60: Money
    d90: Money
    d120: Money
    total: Money


class AgingTotalsOut(Out):
    current: Money
    d30: Money
    d60: Money
    d90: Money
    d120: Money


class AgingOut(Out):
    as_of: date
    buckets: list[str]
    rows: list[AgingRowOut]
    totals: AgingTotalsOut
    total: Money


class ReceivableOut(Out):
    invoice_id: int
    number: str | None
    payer: Payer
    company_id: int | None
    patient_id: int
    issued_on: date
    due_on: date
    amount: Money
    paid: Money
    balance: Money
    age_days: int
    bucket: str


class SettingsOut(Out):
    institution_id: int
    invoice_prefix: str
    currency: str
    tax_percent: Money
    payment_terms_days: int
    bank_name: str | None
    bank_account: str | None
    bank_branch: str | None
    payment_instructions: str | None


TariffPage = page_model(TariffOut)
BillingItemPage = page_model(BillingItemOut)
InvoicePage = page_model(InvoiceOut)
ReceivablePage = page_model(ReceivableOut)


# --- helpers ----------------------------------------------------------------------------------------


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


def _writer():
    """The acting user for a change; insurer-side callers change no hospital's billing. Called after the
    lookups, so a record the caller cannot see stays a 404 whoever asks."""
    tenant = _tenant()
    if tenant.company_id is not None and tenant.institution_id is None:
        raise Forbidden("Insurer staff read the invoices billed to their company; they change no billing.")
    return _actor()


def _invoice_writer(invoice_id: int):
    """The acting user for a change to an invoice: another tenant's invoice is a 404 first."""
    services.get_invoice(_tenant(), invoice_id)
    return _writer()


def _required(name: str, value):
    if value in (None, ""):
        raise Invalid.field(name, "This parameter is required.")
    return value


def _text_arg(name: str, limit: int = 60) -> str:
    return request.args.get(name, "").strip()[:limit]


def _page(stmt, item: type[Out], page_model: type[Out]):
    return jsonify_model(page_model.model_validate(paginate(stmt, item.model_validate)))


def _invoice_detail(invoice: Invoice) -> InvoiceDetailOut:
    lines = [LineOut.model_validate(line) for line in services.lines_of(invoice.id)]
    return InvoiceDetailOut(**InvoiceOut.model_validate(invoice).model_dump(), lines=lines)


def _created(model: Out):
    db.session.commit()
    return jsonify_model(model, status=201)


def _saved(model: Out):
    db.session.commit()
    return jsonify_model(model)


def _institution(institution_id: int):
    """An institution named in the path or the query that the caller may see; any other is a 404."""
    return hospital.get_institution(_tenant(), institution_id)


# --- tariffs ----------------------------------------------------------------------------------------


@api_bp.post("/tariffs")
@allow(WRITERS)
@documented(
    "Price a service at an institution from a date (a new price ends the previous one the day before)",
    tag=TAG,
    body=TariffIn,
    responses={201: TariffOut, 409: None},
    description="A second price for the same service from the same day: 409. benefit_code must be in the "
    "benefit catalogue.",
)
def create_tariff():
    data = parse(TariffIn)
    actor = _writer()
    referenced("institution_id", _institution, data.institution_id)
    row = tariffs.set_price(
        actor=actor,
        institution_id=data.institution_id,
        values=tariffs.TariffInput(**data.model_dump(exclude={"institution_id"})),
    )
    return _created(TariffOut.model_validate(row))


@api_bp.get("/tariffs")
@allow(READERS)
@documented(
    "Prices by service code, each service's newest first (hospital staff: their institution's)",
    tag=TAG,
    responses={200: TariffPage},
    query={
        "institution_id": "one institution",
        "q": "service code starts with, or description contains",
        "on": "only the prices in effect that day (YYYY-MM-DD); otherwise the whole history",
        **PAGING,
    },
)
def list_tariffs():
    stmt = tariffs.tariffs_query(
        _tenant(), institution_id=int_arg("institution_id"), q=_text_arg("q"), on=day_arg("on")
    )
    return _page(stmt, TariffOut, TariffPage)


@api_bp.get("/tariffs/price")
@allow(READERS)
@documented(
    "The price of a service at an institution on a day (404 when it has none)",
    tag=TAG,
    responses={200: TariffPriceOut, 404: None},
    query={
        "institution_id": "the institution (required)",
        "service_code": "the service (required)",
        "on": "the day, YYYY-MM-DD (today when left out)",
    },
)
def tariff_price():
    institution_id = _required("institution_id", int_arg("institution_id"))
    code = _required("service_code", _text_arg("service_code", 30).upper())
    day = day_arg("on") or clock.today()
    institution = _institution(institution_id)
    price = tariffs.tariff_price(institution.id, code, day)
    if price is None:
        raise NotFound(f"{code} has no price at this institution on {day}.")
    return jsonify_model(TariffPriceOut(institution_id=institution.id, on=day, **asdict(price)))


@api_bp.get(f"/tariffs/<{ID}:tariff_id>")
@allow(READERS)
@documented("One price", tag=TAG, responses={200: TariffOut, 404: None})
def get_tariff(tariff_id: int):
    return jsonify_model(TariffOut.model_validate(tariffs.get_tariff(_tenant(), tariff_id)))


@api_bp.post("/tariffs/import")
@allow(WRITERS)
@documented(
    "Import a price list from CSV: all rows or none (dry_run: only the preview)",
    tag=TAG,
    body=TariffImportIn,
    responses={200: ImportOut},
    description="The answer lists each row with its action (new, change, same or error) and errors. "
    "dry_run true changes nothing and answers 200 even for a list with errors; dry_run false (the default) "
    "imports every new or changed price, or, when any row is bad, nothing: 422 with errors.csv naming the "
    "lines.",
)
def import_tariffs():
    data = parse(TariffImportIn)
    actor = _writer()
    referenced("institution_id", _institution, data.institution_id)
    if data.dry_run:
        preview = tariffs.preview_import(actor=actor, institution_id=data.institution_id, data=data.csv)
    else:
        try:
            preview = tariffs.apply_import(actor=actor, institution_id=data.institution_id, data=data.csv)
        except Invalid as exc:  # the service names its upload "file"; here the body's field is "csv"
            errors = {("csv" if name == "file" else name): messages for name, messages in exc.errors.items()}
            raise Invalid(exc.detail, errors) from None
    answer = ImportOut(
        institution_id=data.institution_id,
        dry_run=data.dry_run,
        applied=not data.dry_run,
        ok=preview.ok,
        errors=preview.errors,
        counts={action: preview.count(action) for action in ("new", "change", "same", "error")},
        rows=[ImportRowOut.model_validate(row) for row in preview.rows],
    )
    return jsonify_model(answer) if data.dry_run else _saved(answer)


# --- billing items ----------------------------------------------------------------------------------


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
    actor = _writer()
    referenced("patient_id", hospital.get_patient, _tenant(), data.patient_id)
    item = services.add_item(actor=actor, **data.model_dump())
    return _created(BillingItemOut.model_validate(item))


@api_bp.get("/billing-items")
@allow(READERS)
@documented(
    "Billing items, latest service first (hospital staff: their institution's)",
    tag=TAG,
    responses={200: BillingItemPage},
    query={"patient_id": "one patient", "status": "unbilled, billed or cancelled", **PAGING},
)
def list_billing_items():
    stmt = services.items_query(_tenant(), patient_id=int_arg("patient_id"), status=choice_arg("status", ItemStatus))
    return _page(stmt, BillingItemOut, BillingItemPage)


# --- invoices ---------------------------------------------------------------------------------------


@api_bp.post("/invoices")
@allow(WRITERS)
@documented(
    "Draft an invoice; a line without unit_price takes the tariff's",
    tag=TAG,
    body=InvoiceIn,
    responses={201: InvoiceDetailOut},
    description="The payer split (insurer_part / patient_part) is estimated from the patient's cover; the "
    "claim decides the real one. A line whose service has no tariff and no unit_price: 422 on "
    "lines.N.unit_price.",
)
def create_invoice():
    data = parse(InvoiceIn)
    actor = _writer()
    tenant = _tenant()
    referenced("institution_id", _institution, data.institution_id)
    referenced("patient_id", hospital.get_patient, tenant, data.patient_id)
    invoice = services.create_invoice(
        actor=actor,
        institution_id=data.institution_id,
        patient_id=data.patient_id,
        lines=[services.LineInput(**line.model_dump()) for line in data.lines],
    )
    return _created(_invoice_detail(invoice))


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
    actor = _writer()
    referenced("patient_id", hospital.get_patient, _tenant(), data.patient_id)
    invoice = services.draft_from_items(actor=actor, patient_id=data.patient_id, item_ids=data.item_ids)
    return _created(_invoice_detail(invoice))


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
        _tenant(),
        status=choice_arg("status", InvoiceStatus),
        kind=choice_arg("kind", InvoiceKind),
        patient_id=int_arg("patient_id"),
        institution_id=int_arg("institution_id"),
        company_id=int_arg("company_id"),
        issued_on=day_arg("issued_on"),
        q=_text_arg("q", 40),
    )
    return _page(stmt, InvoiceOut, InvoicePage)


def _pdf(invoice_id: int):
    tenant = _tenant()
    invoice = services.get_invoice(tenant, invoice_id)  # another tenant's invoice: 404
    response = make_response(printing.invoice_pdf(tenant, invoice.id))
    response.mimetype = PDF
    response.headers["Content-Disposition"] = f'inline; filename="{printing.pdf_filename(invoice)}"'
    response.headers["Cache-Control"] = "no-store"
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
    response = jsonify_model(_invoice_detail(services.get_invoice(_tenant(), invoice_id)))
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
    actor = _invoice_writer(invoice_id)
    services.add_line(actor=actor, invoice_id=invoice_id, line=services.LineInput(**data.model_dump()))
    return _created(_invoice_detail(services.get_invoice(_tenant(), invoice_id)))


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
    actor = _invoice_writer(invoice_id)
    services.update_line(actor=actor, invoice_id=invoice_id, line_no=line_no, **data.model_dump())
    return _saved(_invoice_detail(services.get_invoice(_tenant(), invoice_id)))


@api_bp.delete(f"/invoices/<{ID}:invoice_id>/lines/<{ID}:line_no>")
@allow(WRITERS)
@documented(
    "Remove a draft's line (an item it billed becomes unbilled again)",
    tag=TAG,
    responses={204: None, 404: None, 409: None},
)
def delete_invoice_line(invoice_id: int, line_no: int):
    services.remove_line(actor=_invoice_writer(invoice_id), invoice_id=invoice_id, line_no=line_no)
    db.session.commit()
    return "", 204


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
    invoice = services.issue_invoice(actor=_invoice_writer(invoice_id), invoice_id=invoice_id)
    return _saved(_invoice_detail(invoice))


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
    invoice = services.void_invoice(actor=_invoice_writer(invoice_id), invoice_id=invoice_id, reason=data.reason)
    return _saved(_invoice_detail(invoice))


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
        actor=_invoice_writer(invoice_id),
        invoice_id=invoice_id,
        amount=data.amount,
        reason=data.reason,
        payer=data.payer.value,
    )
    return _created(_invoice_detail(note))


# --- accounts receivable ----------------------------------------------------------------------------


def _as_of() -> date:
    return day_arg("as_of") or clock.today()


@api_bp.get("/accounts-receivable")
@allow(READERS)
@documented(
    "What each payer owes by age since issue: patients together, each insurer apart (insurers: their own)",
    tag=TAG,
    responses={200: AgingOut},
    query={"as_of": "the day to age on, YYYY-MM-DD (today)", "institution_id": "one institution"},
    description="Buckets by days since issue: current 0-30, d30 31-60, d60 61-90, d90 91-120, d120 over 120. "
    "Invoices issued after as_of are not counted.",
)
def accounts_receivable():
    as_of = _as_of()
    report = receivables.aging(_tenant(), as_of, institution_id=int_arg("institution_id"))
    # aging() groups every open receivable, also those issued after the day: their payer comes back as a
    # row of zeros, which the pages leave out too.
    report.rows = [row for row in report.rows if any(row.buckets.values())]
    answer = AgingOut(
        as_of=as_of,
        buckets=list(receivables.BUCKET_KEYS),
        rows=[
            AgingRowOut(payer=r.payer, company_id=r.company_id, invoices=r.invoices, total=r.total, **r.buckets)
            for r in report.rows
        ],
        totals=AgingTotalsOut(**report.totals),
        total=report.total,
    )
    return jsonify_model(answer)


@api_bp.get("/accounts-receivable/items")
@allow(READERS)
@documented(
    "The open receivables behind a cell of the report, oldest first",
    tag=TAG,
    responses={200: ReceivablePage},
    query={
        "payer": "patient or insurer",
        "company_id": "one insurer (with payer=insurer)",
        "bucket": "current, d30, d60, d90 or d120",
        "as_of": "YYYY-MM-DD (today)",
        "institution_id": "one institution",
        **PAGING,
    },
)
def accounts_receivable_items():
    as_of = _as_of()
    bucket = _text_arg("bucket", 10)
    if bucket and bucket not in receivables.BUCKET_KEYS:
        raise Invalid.field("bucket", "Choose one of " + ", ".join(receivables.BUCKET_KEYS) + ".")
    stmt = receivables.receivables_query(
        _tenant(),
        as_of,
        payer=choice_arg("payer", Payer),
        company_id=int_arg("company_id"),
        bucket=bucket,
        institution_id=int_arg("institution_id"),
    ).where(AccountReceivable.issued_on <= as_of)  # nothing issued after the day, as in the report
    page = paginate(stmt, lambda row: row)
    numbers = dict(
        db.session.execute(
            select(Invoice.id, Invoice.number).where(Invoice.id.in_({row.invoice_id for row in page["items"]}))
        ).all()
    )
    page["items"] = [
        ReceivableOut(
            invoice_id=row.invoice_id,
            number=numbers.get(row.invoice_id),
            payer=row.payer,
            company_id=row.company_id,
            patient_id=row.patient_id,
            issued_on=row.issued_on,
            due_on=row.due_on,
            amount=row.amount,
            paid=row.paid,
            balance=row.balance,
            age_days=receivables.age_in_days(row.issued_on, as_of),
            bucket=receivables.bucket_of(row.issued_on, as_of),
        )
        for row in page["items"]
    ]
    return jsonify_model(ReceivablePage.model_validate(page))


# --- billing settings -------------------------------------------------------------------------------


def _settings_out(row) -> SettingsOut:
    return SettingsOut.model_validate(row)


@api_bp.get(f"/billing-settings/<{ID}:institution_id>")
@allow(READERS)
@documented(
    "An institution's billing settings (the defaults until someone saves them)",
    tag=TAG,
    responses={200: SettingsOut, 404: None},
)
def get_billing_settings(institution_id: int):
    institution = _institution(institution_id)
    return jsonify_model(_settings_out(services.settings_for(institution.id)))


@api_bp.put(f"/billing-settings/<{ID}:institution_id>")
@allow(WRITERS)
@documented(
    "Replace an institution's billing settings (audited)",
    tag=TAG,
    body=SettingsIn,
    responses={200: SettingsOut, 404: None},
    description="invoice_prefix: 1 to 12 letters or digits; tax_percent: a string, 0 to 100.",
)
def put_billing_settings(institution_id: int):
    data = parse(SettingsIn)
    _institution(institution_id)
    actor = _writer()
    values = {key: ("" if value is None else value) for key, value in data.model_dump().items()}
    row = services.update_settings(actor=actor, institution_id=institution_id, values=services.SettingsInput(**values))
    return _saved(_settings_out(row))
