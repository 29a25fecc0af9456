"""Claim intake: a draft filed by hand or by an integration, or made from an invoice's insurer part in one click;
drafts changed (a submitted claim no longer changes); a replacement names the claim it replaces (``voids``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blueprints.billing import services as billing
from blueprints.claims.models import Claim, ClaimItem, ClaimStatus, ClaimStatusChange
from blueprints.claims.services import voids
from blueprints.claims.services.access import provider_check
from blueprints.claims.services.reading import claim_row
from blueprints.claims.services.transitions import audit
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock, fields
from medcover.errors import Conflict, Invalid
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import tenant_of

MAX_ITEMS = 100
MAX_QUANTITY = 10_000


@dataclass(frozen=True)
class ItemInput:
    service_code: str
    quantity: int | str
    unit_price: Decimal | str
    preauth_code: str | None = None


@dataclass(frozen=True)
class ClaimInput:
    member_number: str
    institution_id: int
    service_date: date | str
    items: list[ItemInput]
    diagnosis_codes: list[str] = field(default_factory=list)
    invoice_id: int | None = None
    patient_id: int | None = None
    #: the claim this one replaces (the same provider's and member's); submitting this one voids it
    replaces_id: int | None = None


def _diagnoses(values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise Invalid.field("diagnosis_codes", "Give the diagnoses as a list of ICD-10 codes.")
    codes: list[str] = []
    for value in values:
        code = str(value or "").strip().upper()
        if code and not hospital.ICD10.fullmatch(code):
            raise Invalid.field("diagnosis_codes", f"{code[:20]} is not an ICD-10 code (like J06.9 or A09).")
        if code and code not in codes:
            codes.append(code)
    if len(codes) > 20:
        raise Invalid.field("diagnosis_codes", "Give at most 20 diagnoses.")
    return codes


def _items(values: list[ItemInput]) -> list[dict]:
    if not values:
        raise Invalid.field("items", "Add at least one line.")
    if len(values) > MAX_ITEMS:
        raise Invalid.field("items", f"A claim has at most {MAX_ITEMS} lines.")
    rows = []
    for n, item in enumerate(values):
        prefix = f"items.{n}."
        quantity = fields.whole(item.quantity, prefix + "quantity", 1, MAX_QUANTITY)
        price = fields.amount(item.unit_price, prefix + "unit_price")
        preauth = fields.text(item.preauth_code, prefix + "preauth_code", 20, required=False).upper() or None
        rows.append(
            {
                "line_no": n + 1,
                "service_code": fields.code(item.service_code, prefix + "service_code"),
                "quantity": quantity,
                "unit_price": price,
                "preauth_code": preauth,
                "billed": money(price * quantity),
            }
        )
    return rows


def _claim_number(claim: Claim) -> str:
    year = clock.local_date(claim.created_at).year if claim.created_at else clock.today().year
    return f"CL-{year}-{claim.id:06d}"


def create_claim(*, actor, values: ClaimInput) -> Claim:
    """A draft claim; the insurer is the member's (a number no member has stays the provider's only)."""
    provider_check(actor, values.institution_id)
    number = fields.text(values.member_number, "member_number", 30).upper()
    service_date = fields.day(values.service_date, "service_date")
    if service_date > clock.today():
        raise Invalid.field("service_date", "The service date cannot be in the future.")
    items = _items(values.items)
    cover = insurance.member_covers([number]).get(number)
    invoice = None
    original = None
    if values.replaces_id:
        original = voids.replaceable(
            actor, replaces_id=values.replaces_id, institution_id=values.institution_id, member_number=number
        )
        if values.invoice_id not in (None, original.invoice_id):
            raise Invalid.field("invoice_id", f"A replacement bills the invoice of {original.claim_number}.")
    elif values.invoice_id:
        invoice = billing.invoice_summary(tenant_of(actor), values.invoice_id)
        if invoice.institution_id != values.institution_id:
            raise Invalid.field("invoice_id", "That invoice belongs to another provider.")
        _refuse_second_claim(invoice)
    claim = Claim(
        institution_id=values.institution_id,
        company_id=cover.company_id if cover else None,
        member_number=number,
        member_id=cover.member_id if cover else None,
        patient_id=values.patient_id or (original.patient_id if original else None),
        # a replacement takes over its original's invoice when it is submitted (and the original voided)
        invoice_id=None if original else values.invoice_id,
        replaces_id=original.id if original else None,
        service_date=service_date,
        diagnosis_codes=_diagnoses(values.diagnosis_codes),
        status=ClaimStatus.DRAFT,
        total_billed=money(sum((i["billed"] for i in items), ZERO)),
        total_approved=ZERO,
        total_paid=ZERO,
        created_by_id=actor.id,
        created_at=clock.now(),
        version=1,
    )
    try:
        with db.session.begin_nested():
            db.session.add(claim)
            db.session.flush()
    except IntegrityError:
        if invoice is not None:  # another request claimed the invoice a moment ago: name its claim
            _refuse_second_claim(invoice)
        if original is not None:  # another request replaced the original a moment ago
            voids.replaceable(
                actor, replaces_id=original.id, institution_id=values.institution_id, member_number=number
            )
        raise
    claim.claim_number = _claim_number(claim)
    db.session.add_all([ClaimItem(claim_id=claim.id, **item) for item in items])
    db.session.add(
        ClaimStatusChange(claim_id=claim.id, from_status=None, to_status="draft", by_id=actor.id, at=clock.now())
    )
    db.session.flush()
    after = {"claim_number": claim.claim_number, "total_billed": str(claim.total_billed)}
    if original is not None:
        after["replaces"] = original.claim_number
    audit(actor, "create", claim, after=after)
    return claim


def claim_from_invoice(*, actor, invoice_id: int) -> Claim:
    """The insurer's part of an issued invoice as a draft claim, one click: its insured lines at their price (net
    of tax, as the engine prices them)."""
    invoice = billing.invoice_summary(tenant_of(actor), invoice_id)
    provider_check(actor, invoice.institution_id)
    if invoice.status not in ("issued", "partially_paid", "paid"):
        raise Conflict(f"Invoice {invoice.number or 'draft'} is {invoice.status}; claim issued invoices only.")
    if not invoice.member_number or invoice.insurer_part <= 0:
        raise Conflict("This invoice has no insurer part to claim.")
    _refuse_second_claim(invoice)
    # Every line the price list maps to a benefit: a line the estimate left to the patient (the deductible, a
    # waiting period) is the insurer's to decide too, and the decision is the split's truth.
    lines = [line for line in invoice.lines if line.benefit_code or line.insurer_amount > 0]
    return create_claim(
        actor=actor,
        values=ClaimInput(
            member_number=invoice.member_number,
            institution_id=invoice.institution_id,
            service_date=invoice.service_date or clock.today(),
            items=[ItemInput(line.service_code, line.quantity, line.unit_price) for line in lines],
            invoice_id=invoice.id,
            patient_id=invoice.patient_id,
        ),
    )


def _refuse_second_claim(invoice) -> None:
    """One claim per invoice (the database's unique index holds it too); a voided one makes room."""
    existing = db.session.scalar(
        select(Claim.claim_number).where(Claim.invoice_id == invoice.id, Claim.status != ClaimStatus.VOID)
    )
    if existing:
        message = f"Invoice {invoice.number} is already claimed as {existing}."
        raise Conflict(message, {"invoice_id": [message]})


def draft_for_write(actor, claim_id: int) -> Claim:
    claim = claim_row(tenant_of(actor), claim_id)
    provider_check(actor, claim.institution_id)
    if claim.status is not ClaimStatus.DRAFT:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}; only drafts change.")
    return claim


