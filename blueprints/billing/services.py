"""Billing's public face: settings, billing items, invoices (draft, lines, issue, void, credit notes),
money applied from payment events, and plain summaries other domains read.

Amounts on an invoice are moved only here: ``total`` = sum of line amounts, ``balance`` = total - paid +
refunded - credited, and the database checks both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from blueprints.billing.access import WRITERS, institution_for_write
from blueprints.billing.models import (
    AccountReceivable,
    BillingItem,
    BillingSettings,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    ItemStatus,
    Payer,
    PaymentTransaction,
    TransactionKind,
)
from blueprints.billing.tariffs import TariffPrice, prices_on, tariff_price, tariff_prices  # noqa: F401 - public API
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock, fields
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import publish
from medcover.extensions import db
from medcover.money import ZERO, money, percent_of
from medcover.rbac import Tenant, ensure_owned, scope, tenant_of

MAX_LINES = 200
MAX_QUANTITY = 10_000
EDITABLE = {InvoiceStatus.DRAFT}
#: statuses from which each status may be reached (the invoice's transition table)
INVOICE_TRANSITIONS: dict[InvoiceStatus, set[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: {InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.VOID},
    InvoiceStatus.ISSUED: {InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID, InvoiceStatus.VOID},
    InvoiceStatus.PARTIALLY_PAID: {InvoiceStatus.ISSUED, InvoiceStatus.PAID},
    InvoiceStatus.PAID: {InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.ISSUED},
    InvoiceStatus.VOID: set(),
}
OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)


# --- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsInput:
    invoice_prefix: str
    tax_percent: Decimal | str = "0"
    payment_terms_days: int | str = 30
    currency: str = "KES"
    bank_name: str = ""
    bank_account: str = ""
    bank_branch: str = ""
    payment_instructions: str = ""


def settings_for(institution_id: int) -> BillingSettings:
    """The institution's settings; defaults (prefix from its code, no tax, 30 days) until someone saves."""
    row = db.session.get(BillingSettings, institution_id)
    if row is not None:
        return row
    institution = hospital.get_institution(Tenant(None, None), institution_id)
    prefix = "".join(c for c in institution.code.upper() if c.isalnum())[:12] or "INV"
    return BillingSettings(
        institution_id=institution_id,
        invoice_prefix=prefix,
        currency="KES",
        tax_percent=Decimal("0.00"),
        payment_terms_days=30,
    )


def update_settings(*, actor, institution_id: int, values: SettingsInput) -> BillingSettings:
    institution_for_write(actor, institution_id)
    prefix = str(values.invoice_prefix or "").strip().upper()
    if not prefix.isalnum() or not prefix.isascii() or len(prefix) > 12:
        raise Invalid.field("invoice_prefix", "Use 1 to 12 letters or digits.")
    tax = fields.amount(values.tax_percent, "tax_percent")
    if tax > 100:
        raise Invalid.field("tax_percent", "Use a percentage from 0 to 100.")
    currency = str(values.currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise Invalid.field("currency", "Use a three-letter currency code such as KES.")
    new = {
        "invoice_prefix": prefix,
        "tax_percent": tax,
        "payment_terms_days": fields.whole(values.payment_terms_days, "payment_terms_days", 0, 365),
        "currency": currency,
        "bank_name": fields.text(values.bank_name, "bank_name", 120, required=False) or None,
        "bank_account": fields.text(values.bank_account, "bank_account", 40, required=False) or None,
        "bank_branch": fields.text(values.bank_branch, "bank_branch", 80, required=False) or None,
        "payment_instructions": _paragraph(values.payment_instructions, "payment_instructions", 1000) or None,
    }
    row = db.session.get(BillingSettings, institution_id)
    before = {k: str(getattr(row, k)) for k in new} if row else None
    if row is None:
        row = BillingSettings(institution_id=institution_id, **new)
        db.session.add(row)
    else:
        for name, value in new.items():
            setattr(row, name, value)
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "billing_settings",
        institution_id,
        before=before,
        after={k: str(v) for k, v in new.items()},
        institution_id=institution_id,
    )
    return row


