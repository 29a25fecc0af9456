"""Evidence on disputes: content-checked attachments (PDF, PNG, JPEG) added while a dispute is open, stored under
generated names (``medcover.uploads``), read by those who may see the claim; every upload and read audited."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from blueprints.claims.models import DisputeAttachment, DisputeStatus
from blueprints.claims.services.disputes.raising import READERS, get_dispute, raised_by_kind
from blueprints.core import services as core
from medcover import clock, uploads
from medcover.errors import Conflict, Forbidden, NotFound
from medcover.extensions import db
from medcover.labels import label
from medcover.rbac import tenant_of

ATTACHMENT_FOLDER = "disputes"


def add_attachment(*, actor, dispute_id: int, filename: str, stream) -> DisputeAttachment:
    """Evidence for an open dispute: a PDF, PNG or JPEG checked by its content, stored under a generated name;
    nothing is written unless every check passes."""
    tenant = tenant_of(actor)
    dispute = get_dispute(tenant, dispute_id)
    try:
        raised_by_kind(actor, tenant)
    except Forbidden:
        raise Forbidden("Evidence is added by those who may raise the dispute.") from None
    if dispute.status is not DisputeStatus.OPEN:
        raise Conflict(f"This dispute is {label(dispute.status).lower()}; evidence is added while it is open.")
    with uploads.kept(ATTACHMENT_FOLDER, filename, stream) as stored:
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
        summary="evidence for a dispute",
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
