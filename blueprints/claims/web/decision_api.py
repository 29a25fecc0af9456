"""Claims JSON API, deciding: submission through the engine, a re-run on new facts, adjudicators' approve (with
overrides) and reject, batch approval, and each claim's history of status changes and decisions. Who may call
which is said in ``claim_api``'s table; the input types are strict in the same way."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, Strict, computed_field

from blueprints.claims import api_bp, services
from blueprints.claims.models import ClaimStatus
from blueprints.claims.web.claim_api import (
    DECIDERS,
    FILERS,
    ID,
    READERS,
    TAG,
    ClaimOut,
    claim_out,
    reasons_in_words,
)
from blueprints.core import services as core
from medcover.api import (
    Id,
    Money,
    MoneyIn,
    Out,
    Schema,
    actor,
    documented,
    jsonify_model,
    optional_body,
    parse,
    saved,
    tenant,
)
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import allow

RERUNNERS = services.PROVIDER_WRITERS | services.DECIDERS
MAX_BATCH = 200
LineNo = Annotated[int, Strict(), Field(ge=1, le=services.MAX_ITEMS)]
Version = Annotated[int, Strict(), Field(ge=1)]
Note = Annotated[str, Field(min_length=1, max_length=500)]


class ClaimActionIn(Schema):
    """No fields: the body may be left out or be ``{}``."""


class ClaimOverrideIn(Schema):
    """A manual decision on a line, with a note: ``approved`` (M01, at most the allowed; on a rejected line an M02
    waiver, at most its ``waivable`` payable) or ``"reject": true`` (M03)."""

    #: one of the two, as the document says: an amount, or the rejection
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["approved"], "properties": {"approved": {"type": "string"}}},
                {"required": ["reject"], "properties": {"reject": {"const": True}}},
            ]
        }
    )

    line_no: LineNo
    #: the amount to approve on the line; left out with ``reject``
    approved: MoneyIn | None = None
    note: Note
    reject: bool = False


class ClaimApproveIn(Schema):
    """``version``: the claim's version as read; a claim changed since answers 409."""

    overrides: list[ClaimOverrideIn] = Field(default_factory=list, max_length=services.MAX_ITEMS)
    version: Version | None = None


class ClaimRejectIn(Schema):
    reason: Note
    version: Version | None = None


class ClaimBatchIn(Schema):
    claim_ids: list[Id] = Field(min_length=1, max_length=MAX_BATCH)


class ClaimStatusChangeOut(Out):
    from_status: str | None
    to_status: str
    at: datetime
    #: null: the engine or the system
    by_id: int | None
    by_name: str | None
    note: str | None


class ClaimDecisionLineOut(Out):
    line_no: int
    service_code: str | None = None
    benefit_code: str | None = None
    billed: Money
    allowed: Money
    deductible: Money
    copay: Money
    approved: Money
    member_responsibility: Money | None = None
    decision: str
    reason_codes: list[str]
    note: str | None = None

    @computed_field
    @property
    def reasons(self) -> list[str]:
        return reasons_in_words(self.reason_codes)


class ClaimDecisionOut(Out):
    id: int
    #: engine, adjudicator or dispute
    source: str
    #: null when the engine decided
    by_id: int | None
    by_name: str | None
    at: datetime
    status: str
    total_approved: Money
    reason_codes: list[str]
    note: str | None
    lines: list[ClaimDecisionLineOut]

    @computed_field
    @property
    def reasons(self) -> list[str]:
        return reasons_in_words(self.reason_codes)


class ClaimHistoryOut(Out):
    claim_id: int
    claim_number: str
    status: ClaimStatus
    status_changes: list[ClaimStatusChangeOut]
    decisions: list[ClaimDecisionOut]


class ClaimRefusalOut(Out):
    claim_id: int
    reason: str


class ClaimBatchOut(Out):
    #: claim numbers approved as proposed
    approved: list[str]
    refused: list[ClaimRefusalOut]


def _overrides(data: ClaimApproveIn) -> dict[int, tuple]:
    overrides: dict[int, tuple] = {}
    for override in data.overrides:
        if override.line_no in overrides:
            raise Invalid.field("overrides", f"Line {override.line_no} is overridden twice.")
        if not override.reject and override.approved is None:
            raise Invalid.field("overrides", f"Line {override.line_no}: give the approved amount, or reject it.")
        overrides[override.line_no] = (override.approved, override.note, override.reject)
    return overrides


