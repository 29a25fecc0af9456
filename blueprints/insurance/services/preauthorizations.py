"""Pre-authorisations: a hospital (or the insurer) asks for a benefit for a member ahead of the service;
the member's insurer approves or declines. Who sees which: ``_sees_preauthorization``."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import select

from blueprints.core import services as core
from blueprints.insurance.models import Member, Preauthorization, PreauthStatus
from blueprints.insurance.services import companies
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Tenant, tenant_of


def request_preauthorization(
    *,
    actor,
    member_number: str,
    benefit_code: str,
    valid_from: date,
    valid_to: date,
    notes: str = "",
    approve: bool = False,
) -> Preauthorization:
    """Record a request for the member's insurer to decide.

    Hospital staff ask for members of any insurer and the row remembers their institution; they never
    approve (``approve=True`` from them is refused, not quietly dropped). Insurer staff record requests for
    their own members and may approve in the same step (the API's fixed shape does).
    """
    tenant = tenant_of(actor)
    hospital_id = tenant.institution_id
    if hospital_id is not None and approve:
        raise Forbidden("Only the insurer decides pre-authorisations.")
    member = db.session.scalar(select(Member).where(Member.member_number == (member_number or "").strip().upper()))
    if member is None:
        raise Invalid.field("member_number", "No member with that number.")
    if tenant.company_id is not None and tenant.company_id != member.company_id:
        raise Invalid.field("member_number", "No member with that number.")
    benefit = companies.benefit_by_code((benefit_code or "").strip())
    if benefit is None:
        raise Invalid.field("benefit_code", "No benefit with that code.")
    if not isinstance(valid_from, date) or not isinstance(valid_to, date):
        raise Invalid.field("valid_from", "Enter dates (YYYY-MM-DD).")
    if valid_to < valid_from:
        raise Invalid.field("valid_to", "The end comes before the start.")
    if (valid_to - valid_from).days > 366:
        raise Invalid.field("valid_to", "A pre-authorisation is valid for at most a year.")
    if len(notes or "") > 2000:
        raise Invalid.field("notes", "Use at most 2000 characters.")
    row = Preauthorization(
        code="PA-" + secrets.token_hex(4).upper(),
        member_id=member.id,
        benefit_id=benefit.id,
        company_id=member.company_id,
        valid_from=valid_from,
        valid_to=valid_to,
        status=PreauthStatus.REQUESTED,
        notes=notes or None,
        requested_by_institution_id=hospital_id,
        requested_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "preauthorization",
        row.id,
        after={"code": row.code, "benefit": benefit.code},
        # the requesting hospital's auditors see the entry too, as they see the row
        institution_id=hospital_id,
        company_id=member.company_id,
    )
    if approve:
        decide_preauthorization(actor=actor, preauthorization_id=row.id, approve=True)
    return row


def decide_preauthorization(*, actor, preauthorization_id: int, approve: bool, notes: str = "") -> Preauthorization:
    tenant = tenant_of(actor)
    # Before the lookup: hospital staff see the requests they made, but deciding is the insurer's alone.
    if tenant.institution_id is not None:
        raise Forbidden("Only the insurer decides pre-authorisations.")
    row = get_preauthorization(tenant, preauthorization_id)
    if row.status is not PreauthStatus.REQUESTED:
        raise Conflict(f"This pre-authorisation is already {row.status.value}.")
    row.status = PreauthStatus.APPROVED if approve else PreauthStatus.DECLINED
    row.decided_by_id = actor.id
    if notes:
        row.notes = "\n".join(filter(None, [row.notes, notes]))[:2000]
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "preauthorization",
        row.id,
        before={"status": "requested"},
        after={"status": row.status.value},
        institution_id=row.requested_by_institution_id,
        company_id=row.company_id,
    )
    return row


def _sees_preauthorization(tenant: Tenant, row: Preauthorization) -> bool:
    """A hospital sees the requests it made; an insurer its members' pre-authorisations, whoever asked."""
    if tenant.is_global:
        return True
    if tenant.institution_id is not None:
        return row.requested_by_institution_id == tenant.institution_id
    return row.company_id == tenant.company_id


def get_preauthorization(tenant: Tenant, preauthorization_id: int) -> Preauthorization:
    row = db.session.get(Preauthorization, preauthorization_id) if preauthorization_id else None
    if row is None or not _sees_preauthorization(tenant, row):
        raise NotFound("No such pre-authorisation.")
    return row


def preauthorizations_query(tenant: Tenant, status: str = ""):
    """The tenant's pre-authorisations, newest first (who sees which: ``_sees_preauthorization``)."""
    stmt = select(Preauthorization).order_by(Preauthorization.id.desc())
    if tenant.institution_id is not None:
        stmt = stmt.where(Preauthorization.requested_by_institution_id == tenant.institution_id)
    elif tenant.company_id is not None:
        stmt = stmt.where(Preauthorization.company_id == tenant.company_id)
    if status in {s.value for s in PreauthStatus}:
        stmt = stmt.where(Preauthorization.status == PreauthStatus(status))
    return stmt


def preauthorization_members(tenant: Tenant, rows) -> dict[int, Member]:
    """Batch form: the members named by pre-authorisations the tenant sees, by id, in one query.

    A hospital does not see an insurer's member list, but it does see the members it asked for.
    """
    ids = {row.member_id for row in rows if _sees_preauthorization(tenant, row)}
    if not ids:
        return {}
    return {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))}
