"""Disputes: a provider (or the member, through the insurer's staff) contests a rejected or partly approved claim;
an adjudicator of the member's insurer upholds it (the claim is decided again, with overrides) or dismisses it
(the decision stands). Evidence comes as content-checked attachments (``medcover.uploads``)."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, update

from blueprints.claims import services
from blueprints.claims.models import (
    Claim,
    ClaimItem,
    ClaimStatus,
    Dispute,
    DisputeAttachment,
    DisputeStatus,
)
from blueprints.core import services as core
from medcover import clock, fields, uploads
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import publish
from medcover.extensions import db
from medcover.rbac import Role, Tenant, ensure_owned, scope, tenant_of

ATTACHMENT_FOLDER = "disputes"
REASON_CHARS = 2000
#: the claim statuses a dispute may contest (ADJUDICATION.md: ``rejected | partially_approved -> disputed``)
DISPUTABLE = (ClaimStatus.REJECTED, ClaimStatus.PARTIALLY_APPROVED)
#: the line decisions a dispute may name
DISPUTABLE_LINES = ("rejected", "adjusted")
#: the provider's staff who raise disputes on their claims
PROVIDER_RAISERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.INTEGRATION})
#: the insurer's staff who raise one on the member's behalf (the member has no account)
MEMBER_AGENTS = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.INTEGRATION})
OPENERS = PROVIDER_RAISERS | MEMBER_AGENTS
RESOLVERS = frozenset({Role.ADMIN, Role.ADJUDICATOR})
#: who reads disputes (each sees only those of the claims they may see)
READERS = frozenset(
    {Role.ADMIN, Role.BILLING_CLERK, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION}
)
MAX_OVERRIDES = 100


# --- checks --------------------------------------------------------------------------------------


def _paragraph(value, field: str, limit: int = REASON_CHARS) -> str:
    """Free text over several lines: trimmed, required, bounded, no control characters but line breaks."""
    text = str(value or "").replace("\r\n", "\n").strip()
    if not text:
        raise Invalid.field(field, "This field is required.")
    if len(text) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise Invalid.field(field, "Remove the control characters.")
    return text


def _raised_by_kind(actor, tenant: Tenant) -> str:
    """``provider`` for the claim's institution (or a platform admin), ``member`` for the insurer's staff."""
    if tenant.institution_id is not None and actor.role in PROVIDER_RAISERS:
        return "provider"
    if tenant.company_id is not None and actor.role in MEMBER_AGENTS:
        return "member"
    if tenant.is_global and actor.role is Role.ADMIN:
        return "provider"
    raise Forbidden("Disputes are raised by the provider's billing staff or, for the member, the insurer's staff.")


def _line_nos(values, items: list[ClaimItem]) -> list[int]:
    """The disputed lines: each on the claim and rejected or adjusted; none given: the whole claim."""
    if values is None or values == []:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, list | tuple | set):
        raise Invalid.field("line_nos", "Give the disputed lines as a list of line numbers.")
    by_no = {item.line_no: item for item in items}
    chosen: set[int] = set()
    for value in values:
        number = fields.whole(value, "line_nos", 1, 10_000)
        item = by_no.get(number)
        if item is None:
            raise Invalid.field("line_nos", f"The claim has no line {number}.")
        if item.decision not in DISPUTABLE_LINES:
            raise Invalid.field(
                "line_nos", f"Line {number} was {item.decision or 'not decided'}; dispute rejected or adjusted lines."
            )
        chosen.add(number)
    return sorted(chosen)


def _clean_overrides(overrides) -> dict[int, tuple[Decimal, str]]:
    """``{line_no: (amount, note)}``; the engine checks each against the line it decides again (M01)."""
    clean: dict[int, tuple[Decimal, str]] = {}
    if not overrides:
        return clean
    if len(overrides) > MAX_OVERRIDES:
        raise Invalid.field("overrides", f"Give at most {MAX_OVERRIDES} overrides.")
    for raw_line, value in overrides.items():
        line_no = fields.whole(raw_line, "overrides", 1, 10_000)
        try:
            amount, note = value
        except (TypeError, ValueError):
            raise Invalid.field("overrides", f"Line {line_no}: give an amount and a note.") from None
        amount = fields.amount(amount, "overrides")
        note = fields.text(note, "overrides", 500)
        clean[line_no] = (amount, note)
    return clean


# --- opening -------------------------------------------------------------------------------------


def open_dispute(*, actor, claim_id: int, reason: str, line_nos=None) -> Dispute:
    """Contest a rejected or partly approved claim (some of its lines, or all): the claim becomes ``disputed``
    and the insurer's adjudicators are told. One open dispute per claim."""
    tenant = tenant_of(actor)
    claim = services.get_claim(tenant, claim_id)  # another tenant's: 404
    kind = _raised_by_kind(actor, tenant)
    reason = _paragraph(reason, "reason")
    if claim.company_id is None:
        raise Conflict(
            f"Claim {claim.claim_number} has no insurer (no member has its number); there is no one to dispute it with."
        )
    if claim.status is ClaimStatus.DISPUTED or _open_dispute_id(claim.id) is not None:
        raise Conflict(f"Claim {claim.claim_number} already has an open dispute.")
    if claim.status not in DISPUTABLE:
        raise Conflict(
            f"Claim {claim.claim_number} is {claim.status.value.replace('_', ' ')}; only rejected or partially "
            "approved claims can be disputed."
        )
    lines = _line_nos(line_nos, services.items_of(claim.id))
    before = claim.status
    dispute = Dispute(
        claim_id=claim.id,
        institution_id=claim.institution_id,
        company_id=claim.company_id,
        raised_by_kind=kind,
        raised_by_id=actor.id,
        reason=reason,
        line_nos=lines,
        status=DisputeStatus.OPEN,
        claim_status_before=before.value,
        created_at=clock.now(),
    )
    db.session.add(dispute)
    db.session.flush()
    # The claim's guarded transition: of two disputes opened at once, the second finds the claim moved (409).
    services.move_claim(claim, ClaimStatus.DISPUTED, by_id=actor.id, note=f"dispute #{dispute.id} opened")
    _audit(
        actor,
        "open",
        dispute,
        after={"claim_id": claim.id, "claim_status_before": before.value, "line_nos": lines, "raised_by": kind},
    )
    adjudicators = core.user_ids_with_role(Role.ADJUDICATOR, Tenant(None, claim.company_id))
    publish("dispute.opened", _payload(dispute, claim, adjudicators))
    return dispute