@api_bp.get(f"/claims/<{ID}:claim_id>/history")
@allow(READERS)
@documented(
    "The claim's status changes and every decision kept whole: who or what, when, the codes and amounts",
    tag=TAG,
    responses={200: ClaimHistoryOut, 404: None},
)
def claim_history(claim_id: int):
    claim = services.claim_row(tenant(), claim_id)
    changes = services.history_of(claim.id)
    decisions = services.decisions_of(claim.id)
    names = {
        uid: user.full_name
        for uid, user in core.users_by_id([c.by_id for c in changes] + [d.by_id for d in decisions]).items()
    }
    return jsonify_model(
        ClaimHistoryOut(
            claim_id=claim.id,
            claim_number=claim.claim_number,
            status=claim.status,
            status_changes=[
                ClaimStatusChangeOut(
                    from_status=c.from_status,
                    to_status=c.to_status,
                    at=c.at,
                    by_id=c.by_id,
                    by_name=names.get(c.by_id),
                    note=c.note,
                )
                for c in changes
            ],
            decisions=[
                ClaimDecisionOut(
                    id=d.id,
                    source=d.source,
                    by_id=d.by_id,
                    by_name=names.get(d.by_id),
                    at=d.at,
                    status=d.status,
                    total_approved=d.total_approved,
                    reason_codes=list(d.reason_codes or ()),
                    note=d.note,
                    lines=[ClaimDecisionLineOut.model_validate(line) for line in d.lines or ()],
                )
                for d in decisions
            ],
        )
    )


# --- deciding ---------------------------------------------------------------------------------------


@api_bp.post(f"/claims/<{ID}:claim_id>/submit")
@allow(FILERS)
@documented(
    "Submit a draft: the engine decides it (ADJUDICATION.md) and the answer is the claim as decided",
    tag=TAG,
    body=ClaimActionIn,
    responses={200: ClaimOut, 404: None, 409: None},
    description="Where decisions run on a worker the answer is `submitted`; GET shows the decision once made. "
    "A claim reaching its scheme's review threshold answers `pending_review` with the engine's proposal. "
    "A replacement (filed with `replaces`) voids the claim it replaces in the same transaction and is decided as if "
    "that claim had never existed; 409, changing neither, when that claim has been paid or disputed since.",
)
def submit_claim(claim_id: int):
    optional_body(ClaimActionIn)
    return saved(claim_out(services.submit_claim(actor=actor(), claim_id=claim_id)))


@api_bp.post(f"/claims/<{ID}:claim_id>/process")
@allow(RERUNNERS)
@documented(
    "Run the engine again on a submitted or pending-review claim (new facts: a pre-authorisation ...)",
    tag=TAG,
    body=ClaimActionIn,
    responses={200: ClaimOut, 404: None, 409: None},
)
def process_claim(claim_id: int):
    optional_body(ClaimActionIn)
    return saved(claim_out(services.process_claim(actor=actor(), claim_id=claim_id)))


@api_bp.post(f"/claims/<{ID}:claim_id>/approve")
@allow(DECIDERS)
@documented(
    "Approve a claim pending review as proposed, or with lines decided by hand (M01 amount, M02 waiver, M03 reject)",
    tag=TAG,
    body=ClaimApproveIn,
    responses={200: ClaimOut, 404: None, 409: None},
    description="Each override has a note: `approved` up to the line's allowed (M01); on a rejected line a waiver "
    "(M02) up to its `waivable.payable`, 422 above it or on a line that can't be waived (R01-R03, R07); "
    "`reject: true` rejects the line (M03). 403 for the person who created or submitted the claim. 409 when the "
    "claim is not pending review, or changed since `version` was read, or another adjudicator decided it a "
    "moment ago.",
)
def approve_claim(claim_id: int):
    data = optional_body(ClaimApproveIn)
    claim = services.approve_claim(actor=actor(), claim_id=claim_id, overrides=_overrides(data), version=data.version)
    return saved(claim_out(claim))


@api_bp.post(f"/claims/<{ID}:claim_id>/reject")
@allow(DECIDERS)
@documented(
    "Reject a claim pending review as a whole, with a reason",
    tag=TAG,
    body=ClaimRejectIn,
    responses={200: ClaimOut, 404: None, 409: None},
)
def reject_claim(claim_id: int):
    data = parse(ClaimRejectIn)
    return saved(
        claim_out(services.reject_claim(actor=actor(), claim_id=claim_id, reason=data.reason, version=data.version))
    )


@api_bp.post("/claims/batch-approve")
@allow(DECIDERS)
@documented(
    "Approve many claims pending review as proposed; each one that cannot be is refused with its reason",
    tag=TAG,
    body=ClaimBatchIn,
    responses={200: ClaimBatchOut},
    description="At most 200 claims; one refusal spoils none of the others.",
)
def batch_approve():
    data = parse(ClaimBatchIn)
    result = services.bulk_approve(actor=actor(), claim_ids=data.claim_ids)
    db.session.commit()
    return jsonify_model(
        ClaimBatchOut(
            approved=result.approved,
            refused=[ClaimRefusalOut(claim_id=int(key), reason=reason) for key, reason in result.refused.items()],
        )
    )
