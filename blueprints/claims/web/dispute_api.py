"""Disputes over the JSON API (API.md: ``POST /disputes``, ``PUT /disputes/{id}``; the rest in the same style),
with their evidence. The services decide who may do what; these routes parse, call one service and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import request
from pydantic import Field, Strict

from blueprints.claims import api_bp, services
from blueprints.claims.models import DisputeStatus
from blueprints.claims.services import disputes
from medcover.api import (
    Id,
    Out,
    Schema,
    actor,
    choice_arg,
    created,
    documented,
    int_arg,
    jsonify_model,
    page_model,
    page_response,
    parse,
    referenced,
    saved,
    tenant,
)
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import allow
from medcover.uploads import download, file_part

TAG = "Disputes and reconciliation"
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}
LineNo = Annotated[int, Strict(), Field(ge=1, le=10_000)]
Text = Annotated[str, Field(min_length=1, max_length=disputes.REASON_CHARS)]


# --- bodies --------------------------------------------------------------------------------------


class DisputeIn(Schema):
    claim_id: Id
    reason: Text
    #: the disputed lines; left out or empty: the whole claim
    line_nos: list[LineNo] | None = Field(None, max_length=100)


class OverrideIn(Schema):
    """A manual decision on a line: ``approved`` (M01 up to allowed; on a rejected line an M02 waiver up to its
    ``waivable`` payable), or ``"reject": true`` (M03); always with a note."""

    line_no: LineNo
    #: the approved amount, a string with two decimals ("1250.00"); left out with ``reject``
    approved: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    note: Annotated[str, Field(min_length=1, max_length=500)]
    reject: bool = False


class ResolveIn(Schema):
    status: Literal["upheld", "dismissed"]
    resolution: Text
    overrides: list[OverrideIn] | None = Field(None, max_length=disputes.MAX_OVERRIDES)


# --- answers -------------------------------------------------------------------------------------


class AttachmentOut(Out):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime


class DisputeOut(Out):
    id: int
    claim_id: int
    claim_number: str | None = None
    institution_id: int
    company_id: int | None
    raised_by_kind: str
    raised_by_id: int | None
    reason: str
    line_nos: list[int]
    status: str
    claim_status_before: str
    claim_status: str | None = None
    resolution: str | None
    resolved_by_id: int | None
    resolved_at: datetime | None
    created_at: datetime
    attachments: list[AttachmentOut] = []


DisputePage = page_model(DisputeOut)


def _dispute_out(dispute, *, claim=None, attachments=None) -> DisputeOut:
    return DisputeOut(
        id=dispute.id,
        claim_id=dispute.claim_id,
        claim_number=claim.claim_number if claim is not None else None,
        institution_id=dispute.institution_id,
        company_id=dispute.company_id,
        raised_by_kind=dispute.raised_by_kind,
        raised_by_id=dispute.raised_by_id,
        reason=dispute.reason,
        line_nos=list(dispute.line_nos or []),
        status=dispute.status.value,
        claim_status_before=dispute.claim_status_before,
        claim_status=claim.status.value if claim is not None else None,
        resolution=dispute.resolution,
        resolved_by_id=dispute.resolved_by_id,
        resolved_at=dispute.resolved_at,
        created_at=dispute.created_at,
        attachments=[AttachmentOut.model_validate(a) for a in attachments or []],
    )


def _one(dispute) -> DisputeOut:
    claim = services.claim_row(tenant(), dispute.claim_id)
    return _dispute_out(dispute, claim=claim, attachments=disputes.attachments_of([dispute.id]).get(dispute.id, []))


def _with_claim_numbers(rows) -> list[DisputeOut]:
    """A page of disputes with their claims' numbers, read in one query."""
    numbers = services.claim_numbers(tenant(), (d.claim_id for d in rows))
    return [_dispute_out(d).model_copy(update={"claim_number": numbers.get(d.claim_id)}) for d in rows]


# --- disputes ------------------------------------------------------------------------------------


@api_bp.post("/disputes")
@allow(disputes.OPENERS)
@documented(
    "Dispute a rejected or partially approved claim",
    tag=TAG,
    body=DisputeIn,
    responses={201: DisputeOut, 409: None, 422: None},
    description="The provider's billing staff, or the insurer's staff on the member's behalf. The dispute is `open` "
    "and the claim `disputed`; a claim in another status, or one with an open dispute already, is a 409. "
    "`line_nos` name rejected or adjusted lines; left out, the whole claim is disputed.",
)
def create_dispute():
    data = parse(DisputeIn)
    referenced("claim_id", services.claim_row, tenant(), data.claim_id)
    dispute = disputes.open_dispute(
        actor=actor(), claim_id=data.claim_id, reason=data.reason, line_nos=data.line_nos or []
    )
    return created(_one(dispute))


