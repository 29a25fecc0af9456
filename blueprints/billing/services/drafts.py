"""Draft invoices: drafted by hand or from a patient's unbilled items, their lines added, changed and
removed while the invoice is a draft."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, update

from blueprints.billing.models import BillingItem, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, ItemStatus
from blueprints.billing.services.access import institution_for_write, patient_for_write
from blueprints.billing.services.invoices import audit_invoice, get_invoice
from blueprints.billing.services.items import MAX_QUANTITY, line_values
from blueprints.billing.services.settings import settings_for
from blueprints.billing.services.split import recompute
from medcover import fields
from medcover.errors import Conflict, Invalid, NotFound
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import tenant_of

MAX_LINES = 200
EDITABLE = {InvoiceStatus.DRAFT}


@dataclass(frozen=True)
class LineInput:
    service_code: str
    quantity: int | str = 1
    unit_price: Decimal | str | None = None
    description: str | None = None
    service_date: date | str | None = None


def _new_invoice(actor, patient) -> Invoice:
    settings = settings_for(patient.institution_id)
    invoice = Invoice(
        institution_id=patient.institution_id,
        patient_id=patient.id,
        member_number=patient.member_number,
        kind=InvoiceKind.INVOICE,
        status=InvoiceStatus.DRAFT,
        currency=settings.currency,
        created_by_id=actor.id,
        **dict.fromkeys(("subtotal", "tax", "total", "insurer_part", "patient_part", "paid", "refunded"), ZERO),
        credited=ZERO,
        balance=ZERO,
    )
    db.session.add(invoice)
    db.session.flush()
    return invoice


def _append_line(invoice: Invoice, values: dict, item_id: int | None = None) -> InvoiceLine:
    last = db.session.scalar(select(func.max(InvoiceLine.line_no)).where(InvoiceLine.invoice_id == invoice.id)) or 0
    if last >= MAX_LINES:
        raise Invalid.field("lines", f"An invoice has at most {MAX_LINES} lines.")
    net = money(values["unit_price"] * values["quantity"])
    line = InvoiceLine(
        invoice_id=invoice.id,
        line_no=last + 1,
        net=net,
        tax=ZERO,
        amount=net,
        insurer_amount=ZERO,
        patient_amount=net,
        billing_item_id=item_id,
        **values,
    )
    db.session.add(line)
    db.session.flush()
    return line


def create_invoice(*, actor, institution_id: int, patient_id: int, lines: list[LineInput]) -> Invoice:
    """A draft by hand (or from an integration): each line priced from the tariff unless a price is given."""
    patient = patient_for_write(actor, patient_id)
    if patient.institution_id != institution_id:
        raise Invalid.field("patient_id", "This patient is registered at another institution.")
    if not lines:
        raise Invalid.field("lines", "Add at least one line.")
    if len(lines) > MAX_LINES:
        raise Invalid.field("lines", f"An invoice has at most {MAX_LINES} lines.")
    values = [
        line_values(
            institution_id, li.service_code, li.quantity, li.unit_price, li.service_date, li.description, f"lines.{i}."
        )
        for i, li in enumerate(lines)
    ]
    invoice = _new_invoice(actor, patient)
    for value in values:
        _append_line(invoice, value)
    recompute(invoice)
    audit_invoice(actor, "create", invoice, after={"lines": len(values), "total": str(invoice.total)})
    return invoice


def draft_from_items(*, actor, patient_id: int, item_ids: list[int] | None = None) -> Invoice:
    """A draft holding the patient's unbilled items (or the chosen ones); they become billed."""
    patient = patient_for_write(actor, patient_id)
    stmt = select(BillingItem).where(
        BillingItem.patient_id == patient.id,
        BillingItem.institution_id == patient.institution_id,
        BillingItem.status == ItemStatus.UNBILLED,
    )
    if item_ids is not None:
        stmt = stmt.where(BillingItem.id.in_([int(i) for i in item_ids]))
    items = list(db.session.scalars(stmt.order_by(BillingItem.service_date, BillingItem.id).with_for_update()))
    if not items:
        raise Conflict("There is nothing unbilled for this patient.")
    invoice = _new_invoice(actor, patient)
    for item in items:
        _append_line(
            invoice,
            {
                "service_code": item.service_code,
                "description": item.description,
                "benefit_code": item.benefit_code,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "service_date": item.service_date,
            },
            item.id,
        )
    taken = db.session.execute(
        update(BillingItem)
        .where(BillingItem.id.in_([i.id for i in items]), BillingItem.status == ItemStatus.UNBILLED)
        .values(status=ItemStatus.BILLED, invoice_id=invoice.id)
        .execution_options(synchronize_session="fetch")
    )
    if taken.rowcount != len(items):
        raise Conflict("Someone billed some of these items a moment ago; reload and try again.")
    recompute(invoice)
    audit_invoice(actor, "create", invoice, after={"items": len(items), "total": str(invoice.total)})
    return invoice


