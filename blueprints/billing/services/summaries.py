"""What other domains read of invoices: plain summaries (no ORM rows) in batch, and reads named for their
purpose (the invoices a claim may bill, the invoices a payment may pay)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from blueprints.billing.models import AccountReceivable, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Payer
from blueprints.billing.services.invoices import get_invoice, invoices_query
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Tenant


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


#: what claims call an issued invoice: numbered and not void, whatever has been paid on it
CLAIMABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID)


def claimable_invoice_ids(
    *,
    institution_ids=None,
    company_id: int | None = None,
    served_from: date | None = None,
    served_to: date | None = None,
) -> list[int]:
    """The issued invoices (not credit notes) with an insurer part, by id: those a claim may bill. Narrowed to
    institutions, one insurer and the days of service (inclusive) when given; any tenant's (for jobs and CLIs)."""
    stmt = select(Invoice.id).where(
        Invoice.kind == InvoiceKind.INVOICE, Invoice.status.in_(CLAIMABLE), Invoice.insurer_part > 0
    )
    if institution_ids is not None:
        stmt = stmt.where(Invoice.institution_id.in_([int(i) for i in institution_ids]))
    if company_id:
        stmt = stmt.where(Invoice.company_id == company_id)
    if served_from is not None:
        stmt = stmt.where(Invoice.service_date >= served_from)
    if served_to is not None:
        stmt = stmt.where(Invoice.service_date <= served_to)
    return list(db.session.scalars(stmt.order_by(Invoice.id)))


def invoices_to_pay(tenant: Tenant, *, number: str = "", limit: int) -> list[InvoiceSummary]:
    """Numbered invoices the tenant may take a payment on, newest first: those whose number starts with
    ``number``, or without one the issued invoices waiting for money."""
    stmt = invoices_query(tenant, q=number, kind=InvoiceKind.INVOICE.value, status="" if number else "issued")
    ids = list(db.session.scalars(stmt.where(Invoice.number.is_not(None)).with_only_columns(Invoice.id).limit(limit)))
    summaries = invoice_summaries(ids)
    return [summaries[i] for i in ids]