def _paragraph(value, field: str, limit: int) -> str:
    text = str(value or "").replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise Invalid.field(field, "Remove the control characters.")
    return text


# --- billing items -------------------------------------------------------------------------------


def record_charge(event_id: int, payload: dict) -> BillingItem | None:
    """Subscriber of ``charge.created``: one unbilled item per source, however often the event arrives.
    The price is the tariff's on the day of the service; without one the item waits at 0.00 for a clerk."""
    source = str(payload.get("source") or f"event:{event_id}")[:80]
    existing = db.session.scalar(select(BillingItem).where(BillingItem.source == source))
    if existing is not None:
        return existing
    institution_id = int(payload["institution_id"])
    code = str(payload["service_code"]).strip().upper()[:30]
    day = date.fromisoformat(payload.get("occurred_on") or clock.today().isoformat())
    price = tariff_price(institution_id, code, day)
    item = BillingItem(
        institution_id=institution_id,
        patient_id=int(payload["patient_id"]),
        service_code=code,
        description=(price.description if price else str(payload.get("description") or f"{code} (no tariff)"))[:200],
        benefit_code=price.benefit_code if price else None,
        quantity=max(1, int(payload.get("quantity") or 1)),
        unit_price=price.unit_price if price else ZERO,
        service_date=day,
        source=source,
        status=ItemStatus.UNBILLED,
    )
    savepoint = db.session.begin_nested()
    try:
        db.session.add(item)
        db.session.flush()
        savepoint.commit()
    except IntegrityError:  # the same charge landing twice at once: the other copy stands
        savepoint.rollback()
        return db.session.scalar(select(BillingItem).where(BillingItem.source == source))
    core.record_audit(
        None,
        "create",
        "billing_item",
        item.id,
        after={"source": source, "service_code": code, "quantity": item.quantity, "unit_price": str(item.unit_price)},
        institution_id=institution_id,
    )
    return item


def _patient_for_write(actor, patient_id: int):
    patient = hospital.get_patient(tenant_of(actor), patient_id)
    institution_for_write(actor, patient.institution_id)
    return patient


def add_item(
    *,
    actor,
    patient_id: int,
    service_code: str,
    quantity: int | str = 1,
    unit_price: Decimal | str | None = None,
    service_date: date | str | None = None,
    description: str | None = None,
) -> BillingItem:
    """A billable service entered by a clerk (priced from the tariff unless a price is given)."""
    patient = _patient_for_write(actor, patient_id)
    line = _line_values(patient.institution_id, service_code, quantity, unit_price, service_date, description)
    item = BillingItem(
        institution_id=patient.institution_id,
        patient_id=patient.id,
        source=f"manual:{uuid.uuid4().hex}",
        status=ItemStatus.UNBILLED,
        created_by_id=actor.id,
        **line,
    )
    db.session.add(item)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "billing_item",
        item.id,
        after={"service_code": item.service_code, "quantity": item.quantity, "unit_price": str(item.unit_price)},
        institution_id=item.institution_id,
    )
    return item


def unbilled_items(tenant: Tenant, patient_id: int) -> list[BillingItem]:
    stmt = scope(select(BillingItem), BillingItem, tenant).where(
        BillingItem.patient_id == patient_id, BillingItem.status == ItemStatus.UNBILLED
    )
    return list(db.session.scalars(stmt.order_by(BillingItem.service_date, BillingItem.id)))


def items_query(tenant: Tenant, *, patient_id: int | None = None, status: str = ""):
    stmt = scope(select(BillingItem), BillingItem, tenant).order_by(BillingItem.service_date.desc(), BillingItem.id)
    if patient_id:
        stmt = stmt.where(BillingItem.patient_id == patient_id)
    if status in {s.value for s in ItemStatus}:
        stmt = stmt.where(BillingItem.status == ItemStatus(status))
    return stmt


# --- invoices: drafting --------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    service_code: str
    quantity: int | str = 1
    unit_price: Decimal | str | None = None
    description: str | None = None
    service_date: date | str | None = None


