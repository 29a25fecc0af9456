"""Agents and their commissions: an insurer's agents, the commission rate of each scheme from a day, the agent
who sold each coverage, commission accrued on premium payments (and taken back on their reversals), paid to
the agent in batches, and the agent's statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from blueprints.insurance import services as insurance
from blueprints.payment.models import Agent, AgentAssignment, Commission, CommissionPayment, CommissionRate, Payment
from blueprints.payment.services import methods, rules
from medcover import clock, fields, locks
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.money import ZERO, money, percent_of
from medcover.rbac import Tenant, ensure_owned, scope, tenant_of

#: the agents page lists at most this many commission rates
RATES_SHOWN = 200


def _insurer_writer(actor) -> int:
    tenant = tenant_of(actor)
    if actor.role not in rules.APPROVERS or tenant.company_id is None:
        raise Forbidden("An insurer's finance officer manages its agents and commissions.")
    return tenant.company_id


# --- agents, rates and assignments ---------------------------------------------------------------


def create_agent(*, actor, code: str, name: str, email: str | None = None, phone: str | None = None) -> Agent:
    company_id = _insurer_writer(actor)
    code = fields.code(code, "code")
    if db.session.scalar(select(Agent.id).where(Agent.company_id == company_id, Agent.code == code)):
        raise Conflict("That agent code is taken.", {"code": ["Another agent has this code."]})
    agent = Agent(
        company_id=company_id,
        code=code,
        name=fields.text(name, "name", 120),
        email=fields.text(email, "email", 254, required=False) or None,
        phone=fields.text(phone, "phone", 20, required=False) or None,
        active=True,
    )
    db.session.add(agent)
    db.session.flush()
    rules.audit(actor, "create", "agent", agent, after={"code": code, "name": agent.name})
    return agent


def set_commission_rate(*, actor, scheme_id: int, rate_percent, effective_from) -> CommissionRate:
    company_id = _insurer_writer(actor)
    scheme = insurance.get_scheme(tenant_of(actor), scheme_id)
    rate = fields.amount(rate_percent, "rate_percent")
    if rate > 100:
        raise Invalid.field("rate_percent", "Use a percentage from 0 to 100.")
    day = fields.day(effective_from, "effective_from")
    if db.session.scalar(
        select(CommissionRate.id).where(CommissionRate.scheme_id == scheme.id, CommissionRate.effective_from == day)
    ):
        raise Conflict("A rate from that day exists.", {"effective_from": ["Choose another day."]})
    row = CommissionRate(company_id=company_id, scheme_id=scheme.id, rate_percent=rate, effective_from=day)
    db.session.add(row)
    db.session.flush()
    rules.audit(
        actor,
        "create",
        "commission_rate",
        row,
        after={"scheme_id": scheme.id, "rate_percent": str(rate), "from": str(day)},
    )
    return row


def assign_agent(*, actor, coverage_id: int, agent_id: int) -> AgentAssignment:
    company_id = _insurer_writer(actor)
    cover = insurance.get_coverage(tenant_of(actor), coverage_id)
    agent = db.session.get(Agent, agent_id) if agent_id else None
    if agent is None or agent.company_id != company_id:
        raise Invalid.field("agent_id", "Choose one of your agents.")
    row = db.session.get(AgentAssignment, cover.id)
    before = row.agent_id if row else None
    if row is None:
        row = AgentAssignment(coverage_id=cover.id, agent_id=agent.id, company_id=company_id, assigned_at=clock.now())
        db.session.add(row)
    else:
        row.agent_id = agent.id
    db.session.flush()
    rules.audit(actor, "update", "agent_assignment", row, before={"agent_id": before}, after={"agent_id": agent.id})
    return row


# --- commissions ---------------------------------------------------------------------------------


def accrue_commission(payment: Payment) -> None:
    """Commission on a premium payment (or its reversal) for the agent who sold the coverage."""
    assignment = db.session.get(AgentAssignment, payment.reference_id)
    if assignment is None:
        return
    cover = insurance.get_coverage(Tenant(None, None), payment.reference_id)
    rate = db.session.scalar(
        select(CommissionRate.rate_percent)
        .where(CommissionRate.scheme_id == cover.scheme_id, CommissionRate.effective_from <= payment.paid_on)
        .order_by(CommissionRate.effective_from.desc())
        .limit(1)
    )
    if rate is None:
        return
    db.session.add(
        Commission(
            agent_id=assignment.agent_id,
            company_id=payment.company_id,
            payment_id=payment.id,
            scheme_id=cover.scheme_id,
            premium=payment.amount,
            rate_percent=rate,
            amount=percent_of(payment.amount, rate) if payment.amount > 0 else -percent_of(-payment.amount, rate),
            accrued_on=payment.paid_on,
        )
    )
    db.session.flush()


def pay_commissions(*, actor, agent_id: int, method: str, reference: str | None, paid_on=None) -> CommissionPayment:
    """Pay an agent everything accrued and not yet paid, as one batch."""
    company_id = _insurer_writer(actor)
    agent = db.session.get(Agent, agent_id) if agent_id else None
    if agent is None or agent.company_id != company_id:
        raise NotFound("No such agent.")
    method_kind = methods.method_kind(method)
    reference = methods.method_reference(method_kind, reference)
    locks.hold(f"commissions:{agent.id}")
    open_rows = list(
        db.session.scalars(
            select(Commission)
            .where(Commission.agent_id == agent.id, Commission.commission_payment_id.is_(None))
            .with_for_update()
        )
    )
    total = money(sum((row.amount for row in open_rows), ZERO))
    if total <= 0:
        raise Conflict(f"Nothing is owed to {agent.name} now.")
    batch = CommissionPayment(
        agent_id=agent.id,
        company_id=company_id,
        amount=total,
        commissions=len(open_rows),
        method=method_kind,
        reference=reference,
        paid_on=rules.paid_day(paid_on),
        created_by_id=actor.id,
    )
    db.session.add(batch)
    db.session.flush()
    for row in open_rows:
        row.commission_payment_id = batch.id
    db.session.flush()
    rules.audit(
        actor,
        "create",
        "commission_payment",
        batch,
        after={"agent": agent.code, "amount": str(total), "commissions": len(open_rows)},
    )
    return batch


@dataclass(frozen=True)
class Statement:
    agent: Agent
    accrued: list[Commission]
    payments: list[CommissionPayment]
    total_accrued: Decimal
    total_paid: Decimal

    @property
    def balance(self) -> Decimal:
        return money(self.total_accrued - self.total_paid)


def agent_statement(tenant: Tenant, agent_id: int, start: date | None = None, end: date | None = None) -> Statement:
    agent = get_agent(tenant, agent_id)
    accrued_stmt = (
        select(Commission).where(Commission.agent_id == agent.id).order_by(Commission.accrued_on, Commission.id)
    )
    paid_stmt = (
        select(CommissionPayment).where(CommissionPayment.agent_id == agent.id).order_by(CommissionPayment.paid_on)
    )
    if start:
        accrued_stmt = accrued_stmt.where(Commission.accrued_on >= start)
        paid_stmt = paid_stmt.where(CommissionPayment.paid_on >= start)
    if end:
        accrued_stmt = accrued_stmt.where(Commission.accrued_on <= end)
        paid_stmt = paid_stmt.where(CommissionPayment.paid_on <= end)
    accrued = list(db.session.scalars(accrued_stmt))
    payments = list(db.session.scalars(paid_stmt))
    return Statement(
        agent,
        accrued,
        payments,
        money(sum((c.amount for c in accrued), ZERO)),
        money(sum((p.amount for p in payments), ZERO)),
    )


# --- reading -------------------------------------------------------------------------------------


def get_agent(tenant: Tenant, agent_id: int) -> Agent:
    """One agent the tenant may see (another insurer's, or none: ``NotFound``)."""
    agent = db.session.get(Agent, agent_id) if agent_id else None
    ensure_owned(tenant, agent)
    return agent


def agents_query(tenant: Tenant):
    return scope(select(Agent), Agent, tenant).order_by(Agent.name)


def agents_of(tenant: Tenant) -> list[Agent]:
    """All the tenant's agents by name (to choose one from)."""
    return list(db.session.scalars(agents_query(tenant)))


def commission_rates(tenant: Tenant) -> list[CommissionRate]:
    """The tenant's commission rates by scheme, the newest first within each (at most ``RATES_SHOWN``)."""
    return list(
        db.session.scalars(
            scope(select(CommissionRate), CommissionRate, tenant)
            .order_by(CommissionRate.scheme_id, CommissionRate.effective_from.desc())
            .limit(RATES_SHOWN)
        )
    )


def open_balances(agent_ids) -> dict[int, Decimal]:
    """What is accrued and not yet paid to each agent, in one query (agents owed nothing are left out)."""
    if not agent_ids:
        return {}
    rows = db.session.execute(
        select(Commission.agent_id, func.sum(Commission.amount))
        .where(Commission.agent_id.in_(agent_ids), Commission.commission_payment_id.is_(None))
        .group_by(Commission.agent_id)
    ).all()
    return {agent_id: Decimal(str(total)).quantize(Decimal("0.01")) for agent_id, total in rows}


def commissions_query(tenant: Tenant, *, agent_id: int | None = None, unpaid: bool = False):
    stmt = scope(select(Commission), Commission, tenant).order_by(Commission.accrued_on.desc(), Commission.id.desc())
    if agent_id:
        stmt = stmt.where(Commission.agent_id == agent_id)
    if unpaid:
        stmt = stmt.where(Commission.commission_payment_id.is_(None))
    return stmt
