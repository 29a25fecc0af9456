"""The audit log: one entry per change that matters, written in the change's transaction; and its reading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from blueprints.core.models import AuditLog, User
from medcover import clock
from medcover.audit import DENIED, READ, read_recorded
from medcover.bulk import insert_rows
from medcover.context import current_origin
from medcover.extensions import db
from medcover.rbac import scope, tenant_of


def record_audit(
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id=None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    summary: str | None = None,
    institution_id: int | None = None,
    company_id: int | None = None,
    actor_label: str | None = None,
) -> AuditLog | None:
    """Write one audit entry in the current transaction, with where the request came from. ``actor_label`` names
    an actor that is not a person ("Adjudication engine"). A read's entry (a page that shows a patient) is one
    plain INSERT, not a unit of work's flush: it is written on every such page, and nothing reads it back."""
    columns = _entry(
        actor,
        action,
        entity_type,
        entity_id,
        before=before,
        after=after,
        summary=summary,
        institution_id=institution_id,
        company_id=company_id,
        actor_label=actor_label,
    )
    if action == READ:
        record_audits([columns], built=True)
        return None
    entry = AuditLog(**columns)
    db.session.add(entry)
    db.session.flush()
    return entry


def record_audits(entries: list[dict], *, built: bool = False) -> None:
    """Many entries in one multi-row INSERT (a batch job's): each a dict of ``record_audit``'s arguments (or of the
    entry's columns, already ``built``)."""
    insert_rows(AuditLog.__table__, entries if built else [_entry(**entry) for entry in entries])
    if any(entry["action"] == READ for entry in entries):
        read_recorded()


def _entry(actor: User | None, action: str, entity_type: str, entity_id=None, *, actor_label=None, **details) -> dict:
    """An entry's columns; ``details`` are ``record_audit``'s before, after, summary, institution_id, company_id."""
    origin = current_origin()
    return {
        "occurred_at": clock.now(),
        "actor_id": actor.id if actor is not None else None,
        "actor_label": actor.email if actor is not None else actor_label,
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "ip_address": origin.ip_address,
        "request_id": origin.request_id,
        "channel": origin.channel,
        "route": origin.route,
        **dict.fromkeys(("institution_id", "company_id", "before", "after", "summary")),
        **details,
    }


def record_denial(user: User, *, status: int, why: str, kind: str, ident: str | None) -> AuditLog:
    """A refused request (403, or the 404 that hides another tenant's record): who, the route (from the
    request's origin), what was asked for and why; kept where the person's own organisation can read it."""
    return record_audit(
        user,
        DENIED,
        kind,
        ident,
        summary=why,
        after={"status": status},
        institution_id=user.institution_id,
        company_id=user.company_id,
    )


@dataclass(frozen=True)
class AuditFilter:
    user: str = ""
    entity_type: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_query(viewer: User, filters: AuditFilter):
    """Audit entries the viewer may read, newest first, filtered; a select to page or export."""
    stmt = select(AuditLog).order_by(AuditLog.occurred_at.desc(), AuditLog.id.desc())
    stmt = scope(stmt, AuditLog, tenant_of(viewer))
    if filters.user:
        stmt = stmt.where(AuditLog.actor_label.ilike(contains_pattern(filters.user), escape="\\"))
    if filters.entity_type:
        stmt = stmt.where(AuditLog.entity_type == filters.entity_type)
    if filters.action:
        stmt = stmt.where(AuditLog.action == filters.action)
    if filters.date_from:
        # Dates are the site's calendar days, as the page shows the times.
        stmt = stmt.where(AuditLog.occurred_at >= clock.day_start(filters.date_from))
    if filters.date_to and filters.date_to < date.max:  # the last day there is needs no upper bound
        stmt = stmt.where(AuditLog.occurred_at < clock.day_start(filters.date_to + timedelta(days=1)))
    return stmt


def audit_entity_types() -> list[str]:
    return list(db.session.scalars(select(AuditLog.entity_type).distinct().order_by(AuditLog.entity_type)))


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape character ``\\``) matching ``text`` anywhere, its own ``%`` and ``_`` literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
