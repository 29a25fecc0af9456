"""Rows written in bulk (one INSERT of many rows each), for tests that count what a page reads at 10 and 1,000
rows. They bypass the services on purpose: only the columns a count or a list reads are meaningful."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from medcover import clock
from medcover.extensions import db

_seq = itertools.count(1)


def _numbers(n: int) -> list[int]:
    return [next(_seq) for _ in range(n)]


def _cycle(ids, n: int) -> list:
    """``n`` values taken in turn from ``ids`` (rows spread over that many patients or members)."""
    return list(itertools.islice(itertools.cycle(ids), n))


#: names the bulk patients and members take in turn: a list page shows a mix, a search finds many
FIRST_NAMES = ("Grace", "Peter", "Lucy", "Daniel", "Joyce", "Samuel", "Amina", "Brian", "Esther", "Hassan")
LAST_NAMES = ("Mwangi", "Otieno", "Kiptoo", "Njeri", "Ochieng", "Wanjiku", "Mutua", "Achieng", "Kamau", "Omondi")


def patients(n: int, *, institution, first_names=FIRST_NAMES, last_names=LAST_NAMES) -> list[int]:
    """``n`` patients of the institution, named in turn from the lists (search keys as the service sets them);
    their ids, in order."""
    from blueprints.hospital.models import Patient
    from blueprints.hospital.services import search_key

    rows = []
    for i, k in enumerate(_numbers(n)):
        first, last = first_names[i % len(first_names)], last_names[(i // len(first_names)) % len(last_names)]
        rows.append(
            {
                "institution_id": institution.id,
                "patient_number": f"{institution.code}-8{k:07d}",
                "first_name": first,
                "last_name": last,
                "first_name_key": search_key(first),
                "last_name_key": search_key(last),
                "date_of_birth": date(1950, 1, 1) + timedelta(days=k % 25_000),
                "gender": "female" if i % 2 else "male",
                "phone": f"2547{k:08d}",
                "national_id": f"BLK{k:08d}",
            }
        )
    return list(db.session.scalars(insert(Patient).returning(Patient.id, sort_by_parameter_order=True), rows))


def members(n: int, *, company, prefix: str = "BLK") -> list[int]:
    """``n`` members of the insurer, numbered PREFIX-nnnnnnn and named in turn; their ids, in order."""
    from blueprints.insurance.models import Member

    rows = [
        {
            "member_number": f"{prefix}-{k:07d}",
            "company_id": company.id,
            "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
            "last_name": LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)],
            "date_of_birth": date(1950, 1, 1) + timedelta(days=k % 25_000),
            "gender": "female" if i % 2 else "male",
        }
        for i, k in enumerate(_numbers(n))
    ]
    return list(db.session.scalars(insert(Member).returning(Member.id, sort_by_parameter_order=True), rows))


def appointments(n: int, *, patient, personnel, day: date | None = None, status: str = "booked") -> None:
    """``n`` appointments a minute apart on ``day`` (today by default), from midnight of the business day."""
    from blueprints.hospital.models import Appointment, AppointmentStatus

    start = datetime.combine(day or clock.today(), time.min, UTC)
    rows = []
    for i in range(n):
        at = start + timedelta(minutes=i % 1380)
        rows.append(
            {
                "institution_id": patient.institution_id,
                "patient_id": patient.id,
                "personnel_id": personnel.id,
                "department": personnel.department,
                "starts_at": at,
                "ends_at": at + timedelta(minutes=15),
                "status": AppointmentStatus(status),
            }
        )
    db.session.execute(insert(Appointment), rows)


def charges(n: int, *, patient, status: str = "unbilled", service_date: date | None = None) -> None:
    from blueprints.billing.models import BillingItem, ItemStatus

    day = service_date or clock.today()
    db.session.execute(
        insert(BillingItem),
        [
            {
                "institution_id": patient.institution_id,
                "patient_id": patient.id,
                "service_code": "CONSULT",
                "description": "GP consultation",
                "quantity": 1,
                "unit_price": Decimal("2500.00"),
                "service_date": day,
                "source": f"bulk:{k}",
                "status": ItemStatus(status),
            }
            for k in _numbers(n)
        ],
    )


def invoices(
    n: int,
    *,
    patient=None,
    patient_ids=None,
    institution_id: int | None = None,
    status: str = "draft",
    due_on: date | None = None,
    balance: Decimal = Decimal("100.00"),
    company_id: int | None = None,
) -> None:
    """Invoices of 100.00; issued ones numbered and owing ``balance`` (the rest paid), drafts unnumbered. Of
    ``patient``, or of the ``patient_ids`` in turn (patients of ``institution_id``)."""
    from blueprints.billing.models import Invoice, InvoiceStatus

    if patient is not None:
        patient_ids, institution_id = [patient.id], patient.institution_id
    status = InvoiceStatus(status)
    total = Decimal("100.00")
    draft = status is InvoiceStatus.DRAFT
    db.session.execute(
        insert(Invoice),
        [
            {
                "institution_id": institution_id,
                "patient_id": patient_id,
                "company_id": company_id,
                "number": None if draft else f"BLK-{k:07d}",
                "status": status,
                "issued_on": None if draft else clock.today() - timedelta(days=40),
                "due_on": None if draft else (due_on or clock.today() - timedelta(days=10)),
                "subtotal": total,
                "total": total,
                "insurer_part": Decimal("0.00"),
                "patient_part": total,
                "paid": total - balance,
                "balance": balance,
            }
            for k, patient_id in zip(_numbers(n), _cycle(patient_ids, n), strict=True)
        ],
    )


def claims(
    n: int,
    *,
    institution_id: int,
    company_id: int | None,
    member_number: str = "ACM-001",
    status: str = "pending_review",
    submitted_at: datetime | None = None,
    member_ids=(None,),
    patient_ids=(None,),
) -> list[int]:
    """Claims of 1,000.00 in that status, submitted at ``submitted_at`` (now by default), for the
    ``member_ids`` and ``patient_ids`` in turn (none by default); their ids."""
    from blueprints.claims.models import Claim, ClaimStatus

    at = submitted_at or clock.now()
    numbers = _numbers(n)
    db.session.execute(
        insert(Claim),
        [
            {
                "member_id": member_id,
                "patient_id": patient_id,
                "claim_number": f"CL-BULK-{k:07d}",
                "institution_id": institution_id,
                "company_id": company_id,
                "member_number": member_number,
                "service_date": at.date(),
                "status": ClaimStatus(status),
                "total_billed": Decimal("1000.00"),
                "total_approved": Decimal("0.00"),
                "submitted_at": None if status == "draft" else at,
                "submitted_on": None if status == "draft" else at.date(),
            }
            for k, member_id, patient_id in zip(numbers, _cycle(member_ids, n), _cycle(patient_ids, n), strict=True)
        ],
    )
    wanted = [f"CL-BULK-{k:07d}" for k in numbers]
    found = []
    for chunk in range(0, len(wanted), 500):
        found += db.session.scalars(select(Claim.id).where(Claim.claim_number.in_(wanted[chunk : chunk + 500])))
    return found


def disputes(
    n: int, *, institution_id: int, company_id: int | None, status: str = "open", opened_at: datetime | None = None
) -> None:
    """``n`` disputes, each on a disputed claim of its own."""
    from blueprints.claims.models import Dispute, DisputeStatus

    claim_ids = claims(n, institution_id=institution_id, company_id=company_id, status="disputed")
    db.session.execute(
        insert(Dispute),
        [
            {
                "claim_id": claim_id,
                "institution_id": institution_id,
                "company_id": company_id,
                "raised_by_kind": "provider",
                "reason": "The service was covered.",
                "status": DisputeStatus(status),
                "claim_status_before": "rejected",
                "created_at": opened_at or clock.now(),
            }
            for claim_id in claim_ids
        ],
    )


def refunds(n: int, *, institution_id: int | None, company_id: int | None, status: str = "pending_approval") -> None:
    """``n`` refunds of 10.00 on one payment of 100,000.00."""
    from blueprints.payment.models import MethodKind, Payment, PaymentKind, Refund, RefundStatus

    payment = Payment(
        number=f"PAY-BULK-{next(_seq):07d}",
        kind=PaymentKind.INVOICE,
        reference_id=1,
        payer="patient",
        institution_id=institution_id,
        company_id=company_id,
        amount=Decimal("100000.00"),
        method=MethodKind.CASH,
        paid_on=clock.today(),
    )
    db.session.add(payment)
    db.session.flush()
    db.session.execute(
        insert(Refund),
        [
            {
                "payment_id": payment.id,
                "institution_id": institution_id,
                "company_id": company_id,
                "amount": Decimal("10.00"),
                "reason": "Paid twice",
                "status": RefundStatus(status),
            }
            for _ in range(n)
        ],
    )


def preauthorizations(n: int, *, member, benefit, institution_id: int | None, status: str = "requested") -> None:
    from blueprints.insurance.models import Preauthorization, PreauthStatus

    today = clock.today()
    db.session.execute(
        insert(Preauthorization),
        [
            {
                "code": f"PA-BULK-{k:07d}",
                "member_id": member.id,
                "benefit_id": benefit.id,
                "company_id": member.company_id,
                "valid_from": today,
                "valid_to": today + timedelta(days=30),
                "status": PreauthStatus(status),
                "requested_by_institution_id": institution_id,
            }
            for k in _numbers(n)
        ],
    )


def notifications(
    n: int, *, status: str = "dead", institution_id: int | None = None, company_id: int | None = None
) -> None:
    from blueprints.notification.models import Channel, Notification, Status

    db.session.execute(
        insert(Notification),
        [
            {
                "template_code": "invoice.issued",
                "channel": Channel.EMAIL,
                "recipient_address": f"patient{k}@example.com",
                "subject": "Your invoice",
                "body": "Your invoice is ready.",
                "status": Status(status),
                "attempts": 5,
                "institution_id": institution_id,
                "company_id": company_id,
            }
            for k in _numbers(n)
        ],
    )