def _line_values(institution_id, service_code, quantity, unit_price, service_date, description, prefix=""):
    code = fields.code(service_code, prefix + "service_code")
    day = fields.day(service_date, prefix + "service_date") if service_date else clock.today()
    price = tariff_price(institution_id, code, day)
    if unit_price is None or unit_price == "":
        if price is None:
            raise Invalid.field(prefix + "unit_price", f"{code} has no tariff on {day}; enter a unit price.")
        amount = price.unit_price
    else:
        amount = fields.amount(unit_price, prefix + "unit_price")
    text = fields.text(description, prefix + "description", 200, required=False) if description else ""
    return {
        "service_code": code,
        "description": text or (price.description if price else code),
        "benefit_code": price.benefit_code if price else None,
        "quantity": fields.whole(quantity, prefix + "quantity", 1, MAX_QUANTITY),
        "unit_price": amount,
        "service_date": day,
    }


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
    patient = _patient_for_write(actor, patient_id)
    if patient.institution_id != institution_id:
        raise Invalid.field("patient_id", "This patient is registered at another institution.")
    if not lines:
        raise Invalid.field("lines", "Add at least one line.")
    if len(lines) > MAX_LINES:
        raise Invalid.field("lines", f"An invoice has at most {MAX_LINES} lines.")
    values = [
        _line_values(
            institution_id, li.service_code, li.quantity, li.unit_price, li.service_date, li.description, f"lines.{i}."
        )
        for i, li in enumerate(lines)
    ]
    invoice = _new_invoice(actor, patient)
    for value in values:
        _append_line(invoice, value)
    _recompute(invoice)
    _audit(actor, "create", invoice, after={"lines": len(values), "total": str(invoice.total)})
    return invoice


def draft_from_items(*, actor, patient_id: int, item_ids: list[int] | None = None) -> Invoice:
    """A draft holding the patient's unbilled items (or the chosen ones); they become billed."""
    patient = _patient_for_write(actor, patient_id)
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
    _recompute(invoice)
    _audit(actor, "create", invoice, after={"items": len(items), "total": str(invoice.total)})
    return invoice


def _draft_for_write(actor, invoice_id: int) -> Invoice:
    invoice = get_invoice(tenant_of(actor), invoice_id)
    institution_for_write(actor, invoice.institution_id)
    if invoice.status not in EDITABLE:
        raise Conflict(f"Invoice {invoice.number} is {invoice.status.value}; only drafts change.")
    return invoice


def add_line(*, actor, invoice_id: int, line: LineInput) -> InvoiceLine:
    invoice = _draft_for_write(actor, invoice_id)
    values = _line_values(
        invoice.institution_id, line.service_code, line.quantity, line.unit_price, line.service_date, line.description
    )
    row = _append_line(invoice, values)
    _recompute(invoice)
    _audit(actor, "update", invoice, after={"added_line": row.line_no, "total": str(invoice.total)})
    return row


def update_line(
    *, actor, invoice_id: int, line_no: int, quantity=None, unit_price=None, description=None
) -> InvoiceLine:
    invoice = _draft_for_write(actor, invoice_id)
    row = _line(invoice.id, line_no)
    before = {"quantity": row.quantity, "unit_price": str(row.unit_price), "description": row.description}
    if quantity is not None:
        row.quantity = fields.whole(quantity, "quantity", 1, MAX_QUANTITY)
    if unit_price is not None:
        row.unit_price = fields.amount(unit_price, "unit_price")
    if description is not None:
        row.description = fields.text(description, "description", 200)
    db.session.flush()
    _recompute(invoice)
    after = {"quantity": row.quantity, "unit_price": str(row.unit_price), "description": row.description}
    _audit(actor, "update", invoice, before={"line": line_no, **before}, after={"line": line_no, **after})
    return row


