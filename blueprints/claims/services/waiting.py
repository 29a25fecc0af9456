"""Claims' part of the home page: claims to review (and since when the oldest waits), drafts to send, claims to
pay, and open disputes on either side, all counted in one query."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from blueprints.claims.models import ClaimStatus, DisputeStatus
from blueprints.claims.services.disputes import disputes_query
from blueprints.claims.services.reading import TO_PAY, claims_query
from medcover import clock
from medcover.rbac import Tenant
from medcover.work import Waiting, counted, read_together

#: key -> (the list page's own query, the column whose earliest value says how long the oldest row waits)
_LISTS = {
    "claims_to_review": (lambda t: claims_query(t, status=ClaimStatus.PENDING_REVIEW.value), "submitted_at"),
    "draft_claims": (lambda t: claims_query(t, status=ClaimStatus.DRAFT.value), None),
    "claims_to_pay": (lambda t: claims_query(t, status=TO_PAY), None),
    # the same disputes from either side: the insurer resolves them, the provider waits for the outcome
    "disputes_to_resolve": (lambda t: disputes_query(t, status=DisputeStatus.OPEN.value), "created_at"),
    "disputes_open": (lambda t: disputes_query(t, status=DisputeStatus.OPEN.value), None),
}


def _earliest(stmt, column: str):
    rows = stmt.order_by(None).subquery()
    return select(func.min(rows.c[column])).scalar_subquery()


def _day(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands an aggregate back as text
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    return clock.local_date(value) if isinstance(value, datetime) else value  # a stored instant: the site's day


def work_waiting(tenant: Tenant, keys) -> dict[str, Waiting]:
    columns = {}
    for key, (query, oldest) in _LISTS.items():
        if key in keys:
            stmt = query(tenant)
            columns[key] = counted(stmt)
            if oldest:
                columns[f"{key}.oldest"] = _earliest(stmt, oldest)
    values = read_together(columns)
    return {key: Waiting(values[key], _day(values.get(f"{key}.oldest"))) for key in _LISTS if key in keys}
