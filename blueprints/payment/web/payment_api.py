"""Payment JSON API: /payments (API.md's fixed shape for ``POST /payments``), what is still owed, and reversals.
Who may call what, tenancy and idempotency: ``api_base``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from flask import request
from pydantic import AliasChoices, ConfigDict, Field

from blueprints.payment import api_bp, services
from blueprints.payment.models import MethodKind, PaymentKind
from blueprints.payment.web.api_base import (
    CASHIERS,
    ID,
    IDEMPOTENT,
    PAGING,
    READERS,
    TAG,
    Note,
    Reason,
    Reference,
    created_uncommitted,
    moving_money,
    reference_rules,
)
from blueprints.payment.web.refund_api import RefundOut
from medcover import api
from medcover.api import (
    Day,
    Id,
    Money,
    MoneyIn,
    Out,
    Schema,
    choice_arg,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    page_model,
    page_response,
    parse,
    referenced,
    required,
)
from medcover.errors import Invalid
from medcover.rbac import allow

# --- request bodies ---------------------------------------------------------------------------------


class DetailsIn(Schema):
    """What the clerk captured beside the reference: ``last4`` (card), ``phone`` (mobile money), ``bank``
    (cheque, bank transfer). A field the method does not take is a 422."""

    last4: Annotated[str, Field(max_length=4)] | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None
    bank: Annotated[str, Field(max_length=80)] | None = None


class PaymentIn(Schema):
    """A payment (API.md). ``reference``: the receipt number (cash, optional), the card terminal's approval
    code, the bank transfer reference, the mobile money transaction code or the cheque number. ``paid_on``:
    today when left out, never in the future. ``payer`` (optional): an invoice's ``patient`` (default) or
    ``insurer`` part, a premium's ``member`` (default) or ``employer``; a claim is paid by its insurer.
    ``note``: free text kept with the payment."""

    model_config = ConfigDict(json_schema_extra=reference_rules)

    kind: PaymentKind
    reference_id: Id
    amount: MoneyIn
    method: MethodKind
    reference: Reference | None = None
    paid_on: Day | None = None
    payer: Literal["patient", "insurer", "member", "employer"] | None = None
    details: DetailsIn | None = None
    note: Note | None = None


class ReverseIn(Schema):
    reason: Reason


# --- answers ----------------------------------------------------------------------------------------


class PaymentOut(Out):
    id: int
    #: PAY-2026-000042 (a reversal: REV-...)
    number: str | None
    kind: PaymentKind
    #: the invoice, claim or coverage paid for
    reference_id: int
    #: patient, insurer, member or employer
    payer: str
    institution_id: int | None
    company_id: int | None
    #: negative on a reversal
    amount: Money
    currency: str
    method: MethodKind
    reference: str | None
    details: dict = Field(validation_alias=AliasChoices("details", "method_details"))
    gateway: str
    paid_on: date
    reversal_of_id: int | None
    settlement_id: int | None
    created_at: datetime


class PaymentDetailOut(PaymentOut):
    note: str | None
    #: the reversal of this payment, if it was reversed
    reversed_by_id: int | None
    #: what may still be refunded (a refund waiting for approval already holds its amount)
    refundable: Money
    refunds: list[RefundOut]


class OwedOut(Out):
    kind: str
    reference_id: int
    payer: str
    label: str
    #: what the payer owes in all; null for premiums (no ceiling)
    due: Money | None
    #: paid less reversals and refunds (approved or waiting)
    paid: Money
    #: what may still be paid; null for premiums
    outstanding: Money | None
    currency: str
    institution_id: int | None
    company_id: int | None
    #: when set nothing may be paid (a void or draft invoice, an unapproved claim) and this says why
    refusal: str | None


PaymentPage = page_model(PaymentOut)


def _payment_detail(payment) -> PaymentDetailOut:
    reversal = services.reversal_of(payment)
    return PaymentDetailOut(
        **PaymentOut.model_validate(payment).model_dump(),
        note=payment.note,
        reversed_by_id=reversal.id if reversal else None,
        refundable=services.refundable(payment),
        refunds=[RefundOut.model_validate(r) for r in services.refunds_of([payment.id]).get(payment.id, [])],
    )


# --- payments ---------------------------------------------------------------------------------------


@api_bp.post("/payments")
@allow(CASHIERS)
@documented(
    "Record a payment of an invoice, an approved claim or a premium",
    tag=TAG,
    body=PaymentIn,
    responses={201: PaymentOut, 409: None},
    description="More than is still owed (a claim's approved total less what is paid, an invoice payer's "
    "balance): 422 on amount, naming what is owed. A void or draft invoice, or a claim not approved: 409. "
    "An invoice, claim or coverage the caller may not see: 422 on reference_id. An invoice's payment is "
    "recorded by its hospital, a claim's or premium's by the insurer (403 otherwise)." + IDEMPOTENT,
)
def create_payment():
    data = parse(PaymentIn)
    values = services.PaymentInput(
        kind=data.kind.value,
        reference_id=data.reference_id,
        amount=data.amount,
        method=data.method.value,
        reference=data.reference,
        paid_on=data.paid_on,
        payer=data.payer,
        details=data.details.model_dump(exclude_none=True) if data.details else None,
        note=data.note,
    )

    def work():
        payment = referenced("reference_id", lambda: services.record_payment(actor=api.actor(), values=values))
        return created_uncommitted(PaymentOut.model_validate(payment))

    return moving_money(work)


@api_bp.get("/payments")
@allow(READERS)
@documented(
    "Payments and reversals, newest first (a hospital: the money it received; an insurer: the money it paid or took)",
    tag=TAG,
    responses={200: PaymentPage},
    query={
        "kind": "claim, invoice or premium",
        "reference_id": "the invoice, claim or coverage paid for (with kind)",
        "paid_on": "paid that day (YYYY-MM-DD)",
        **PAGING,
    },
)
def list_payments():
    kind = choice_arg("kind", PaymentKind)
    reference_id = int_arg("reference_id")
    if reference_id and not kind:
        raise Invalid.field("reference_id", "Give the kind of what was paid too.")
    stmt = services.payments_query(api.tenant(), kind=kind, reference_id=reference_id, paid_on=day_arg("paid_on"))
    return page_response(stmt, PaymentOut, PaymentPage)


@api_bp.get("/payments/owed")
@allow(READERS)
@documented(
    "What is still owed on an invoice, a claim or (no ceiling) a coverage's premium",
    tag=TAG,
    responses={200: OwedOut, 404: None},
    query={
        "kind": "claim, invoice or premium (required)",
        "reference_id": "the invoice, claim or coverage (required)",
        "payer": "an invoice's patient (default) or insurer; a premium's member (default) or employer",
    },
    description="outstanding is null for premiums. refusal, when set, says why nothing may be paid now.",
)
def payment_owed():
    kind = required("kind", choice_arg("kind", PaymentKind))
    reference_id = required("reference_id", int_arg("reference_id"))
    payer = request.args.get("payer", "").strip()[:20] or None
    target = services.owed(api.actor(), kind, reference_id, payer)
    return jsonify_model(OwedOut.model_validate({**vars(target), "outstanding": target.outstanding}))


@api_bp.get(f"/payments/<{ID}:payment_id>")
@allow(READERS)
@documented(
    "One payment with its refunds and what may still be refunded",
    tag=TAG,
    responses={200: PaymentDetailOut, 404: None},
)
def get_payment(payment_id: int):
    return jsonify_model(_payment_detail(services.get_payment(api.tenant(), payment_id)))


@api_bp.post(f"/payments/<{ID}:payment_id>/reverse")
@allow(CASHIERS)
@documented(
    "Reverse a mistaken payment: answers the reversal, a new payment of the opposite amount",
    tag=TAG,
    body=ReverseIn,
    responses={201: PaymentOut, 404: None, 409: None},
    description="The original stays as it was. A reversal, a payment already reversed or one with refunds: "
    "409." + IDEMPOTENT,
    read_at="/payments/{payment_id}",
)
def reverse_payment(payment_id: int):
    data = parse(ReverseIn)

    def work():
        reversal = services.reverse_payment(actor=api.actor(), payment_id=payment_id, reason=data.reason)
        return created_uncommitted(PaymentOut.model_validate(reversal))

    return moving_money(work)
