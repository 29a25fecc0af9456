"""The payer split of an invoice (ADJUDICATION.md "Estimates"): each line's tax and amount, the insurer's and the
patient's parts, and the invoice's totals.

One source of truth: the parts are the claims engine's estimate (the engine run on the invoice's lines, recording
nothing) until the invoice's claim is decided, then the decision's. Billing sits below claims, so claims registers
the function answering that (``register_split_source``) and tells billing when a claim changes (``claim.changed``,
``refresh_split``). Without a registered source (billing alone) the cover's terms give a rough estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from blueprints.billing.models import AccountReceivable, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, Payer
from blueprints.billing.services.invoices import lines_of
from blueprints.billing.services.settings import settings_for
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.extensions import db
from medcover.money import ZERO, money, percent_of

#: the split's basis: the engine's estimate, still the estimate while the claim is under review, the decision's
ESTIMATE, UNDER_REVIEW, DECIDED = "estimate", "under_review", "decided"
BASES = (ESTIMATE, UNDER_REVIEW, DECIDED)


@dataclass(frozen=True)
class SplitLine:
    line_no: int
    service_code: str
    quantity: int
    #: before tax: the engine prices what the provider billed for the service
    unit_price: Decimal


@dataclass(frozen=True)
class SplitRequest:
    """An invoice as the split source reads it."""

    invoice_id: int
    institution_id: int
    member_number: str
    service_date: date
    lines: tuple[SplitLine, ...]


@dataclass(frozen=True)
class PayerSplit:
    """The insurer's amount per line (the rest is the patient's), where it comes from, and the insurer."""

    basis: str
    company_id: int | None = None
    insurer_by_line: dict[int, Decimal] = field(default_factory=dict)


_sources: list[Callable[[SplitRequest], PayerSplit | None]] = []


def register_split_source(fn: Callable[[SplitRequest], PayerSplit | None]) -> None:
    """The claims domain answers the split (its engine's estimate, or its decision); registered at start-up."""
    if fn not in _sources:
        _sources.append(fn)


def recompute(invoice: Invoice) -> None:
    """Tax per line, the payer split (the estimate, or the claim's decision), totals."""
    settings = settings_for(invoice.institution_id)
    lines = lines_of(invoice.id)
    for line in lines:
        line.net = money(line.unit_price * line.quantity)
        line.tax = percent_of(line.net, settings.tax_percent)
        line.amount = money(line.net + line.tax)
    # Cover checks query; no flush may send a half-updated line (its split would not add up) meanwhile.
    with db.session.no_autoflush:
        split = _split_of(invoice, lines)
        for line in lines:
            insurer = min(money(split.insurer_by_line.get(line.line_no, ZERO)), line.amount) if split else ZERO
            line.insurer_amount = max(insurer, ZERO)
            line.patient_amount = money(line.amount - line.insurer_amount)
    _totals(invoice, lines, split.company_id if split else None)
    invoice.split_basis = split.basis if split and invoice.member_number else None
    db.session.flush()


def _split_of(invoice: Invoice, lines: list[InvoiceLine]) -> PayerSplit | None:
    if not invoice.member_number or not lines or invoice.kind is not InvoiceKind.INVOICE:
        return None
    day = min((line.service_date for line in lines if line.service_date), default=None) or clock.today()
    request = SplitRequest(
        invoice_id=invoice.id,
        institution_id=invoice.institution_id,
        member_number=invoice.member_number,
        service_date=day,
        lines=tuple(SplitLine(ln.line_no, ln.service_code, ln.quantity, ln.unit_price) for ln in lines),
    )
    for source in _sources:
        answer = source(request)
        if answer is not None:
            return answer
    return _cover_estimate(invoice, lines)


def _cover_estimate(invoice: Invoice, lines: list[InvoiceLine]) -> PayerSplit:
    """Billing alone (no claims domain registered): the cover's copay and remaining limits per line."""
    covers: dict[date, insurance.Verification | None] = {}
    remaining: dict[str, Decimal | None] = {}
    company_id = None
    by_line: dict[int, Decimal] = {}
    for line in lines:
        day = line.service_date or clock.today()
        if day not in covers:
            covers[day] = insurance.verify(invoice.member_number, day)
        cover = covers.get(day)
        insurer = ZERO
        if cover is not None and cover.eligible and line.benefit_code:
            company_id = company_id or cover.coverage.company_id
            terms = next((b for b in cover.benefits if b.benefit_code == line.benefit_code), None)
            waiting = terms is not None and terms.waiting_until is not None and day < terms.waiting_until
            if terms is not None and terms.covered and not waiting:
                insurer = money(line.net - percent_of(line.net, terms.copay_percent))
                left = remaining.setdefault(line.benefit_code, terms.remaining_limit)
                if left is not None:
                    insurer = min(insurer, left)
                    remaining[line.benefit_code] = money(left - insurer)
        by_line[line.line_no] = insurer
    return PayerSplit(ESTIMATE, company_id, by_line)


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


def refresh_split(event_id: int, payload: dict) -> None:
    """Subscriber of ``claim.changed``: the invoice's parts follow its claim (the estimate while undecided or
    under review, the decision's once decided), and so does what each payer owes on an issued invoice."""
    invoice_id = payload.get("invoice_id")
    if not invoice_id:
        return
    invoice = db.session.scalar(select(Invoice).where(Invoice.id == int(invoice_id)).with_for_update())
    if invoice is None or invoice.kind is not InvoiceKind.INVOICE or invoice.status is InvoiceStatus.VOID:
        return
    company_before = invoice.company_id
    recompute(invoice)
    if invoice.status is InvoiceStatus.DRAFT:
        return
    company_id = invoice.company_id or company_before
    for payer, amount in ((Payer.INSURER, invoice.insurer_part), (Payer.PATIENT, invoice.patient_part)):
        row = db.session.scalar(
            select(AccountReceivable).where(
                AccountReceivable.invoice_id == invoice.id, AccountReceivable.payer == payer
            )
        )
        if row is None:
            if amount <= 0:
                continue
            row = AccountReceivable(
                institution_id=invoice.institution_id,
                invoice_id=invoice.id,
                payer=payer,
                patient_id=invoice.patient_id,
                company_id=company_id if payer is Payer.INSURER else None,
                issued_on=invoice.issued_on or clock.today(),
                due_on=invoice.due_on or clock.today(),
                paid=ZERO,
                refunded=ZERO,
                credited=ZERO,
            )
            db.session.add(row)
        row.amount = amount
        row.balance = money(amount - row.paid + row.refunded - row.credited)
    db.session.flush()


def still_owed(invoice_ids) -> dict[int, dict[str, Decimal]]:
    """What each payer still owes on issued invoices: ``{invoice_id: {"insurer": ..., "patient": ...}}``."""
    wanted = {int(i) for i in invoice_ids if i}
    owed: dict[int, dict[str, Decimal]] = {}
    if not wanted:
        return owed
    for row in db.session.scalars(select(AccountReceivable).where(AccountReceivable.invoice_id.in_(wanted))):
        owed.setdefault(row.invoice_id, {})[row.payer.value] = row.balance
    return owed
