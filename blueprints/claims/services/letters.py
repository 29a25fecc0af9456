"""Claim decision letters (explanations of benefits): one decided claim as an A4 PDF, written for the member
or for the provider, with every line's amounts and the reasons in words.

Printed like invoices (``blueprints.billing.services.printing``): an autoescaped template laid out by
``medcover.pdf``, whose fetcher serves nothing but the app's static files. A letter reads a fixed number
of rows however many lines the claim has (the tariff descriptions come in one batch).

Readings where ADJUDICATION.md leaves a choice:

- Only a decided claim has a letter: ``approved``, ``partially_approved``, ``rejected``, ``paid``, and
  ``disputed`` (the decision under dispute stands until the dispute ends). Any other status is a 409.
- The provider's write-off is ``billed - allowed`` on the lines that were not rejected. A rejected line
  allows 0.00 and the member is responsible for all of it (``member_responsibility = billed``), so counting
  it as written off too would count its amount twice; per line ``billed = approved + member
  responsibility + write-off``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import render_template

from blueprints.billing import services as billing
from blueprints.claims.engine import REASONS, LineOutcome
from blueprints.claims.models import Claim, ClaimItem, ClaimStatus
from blueprints.claims.services import voids
from blueprints.claims.services.reading import claim_row, items_of
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock, pdf
from medcover.errors import Conflict, Invalid, NotFound
from medcover.money import ZERO, money
from medcover.rbac import Tenant

TEMPLATE = "claims/letter_pdf.html"
#: the invoice's print stylesheet (page, letterhead, tables), then the letter's own few rules
STYLESHEETS = ("css/invoice-print.css", "css/letter-print.css")
#: how long after the decision the member or provider may dispute it (or ask about it)
DISPUTE_DAYS = 30
#: the statuses a claim has a decision in
DECIDED = (
    ClaimStatus.APPROVED,
    ClaimStatus.PARTIALLY_APPROVED,
    ClaimStatus.REJECTED,
    ClaimStatus.DISPUTED,
    ClaimStatus.PAID,
)
#: the global tenant, for names and addresses of a claim the reader was already allowed to see
_EVERYONE = Tenant(None, None)


class Audience(enum.StrEnum):
    MEMBER = "member"
    PROVIDER = "provider"


#: the claim's status in words: (title, one sentence)
STATUS_WORDS: dict[ClaimStatus, tuple[str, str]] = {
    ClaimStatus.APPROVED: ("Approved", "Every line of the claim was approved; some amounts may have been adjusted."),
    ClaimStatus.PARTIALLY_APPROVED: ("Partially approved", "Some lines of the claim were approved, others rejected."),
    ClaimStatus.REJECTED: ("Rejected", "No line of the claim was approved."),
    ClaimStatus.DISPUTED: (
        "Under dispute",
        "A dispute of this decision is open; the decision below stands until the dispute is resolved.",
    ),
    ClaimStatus.PAID: ("Approved and paid", "The claim was approved and the insurer has paid the provider."),
}
LINE_WORDS = {LineOutcome.APPROVED: "Approved", LineOutcome.ADJUSTED: "Adjusted", LineOutcome.REJECTED: "Rejected"}


@dataclass(frozen=True)
class LetterLine:
    line_no: int
    service_code: str
    #: the provider's tariff description on the service date ("" when it has no price that day)
    description: str
    quantity: int
    billed: Decimal
    allowed: Decimal
    deductible: Decimal
    copay: Decimal
    approved: Decimal
    member_responsibility: Decimal
    write_off: Decimal
    #: Approved, Adjusted or Rejected
    decision: str
    #: "A03 – The amount was cut to what is left of the benefit's annual limit."
    reasons: tuple[str, ...]
    #: the adjudicator's note on an override (M01)
    note: str | None


@dataclass(frozen=True)
class Totals:
    billed: Decimal
    allowed: Decimal
    deductible: Decimal
    copay: Decimal
    approved: Decimal
    member_responsibility: Decimal
    write_off: Decimal


@dataclass(frozen=True)
class Letter:
    audience: Audience
    claim_number: str
    status: str
    status_sentence: str
    #: the claim may still be disputed (rejected or partially approved); a disputed one has a dispute open
    disputable: bool
    disputed: bool
    insurer: str | None
    provider_name: str
    provider_address: str | None
    provider_phone: str | None
    member_name: str
    member_number: str
    service_date: date
    decided_on: date | None
    dispute_days: int
    dispute_by: date | None
    lines: tuple[LetterLine, ...]
    totals: Totals
    paid: Decimal
    #: the replacement chain by claim number: the claim this one replaces (void), and the one replacing it
    replaces: str | None = None
    replaced_by: str | None = None


def audience_of(value: str | None) -> Audience:
    """``member`` (also when not given) or ``provider``; anything else is ``Invalid`` on ``for``."""
    try:
        return Audience((value or Audience.MEMBER.value).strip().lower())
    except ValueError:
        raise Invalid.field("for", "Choose member or provider.") from None


def decided_claim(tenant: Tenant, claim_id: int) -> Claim:
    """A claim the tenant may see (another tenant's is ``NotFound``) that has a decision (else ``Conflict``)."""
    claim = claim_row(tenant, claim_id)
    if claim.status not in DECIDED:
        raise Conflict(f"Claim {claim.claim_number} has no decision yet, so it has no letter.")
    return claim


def audit_letter_read(actor, claim: Claim, audience: Audience | str) -> None:
    """The letter names the member: one read entry with the member's and the claim's numbers only."""
    core.record_audit(
        actor,
        "read",
        "claim",
        claim.id,
        summary=f"{Audience(audience).value} letter of claim {claim.claim_number}: member {claim.member_number}",
        institution_id=claim.institution_id,
        company_id=claim.company_id,
    )


def _reasons(codes) -> tuple[str, ...]:
    return tuple(f"{code} – {REASONS[code]}" if code in REASONS else code for code in codes or ())


def _line(item: ClaimItem, description: str) -> LetterLine:
    rejected = item.decision == LineOutcome.REJECTED.value
    return LetterLine(
        line_no=item.line_no,
        service_code=item.service_code,
        description=description,
        quantity=item.quantity,
        billed=item.billed,
        allowed=item.allowed,
        deductible=item.deductible,
        copay=item.copay,
        approved=item.approved,
        member_responsibility=item.member_responsibility,
        write_off=ZERO if rejected else money(item.billed - item.allowed),
        decision=LINE_WORDS.get(item.decision, (item.decision or "").capitalize()),
        reasons=_reasons(item.reason_codes),
        note=item.note,
    )


def _totals(lines: tuple[LetterLine, ...]) -> Totals:
    def total(name: str) -> Decimal:
        return money(sum((getattr(line, name) for line in lines), ZERO))

    return Totals(*(total(name) for name in Totals.__dataclass_fields__))


def _member_name(claim: Claim) -> str:
    if claim.member_id:
        try:
            member = insurance.get_member(_EVERYONE, claim.member_id)
        except NotFound:
            member = None
        if member is not None:
            return f"{member.first_name} {member.last_name}"
    if claim.patient_id:  # no member has the number (R01): the patient the provider treated
        patient = hospital.patients_by_id([claim.patient_id]).get(claim.patient_id)
        if patient is not None:
            return f"{patient.first_name} {patient.last_name}"
    return ""


def letter_of(claim: Claim, audience: Audience, tenant: Tenant = _EVERYONE) -> Letter:
    """What the letter says about a decided claim; a fixed number of queries however many lines it has."""
    items = items_of(claim.id)
    prices = billing.tariff_prices(claim.institution_id, {i.service_code for i in items}, claim.service_date)
    lines = tuple(
        _line(item, prices[item.service_code].description if item.service_code in prices else "") for item in items
    )
    provider = hospital.get_institution(_EVERYONE, claim.institution_id)
    decided_on = clock.local_date(claim.decided_at) if claim.decided_at else None
    title, sentence = STATUS_WORDS[claim.status]
    chain = voids.chain_of(tenant, claim)
    return Letter(
        audience=audience,
        claim_number=claim.claim_number or f"claim {claim.id}",
        status=title,
        status_sentence=sentence,
        disputable=claim.status in (ClaimStatus.REJECTED, ClaimStatus.PARTIALLY_APPROVED),
        disputed=claim.status is ClaimStatus.DISPUTED,
        insurer=insurance.company_name(claim.company_id) if claim.company_id else None,
        provider_name=provider.name,
        provider_address=provider.address,
        provider_phone=provider.phone,
        member_name=_member_name(claim),
        member_number=claim.member_number,
        service_date=claim.service_date,
        decided_on=decided_on,
        dispute_days=DISPUTE_DAYS,
        dispute_by=decided_on + timedelta(days=DISPUTE_DAYS) if decided_on else None,
        lines=lines,
        totals=_totals(lines),
        paid=claim.total_paid,
        replaces=chain.replaces.claim_number if chain.replaces else None,
        replaced_by=chain.replaced_by.claim_number if chain.replaced_by else None,
    )


def letter_html(tenant: Tenant, claim_id: int, audience: Audience | str) -> str:
    """The printable HTML of a decided claim's letter for the member or the provider."""
    audience = audience if isinstance(audience, Audience) else audience_of(audience)
    letter = letter_of(decided_claim(tenant, claim_id), audience, tenant)
    # A .html template: Jinja autoescapes, so a member called "<script>" prints as those characters.
    return render_template(
        TEMPLATE,
        letter=letter,
        stylesheets=[pdf.static_url(name) for name in STYLESHEETS],
        printed_on=clock.today(),
    )


def letter_pdf(tenant: Tenant, claim_id: int, audience: Audience | str) -> bytes:
    """The A4 PDF of a decided claim's letter the tenant may see (another tenant's claim is ``NotFound``,
    an undecided one ``Conflict``)."""
    return pdf.render_pdf(letter_html(tenant, claim_id, audience))


def pdf_filename(claim: Claim, audience: Audience | str) -> str:
    """``CL-2026-000042-member.pdf``."""
    name = re.sub(r"[^A-Za-z0-9-]", "", claim.claim_number or "") or f"claim-{claim.id}"
    return f"{name}-{Audience(audience).value}.pdf"
