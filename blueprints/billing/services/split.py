"""The payer split of an invoice: each line's tax and amount, the insurer's and the patient's parts from the
patient's cover on the day of the service, and the invoice's totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from blueprints.billing.models import Invoice, InvoiceLine
from blueprints.billing.services.invoices import lines_of
from blueprints.billing.services.settings import settings_for
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.extensions import db
from medcover.money import ZERO, money, percent_of


def recompute(invoice: Invoice) -> None:
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