def _open_dispute_id(claim_id: int) -> int | None:
    return db.session.scalar(
        select(Dispute.id).where(Dispute.claim_id == claim_id, Dispute.status == DisputeStatus.OPEN).limit(1)
    )


# --- resolving -----------------------------------------------------------------------------------


def resolve_dispute(*, actor, dispute_id: int, status: str, resolution: str, overrides=None) -> Dispute:
    """An adjudicator of the member's insurer ends an open dispute: ``upheld`` decides the claim again with the
    engine on today's facts (a pre-authorisation approved since ...) and the adjudicator's overrides (M01), so
    it ends approved, partially approved or rejected, never pending review; ``dismissed`` restores the status the
    claim had. The resolution text is required either way."""
    tenant = tenant_of(actor)
    dispute = get_dispute(tenant, dispute_id)  # another insurer's: 404
    if actor.role not in RESOLVERS or tenant.institution_id is not None:
        raise Forbidden("Disputes are resolved by the insurer's adjudicators.")
    try:
        target = DisputeStatus(str(status or "").strip())
    except ValueError:
        target = None
    if target not in (DisputeStatus.UPHELD, DisputeStatus.DISMISSED):
        raise Invalid.field("status", "Choose upheld or dismissed.")
    resolution = _paragraph(resolution, "resolution")
    clean = _clean_overrides(overrides)
    if target is DisputeStatus.DISMISSED and clean:
        raise Invalid.field(
            "overrides", "Overrides apply when a dispute is upheld; a dismissed dispute changes no amount."
        )
    if dispute.status is not DisputeStatus.OPEN:
        raise Conflict(f"Dispute #{dispute.id} is already {dispute.status.value}.")
    claim = services.get_claim(tenant, dispute.claim_id)
    if claim.status is not ClaimStatus.DISPUTED:
        raise Conflict(f"Claim {claim.claim_number} is {claim.status.value}, not disputed.")
    note = f"dispute #{dispute.id} {target.value}: {' '.join(resolution.split())}"[:500]
    # Everything is checked before anything is written: the new decision is worked out first.
    redecided = services.redecision(claim, clean) if target is DisputeStatus.UPHELD else None
    now = clock.now()
    moved = db.session.execute(
        update(Dispute)
        .where(Dispute.id == dispute.id, Dispute.status == DisputeStatus.OPEN)
        .values(status=target, resolution=resolution, resolved_by_id=actor.id, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        db.session.refresh(dispute)
        raise Conflict(f"Someone else resolved dispute #{dispute.id} a moment ago; it is {dispute.status.value}.")
    db.session.refresh(dispute)
    if redecided is not None:
        items, decision, scheme_id = redecided
        services.record_decision(
            claim, items, decision, source="dispute", by_id=actor.id, note=note, scheme_id=scheme_id
        )
    else:
        services.move_claim(claim, ClaimStatus(dispute.claim_status_before), by_id=actor.id, note=note)
    _audit(
        actor,
        "resolve",
        dispute,
        before={"status": "open", "claim_status": "disputed"},
        after={
            "status": target.value,
            "claim_status": claim.status.value,
            "total_approved": str(claim.total_approved),
            "overrides": {str(n): str(amount) for n, (amount, _note) in sorted(clean.items())},
        },
    )
    clerks = core.user_ids_with_role(Role.BILLING_CLERK, Tenant(claim.institution_id, None))
    recipients = list(dict.fromkeys([*([dispute.raised_by_id] if dispute.raised_by_id else []), *clerks]))
    publish("dispute.resolved", _payload(dispute, claim, recipients))
    return dispute


# --- attachments ---------------------------------------------------------------------------------


def add_attachment(*, actor, dispute_id: int, filename: str, stream) -> DisputeAttachment:
    """Evidence for an open dispute: a PDF, PNG or JPEG checked by its content, stored under a generated name;
    nothing is written unless every check passes."""
    tenant = tenant_of(actor)
    dispute = get_dispute(tenant, dispute_id)
    try:
        _raised_by_kind(actor, tenant)
    except Forbidden:
        raise Forbidden("Evidence is added by those who may raise the dispute.") from None
    if dispute.status is not DisputeStatus.OPEN:
        raise Conflict(f"Dispute #{dispute.id} is {dispute.status.value}; evidence is added while it is open.")
    stored = uploads.store(ATTACHMENT_FOLDER, filename, stream)
    try:
        row = DisputeAttachment(
            dispute_id=dispute.id,
            filename=stored.filename,
            stored_name=stored.stored_name,
            content_type=stored.content_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            uploaded_by_id=actor.id,
            uploaded_at=clock.now(),
        )
        db.session.add(row)
        db.session.flush()
        core.record_audit(
            actor,
            "create",
            "dispute_attachment",
            row.id,
            after={"dispute_id": dispute.id, "content_type": stored.content_type, "size_bytes": stored.size_bytes},
            institution_id=dispute.institution_id,
            company_id=dispute.company_id,
        )
    except BaseException:
        uploads.discard(ATTACHMENT_FOLDER, stored.stored_name)
        raise
    return row


def open_attachment(*, actor, attachment_id: int) -> tuple[Path, DisputeAttachment]:
    """The stored file and its row, for those who may see the claim; the read is audited."""
    row = db.session.get(DisputeAttachment, attachment_id) if attachment_id else None
    if row is None:
        raise NotFound("No such attachment.")
    dispute = get_dispute(tenant_of(actor), row.dispute_id)
    if actor.role not in READERS:
        raise Forbidden("You may not read dispute evidence.")
    path = uploads.stored_path(ATTACHMENT_FOLDER, row.stored_name)
    core.record_audit(
        actor,
        "download",
        "dispute_attachment",
        row.id,
        summary=f"dispute {dispute.id}",
        institution_id=dispute.institution_id,
        company_id=dispute.company_id,
    )
    return path, row


def attachments_of(dispute_ids) -> dict[int, list[DisputeAttachment]]:
    ids = {int(i) for i in dispute_ids if i}
    found: dict[int, list[DisputeAttachment]] = defaultdict(list)
    if ids:
        stmt = select(DisputeAttachment).where(DisputeAttachment.dispute_id.in_(ids)).order_by(DisputeAttachment.id)
        for row in db.session.scalars(stmt):
            found[row.dispute_id].append(row)
    return found


# --- reading -------------------------------------------------------------------------------------


def get_dispute(tenant: Tenant, dispute_id: int) -> Dispute:
    dispute = db.session.get(Dispute, dispute_id) if dispute_id else None
    if dispute is None:
        raise NotFound("No such dispute.")
    ensure_owned(tenant, dispute)
    return dispute


def disputes_of(claim_id: int) -> list[Dispute]:
    return list(db.session.scalars(select(Dispute).where(Dispute.claim_id == claim_id).order_by(Dispute.id)))


def disputes_query(
    tenant: Tenant,
    *,
    status: str = "",
    claim_id: int | None = None,
    institution_id: int | None = None,
    raised_by_kind: str = "",
):
    """Newest first, the tenant's own (the provider's, or the insurer's); filters are allowlisted values."""
    stmt = scope(select(Dispute), Dispute, tenant)
    if status in {s.value for s in DisputeStatus}:
        stmt = stmt.where(Dispute.status == DisputeStatus(status))
    if claim_id:
        stmt = stmt.where(Dispute.claim_id == claim_id)
    if institution_id:
        stmt = stmt.where(Dispute.institution_id == institution_id)
    if raised_by_kind in ("provider", "member"):
        stmt = stmt.where(Dispute.raised_by_kind == raised_by_kind)
    return stmt.order_by(Dispute.created_at.desc(), Dispute.id.desc())


def claim_numbers(claim_ids) -> dict[int, str]:
    """Claim numbers for a page of disputes, in one query."""
    ids = {int(i) for i in claim_ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(Claim.id, Claim.claim_number).where(Claim.id.in_(ids))).all())


def may_resolve(actor, dispute: Dispute) -> bool:
    """For pages: whether to show the resolve form."""
    return (
        dispute.status is DisputeStatus.OPEN
        and actor.role in RESOLVERS
        and tenant_of(actor).institution_id is None
        and tenant_of(actor).owns(dispute.institution_id, dispute.company_id)
    )


def may_attach(actor, dispute: Dispute) -> bool:
    tenant = tenant_of(actor)
    if dispute.status is not DisputeStatus.OPEN or not tenant.owns(dispute.institution_id, dispute.company_id):
        return False
    try:
        _raised_by_kind(actor, tenant)
    except Forbidden:
        return False
    return True


def may_open(actor, claim: Claim) -> bool:
    """For the claim page: whether to offer "Dispute this claim"."""
    try:
        _raised_by_kind(actor, tenant_of(actor))
    except Forbidden:
        return False
    return claim.status in DISPUTABLE and claim.company_id is not None and _open_dispute_id(claim.id) is None


# --- events and audit ----------------------------------------------------------------------------


def _payload(dispute: Dispute, claim: Claim, user_ids: list[int]) -> dict:
    """The notification domain's contract: recipients, the template context, the tenant."""
    return {
        "dispute_id": dispute.id,
        "claim_id": claim.id,
        "institution_id": dispute.institution_id,
        "company_id": dispute.company_id,
        "status": dispute.status.value,
        "recipients": [{"user_id": uid} for uid in user_ids],
        "context": {
            "dispute_id": dispute.id,
            "claim_number": claim.claim_number,
            "status": dispute.status.value,
            "reason": dispute.reason[:500],
            "resolution": (dispute.resolution or "")[:500],
            "claim_status": claim.status.value.replace("_", " "),
            "total_approved": f"{claim.total_approved:,.2f}",
            "raised_by": dispute.raised_by_kind,
        },
    }


def _audit(actor, action: str, dispute: Dispute, *, before=None, after=None) -> None:
    core.record_audit(
        actor,
        action,
        "dispute",
        dispute.id,
        before=before,
        after=after,
        institution_id=dispute.institution_id,
        company_id=dispute.company_id,
    )