def remove_line(*, actor, invoice_id: int, line_no: int) -> None:
    invoice = _draft_for_write(actor, invoice_id)
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
    _recompute(invoice)
    _audit(
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


def _recompute(invoice: Invoice) -> None:
    """Tax per line, the payer split from the patient's cover (an estimate: the claim decides), totals."""
    settings = settings_for(invoice.institution_id)
    lines = lines_of(invoice.id)
    covers: dict[date, insurance.Verification | None] = {}
    remaining: dict[str, Decimal | None] = {}
    # Cover checks query; no flush may send a half-updated line (its split would not add up) meanwhile.
    with db.session.no_autoflush:
        company_id = _split_lines(invoice, lines, settings, covers, remaining)
    _totals(invoice, lines, company_id)


def _split_lines(invoice, lines, settings, covers, remaining) -> int | None:
    """Each line's tax, amount and insurer/patient parts; the insurer's company when one pays."""
    company_id = None
    for line in lines:
        line.net = money(line.unit_price * line.quantity)
        line.tax = percent_of(line.net, settings.tax_percent)
        line.amount = money(line.net + line.tax)
        day = line.service_date or clock.today()
        if invoice.member_number and day not in covers:
            covers[day] = insurance.verify(invoice.member_number, day)
        cover = covers.get(day)
        insurer = ZERO
        if cover is not None and cover.eligible and line.benefit_code:
            company_id = company_id or cover.coverage.company_id
            terms = next((b for b in cover.benefits if b.benefit_code == line.benefit_code), None)
            waiting = terms is not None and terms.waiting_until is not None and day < terms.waiting_until
            if terms is not None and terms.covered and not waiting:
                insurer = money(line.amount - percent_of(line.amount, terms.copay_percent))
                left = remaining.setdefault(line.benefit_code, terms.remaining_limit)
                if left is not None:
                    insurer = min(insurer, left)
                    remaining[line.benefit_code] = money(left - insurer)
        line.insurer_amount = insurer
        line.patient_amount = money(line.amount - insurer)
    return company_id


def _totals(invoice: Invoice, lines: list[InvoiceLine], company_id: int | None) -> None:
    invoice.subtotal = money(sum((line.net for line in lines), ZERO))
    invoice.tax = money(sum((line.tax for line in lines), ZERO))
    invoice.total = money(sum((line.amount for line in lines), ZERO))
    invoice.insurer_part = money(sum((line.insurer_amount for line in lines), ZERO))
    invoice.patient_part = money(invoice.total - invoice.insurer_part)
    invoice.company_id = company_id if invoice.insurer_part > 0 else None
    invoice.service_date = min((line.service_date for line in lines if line.service_date), default=None)
    invoice.balance = money(invoice.total - invoice.paid + invoice.refunded - invoice.credited)
    db.session.flush()


# --- invoices: issuing, voiding, credit notes ----------------------------------------------------


def _next_number(institution_id: int, series: str) -> int:
    """Take the next number of a series inside the caller's transaction. The UPDATE holds the row lock
    until commit on PostgreSQL, so concurrent issuers queue; a rollback returns the number."""
    for _attempt in range(3):
        taken = db.session.execute(
            update(InvoiceSequence)
            .where(InvoiceSequence.institution_id == institution_id, InvoiceSequence.series == series)
            .values(next_number=InvoiceSequence.next_number + 1)
            .returning(InvoiceSequence.next_number)
        ).scalar()
        if taken is not None:
            return taken - 1
        savepoint = db.session.begin_nested()
        try:
            db.session.add(InvoiceSequence(institution_id=institution_id, series=series, next_number=2))
            db.session.flush()
            savepoint.commit()
            return 1
        except IntegrityError:  # another issuer created the sequence a moment ago: take from it
            savepoint.rollback()
    raise Conflict("Could not take an invoice number; try again.")


def _format_number(settings: BillingSettings, series: str, number: int) -> str:
    middle = "-CN" if series == "CN" else ""
    return f"{settings.invoice_prefix}{middle}-{number:06d}"


def _guarded_status(invoice: Invoice, expected: InvoiceStatus, target: InvoiceStatus, **values) -> None:
    if target not in INVOICE_TRANSITIONS[invoice.status]:
        raise Conflict(f"This invoice is {invoice.status.value}; it cannot become {target.value}.")
    result = db.session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.status == expected)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(invoice)
        raise Conflict(f"Someone changed this invoice a moment ago; it is now {invoice.status.value}.")
    db.session.refresh(invoice)


