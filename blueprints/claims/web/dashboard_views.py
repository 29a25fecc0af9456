"""The insurers' claims dashboard: claims by status, approval rate, turnaround, top rejection reasons and approved
spend per scheme for a range of submission dates, as bar charts (medcover.charts) beside their tables."""

from __future__ import annotations

from datetime import timedelta

from flask import request

from blueprints.claims import bp
from blueprints.claims.services import dashboard, review_dashboard
from blueprints.claims.web.claim_views import INSURER_STAFF, status_label
from blueprints.claims.web.forms import DashboardFilters
from medcover import charts, clock
from medcover.money import format_money
from medcover.pages import render, tenant
from medcover.rbac import allow

DASHBOARD_DAYS = 90


def _count(value) -> str:
    return f"{value:,}"


def _dashboard_range(form: DashboardFilters):
    """No dates asked for: the last 90 days; a date cleared: no bound on that side."""
    today = clock.today()
    start = form.start.data if "start" in request.args and not form.start.errors else None
    end = form.end.data if "end" in request.args and not form.end.errors else None
    if "start" not in request.args and "end" not in request.args:
        start, end = today - timedelta(days=DASHBOARD_DAYS - 1), today
        form.start.data, form.end.data = start, end
    return start, end


@bp.get("/claims/dashboard")
@allow(INSURER_STAFF)
def claims_dashboard():
    form = DashboardFilters(request.args)
    form.validate()
    start, end = _dashboard_range(form)
    viewer = tenant()
    counts = dashboard.by_status(viewer, start, end)
    reasons = dashboard.top_rejection_reasons(viewer, start, end)
    spend = dashboard.spend_by_scheme(viewer, start, end)
    return render(
        "claims/dashboard.html",
        "claims/_dashboard.html",
        filters=form,
        start=start,
        end=end,
        counts=counts,
        approval=dashboard.approval(counts),
        turnaround=dashboard.turnaround(viewer, start, end),
        reviewed=dashboard.turnaround(viewer, start, end, reviewed_only=True),
        reasons=reasons,
        spend=spend,
        triggers=review_dashboard.by_trigger(viewer, start, end),
        providers=review_dashboard.by_provider(viewer, start, end),
        status_chart=charts.bars([(status_label(row.status).capitalize(), row.claims) for row in counts], text=_count),
        reason_chart=charts.bars([(f"{row.code} {row.words}", row.lines) for row in reasons], text=_count),
        spend_chart=charts.bars([(f"{row.code} · {row.name}", row.approved) for row in spend], text=format_money),
    )
