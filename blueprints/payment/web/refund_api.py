"""Refund JSON API: /refunds (API.md's fixed shape for ``POST /refunds``) and their approval or rejection.
Who may call what, tenancy and idempotency: ``api_base``."""

from __future__ import annotations

from datetime import datetime

from flask import Response

from blueprints.payment import api_bp, services
from blueprints.payment.models import RefundStatus
from blueprints.payment.web.api_base import (
    APPROVERS,
    CASHIERS,
    ID,
    IDEMPOTENT,
    PAGING,
    READERS,
    TAG,
    Note,
    Reason,
    created_uncommitted,
    moving_money,
)
from medcover import api
from medcover.api import (
    Id,
    Money,
    MoneyIn,
    Out,
    Schema,
    choice_arg,
    documented,
    int_arg,
    jsonify_model,
    optional_body,
    page_model,
    page_response,
    parse,
    referenced,
    saved,
)
from medcover.rbac import allow


class RefundIn(Schema):
    payment_id: Id
    amount: MoneyIn
    reason: Reason


class DecideIn(Schema):
    """``note``: optional when approving, required when rejecting."""

    note: Note | None = None


class RefundOut(Out):
    id: int
    payment_id: int
    institution_id: int | None
    company_id: int | None
    amount: Money
    reason: str
    status: RefundStatus
    requested_by_id: int | None
    decided_by_id: int | None
    decided_at: datetime | None
    decision_note: str | None
    created_at: datetime


RefundPage = page_model(RefundOut)


# --- refunds ----------------------------------------------------------------------------------------


@api_bp.post("/refunds")
@allow(CASHIERS)
@documented(
    "Refund part or all of a payment (approved at once up to the threshold, pending_approval above it)",
    tag=TAG,
    body=RefundIn,
    responses={201: RefundOut},
    description="More than the payment's refundable rest (a refund waiting for approval already holds its "
    "amount; a reversed payment has none): 422 on amount. A payment the caller may not see: 422 on "
    "payment_id." + IDEMPOTENT,
)
def create_refund():
    data = parse(RefundIn)

    def work():
        tenant = api.tenant()
        referenced("payment_id", lambda: services.get_payment(tenant, data.payment_id))
        refund = services.request_refund(
            actor=api.actor(), payment_id=data.payment_id, amount=data.amount, reason=data.reason
        )
        return created_uncommitted(RefundOut.model_validate(refund))

    return moving_money(work)


@api_bp.get("/refunds")
@allow(READERS)
@documented(
    "Refunds, newest first",
    tag=TAG,
    responses={200: RefundPage},
    query={"status": "pending_approval, approved or rejected", "payment_id": "one payment", **PAGING},
)
def list_refunds():
    stmt = services.refunds_query(
        api.tenant(), status=choice_arg("status", RefundStatus), payment_id=int_arg("payment_id")
    )
    return page_response(stmt, RefundOut, RefundPage)


@api_bp.get(f"/refunds/<{ID}:refund_id>")
@allow(READERS)
@documented("One refund", tag=TAG, responses={200: RefundOut, 404: None})
def get_refund(refund_id: int):
    return jsonify_model(RefundOut.model_validate(services.get_refund(api.tenant(), refund_id)))


def _decide(refund_id: int, approve: bool) -> Response:
    data = optional_body(DecideIn)
    refund = services.decide_refund(actor=api.actor(), refund_id=refund_id, approve=approve, note=data.note or "")
    return saved(RefundOut.model_validate(refund))


@api_bp.post(f"/refunds/<{ID}:refund_id>/approve")
@allow(APPROVERS)
@documented(
    "Approve a refund waiting for approval (a finance officer other than the requester)",
    tag=TAG,
    body=DecideIn,
    responses={200: RefundOut, 404: None, 409: None},
    description="The body may be left out. The requester approving their own: 403. Decided already: 409.",
)
def approve_refund(refund_id: int):
    return _decide(refund_id, True)


@api_bp.post(f"/refunds/<{ID}:refund_id>/reject")
@allow(APPROVERS)
@documented(
    "Reject a refund waiting for approval, with a note (a finance officer other than the requester)",
    tag=TAG,
    body=DecideIn,
    responses={200: RefundOut, 404: None, 409: None},
    description="note is required here (422 without). The requester: 403. Decided already: 409.",
)
def reject_refund(refund_id: int):
    return _decide(refund_id, False)