def issue_invoice(*, actor, invoice_id: int) -> Invoice:
    """Number the draft from the institution's sequence, fix its dates, open what each payer owes."""
    invoice = _draft_for_write(actor, invoice_id)
    lines = lines_of(invoice.id)
    if not lines:
        raise Conflict("Add a line before issuing the invoice.")
    _recompute(invoice)
    settings = settings_for(invoice.institution_id)
    today = clock.today()
    number = _format_number(settings, "INV", _next_number(invoice.institution_id, "INV"))
    target = InvoiceStatus.ISSUED if invoice.total > 0 else InvoiceStatus.PAID
    _guarded_status(
        invoice,
        InvoiceStatus.DRAFT,
        target,
        number=number,
        issued_on=today,
        due_on=today + timedelta(days=settings.payment_terms_days),
        issued_by_id=actor.id,
    )
    for payer, amount in ((Payer.INSURER, invoice.insurer_part), (Payer.PATIENT, invoice.patient_part)):
        if amount > 0:
            db.session.add(
                AccountReceivable(
                    institution_id=invoice.institution_id,
                    invoice_id=invoice.id,
                    payer=payer,
                    patient_id=invoice.patient_id,
                    company_id=invoice.company_id if payer is Payer.INSURER else None,
                    issued_on=today,
                    due_on=invoice.due_on,
                    amount=amount,
                    paid=ZERO,
                    refunded=ZERO,
                    credited=ZERO,
                    balance=amount,
                )
            )
    db.session.flush()
    _audit(actor, "issue", invoice, before={"status": "draft"}, after={"status": target.value, "number": number})
    _announce_issued(invoice, settings)
    return invoice


def _announce_issued(invoice: Invoice, settings: BillingSettings) -> None:
    patient = hospital.patients_by_id([invoice.patient_id]).get(invoice.patient_id)
    recipients = []
    if patient is not None and (patient.email or patient.phone):
        recipients.append(
            {"email": patient.email, "phone": patient.phone, "name": f"{patient.first_name} {patient.last_name}"}
        )
    institution = hospital.institution_names().get(invoice.institution_id, "")
    publish(
        "invoice.issued",
        {
            "invoice_id": invoice.id,
            "institution_id": invoice.institution_id,
            "company_id": invoice.company_id,
            "patient_id": invoice.patient_id,
            "number": invoice.number,
            "total": str(invoice.total),
            "insurer_part": str(invoice.insurer_part),
            "patient_part": str(invoice.patient_part),
            "recipients": recipients,
            "context": {
                "invoice_number": invoice.number,
                "institution": institution,
                "total": f"{settings.currency} {invoice.total:,.2f}",
                "balance": f"{settings.currency} {invoice.patient_part:,.2f}",
                "due_date": invoice.due_on.isoformat() if invoice.due_on else "",
            },
        },
    )


def void_invoice(*, actor, invoice_id: int, reason: str) -> Invoice:
    """Void with a reason: a draft is discarded, an issued invoice with no money on it is cancelled.
    Its items return to unbilled. An invoice with payments is corrected by a credit note instead."""
    invoice = get_invoice(tenant_of(actor), invoice_id)
    institution_for_write(actor, invoice.institution_id)
    reason = fields.text(reason, "reason", 300)
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        raise Conflict("A credit note cannot be voided; issue an invoice for the amount instead.")
    if invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED):
        raise Conflict(f"This invoice is {invoice.status.value}; refund or credit it instead of voiding.")
    if invoice.paid != invoice.refunded or invoice.credited > 0:
        raise Conflict("Money or credit notes are recorded on this invoice; issue a credit note instead.")
    before = invoice.status
    _guarded_status(invoice, before, InvoiceStatus.VOID, void_reason=reason, voided_at=clock.now())
    db.session.execute(
        update(BillingItem)
        .where(BillingItem.invoice_id == invoice.id)
        .values(status=ItemStatus.UNBILLED, invoice_id=None)
        .execution_options(synchronize_session="fetch")
    )
    for row in db.session.scalars(select(AccountReceivable).where(AccountReceivable.invoice_id == invoice.id)):
        db.session.delete(row)
    db.session.flush()
    _audit(actor, "void", invoice, before={"status": before.value}, after={"status": "void", "reason": reason})
    return invoice