@api_bp.get("/disputes")
@allow(disputes.READERS)
@documented(
    "Disputes of the caller's claims, newest first",
    tag=TAG,
    responses={200: DisputePage},
    query={
        **PAGING,
        "status": "open, upheld or dismissed",
        "claim_id": "one claim's",
        "institution_id": "a provider's",
    },
)
def list_disputes():
    status = choice_arg("status", DisputeStatus)
    stmt = disputes.disputes_query(
        tenant(),
        status=status,
        claim_id=int_arg("claim_id"),
        institution_id=int_arg("institution_id"),
    )
    return page_response(stmt, DisputeOut, DisputePage, batch=_with_claim_numbers)


@api_bp.get(f"/disputes/<{ID}:dispute_id>")
@allow(disputes.READERS)
@documented("One dispute with its attachments", tag=TAG, responses={200: DisputeOut, 404: None})
def get_dispute(dispute_id: int):
    return jsonify_model(_one(disputes.get_dispute(tenant(), dispute_id)))


@api_bp.put(f"/disputes/<{ID}:dispute_id>")
@allow(disputes.RESOLVERS)
@documented(
    "Resolve an open dispute: upheld (the claim is decided again, with overrides) or dismissed",
    tag=TAG,
    body=ResolveIn,
    responses={200: DisputeOut, 404: None, 409: None, 422: None},
    description="Adjudicators of the member's insurer. `upheld` runs the engine on the claim again as of its "
    "original submission (seeing the same earlier claims), keeps the earlier manual decisions (M01, M02, M03) "
    "unless `overrides` changes them (as in approve: an amount, a waiver up to `waivable`, or `reject`), so the "
    "claim ends approved, partially approved or rejected; upheld with no line changed is 422 (that is a "
    "dismissal). `dismissed` restores the claim's status before the dispute. `resolution` is required.",
)
def resolve_dispute(dispute_id: int):
    data = parse(ResolveIn)
    overrides: dict[int, tuple] = {}
    for item in data.overrides or []:
        if item.line_no in overrides:
            raise Invalid.field("overrides", f"Line {item.line_no} is overridden twice.")
        if not item.reject and item.approved is None:
            raise Invalid.field("overrides", f"Line {item.line_no}: give the approved amount, or reject it.")
        overrides[item.line_no] = (item.approved, item.note, item.reject)
    dispute = disputes.resolve_dispute(
        actor=actor(), dispute_id=dispute_id, status=data.status, resolution=data.resolution, overrides=overrides
    )
    return saved(_one(dispute))


@api_bp.post(f"/disputes/<{ID}:dispute_id>/attachments")
@allow(disputes.OPENERS)
@documented(
    "Attach evidence (PDF, PNG or JPEG) to an open dispute (multipart/form-data, field `file`)",
    tag=TAG,
    responses={201: AttachmentOut, 404: None, 409: None, 422: None},
    description="The body is multipart/form-data with one `file` part. The content decides the type; anything "
    "else, an empty file or one over the size limit is a 422 with errors.file. The name is shown, never used.",
    read_at="/disputes/attachments/{attachment_id}",
)
def upload_dispute_attachment(dispute_id: int):
    filename, stream = file_part(request.files)
    row = disputes.add_attachment(actor=actor(), dispute_id=dispute_id, filename=filename, stream=stream)
    return created(AttachmentOut.model_validate(row))


def attachment_download(attachment_id: int):
    """The stored file as a download (shared with the pages); the read is audited and committed."""
    path, row = disputes.open_attachment(actor=actor(), attachment_id=attachment_id)
    db.session.commit()
    return download(path, row.content_type, row.filename)


@api_bp.get(f"/disputes/attachments/<{ID}:attachment_id>")
@allow(disputes.READERS)
@documented(
    "Download a dispute's attachment",
    tag=TAG,
    responses={200: None, 404: None},
    description="Answers the file itself as an attachment, with the type found when it was uploaded.",
)
def download_dispute_attachment(attachment_id: int):
    return attachment_download(attachment_id)