def draft_for_write(actor, invoice_id: int) -> Invoice:
    invoice = get_invoice(tenant_of(actor), invoice_id)
    institution_for_write(actor, invoice.institution_id)
    if invoice.status not in EDITABLE:
        raise Conflict(f"Invoice {invoice.number} is {invoice.status.value}; only drafts change.")
    return invoice


def add_line(*, actor, invoice_id: int, line: LineInput) -> InvoiceLine:
    invoice = draft_for_write(actor, invoice_id)
    values = line_values(
        invoice.institution_id, line.service_code, line.quantity, line.unit_price, line.service_date, line.description
    )
    row = _append_line(invoice, values)
    recompute(invoice)
    audit_invoice(actor, "update", invoice, after={"added_line": row.line_no, "total": str(invoice.total)})
    return row


def update_line(
    *, actor, invoice_id: int, line_no: int, quantity=None, unit_price=None, description=None
) -> InvoiceLine:
    invoice = draft_for_write(actor, invoice_id)
    row = _line(invoice.id, line_no)
    before = {"quantity": row.quantity, "unit_price": str(row.unit_price), "description": row.description}
    if quantity is not None:
        row.quantity = fields.whole(quantity, "quantity", 1, MAX_QUANTITY)
    if unit_price is not None:
        row.unit_price = fields.amount(unit_price, "unit_price")
    if description is not None:
        row.description = fields.text(description, "description", 200)
    db.session.flush()
    recompute(invoice)
    after = {"quantity": row.quantity, "unit_price": str(row.unit_price), "description": row.description}
    audit_invoice(actor, "update", invoice, before={"line": line_no, **before}, after={"line": line_no, **after})
    return row


def remove_line(*, actor, invoice_id: int, line_no: int) -> None:
    invoice = draft_for_write(actor, invoice_id)
    row = _line(invoice.id, line_no)
    if row.billing_item_id:
        db.session.execute(
            update(BillingItem)
            .where(BillingItem.id == row.billing_item_id)
            .values(status=ItemStatus.UNBILLED, invoice_id=None)
            .execution_options(synchronize_session="fetch")
        )
    db.session.delete(row)
    db.session.flush()
    recompute(invoice)
    audit_invoice(
        actor,
        "update",
        invoice,
        before={"line": line_no, "service_code": row.service_code},
        after={"removed_line": line_no},
    )


def _line(invoice_id: int, line_no: int) -> InvoiceLine:
    row = db.session.scalar(
        select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id, InvoiceLine.line_no == line_no)
    )
    if row is None:
        raise NotFound("No such line.")
    return row


def save_shown_lines(actor, invoice: Invoice, edits: dict) -> list[int]:
    """Save the line values a page shows where they differ from the stored lines (the issue button sends them),
    naming a bad value by its line. Returns the lines changed."""
    rows = {
        row.line_no: row for row in db.session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
    }
    changed = []
    for line_no, shown in sorted(edits.items()):
        row = rows.get(int(line_no))
        if row is None:
            raise Conflict(f"Unsaved changes: line {line_no} is no longer on this draft; reload it, then issue.")
        prefix = f"line{line_no}-"
        before = (row.quantity, row.unit_price, row.description)
        try:
            if shown.get("quantity") not in (None, ""):
                row.quantity = fields.whole(shown["quantity"], prefix + "quantity", 1, MAX_QUANTITY)
            if shown.get("unit_price") not in (None, ""):
                row.unit_price = fields.amount(shown["unit_price"], prefix + "unit_price")
            if shown.get("description") not in (None, ""):
                row.description = fields.text(shown["description"], prefix + "description", 200)
        except Invalid as exc:
            named = {name: [f"Line {line_no}: {m}" for m in messages] for name, messages in exc.errors.items()}
            raise Invalid(f"Line {line_no} is not saved: check it, then issue the invoice.", named) from None
        if (row.quantity, row.unit_price, row.description) != before:
            changed.append(row.line_no)
    if changed:
        db.session.flush()
        recompute(invoice)
        audit_invoice(actor, "update", invoice, after={"lines_saved_on_issue": changed, "total": str(invoice.total)})
    return changed
