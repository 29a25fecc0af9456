"""Agent pages: the insurer's agents with what is owed to each, commission rates per scheme, assigning the agent
who sold a coverage; an agent's statement (commissions accrued, payments made, the balance) and paying it."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.insurance import services as insurance
from blueprints.payment import bp, services
from blueprints.payment.models import Agent
from blueprints.payment.web.forms import (
    METHOD_LABELS,
    AgentForm,
    AssignForm,
    CommissionPayForm,
    RateForm,
    StatementForm,
    choices,
)
from blueprints.payment.web.page_base import AGENT_READERS, APPROVERS, day
from medcover import clock, pages
from medcover.errors import Invalid, NotFound
from medcover.pages import page_of, render, submit
from medcover.rbac import Tenant, allow


def _may_manage_agents() -> bool:
    return current_user.role in APPROVERS and pages.tenant().company_id is not None


def _scheme_names(tenant: Tenant) -> dict[int, str]:
    """The tenant's schemes as "name (code)" by id."""
    return {s.id: f"{s.name} ({s.code})" for s in insurance.schemes_of(tenant)}


def _agents_page(status: int = 200, **forms):
    tenant = pages.tenant()
    rows, paging = page_of(services.agents_query(tenant))
    agent_choices = [(a.id, f"{a.name} ({a.code})") for a in services.agents_of(tenant)]
    schemes = _scheme_names(tenant)
    rates = services.commission_rates(tenant)
    rate_form = forms.get("rate_form") or RateForm(formdata=None, effective_from=clock.today().isoformat())
    rate_form.scheme_id.choices = choices([(0, "Choose a scheme…"), *schemes.items()])
    assign_form = forms.get("assign_form") or AssignForm(formdata=None)
    assign_form.agent_id.choices = choices([(0, "Choose an agent…"), *agent_choices])
    return render(
        "payment/agents.html",
        status=status,
        rows=rows,
        paging=paging,
        balances=services.open_balances([a.id for a in rows]),
        rates=rates,
        schemes=schemes,
        insurer=tenant.company_id is not None or tenant.is_global,
        can_manage=_may_manage_agents(),
        agent_form=forms.get("agent_form") or AgentForm(formdata=None),
        rate_form=rate_form,
        assign_form=assign_form,
    )


@bp.get("/agents")
@allow(AGENT_READERS)
def agents():
    """The insurer's agents with what is owed to each, commission rates per scheme, assigning an agent."""
    return _agents_page()


def _agents_answer(done, message, **forms):
    if done.ok:
        flash(message(done.result), "success")
        return redirect(url_for("payment.agents"), 303)
    return _agents_page(done.status, **forms)


@bp.post("/agents")
@allow(APPROVERS)
def agent_add():
    form = AgentForm()
    done = submit(
        form,
        lambda: services.create_agent(
            actor=pages.actor(),
            code=form.code.data,
            name=form.name.data,
            email=form.email.data or None,
            phone=form.phone.data or None,
        ),
    )
    return _agents_answer(done, lambda a: f"Agent {a.name} ({a.code}) added.", agent_form=form)


@bp.post("/agents/rates")
@allow(APPROVERS)
def rate_add():
    form = RateForm()
    form.scheme_id.choices = []
    done = submit(
        form,
        lambda: services.set_commission_rate(
            actor=pages.actor(),
            scheme_id=form.scheme_id.data,
            rate_percent=form.rate_percent.data,
            effective_from=form.effective_from.data,
        ),
    )
    return _agents_answer(done, lambda r: f"Commission {r.rate_percent}% from {r.effective_from} set.", rate_form=form)


def _coverage_id(text: str) -> int:
    """A coverage id, or a member number meaning the member's current (else latest) coverage."""
    tenant, text = pages.tenant(), (text or "").strip()
    try:
        if text.isdigit():
            return insurance.get_coverage(tenant, int(text)).id
        member = insurance.member_by_number(tenant, text)
    except NotFound:
        raise Invalid.field("coverage", "No such coverage or member with your company.") from None
    covers = insurance.coverages_of(member.id)
    if not covers:
        raise Invalid.field("coverage", f"Member {member.member_number} has no coverage.")
    today = clock.today()
    return next((c for c in covers if c.start_date <= today <= c.end_date), covers[0]).id


@bp.post("/agents/assign")
@allow(APPROVERS)
def agent_assign():
    form = AssignForm()
    form.agent_id.choices = []
    done = submit(
        form,
        lambda: services.assign_agent(
            actor=pages.actor(), coverage_id=_coverage_id(form.coverage.data), agent_id=form.agent_id.data
        ),
    )
    return _agents_answer(
        done, lambda a: f"Coverage {a.coverage_id} assigned to agent #{a.agent_id}.", assign_form=form
    )


def _statement_page(agent: Agent, status: int = 200, pay_form=None):
    filters = StatementForm(formdata=request.args)
    start, end = day(filters.start.data), day(filters.end.data)
    for name, value, parsed in (("start", filters.start.data, start), ("end", filters.end.data, end)):
        if value and parsed is None:
            getattr(filters, name).errors = ["Enter a date as YYYY-MM-DD."]
            status = max(status, 422)
    statement = services.agent_statement(pages.tenant(), agent.id, start, end)
    return render(
        "payment/agent.html",
        status=status,
        agent=agent,
        statement=statement,
        filters=filters,
        numbers=services.payment_numbers({c.payment_id for c in statement.accrued}),
        owed=services.open_balances([agent.id]).get(agent.id, Decimal("0.00")),
        can_manage=_may_manage_agents(),
        pay_form=pay_form or CommissionPayForm(formdata=None),
        methods=METHOD_LABELS,
    )


@bp.get("/agents/<id:agent_id>")
@allow(AGENT_READERS)
def agent(agent_id: int):
    """An agent's statement: commissions accrued, payments made, the balance; filtered by dates."""
    return _statement_page(services.get_agent(pages.tenant(), agent_id))


@bp.post("/agents/<id:agent_id>/pay")
@allow(APPROVERS)
def agent_pay(agent_id: int):
    agent = services.get_agent(pages.tenant(), agent_id)
    form = CommissionPayForm()
    done = submit(
        form,
        lambda: services.pay_commissions(
            actor=pages.actor(), agent_id=agent.id, method=form.method.data, reference=form.reference.data or None
        ),
    )
    if done.ok:
        batch = done.result
        flash(f"Paid {agent.name} {batch.amount:,.2f} for {batch.commissions} commissions.", "success")
        return redirect(url_for("payment.agent", agent_id=agent.id), 303)
    return _statement_page(services.get_agent(pages.tenant(), agent_id), done.status, form)