def _keeps_its_original(claim: Claim, replaces_id: int | None) -> None:
    """A draft's ``replaces`` is set when it is filed: a change may name the same claim again, or none."""
    if replaces_id in (None, claim.replaces_id):
        return
    if claim.replaces_id is None:
        raise Invalid.field("replaces", "A draft can't start replacing a claim: file the replacement as a new claim.")
    original = db.session.scalar(select(Claim.claim_number).where(Claim.id == claim.replaces_id))
    raise Invalid.field("replaces", f"This draft replaces {original}; it can't replace another claim.")


def update_draft(*, actor, claim_id: int, values: ClaimInput) -> Claim:
    claim = draft_for_write(actor, claim_id)
    if values.institution_id != claim.institution_id:
        raise Invalid.field("institution_id", "A claim stays with its provider.")
    _keeps_its_original(claim, values.replaces_id)
    items = _items(values.items)
    number = fields.text(values.member_number, "member_number", 30).upper()
    service_date = fields.day(values.service_date, "service_date")
    voids.same_member(claim, number)
    cover = insurance.member_covers([number]).get(number)
    before = {"member_number": claim.member_number, "total_billed": str(claim.total_billed)}
    db.session.execute(ClaimItem.__table__.delete().where(ClaimItem.claim_id == claim.id))
    db.session.add_all([ClaimItem(claim_id=claim.id, **item) for item in items])
    claim.member_number = number
    claim.member_id = cover.member_id if cover else None
    claim.company_id = cover.company_id if cover else None
    claim.service_date = service_date
    claim.diagnosis_codes = _diagnoses(values.diagnosis_codes)
    claim.total_billed = money(sum((i["billed"] for i in items), ZERO))
    claim.version += 1
    db.session.flush()
    audit(
        actor, "update", claim, before=before, after={"member_number": number, "total_billed": str(claim.total_billed)}
    )
    return claim
