"""The settlement advice: one settlement as an A4 PDF telling the provider which claims the insurer paid, for
how much, how and with what reference. Rendered by medcover.pdf (only the app's static files are fetched)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import render_template

from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from blueprints.payment.models import FinancialSettlement
from blueprints.payment.services import settlements
from medcover import clock, pdf
from medcover.rbac import Tenant

TEMPLATE = "payment/settlement_pdf.html"
#: the printed invoices' stylesheet: the same letterhead, party boxes, tables and totals
STYLESHEET = "css/invoice-print.css"
METHOD_WORDS = {
    "cash": "Cash",
    "card": "Card",
    "bank_transfer": "Bank transfer",
    "mobile_money": "Mobile money",
    "cheque": "Cheque",
}


@dataclass(frozen=True)
class AdviceLine:
    claim_number: str
    member_number: str
    member_name: str
    service_date: date | None
    approved: Decimal
    paid: Decimal


@dataclass(frozen=True)
class Advice:
    number: str
    insurer: str
    provider: str
    provider_address: str | None
    period_start: date
    period_end: date
    paid_on: date
    method: str
    reference: str
    currency: str
    lines: tuple[AdviceLine, ...]
    total: Decimal


def _member_names(insurer_view: Tenant, numbers: set[str]) -> dict[str, str]:
    """Members' names by member number, in one query, read as the insurer."""
    return insurance.member_names(insurer_view, numbers)


def _advice(settlement: FinancialSettlement) -> Advice:
    """Everything the advice prints, in a fixed number of queries however many claims it pays."""
    payments = settlements.settlement_payments(settlement.id)
    found = settlements.paid_claims(settlement, {p.reference_id for p in payments})
    # Read as the settlement's insurer: whoever may see the settlement (its provider too) sees who was treated.
    members = _member_names(Tenant(None, settlement.company_id), {c.member_number for c in found.values()})
    lines = []
    for payment in payments:
        claim = found.get(payment.reference_id)
        member_number = claim.member_number if claim else ""
        lines.append(
            AdviceLine(
                claim.claim_number if claim else "(not available)",
                member_number,
                members.get(member_number, ""),
                claim.service_date if claim else None,
                claim.total_approved if claim else payment.amount,
                payment.amount,
            )
        )
    institution = hospital.get_institution(Tenant(None, None), settlement.institution_id)
    return Advice(
        number=settlement.number or "(not numbered)",
        insurer=insurance.company_name(settlement.company_id) or "",
        provider=institution.name,
        provider_address=institution.address,
        period_start=settlement.period_start,
        period_end=settlement.period_end,
        paid_on=settlement.paid_on,
        method=METHOD_WORDS.get(settlement.method.value, settlement.method.value),
        reference=settlement.reference or "",
        currency=payments[0].currency if payments else "KES",
        lines=tuple(lines),
        total=settlement.total,
    )


def settlement_html(tenant: Tenant, settlement_id: int) -> str:
    """The printable HTML of a settlement the tenant may see (another tenant's is ``NotFound``). A .html
    template: Jinja autoescapes, so a member called "<b>x</b>" prints as those characters."""
    settlement = settlements.get_settlement(tenant, settlement_id)
    return render_template(
        TEMPLATE, advice=_advice(settlement), stylesheet=pdf.static_url(STYLESHEET), printed_on=clock.today()
    )


def settlement_pdf(tenant: Tenant, settlement_id: int) -> bytes:
    return pdf.render_pdf(settlement_html(tenant, settlement_id))


def pdf_filename(settlement: FinancialSettlement) -> str:
    """``STL-2026-000042-advice.pdf``"""
    name = re.sub(r"[^A-Za-z0-9-]", "", settlement.number or "") or f"settlement-{settlement.id}"
    return f"{name}-advice.pdf"
