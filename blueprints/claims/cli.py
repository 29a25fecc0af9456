"""The claims part of ``flask seed-demo``: most demo invoices' insurer parts claimed and submitted a few days
after the visit, a few claims keyed in by hand (a visit claimed twice, waiting periods, missing
pre-authorisations, a service without a tariff), all decided by the engine as they come in, and a handful of
hospital admissions big enough to wait for an adjudicator in the work queue.

Through the claims services (audited, events published), as the provider's billing staff would; the CLI
command commits."""

from __future__ import annotations

import math
import random
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import click
from flask import current_app
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimStatus
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.demo import add_seed_command
from medcover.extensions import db
from medcover.rbac import Role, Tenant

#: share of the insured demo invoices that the hospitals have claimed so far
CLAIMED_SHARE = 0.8
#: admissions per hospital that reach the review threshold of the member's scheme
ADMISSIONS_PER_HOSPITAL = 3
#: benefit of an approved pre-authorisation -> the procedure the admission bills under it
PROCEDURES = {"IP-SURGERY": "SURG-APPENDIX", "MAT-CSECTION": "MAT-CS"}
RESUBMISSIONS = 4
WALK_INS_PER_HOSPITAL = 6
#: (code, quantity, ...) of visits keyed in by hand; TELECONSULT has no tariff at either hospital (R07)
WALK_INS = [
    ("CONSULT-GP", 1, "LAB-MALARIA", 1, "PHARM-PARA", 1),
    ("DENT-SCALE", 1),
    ("CONSULT-GP", 1, "TELECONSULT", 1),
    ("DENT-EXTRACT", 1, "PHARM-AMOX", 1),
    ("OPT-EXAM", 1),
    ("RAD-MRI-HEAD", 1, "CONSULT-SPEC", 1),
]


@dataclass(frozen=True)
class SeedActor:
    """The seed files claims as a platform admin with no account of its own (audit shows no person)."""

    id: None = None
    email: str = "seed-demo"
    role: Role = Role.ADMIN
    institution_id: None = None
    company_id: None = None


@contextmanager
def _decided_inline():
    """Have the engine decide each claim as it is submitted, even with a Redis queue configured."""
    before = current_app.config.get("CLAIMS_DECIDE_INLINE")
    current_app.config["CLAIMS_DECIDE_INLINE"] = True
    try:
        yield
    finally:
        current_app.config["CLAIMS_DECIDE_INLINE"] = before


def _submit(actor, claim_id: int, day: date) -> None:
    with clock.travel(-timedelta(days=(clock.today() - day).days)):
        services.submit_claim(actor=actor, claim_id=claim_id)


def _insured_invoices(institution_ids) -> list[billing.InvoiceSummary]:
    ids = billing.claimable_invoice_ids(institution_ids=list(institution_ids))
    summaries = billing.invoice_summaries(ids)
    return sorted(summaries.values(), key=lambda i: (i.service_date or clock.today(), i.id))


def _file(
    actor, *, member_number: str, institution_id: int, day: date, lines, patient_id=None, diagnoses=(), sent=None
) -> None:
    """A claim keyed in by the provider's clerk and submitted (by default) two days after the visit."""
    today = clock.today()
    with clock.travel(-timedelta(days=(today - day).days)):
        claim = services.create_claim(
            actor=actor,
            values=services.ClaimInput(
                member_number=member_number,
                institution_id=institution_id,
                service_date=day,
                items=lines,
                diagnosis_codes=list(diagnoses),
                patient_id=patient_id,
            ),
        )
    _submit(actor, claim.id, sent or min(today, day + timedelta(days=2)))


def _claim_invoices(actor, rng: random.Random, institution_ids) -> list[billing.InvoiceSummary]:
    """Claim most insured invoices, each submitted one to a week after the visit, in that order."""
    claimed = []
    today = clock.today()
    for invoice in _insured_invoices(institution_ids):
        if rng.random() >= CLAIMED_SHARE:
            continue
        visit = invoice.service_date or today
        sent = min(today, visit + timedelta(days=rng.randint(1, 7)))
        with clock.travel(-timedelta(days=(today - sent).days)):
            claim = services.claim_from_invoice(actor=actor, invoice_id=invoice.id)
        _submit(actor, claim.id, sent)
        claimed.append(invoice)
    return claimed


def _resubmissions(actor, rng: random.Random, claimed: list[billing.InvoiceSummary]) -> int:
    """Visits already claimed from their invoice, keyed in again by hand: the engine finds them (R04)."""
    count = 0
    for invoice in rng.sample(claimed, min(RESUBMISSIONS, len(claimed))):
        lines = [
            services.ItemInput(line.service_code, line.quantity, line.unit_price)
            for line in invoice.lines
            if line.insurer_amount > 0
        ]
        # a second test the first claim did not have: that line is new, the rest are duplicates
        if count % 2 == 0 and all(line.service_code != "LAB-FBC" for line in lines):
            lines.append(services.ItemInput("LAB-FBC", 1, "1200.00"))
        _file(
            actor,
            member_number=invoice.member_number,
            institution_id=invoice.institution_id,
            day=invoice.service_date or clock.today(),
            lines=lines,
            patient_id=invoice.patient_id,
            sent=clock.today(),  # after the claim from the invoice: that one stands, this one is the duplicate
        )
        count += 1
    return count