def issue_credit_note(
    *, actor, invoice_id: int, amount: Decimal | str, reason: str, payer: str = Payer.PATIENT.value
) -> Invoice:
    """Take an amount off what a payer still owes on an issued invoice, as a numbered credit note."""
    invoice = _locked(tenant_of(actor), invoice_id)
    institution_for_write(actor, invoice.institution_id)
    if invoice.kind is not InvoiceKind.INVOICE or invoice.status not in OPEN:
        raise Conflict(f"Only open invoices take a credit note; this one is {invoice.status.value}.")
    amount = fields.amount(amount, "amount", positive=True)
    reason = fields.text(reason, "reason", 300)
    try:
        payer = Payer(payer)
    except ValueError:
        raise Invalid.field("payer", "Choose patient or insurer.") from None
    receivable = _receivable(invoice.id, payer)
    if receivable is None or amount > receivable.balance:
        left = receivable.balance if receivable else ZERO
        raise Invalid.field("amount", f"The {payer.value} owes {left:,.2f} on this invoice; credit at most that.")
    settings = settings_for(invoice.institution_id)
    note = Invoice(
        institution_id=invoice.institution_id,
        patient_id=invoice.patient_id,
        company_id=invoice.company_id if payer is Payer.INSURER else None,
        member_number=invoice.member_number,
        kind=InvoiceKind.CREDIT_NOTE,
        credited_invoice_id=invoice.id,
        number=_format_number(settings, "CN", _next_number(invoice.institution_id, "CN")),
        status=InvoiceStatus.PAID,
        currency=invoice.currency,
        issued_on=clock.today(),
        due_on=clock.today(),
        subtotal=amount,
        tax=ZERO,
        total=amount,
        insurer_part=amount if payer is Payer.INSURER else ZERO,
        patient_part=amount if payer is Payer.PATIENT else ZERO,
        paid=ZERO,
        refunded=ZERO,
        credited=amount,
        balance=ZERO,
        notes=reason,
        created_by_id=actor.id,
        issued_by_id=actor.id,
    )
    db.session.add(note)
    db.session.flush()
    db.session.add(
        InvoiceLine(
            invoice_id=note.id,
            line_no=1,
            service_code="CREDIT",
            description=f"Credit on invoice {invoice.number}: {reason}"[:200],
            quantity=1,
            unit_price=amount,
            net=amount,
            tax=ZERO,
            amount=amount,
            insurer_amount=note.insurer_part,
            patient_amount=note.patient_part,
        )
    )
    _apply(invoice, receivable, TransactionKind.CREDIT, amount, f"credit:{note.id}", clock.today())
    _audit(actor, "credit", invoice, after={"credit_note": note.number, "amount": str(amount), "payer": payer.value})
    return note


# --- money from payment events -------------------------------------------------------------------


def _locked(tenant: Tenant, invoice_id: int) -> Invoice:
    invoice = (
        db.session.scalar(select(Invoice).where(Invoice.id == invoice_id).with_for_update()) if invoice_id else None
    )
    ensure_owned(tenant, invoice)
    db.session.refresh(invoice)
    return invoice


def _receivable(invoice_id: int, payer: Payer) -> AccountReceivable | None:
    return db.session.scalar(
        select(AccountReceivable).where(AccountReceivable.invoice_id == invoice_id, AccountReceivable.payer == payer)
    )


