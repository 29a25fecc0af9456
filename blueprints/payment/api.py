"""Payment JSON API: /payments (with what is still owed and reversals), /refunds and their approval,
/payment-methods, agents and commissions, and /settlements of approved claims (API.md's fixed shapes for
``POST /payments`` and ``POST /refunds``).

Who may call what. Tenancy is the services': a hospital sees the money it received, an insurer the money it
paid or took, and another tenant's row answers 404 as if it did not exist. A record named in a body that the
caller may not see is a 422 on that field.

| resource                                           | read          | write                              |
|----------------------------------------------------|---------------|------------------------------------|
| payments (+ owed, reverse), refunds                | READERS       | CASHIERS (services.CASHIERS)       |
| refund approval and rejection                      | -             | APPROVERS (not the requester)      |
| payment methods                                    | READERS       | APPROVERS of a hospital or insurer |
| agents, rates, assignments, commissions (+ paying) | AGENT_READERS | APPROVERS of an insurer            |
| settlements (+ preview)                            | READERS       | APPROVERS of an insurer            |

READERS = ADMIN, BILLING_CLERK, FINANCE_OFFICER, AUDITOR, INTEGRATION; AGENT_READERS the same less
BILLING_CLERK (agents are an insurer's business). CASHIERS = ADMIN, BILLING_CLERK, FINANCE_OFFICER,
INTEGRATION; APPROVERS = ADMIN, FINANCE_OFFICER.

Every POST that moves money (payments, reversals, refunds, settlements, commission payments) honours an
``Idempotency-Key`` header (medcover.idempotency): keys are the calling user's, the same key with the same
body answers the first response again (with ``Idempotent-Replayed: true``) and creates nothing, another body
is a 422 and a retry while the first is still running a 409.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import Response, request
from flask_login import current_user
from pydantic import AliasChoices, BeforeValidator, Field
from sqlalchemy import select

from blueprints.claims import services as claims
from blueprints.hospital import services as hospital
from blueprints.payment import api_bp, services
from blueprints.payment.models import Agent, MethodKind, Payment, PaymentKind, RefundStatus
from medcover import idempotency
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
    optional_body,
    page_model,
    paginate,
    parse,
)
from medcover.errors import Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Role, Tenant, allow, ensure_owned, tenant_of

TAG = "Payments"
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION})
AGENT_READERS = READERS - {Role.BILLING_CLERK}
CASHIERS = services.CASHIERS
APPROVERS = services.APPROVERS
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}
IDEMPOTENT = (
    " Send an Idempotency-Key header (1 to 100 printable ASCII characters, yours for 48 hours) to make a retry "
    "safe: the same key and body answer the first response again with Idempotent-Replayed: true and create "
    "nothing; the same key with another body is 422; a retry while the first is still running is 409."
)
_PERCENT = re.compile(r"^\d{1,3}(\.\d{1,2})?$")


# --- input types: strict, so `true`, `"7"`, 12.5 or a timestamp are not taken for a number, money or a date -


def _percent(value: Any) -> Decimal:
    if not isinstance(value, str) or not _PERCENT.match(value.strip()):
        raise ValueError('Enter a percentage as a string such as "7.50".')
    return Decimal(value.strip())


PercentIn = Annotated[Decimal, BeforeValidator(_percent)]
Reference = Annotated[str, Field(max_length=80)]
Reason = Annotated[str, Field(min_length=1, max_length=300)]
Note = Annotated[str, Field(max_length=300)]


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


class RefundIn(Schema):
    payment_id: Id
    amount: MoneyIn
    reason: Reason


class DecideIn(Schema):
    """``note``: optional when approving, required when rejecting."""

    note: Note | None = None


class MethodSettingsIn(Schema):
    """What the clerk tells the payer: an account, a paybill number, a bank, instructions."""

    account: Annotated[str, Field(max_length=120)] | None = None
    paybill: Annotated[str, Field(max_length=120)] | None = None
    bank: Annotated[str, Field(max_length=120)] | None = None
    instructions: Annotated[str, Field(max_length=120)] | None = None


class MethodIn(Schema):
    kind: MethodKind
    label: Annotated[str, Field(min_length=1, max_length=80)]
    settings: MethodSettingsIn | None = None


class EmptyIn(Schema):
    """No fields: the body may be left out or be ``{}``."""


class AgentIn(Schema):
    code: Annotated[str, Field(min_length=1, max_length=20)]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    email: Annotated[str, Field(max_length=254)] | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None


class RateIn(Schema):
    """``rate_percent``: a string from "0" to "100" with at most two decimals."""

    scheme_id: Id
    rate_percent: PercentIn
    effective_from: Day


class AssignmentIn(Schema):
    coverage_id: Id


class CommissionPaymentIn(Schema):
    method: MethodKind
    reference: Reference | None = None
    paid_on: Day | None = None


class SettlementIn(Schema):
    institution_id: Id
    period_start: Day
    period_end: Day
    method: MethodKind
    reference: Reference | None = None
    paid_on: Day | None = None


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


class MethodOut(Out):
    id: int
    institution_id: int | None
    company_id: int | None
    kind: MethodKind
    label: str
    gateway: str
    settings: dict
    active: bool
    created_at: datetime


class AgentOut(Out):
    id: int
    company_id: int
    code: str
    name: str
    email: str | None
    phone: str | None
    active: bool
    created_at: datetime


class RateOut(Out):
    id: int
    company_id: int
    scheme_id: int
    rate_percent: Money
    effective_from: date


class AssignmentOut(Out):
    coverage_id: int
    agent_id: int
    company_id: int
    assigned_at: datetime


class CommissionOut(Out):
    id: int
    agent_id: int
    company_id: int
    #: the premium payment (or its reversal) it was accrued on
    payment_id: int
    scheme_id: int
    premium: Money
    rate_percent: Money
    amount: Money
    accrued_on: date
    #: the batch that paid it; null while unpaid
    commission_payment_id: int | None


class CommissionPaymentOut(Out):
    id: int
    agent_id: int
    company_id: int
    amount: Money
    #: how many commissions the batch paid
    commissions: int
    method: MethodKind
    reference: str | None
    paid_on: date
    created_at: datetime


class StatementOut(Out):
    agent: AgentOut
    #: the period asked for (null: open-ended)
    start: date | None
    end: date | None
    accrued: list[CommissionOut]
    payments: list[CommissionPaymentOut]
    total_accrued: Money
    total_paid: Money
    #: accrued less paid in the period
    balance: Money


class SettlementLineOut(Out):
    claim_id: int
    claim_number: str
    member_number: str
    service_date: date
    approved: Money
    paid_before: Money
    payable: Money


class PreviewOut(Out):
    institution_id: int
    period_start: date
    period_end: date
    claims: int
    total: Money
    lines: list[SettlementLineOut]


class SettlementOut(Out):
    id: int
    #: STL-2026-000007
    number: str | None
    company_id: int
    institution_id: int
    period_start: date
    period_end: date
    #: how many claims it paid
    claims: int
    total: Money
    method: MethodKind
    reference: str | None
    paid_on: date
    created_at: datetime


class PaidClaimOut(Out):
    claim_id: int
    claim_number: str | None
    payment_id: int
    payment_number: str | None
    amount: Money


class SettlementDetailOut(SettlementOut):
    paid_claims: list[PaidClaimOut]


PaymentPage = page_model(PaymentOut)
RefundPage = page_model(RefundOut)
MethodPage = page_model(MethodOut)
AgentPage = page_model(AgentOut)
CommissionPage = page_model(CommissionOut)
SettlementPage = page_model(SettlementOut)


# --- helpers ----------------------------------------------------------------------------------------


def _actor():
    return current_user._get_current_object()


def _tenant() -> Tenant:
    return tenant_of(current_user)


def _page(stmt, item: type[Out], page: type[Out]) -> Response:
    return jsonify_model(page.model_validate(paginate(stmt, item.model_validate)))


def _bool_arg(name: str) -> bool:
    raw = request.args.get(name, "").strip().lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise Invalid.field(name, "Use true or false.")


def _required(name: str, value):
    if value in (None, ""):
        raise Invalid.field(name, "This parameter is required.")
    return value


def _named(field: str, work: Callable[[], Any]):
    """Run ``work``; a record it names that the caller may not see is a 422 on ``field``, not a 404."""
    try:
        return work()
    except NotFound as exc:
        raise Invalid.field(field, exc.detail) from None


def _fingerprint() -> str:
    """The request's method, path and JSON body in a canonical form, so a retry whose serializer ordered the
    keys or spaced them differently is still the same request."""
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(
            json.loads(raw or b"null", parse_float=Decimal),
            sort_keys=True,
            separators=(",", ":"),
            default=lambda number: f"float:{number}",
        ).encode()
    except (ValueError, UnicodeDecodeError):
        body = raw
    return idempotency.fingerprint(request.method, request.path, body)


def _moving_money(work: Callable[[], Response]) -> Response:
    """Run a POST that moves money once per Idempotency-Key (API.md) and commit it, with the key and the answer
    it keeps committed together with the work or not at all."""
    key = idempotency.clean_key(request.headers.get(idempotency.HEADER))
    if key is None:
        response = work()
        db.session.commit()
        return response
    caller, digest = current_user.id, _fingerprint()
    replay = idempotency.replay_or_none(caller, key, digest)
    if replay is not None:
        return replay  # the request's transaction (and the key's lock) ends with the request
    response = work()
    idempotency.remember(caller, key, digest, response)
    db.session.commit()
    return response


def _created(model: Out) -> Response:
    """The answer to a POST that moves money: ``_moving_money`` remembers it, then commits."""
    return jsonify_model(model, status=201)


def _saved(model: Out, status: int = 200) -> Response:
    """Commit a change that moves no money (built into ``model`` first, so nothing reloads) and answer it."""
    db.session.commit()
    return jsonify_model(model, status=status)


def _payment_detail(payment) -> PaymentDetailOut:
    return PaymentDetailOut(
        **PaymentOut.model_validate(payment).model_dump(),
        note=payment.note,
        reversed_by_id=db.session.scalar(select(Payment.id).where(Payment.reversal_of_id == payment.id)),
        refundable=services.refundable(payment),
        refunds=[RefundOut.model_validate(r) for r in services.refunds_of([payment.id]).get(payment.id, [])],
    )


def _agent(agent_id: int) -> Agent:
    agent = db.session.get(Agent, agent_id)
    ensure_owned(_tenant(), agent)  # another insurer's (or none): 404
    return agent


def _settlement_detail(settlement) -> SettlementDetailOut:
    payments = services.settlement_payments(settlement.id)
    # Read as the settlement's insurer: whoever may see the settlement (its provider too) sees the claims it paid.
    stmt = claims.claims_query(Tenant(None, settlement.company_id))
    ids = {p.reference_id for p in payments}
    numbers = (
        {c.id: c.claim_number for c in db.session.scalars(stmt.where(stmt.selected_columns.id.in_(ids)))} if ids else {}
    )
    return SettlementDetailOut(
        **SettlementOut.model_validate(settlement).model_dump(),
        paid_claims=[
            PaidClaimOut(
                claim_id=p.reference_id,
                claim_number=numbers.get(p.reference_id),
                payment_id=p.id,
                payment_number=p.number,
                amount=p.amount,
            )
            for p in payments
        ],
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
        payment = _named("reference_id", lambda: services.record_payment(actor=_actor(), values=values))
        return _created(PaymentOut.model_validate(payment))

    return _moving_money(work)


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
    stmt = services.payments_query(_tenant(), kind=kind, reference_id=reference_id, paid_on=day_arg("paid_on"))
    return _page(stmt, PaymentOut, PaymentPage)


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
    kind = _required("kind", choice_arg("kind", PaymentKind))
    reference_id = _required("reference_id", int_arg("reference_id"))
    payer = request.args.get("payer", "").strip()[:20] or None
    target = services.owed(_actor(), kind, reference_id, payer)
    return jsonify_model(OwedOut.model_validate({**vars(target), "outstanding": target.outstanding}))


@api_bp.get(f"/payments/<{ID}:payment_id>")
@allow(READERS)
@documented(
    "One payment with its refunds and what may still be refunded",
    tag=TAG,
    responses={200: PaymentDetailOut, 404: None},
)
def get_payment(payment_id: int):
    return jsonify_model(_payment_detail(services.get_payment(_tenant(), payment_id)))


@api_bp.post(f"/payments/<{ID}:payment_id>/reverse")
@allow(CASHIERS)
@documented(
    "Reverse a mistaken payment: answers the reversal, a new payment of the opposite amount",
    tag=TAG,
    body=ReverseIn,
    responses={201: PaymentOut, 404: None, 409: None},
    description="The original stays as it was. A reversal, a payment already reversed or one with refunds: "
    "409." + IDEMPOTENT,
)
def reverse_payment(payment_id: int):
    data = parse(ReverseIn)

    def work():
        reversal = services.reverse_payment(actor=_actor(), payment_id=payment_id, reason=data.reason)
        return _created(PaymentOut.model_validate(reversal))

    return _moving_money(work)


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
        tenant = _tenant()
        _named("payment_id", lambda: services.get_payment(tenant, data.payment_id))
        refund = services.request_refund(
            actor=_actor(), payment_id=data.payment_id, amount=data.amount, reason=data.reason
        )
        return _created(RefundOut.model_validate(refund))

    return _moving_money(work)


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
        _tenant(), status=choice_arg("status", RefundStatus), payment_id=int_arg("payment_id")
    )
    return _page(stmt, RefundOut, RefundPage)


@api_bp.get(f"/refunds/<{ID}:refund_id>")
@allow(READERS)
@documented("One refund", tag=TAG, responses={200: RefundOut, 404: None})
def get_refund(refund_id: int):
    return jsonify_model(RefundOut.model_validate(services.get_refund(_tenant(), refund_id)))


def _decide(refund_id: int, approve: bool) -> Response:
    data = optional_body(DecideIn)
    refund = services.decide_refund(actor=_actor(), refund_id=refund_id, approve=approve, note=data.note or "")
    return _saved(RefundOut.model_validate(refund))


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


# --- payment methods --------------------------------------------------------------------------------


@api_bp.get("/payment-methods")
@allow(READERS)
@documented(
    "The hospital's or insurer's payment methods, by kind and label",
    tag=TAG,
    responses={200: MethodPage},
    query={"active": "true: only the active ones", **PAGING},
)
def list_payment_methods():
    stmt = services.methods_query(_tenant(), active_only=_bool_arg("active"))
    return _page(stmt, MethodOut, MethodPage)


@api_bp.post("/payment-methods")
@allow(APPROVERS)
@documented(
    "Add a payment method for the caller's hospital or insurer (finance officers)",
    tag=TAG,
    body=MethodIn,
    responses={201: MethodOut, 409: None},
    description="The same kind and label twice: 409. A platform admin belongs to no hospital or insurer: 403.",
)
def create_payment_method():
    data = parse(MethodIn)
    method = services.add_method(
        actor=_actor(),
        kind=data.kind.value,
        label=data.label,
        settings=data.settings.model_dump(exclude_none=True) if data.settings else None,
    )
    return _saved(MethodOut.model_validate(method), 201)


def _set_active(method_id: int, active: bool) -> Response:
    optional_body(EmptyIn)
    method = services.set_method_active(actor=_actor(), method_id=method_id, active=active)
    return _saved(MethodOut.model_validate(method))


@api_bp.post(f"/payment-methods/<{ID}:method_id>/deactivate")
@allow(APPROVERS)
@documented(
    "Stop offering a payment method (payments already taken keep it)",
    tag=TAG,
    body=EmptyIn,
    responses={200: MethodOut, 404: None},
    description="The body may be left out.",
)
def deactivate_payment_method(method_id: int):
    return _set_active(method_id, False)


@api_bp.post(f"/payment-methods/<{ID}:method_id>/activate")
@allow(APPROVERS)
@documented(
    "Offer a payment method again",
    tag=TAG,
    body=EmptyIn,
    responses={200: MethodOut, 404: None},
    description="The body may be left out.",
)
def activate_payment_method(method_id: int):
    return _set_active(method_id, True)


# --- agents and commissions -------------------------------------------------------------------------


@api_bp.get("/agents")
@allow(AGENT_READERS)
@documented("The insurer's agents and brokers, by name", tag=TAG, responses={200: AgentPage}, query=PAGING)
def list_agents():
    return _page(services.agents_query(_tenant()), AgentOut, AgentPage)


@api_bp.post("/agents")
@allow(APPROVERS)
@documented(
    "Add an agent (an insurer's finance officers)",
    tag=TAG,
    body=AgentIn,
    responses={201: AgentOut, 409: None},
    description="code: letters, digits, dots, dashes or underscores, upper-cased; taken already: 409. "
    "A hospital's staff: 403.",
)
def create_agent():
    data = parse(AgentIn)
    agent = services.create_agent(actor=_actor(), code=data.code, name=data.name, email=data.email, phone=data.phone)
    return _saved(AgentOut.model_validate(agent), 201)


@api_bp.post("/commission-rates")
@allow(APPROVERS)
@documented(
    "Set the commission rate of one of the insurer's schemes from a day",
    tag=TAG,
    body=RateIn,
    responses={201: RateOut, 409: None},
    description="A rate from the same day exists: 409. A scheme the caller may not see: 422 on scheme_id. "
    "rate_percent above 100: 422.",
)
def create_commission_rate():
    data = parse(RateIn)
    row = _named(
        "scheme_id",
        lambda: services.set_commission_rate(
            actor=_actor(),
            scheme_id=data.scheme_id,
            rate_percent=data.rate_percent,
            effective_from=data.effective_from,
        ),
    )
    return _saved(RateOut.model_validate(row), 201)


@api_bp.post(f"/agents/<{ID}:agent_id>/assignments")
@allow(APPROVERS)
@documented(
    "Assign the agent who sold a coverage (commission on its premiums goes to them; replaces an earlier one)",
    tag=TAG,
    body=AssignmentIn,
    responses={201: AssignmentOut, 404: None},
    description="A coverage the caller may not see: 422 on coverage_id.",
)
def assign_agent(agent_id: int):
    data = parse(AssignmentIn)
    agent = _agent(agent_id)
    row = _named(
        "coverage_id", lambda: services.assign_agent(actor=_actor(), coverage_id=data.coverage_id, agent_id=agent.id)
    )
    return _saved(AssignmentOut.model_validate(row), 201)


@api_bp.get("/commissions")
@allow(AGENT_READERS)
@documented(
    "Commissions accrued on premium payments (negative for a reversed one), newest first",
    tag=TAG,
    responses={200: CommissionPage},
    query={"agent_id": "one agent", "unpaid": "true: only those not yet paid out", **PAGING},
)
def list_commissions():
    stmt = services.commissions_query(_tenant(), agent_id=int_arg("agent_id"), unpaid=_bool_arg("unpaid"))
    return _page(stmt, CommissionOut, CommissionPage)


@api_bp.post(f"/agents/<{ID}:agent_id>/commission-payments")
@allow(APPROVERS)
@documented(
    "Pay an agent everything accrued and not yet paid, as one batch",
    tag=TAG,
    body=CommissionPaymentIn,
    responses={201: CommissionPaymentOut, 404: None, 409: None},
    description="Nothing owed to the agent: 409." + IDEMPOTENT,
)
def pay_commissions(agent_id: int):
    data = parse(CommissionPaymentIn)

    def work():
        agent = _agent(agent_id)
        batch = services.pay_commissions(
            actor=_actor(), agent_id=agent.id, method=data.method.value, reference=data.reference, paid_on=data.paid_on
        )
        return _created(CommissionPaymentOut.model_validate(batch))

    return _moving_money(work)


@api_bp.get(f"/agents/<{ID}:agent_id>/statement")
@allow(AGENT_READERS)
@documented(
    "An agent's statement: commissions accrued and payments made in a period, with the balance",
    tag=TAG,
    responses={200: StatementOut, 404: None},
    query={"from": "first day, YYYY-MM-DD (open when left out)", "to": "last day, YYYY-MM-DD (open)"},
)
def agent_statement(agent_id: int):
    start, end = day_arg("from"), day_arg("to")
    if start and end and end < start:
        raise Invalid.field("to", "The period ends before it starts.")
    statement = services.agent_statement(_tenant(), agent_id, start, end)
    return jsonify_model(
        StatementOut(
            agent=AgentOut.model_validate(statement.agent),
            start=start,
            end=end,
            accrued=[CommissionOut.model_validate(c) for c in statement.accrued],
            payments=[CommissionPaymentOut.model_validate(p) for p in statement.payments],
            total_accrued=statement.total_accrued,
            total_paid=statement.total_paid,
            balance=statement.balance,
        )
    )


# --- settlements ------------------------------------------------------------------------------------


def _provider(institution_id: int) -> int:
    if institution_id not in hospital.institution_names():
        raise Invalid.field("institution_id", "No such institution.")
    return institution_id


@api_bp.get("/settlements/preview")
@allow(READERS)
@documented(
    "The approved claims of a provider in a period with what is left to pay on each (an insurer's view)",
    tag=TAG,
    responses={200: PreviewOut},
    query={
        "institution_id": "the provider (required)",
        "period_start": "first service date, YYYY-MM-DD (required)",
        "period_end": "last service date, YYYY-MM-DD (required)",
    },
    description="Hospital staff: 403 (settlements are the insurer's).",
)
def settlement_preview():
    institution_id = _provider(_required("institution_id", int_arg("institution_id")))
    start = _required("period_start", day_arg("period_start"))
    end = _required("period_end", day_arg("period_end"))
    lines = services.settlement_preview(
        actor=_actor(), institution_id=institution_id, period_start=start, period_end=end
    )
    return jsonify_model(
        PreviewOut(
            institution_id=institution_id,
            period_start=start,
            period_end=end,
            claims=len(lines),
            total=sum((line.payable for line in lines), Decimal("0.00")),
            lines=[SettlementLineOut.model_validate(line) for line in lines],
        )
    )


@api_bp.post("/settlements")
@allow(APPROVERS)
@documented(
    "Pay a provider every approved claim of a period in one batch; answers the settlement with the claims paid",
    tag=TAG,
    body=SettlementIn,
    responses={201: SettlementDetailOut, 409: None},
    description="One payment per claim, each marking its claim paid. Nothing left to pay in the period: 409. "
    "Hospital staff: 403." + IDEMPOTENT,
)
def create_settlement():
    data = parse(SettlementIn)
    _provider(data.institution_id)

    def work():
        settlement = services.settle(
            actor=_actor(),
            institution_id=data.institution_id,
            period_start=data.period_start,
            period_end=data.period_end,
            method=data.method.value,
            reference=data.reference,
            paid_on=data.paid_on,
        )
        return _created(_settlement_detail(settlement))

    return _moving_money(work)


@api_bp.get("/settlements")
@allow(READERS)
@documented(
    "Settlements, newest first (an insurer: those it made; a hospital: those it received)",
    tag=TAG,
    responses={200: SettlementPage},
    query=PAGING,
)
def list_settlements():
    return _page(services.settlements_query(_tenant()), SettlementOut, SettlementPage)


@api_bp.get(f"/settlements/<{ID}:settlement_id>")
@allow(READERS)
@documented(
    "One settlement with the claims it paid",
    tag=TAG,
    responses={200: SettlementDetailOut, 404: None},
)
def get_settlement(settlement_id: int):
    return jsonify_model(_settlement_detail(services.get_settlement(_tenant(), settlement_id)))
