"""Running a reconciliation: for one provider and period of service dates (optionally one insurer), what the
insurer approved on each claim against what it paid, and the insured invoices nobody claimed. One run stores
one ``ReconciliationRecord`` per line under a run id; it reads a fixed number of times however many claims."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, or_, select

from blueprints.billing import services as billing
from blueprints.claims.models import Claim, ClaimPayment, ClaimStatus, ReconciliationRecord, ReconciliationStatus
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock, fields, requested_work
from medcover.errors import Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Role, Tenant, tenant_of

#: who runs a reconciliation: finance officers and admins (each for their own institution or insurer)
RUNNERS = frozenset({Role.ADMIN, Role.FINANCE_OFFICER})
#: who reads a run: the provider's staff (all its lines) and the insurer's (only lines of their company)
READERS = frozenset(
    {Role.ADMIN, Role.FINANCE_OFFICER, Role.BILLING_CLERK, Role.ADJUDICATOR, Role.AUDITOR, Role.INTEGRATION}
)
MAX_DAYS = 366
#: a requested run is requested work about ("reconciliation", its run id) until its lines are stored
RECONCILIATION_WORK = "reconciliation"
#: the claims a run looks at: every one filed (a draft is not yet a claim; a void one never was)
FILED = tuple(set(ClaimStatus) - {ClaimStatus.DRAFT, ClaimStatus.VOID})
#: the invoices a run looks at: issued ones (billing's statuses)
EVERYONE = Tenant(None, None)


@dataclass(frozen=True)
class Parameters:
    institution_id: int
    period_start: date
    period_end: date
    company_id: int | None


def _id(value, field: str) -> int | None:
    if value is None or value == "":
        return None
    return fields.whole(value, field, 1, 2**31 - 1)


def check_parameters(*, actor, institution_id, period_start, period_end, company_id=None) -> Parameters:
    """Who may run what: a provider's finance staff their own institution; an insurer's, any provider but only
    their own company's claims; platform admins anything."""
    if actor.role not in RUNNERS:
        raise Forbidden("Reconciliations are run by finance officers and admins.")
    tenant = tenant_of(actor)
    errors: dict[str, list[str]] = {}
    institution = None
    try:
        institution = _id(institution_id, "institution_id")
        if institution is None:
            raise Invalid.field("institution_id", "Choose the provider.")
        if tenant.institution_id is not None and tenant.institution_id != institution:
            raise Invalid.field("institution_id", "No such institution.")
        try:
            hospital.get_institution(EVERYONE, institution)
        except NotFound:
            raise Invalid.field("institution_id", "No such institution.") from None
    except Invalid as exc:
        errors.update(exc.errors)
    company = None
    try:
        company = _id(company_id, "company_id")
        if tenant.company_id is not None:
            if company is not None and company != tenant.company_id:
                raise Invalid.field("company_id", "No such insurance company.")
            company = tenant.company_id
        elif company is not None:
            try:
                insurance.get_company(EVERYONE, company)
            except NotFound:
                raise Invalid.field("company_id", "No such insurance company.") from None
    except Invalid as exc:
        errors.update(exc.errors)
    start = end = None
    for name, value in (("period_start", period_start), ("period_end", period_end)):
        try:
            day = fields.day(value, name)
        except Invalid as exc:
            errors.update(exc.errors)
            continue
        start, end = (day, end) if name == "period_start" else (start, day)
    if start and end and end < start:
        errors["period_end"] = ["The period ends before it starts."]
    elif start and end and (end - start).days >= MAX_DAYS:
        errors["period_end"] = [f"A period is at most {MAX_DAYS} days."]
    if errors:
        raise Invalid("The reconciliation has invalid fields.", errors)
    return Parameters(institution, start, end, company)


def run_id_of(value) -> str:
    try:
        return str(uuid.UUID(str(value or "").strip()))
    except ValueError:
        raise NotFound("No such reconciliation.") from None


# --- running -------------------------------------------------------------------------------------


def start_reconciliation(*, actor, institution_id, period_start, period_end, company_id=None) -> str:
    """Check the request now (422 / 403 at once), run it as a job after commit; the run id names its report."""
    params = check_parameters(
        actor=actor,
        institution_id=institution_id,
        period_start=period_start,
        period_end=period_end,
        company_id=company_id,
    )
    run_id = str(uuid.uuid4())
    requested_work.request(
        reconcile,
        actor.id,
        params.institution_id,
        params.period_start.isoformat(),
        params.period_end.isoformat(),
        params.company_id,
        run_id,
        about=(RECONCILIATION_WORK, run_id),
        queue="reconciliation",
    )
    core.record_audit(
        actor,
        "start",
        "reconciliation",
        run_id,
        after=_described(params),
        institution_id=params.institution_id,
        company_id=params.company_id,
    )
    return run_id


def reconcile(actor_id: int, institution_id: int, period_start: str, period_end: str, company_id, run_id: str):
    """The job (idempotent: a run whose lines exist is not run again)."""
    actor = core.user_by_id(actor_id)
    if actor is None or not actor.active:
        return None
    return run_reconciliation(
        actor=actor,
        institution_id=institution_id,
        period_start=period_start,
        period_end=period_end,
        company_id=company_id,
        run_id=run_id,
    )


