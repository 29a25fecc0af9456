"""Agent and commission JSON API: /agents, /commission-rates, assignments, /commissions, commission payments
and an agent's statement. Who may call what, tenancy and idempotency: ``api_base``."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, WithJsonSchema

from blueprints.payment import api_bp, services
from blueprints.payment.models import MethodKind
from blueprints.payment.web.api_base import (
    AGENT_READERS,
    APPROVERS,
    ID,
    IDEMPOTENT,
    PAGING,
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
    bool_arg,
    created,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    page_model,
    page_response,
    parse,
    referenced,
)
from medcover.errors import Invalid
from medcover.rbac import allow

# A percentage in a body is a JSON string, as money is: `true`, 12.5 or "7.505" is refused.
_PERCENT = re.compile(r"^\d{1,3}(\.\d{1,2})?$")


def _percent(value: Any) -> Decimal:
    if not isinstance(value, str) or not _PERCENT.match(value.strip()):
        raise ValueError('Enter a percentage as a string such as "7.50".')
    return Decimal(value.strip())


#: the document states the same rule (0 to 100, at most two decimals; the service refuses above 100)
PERCENT_SCHEMA = {"type": "string", "pattern": r"^[ \t\r\n]*(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)[ \t\r\n]*$"}
PercentIn = Annotated[Decimal, BeforeValidator(_percent), WithJsonSchema(PERCENT_SCHEMA)]


# --- request bodies ---------------------------------------------------------------------------------


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
    model_config = ConfigDict(json_schema_extra=reference_rules)

    method: MethodKind
    reference: Reference | None = None
    paid_on: Day | None = None


# --- answers ----------------------------------------------------------------------------------------


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


AgentPage = page_model(AgentOut)


CommissionPage = page_model(CommissionOut)


# --- agents and commissions -------------------------------------------------------------------------


@api_bp.get("/agents")
@allow(AGENT_READERS)
@documented("The insurer's agents and brokers, by name", tag=TAG, responses={200: AgentPage}, query=PAGING)
def list_agents():
    return page_response(services.agents_query(api.tenant()), AgentOut, AgentPage)


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
    agent = services.create_agent(actor=api.actor(), code=data.code, name=data.name, email=data.email, phone=data.phone)
    return created(AgentOut.model_validate(agent))


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
    row = referenced(
        "scheme_id",
        lambda: services.set_commission_rate(
            actor=api.actor(),
            scheme_id=data.scheme_id,
            rate_percent=data.rate_percent,
            effective_from=data.effective_from,
        ),
    )
    return created(RateOut.model_validate(row))


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
    agent = services.get_agent(api.tenant(), agent_id)
    row = referenced(
        "coverage_id", lambda: services.assign_agent(actor=api.actor(), coverage_id=data.coverage_id, agent_id=agent.id)
    )
    return created(AssignmentOut.model_validate(row))


@api_bp.get("/commissions")
@allow(AGENT_READERS)
@documented(
    "Commissions accrued on premium payments (negative for a reversed one), newest first",
    tag=TAG,
    responses={200: CommissionPage},
    query={"agent_id": "one agent", "unpaid": "true: only those not yet paid out", **PAGING},
)
def list_commissions():
    stmt = services.commissions_query(api.tenant(), agent_id=int_arg("agent_id"), unpaid=bool_arg("unpaid"))
    return page_response(stmt, CommissionOut, CommissionPage)


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
        agent = services.get_agent(api.tenant(), agent_id)
        batch = services.pay_commissions(
            actor=api.actor(),
            agent_id=agent.id,
            method=data.method.value,
            reference=data.reference,
            paid_on=data.paid_on,
        )
        return created_uncommitted(CommissionPaymentOut.model_validate(batch))

    return moving_money(work)


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
    statement = services.agent_statement(api.tenant(), agent_id, start, end)
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