def _walk_ins(actor, rng: random.Random, institution_ids) -> int:
    """Visits billed straight to the insurer, of insured patients who have no demo invoice: waiting
    periods, missing pre-authorisations, a service without a tariff, lapsed cover."""
    today = clock.today()
    count = 0
    for institution_id in institution_ids:
        patients = [p for p in hospital.first_patients(institution_id, 200)[100:] if p.member_number]
        codes = {code for visit in WALK_INS for code in visit[::2]}
        prices = billing.prices_on((institution_id, code, today) for code in codes)
        price = {code: p.unit_price for (_i, code, _d), p in prices.items()}
        for n, patient in enumerate(rng.sample(patients, min(WALK_INS_PER_HOSPITAL, len(patients)))):
            visit = WALK_INS[n % len(WALK_INS)]
            lines = [
                services.ItemInput(visit[i], visit[i + 1], price.get(visit[i], Decimal("1500.00")))
                for i in range(0, len(visit), 2)
            ]
            _file(
                actor,
                member_number=patient.member_number,
                institution_id=institution_id,
                day=today - timedelta(days=rng.randint(3, 40)),
                lines=lines,
                patient_id=patient.id,
            )
            count += 1
    return count


def _admission(rng: random.Random, cover: insurance.MemberCover, price: dict, today: date):
    """(service date, lines) of a stay big enough for review, or None when the member has no cover for it."""
    preauth = next(
        (
            p
            for p in cover.preauths
            if p.status == "approved" and p.benefit_code in PROCEDURES and p.valid_from <= today
        ),
        None,
    )
    day = min(today, preauth.valid_from + timedelta(days=1)) if preauth else today - timedelta(days=rng.randint(1, 10))
    coverage = next(
        (c for c in cover.coverages if c.status == "active" and c.start_date <= day <= c.end_date),
        None,
    )
    if coverage is None or coverage.scheme.review_threshold is None:
        return None
    procedure = PROCEDURES[preauth.benefit_code] if preauth else "SURG-APPENDIX"
    if procedure not in price or "WARD-GENERAL" not in price:
        return None
    extras = [
        services.ItemInput("LAB-FBC", 1, price["LAB-FBC"]),
        services.ItemInput("PHARM-AMOX", 2, price["PHARM-AMOX"]),
    ]
    known = price[procedure] + sum((Decimal(i.quantity) * i.unit_price for i in extras), Decimal(0))
    nights = max(2, math.ceil((coverage.scheme.review_threshold - known) / price["WARD-GENERAL"]))
    lines = [
        services.ItemInput(procedure, 1, price[procedure], preauth.code if preauth else None),
        services.ItemInput("WARD-GENERAL", nights, price["WARD-GENERAL"]),
        *extras,
    ]
    return day, lines


def _preauths(covers: dict[str, insurance.MemberCover], member_number: str):
    cover = covers.get(member_number)
    return cover.preauths if cover else ()


def _admissions(actor, rng: random.Random, institution_ids) -> int:
    """A few inpatient stays of insured patients, billed past their scheme's review threshold."""
    today = clock.today()
    count = 0
    for institution_id in institution_ids:
        patients = [p for p in hospital.first_patients(institution_id, 200) if p.member_number]
        covers = insurance.member_covers(p.member_number for p in patients)
        # the members with an approved pre-authorisation first: their procedure line passes R12
        patients.sort(key=lambda p: not any(a.status == "approved" for a in _preauths(covers, p.member_number)))
        codes = ("SURG-APPENDIX", "MAT-CS", "WARD-GENERAL", "LAB-FBC", "PHARM-AMOX")
        prices = billing.prices_on((institution_id, code, today) for code in codes)
        price = {code: p.unit_price for (_i, code, _d), p in prices.items()}
        found = 0
        for patient in patients:
            if found == ADMISSIONS_PER_HOSPITAL:
                break
            cover = covers.get(patient.member_number)
            if cover is None:
                continue
            stay = _admission(rng, cover, price, today)
            if stay is None:
                continue
            day, lines = stay
            _file(
                actor,
                member_number=patient.member_number,
                institution_id=institution_id,
                day=day,
                lines=lines,
                patient_id=patient.id,
                diagnoses=["O82" if lines[0].service_code == "MAT-CS" else "K35.8"],
            )
            found += 1
        count += found
    return count


def seed_demo(*, if_empty: bool, institution_ids) -> dict:
    """Claims of the demo hospitals; nothing when any claim exists. The CLI command commits."""
    if db.session.scalar(select(func.count()).select_from(Claim)):
        return {"created": False}
    actor = SeedActor()
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
    with _decided_inline():
        claimed = _claim_invoices(actor, rng, institution_ids)
        by_hand = _resubmissions(actor, rng, claimed) + _walk_ins(actor, rng, institution_ids)
        admissions = _admissions(actor, rng, institution_ids)
    statuses = dict(db.session.execute(select(Claim.status, func.count()).group_by(Claim.status)).all())
    return {
        "created": True,
        "claims": len(claimed) + by_hand + admissions,
        "from_invoices": len(claimed),
        "by_hand": by_hand,
        "admissions": admissions,
        **{status.value: statuses.get(status, 0) for status in ClaimStatus},
    }


def seed_step(world: dict, if_empty: bool) -> str | None:
    """Claims last: from the demo invoices and keyed in, decided by the engine."""
    institution_ids = world.get("institution_ids") or [i.id for i in hospital.institutions_of(Tenant(None, None))]
    made = seed_demo(if_empty=if_empty, institution_ids=institution_ids)
    if not made["created"]:
        return None
    return (
        "Claims: {claims} claims ({from_invoices} from invoices, {by_hand} keyed in, {admissions} admissions), "
        "{approved} approved, {partially_approved} partially approved, {rejected} rejected, {pending_review} "
        "pending review".format(**made)
    )


claims_cli = add_seed_command(click.Group("claims", help="Claims and their decisions."), seed_step)