def _apply(invoice, receivable, kind: TransactionKind, amount: Decimal, source: str, day: date, **extra) -> bool:
    """Record one movement once (by source) and move the invoice's and the payer's balances."""
    if db.session.scalar(select(PaymentTransaction.id).where(PaymentTransaction.source == source)):
        return False
    payer = receivable.payer if receivable is not None else Payer(extra.pop("payer", Payer.PATIENT))
    extra.pop("payer", None)
    db.session.add(
        PaymentTransaction(
            institution_id=invoice.institution_id,
            invoice_id=invoice.id,
            kind=kind,
            payer=payer,
            amount=amount,
            source=source,
            occurred_on=day,
            **extra,
        )
    )
    column = {TransactionKind.PAYMENT: "paid", TransactionKind.REFUND: "refunded", TransactionKind.CREDIT: "credited"}[
        kind
    ]
    for row, total_field in ((invoice, "total"), (receivable, "amount")):
        if row is None:
            continue
        setattr(row, column, money(getattr(row, column) + amount))
        row.balance = money(getattr(row, total_field) - row.paid + row.refunded - row.credited)
    if invoice.kind is InvoiceKind.INVOICE and invoice.status is not InvoiceStatus.VOID:
        target = (
            InvoiceStatus.PAID
            if invoice.balance <= 0
            else InvoiceStatus.PARTIALLY_PAID
            if invoice.paid - invoice.refunded + invoice.credited > 0
            else InvoiceStatus.ISSUED
        )
        invoice.status = target
    db.session.flush()
    return True


def record_payment_event(event_id: int, payload: dict) -> None:
    """Subscriber of ``payment.recorded``: money received on an invoice (patient or insurer)."""
    if not payload.get("invoice_id"):
        return  # a premium, or a claim payment without an invoice: nothing billing holds
    invoice = _locked(Tenant(None, None), int(payload["invoice_id"]))
    payer = Payer(payload.get("payer") or Payer.PATIENT.value)
    _apply(
        invoice,
        _receivable(invoice.id, payer),
        TransactionKind.PAYMENT,
        money(str(payload["amount"])),
        f"payment:{payload.get('payment_id') or event_id}",
        date.fromisoformat(payload.get("paid_on") or clock.today().isoformat()),
        payer=payer.value,
        method=payload.get("method"),
        reference=(payload.get("reference") or None) and str(payload["reference"])[:80],
    )


def record_refund_event(event_id: int, payload: dict) -> None:
    """Subscriber of ``refund.recorded``: money given back on an invoice."""
    if not payload.get("invoice_id"):
        return
    invoice = _locked(Tenant(None, None), int(payload["invoice_id"]))
    payer = Payer(payload.get("payer") or Payer.PATIENT.value)
    _apply(
        invoice,
        _receivable(invoice.id, payer),
        TransactionKind.REFUND,
        money(str(payload["amount"])),
        f"refund:{payload.get('refund_id') or event_id}",
        date.fromisoformat(payload.get("refunded_on") or clock.today().isoformat()),
        payer=payer.value,
    )


# --- reading -------------------------------------------------------------------------------------


def _insurer_only(tenant: Tenant) -> bool:
    return tenant.company_id is not None and tenant.institution_id is None


def get_invoice(tenant: Tenant, invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id) if invoice_id else None
    ensure_owned(tenant, invoice)
    if _insurer_only(tenant) and invoice.number is None:
        raise NotFound("No such record.")  # a hospital's draft is not the insurer's business yet
    return invoice


def lines_of(invoice_id: int) -> list[InvoiceLine]:
    return list(
        db.session.scalars(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.line_no)
        )
    )


def transactions_of(invoice_id: int) -> list[PaymentTransaction]:
    return list(
        db.session.scalars(
            select(PaymentTransaction)
            .where(PaymentTransaction.invoice_id == invoice_id)
            .order_by(PaymentTransaction.id)
        )
    )


def invoices_query(
    tenant: Tenant,
    *,
    status: str = "",
    patient_id: int | None = None,
    institution_id: int | None = None,
    company_id: int | None = None,
    issued_on: date | None = None,
    q: str = "",
    kind: str = "",
):
    stmt = scope(select(Invoice), Invoice, tenant).order_by(Invoice.created_at.desc(), Invoice.id.desc())
    if _insurer_only(tenant):
        stmt = stmt.where(Invoice.number.is_not(None))
    if status in {s.value for s in InvoiceStatus}:
        stmt = stmt.where(Invoice.status == InvoiceStatus(status))
    if kind in {k.value for k in InvoiceKind}:
        stmt = stmt.where(Invoice.kind == InvoiceKind(kind))
    if patient_id:
        stmt = stmt.where(Invoice.patient_id == patient_id)
    if institution_id:
        stmt = stmt.where(Invoice.institution_id == institution_id)
    if company_id:
        stmt = stmt.where(Invoice.company_id == company_id)
    if issued_on:
        stmt = stmt.where(Invoice.issued_on == issued_on)
    number = (q or "").strip().upper()[:40]
    if number:
        stmt = stmt.where(Invoice.number.startswith(number, autoescape=True))
    return stmt


