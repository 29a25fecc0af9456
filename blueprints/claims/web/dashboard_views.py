"""The insurers' claims dashboard: claims by status, approval rate, turnaround, top rejection reasons and approved
spend per scheme for a range of submission dates, as server-rendered SVG bar charts."""

from __future__ import annotations

from datetime import timedelta

from flask import request

from blueprints.claims import bp
from blueprints.claims.services import dashboard
from blueprints.claims.web.claim_views import INSURER_STAFF, status_label
from blueprints.claims.web.forms import DashboardFilters
from medcover import clock
from medcover.pages import render, tenant
from medcover.rbac import allow

DASHBOARD_DAYS = 90


def _bars(pairs, *, money_values: bool = False) -> dict:
    """Geometry of a horizontal bar chart drawn as SVG by the template: bars scaled to the largest value."""
    left, width, bar, gap = 190, 420, 20, 8
    top = max((value for _label_, value in pairs), default=0) or 1
    rows = [
        {
            "label": label,
            "value": value,
            "text": f"{value:,.2f}" if money_values else f"{value:,}",
            "y": n * (bar + gap),
            "width": round(float(value) / float(top) * width, 1) if value else 0,
        }
        for n, (label, value) in enumerate(pairs)
    ]
    return {
        "left": left,
        "width": width,
        "bar": bar,
        "gap": gap,
        "rows": rows,
        "height": max(len(rows), 1) * (bar + gap),
    }


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
        status_chart=_bars([(status_label(row.status).capitalize(), row.claims) for row in counts]),
        reason_chart=_bars([(row.code, row.lines) for row in reasons]),
        spend_chart=_bars([(f"{row.code} · {row.name}", row.approved) for row in spend], money_values=True),
    )
