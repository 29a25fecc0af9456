"""Settlement JSON API: /settlements of approved claims, their preview, one settlement with the claims it paid.
Who may call what, tenancy and idempotency: ``api_base``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import ConfigDict

from blueprints.hospital import services as hospital
from blueprints.payment import api_bp, services
from blueprints.payment.models import MethodKind
from blueprints.payment.web.api_base import (
    APPROVERS,
    ID,
    IDEMPOTENT,
    PAGING,
    READERS,
    TAG,
    Reference,
    created_uncommitted,
    moving_money,
    reference_rules,
)
from medcover import api
from medcover.api import (
    Day,
    Id,
    Money,
    Out,
    Schema,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    named_by_platform_admins,
    page_model,
    page_response,
    parse,
    required,
)
from medcover.errors import Invalid
from medcover.rbac import allow

# --- request bodies and answers ---------------------------------------------------------------------


def _settlement_rules(schema: dict) -> None:
    reference_rules(schema)
    schema.update(named_by_platform_admins("company_id"))


class SettlementIn(Schema):
    model_config = ConfigDict(json_schema_extra=_settlement_rules)

    institution_id: Id
    #: the insurer that pays: an insurer's staff pay for their own and leave it out; a platform admin names it
    company_id: Id | None = None
    period_start: Day
    period_end: Day
    method: MethodKind
    reference: Reference | None = None
    paid_on: Day | None = None


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


SettlementPage = page_model(SettlementOut)


def _settlement_detail(settlement) -> SettlementDetailOut:
    payments = services.settlement_payments(settlement.id)
    paid = services.paid_claims(settlement, {p.reference_id for p in payments})
    return SettlementDetailOut(
        **SettlementOut.model_validate(settlement).model_dump(),
        paid_claims=[
            PaidClaimOut(
                claim_id=p.reference_id,
                claim_number=paid[p.reference_id].claim_number if p.reference_id in paid else None,
                payment_id=p.id,
                payment_number=p.number,
                amount=p.amount,
            )
            for p in payments
        ],
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
        "company_id": "the insurer that pays (a platform admin names it; an insurer's staff see their own)",
    },
    description="Hospital staff: 403 (settlements are the insurer's). A platform admin without company_id: 422.",
)
def settlement_preview():
    institution_id = _provider(required("institution_id", int_arg("institution_id")))
    start = required("period_start", day_arg("period_start"))
    end = required("period_end", day_arg("period_end"))
    lines = services.settlement_preview(
        actor=api.actor(),
        institution_id=institution_id,
        period_start=start,
        period_end=end,
        company_id=int_arg("company_id"),
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
    "Hospital staff: 403. A platform admin names the paying insurer in company_id (else 422)." + IDEMPOTENT,
)
def create_settlement():
    data = parse(SettlementIn)
    _provider(data.institution_id)

    def work():
        settlement = services.settle(
            actor=api.actor(),
            institution_id=data.institution_id,
            period_start=data.period_start,
            period_end=data.period_end,
            method=data.method.value,
            reference=data.reference,
            paid_on=data.paid_on,
            company_id=data.company_id,
        )
        return created_uncommitted(_settlement_detail(settlement))

    return moving_money(work)


@api_bp.get("/settlements")
@allow(READERS)
@documented(
    "Settlements, newest first (an insurer: those it made; a hospital: those it received)",
    tag=TAG,
    responses={200: SettlementPage},
    query=PAGING,
)
def list_settlements():
    return page_response(services.settlements_query(api.tenant()), SettlementOut, SettlementPage)


@api_bp.get(f"/settlements/<{ID}:settlement_id>")
@allow(READERS)
@documented(
    "One settlement with the claims it paid",
    tag=TAG,
    responses={200: SettlementDetailOut, 404: None},
)
def get_settlement(settlement_id: int):
    return jsonify_model(_settlement_detail(services.get_settlement(api.tenant(), settlement_id)))