def run_reconciliation(
    *, actor, institution_id, period_start, period_end, company_id=None, run_id: str | None = None
) -> str:
    """Match the provider's claims of the period with payments and insured invoices; store the lines."""
    params = check_parameters(
        actor=actor,
        institution_id=institution_id,
        period_start=period_start,
        period_end=period_end,
        company_id=company_id,
    )
    run_id = run_id_of(run_id) if run_id else str(uuid.uuid4())
    if db.session.scalar(select(ReconciliationRecord.id).where(ReconciliationRecord.run_id == run_id).limit(1)):
        return run_id
    lines = _lines(params)
    now = clock.now()
    common = {
        "run_id": run_id,
        "institution_id": params.institution_id,
        "period_start": params.period_start,
        "period_end": params.period_end,
        "created_by_id": actor.id,
        "created_at": now,
    }
    if lines:
        # One executemany, however many lines.
        db.session.execute(insert(ReconciliationRecord), [common | line for line in lines])
    counts = {s.value: 0 for s in ReconciliationStatus}
    for line in lines:
        counts[line["status"].value] += 1
    core.record_audit(
        actor,
        "run",
        "reconciliation",
        run_id,
        after=_described(params) | {"lines": counts},
        institution_id=params.institution_id,
        company_id=params.company_id,
    )
    db.session.flush()
    return run_id


def _insured_invoice_ids(params: Parameters) -> list[int]:
    """The provider's issued invoices with an insurer part and a service date in the period, as billing says."""
    return billing.claimable_invoice_ids(
        institution_ids=[params.institution_id],
        company_id=params.company_id,
        served_from=params.period_start,
        served_to=params.period_end,
    )


def _claim_filter(params: Parameters, invoice_ids: list[int]) -> list:
    """Claims of the provider filed for the period, or billing one of its insured invoices."""
    where = [
        Claim.institution_id == params.institution_id,
        Claim.status.in_(FILED),
        or_(Claim.service_date.between(params.period_start, params.period_end), Claim.invoice_id.in_(invoice_ids)),
    ]
    if params.company_id is not None:
        where.append(Claim.company_id == params.company_id)
    return where


def _status(approved: Decimal, paid: Decimal) -> ReconciliationStatus:
    if paid == approved:
        return ReconciliationStatus.MATCHED
    if paid > approved:
        return ReconciliationStatus.OVERPAID
    if paid <= ZERO:
        return ReconciliationStatus.UNPAID
    return ReconciliationStatus.UNDERPAID


def _lines(params: Parameters) -> list[dict]:
    """Six reads whatever the size: invoices (1), claims (1), payments (1), invoice summaries (3)."""
    invoice_ids = _insured_invoice_ids(params)
    where = _claim_filter(params, invoice_ids)
    claims = db.session.execute(
        select(
            Claim.id,
            Claim.claim_number,
            Claim.company_id,
            Claim.invoice_id,
            Claim.total_approved,
        )
        .where(*where)
        .order_by(Claim.service_date, Claim.id)
    ).all()
    paid = {
        claim_id: money(str(total))
        for claim_id, total in db.session.execute(
            select(ClaimPayment.claim_id, func.sum(ClaimPayment.amount))
            .join(Claim, Claim.id == ClaimPayment.claim_id)
            .where(*where)
            .group_by(ClaimPayment.claim_id)
        )
    }
    summaries = billing.invoice_summaries(set(invoice_ids) | {c.invoice_id for c in claims if c.invoice_id})
    lines: list[dict] = []
    claimed: set[int] = set()
    for claim in claims:
        invoice = summaries.get(claim.invoice_id) if claim.invoice_id else None
        approved = money(claim.total_approved)
        received = paid.get(claim.id, ZERO)
        if invoice is not None:
            claimed.add(invoice.id)
        lines.append(
            {
                "company_id": claim.company_id,
                "claim_id": claim.id,
                "claim_number": claim.claim_number,
                "invoice_id": invoice.id if invoice else None,
                "invoice_number": invoice.number if invoice else None,
                "invoiced": invoice.insurer_part if invoice else ZERO,
                "approved": approved,
                "paid": received,
                "difference": money(received - approved),
                "status": _status(approved, received),
            }
        )
    for invoice_id in sorted(set(invoice_ids) - claimed):
        invoice = summaries[invoice_id]
        # What the insurer paid on the invoice itself (its part, less credits, less what is still due).
        received = max(ZERO, money(invoice.insurer_due - invoice.insurer_balance)) if invoice.insurer_due else ZERO
        lines.append(
            {
                "company_id": invoice.company_id,
                "claim_id": None,
                "claim_number": None,
                "invoice_id": invoice.id,
                "invoice_number": invoice.number,
                "invoiced": invoice.insurer_part,
                "approved": ZERO,
                "paid": received,
                "difference": money(received - invoice.insurer_part),
                "status": ReconciliationStatus.UNCLAIMED,
            }
        )
    return lines


def _described(params: Parameters) -> dict:
    return {
        "institution_id": params.institution_id,
        "company_id": params.company_id,
        "period_start": params.period_start.isoformat(),
        "period_end": params.period_end.isoformat(),
    }