@dataclass(frozen=True)
class LineSummary:
    line_no: int
    service_code: str
    benefit_code: str | None
    description: str
    service_date: date | None
    quantity: int
    unit_price: Decimal
    amount: Decimal
    insurer_amount: Decimal


@dataclass(frozen=True)
class InvoiceSummary:
    """What claims and payment read of an invoice (plain values, no ORM rows)."""

    id: int
    number: str | None
    institution_id: int
    patient_id: int
    company_id: int | None
    member_number: str | None
    status: str
    currency: str
    service_date: date | None
    total: Decimal
    insurer_part: Decimal
    patient_part: Decimal
    paid: Decimal
    refunded: Decimal
    balance: Decimal
    insurer_balance: Decimal
    patient_balance: Decimal
    lines: tuple[LineSummary, ...]
    #: each payer's part less the credit notes on it: what payments may cover in all
    insurer_due: Decimal = ZERO
    patient_due: Decimal = ZERO


def invoice_summaries(ids) -> dict[int, InvoiceSummary]:
    """Invoices by id with their lines and each payer's balance, in three queries whatever the count."""
    wanted = {int(i) for i in ids if i}
    if not wanted:
        return {}
    invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(wanted))).all()
    lines: dict[int, list[LineSummary]] = {}
    for line in db.session.scalars(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id.in_(wanted))
        .order_by(InvoiceLine.invoice_id, InvoiceLine.line_no)
    ):
        lines.setdefault(line.invoice_id, []).append(
            LineSummary(
                line.line_no,
                line.service_code,
                line.benefit_code,
                line.description,
                line.service_date,
                line.quantity,
                line.unit_price,
                line.amount,
                line.insurer_amount,
            )
        )
    balances: dict[tuple[int, Payer], Decimal] = {}
    due: dict[tuple[int, Payer], Decimal] = {}
    for row in db.session.scalars(select(AccountReceivable).where(AccountReceivable.invoice_id.in_(wanted))):
        balances[(row.invoice_id, row.payer)] = row.balance
        due[(row.invoice_id, row.payer)] = money(row.amount - row.credited)
    return {
        inv.id: InvoiceSummary(
            inv.id,
            inv.number,
            inv.institution_id,
            inv.patient_id,
            inv.company_id,
            inv.member_number,
            inv.status.value,
            inv.currency,
            inv.service_date,
            inv.total,
            inv.insurer_part,
            inv.patient_part,
            inv.paid,
            inv.refunded,
            inv.balance,
            balances.get((inv.id, Payer.INSURER), ZERO),
            balances.get((inv.id, Payer.PATIENT), ZERO),
            tuple(lines.get(inv.id, ())),
            due.get((inv.id, Payer.INSURER), ZERO),
            due.get((inv.id, Payer.PATIENT), ZERO),
        )
        for inv in invoices
    }


def invoice_summary(tenant: Tenant, invoice_id: int) -> InvoiceSummary:
    get_invoice(tenant, invoice_id)
    return invoice_summaries([invoice_id])[invoice_id]


def may_write(actor, institution_id: int) -> bool:
    """For pages: whether to show the editing controls."""
    try:
        institution_for_write(actor, institution_id)
    except (Forbidden, NotFound):
        return False
    return actor.role in WRITERS


def _audit(actor, action: str, invoice: Invoice, *, before=None, after=None) -> None:
    core.record_audit(
        actor,
        action,
        "invoice",
        invoice.id,
        before=before,
        after=after,
        institution_id=invoice.institution_id,
        company_id=invoice.company_id,
    )
