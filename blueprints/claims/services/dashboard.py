"""The insurers' claims dashboard in numbers: claims by status, approval rate, turnaround, top rejection
reasons and approved spend per scheme, for the claims submitted in a date range. Set-based grouped SQL;
each function takes a Tenant, returns plain values and sends a fixed number of queries."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Float, Text, cast, extract, func, select

from blueprints.claims.engine import REASONS
from blueprints.claims.models import FINALISED, Claim, ClaimItem, ClaimStatus
from blueprints.insurance import services as insurance
from medcover.extensions import db
from medcover.money import ZERO, money
from medcover.rbac import Tenant, scope

#: decided and not paid out in full or in part (a dispute opens on a rejected or partially approved claim;
#: it counts as not approved until it is decided again)
NOT_APPROVED = (ClaimStatus.REJECTED, ClaimStatus.DISPUTED)


@dataclass(frozen=True)
class StatusCount:
    status: str
    claims: int
    billed: Decimal
    approved: Decimal


@dataclass(frozen=True)
class Approval:
    decided: int
    approved: int
    billed: Decimal
    approved_amount: Decimal

    @property
    def rate(self) -> Decimal | None:
        """Finalised claims out of decided ones, as a percentage (None: nothing decided)."""
        return money(Decimal(self.approved) * 100 / self.decided) if self.decided else None

    @property
    def amount_rate(self) -> Decimal | None:
        return money(self.approved_amount * 100 / self.billed) if self.billed else None


@dataclass(frozen=True)
class Turnaround:
    """Hours from submission to decision."""

    decided: int
    average_hours: Decimal | None
    median_hours: Decimal | None


@dataclass(frozen=True)
class ReasonCount:
    code: str
    words: str
    lines: int


@dataclass(frozen=True)
class SchemeSpend:
    scheme_id: int
    code: str
    name: str
    claims: int
    approved: Decimal
    #: the scheme's annual limit per member (None: no limit)
    annual_limit: Decimal | None
    #: members with active cover on the scheme at some point of the range
    members: int

    @property
    def pool(self) -> Decimal | None:
        """What the scheme could pay in a year: the limit for each member with active cover."""
        return money(self.annual_limit * self.members) if self.annual_limit is not None else None

    @property
    def used_percent(self) -> Decimal | None:
        pool = self.pool
        return money(self.approved * 100 / pool) if pool else None


def _claims(tenant: Tenant, start: date | None, end: date | None, *columns):
    """Claims of the tenant submitted in the range (drafts and never-submitted voids have no date)."""
    stmt = scope(select(*columns), Claim, tenant).where(Claim.submitted_on.is_not(None))
    if start is not None:
        stmt = stmt.where(Claim.submitted_on >= start)
    if end is not None:
        stmt = stmt.where(Claim.submitted_on <= end)
    return stmt


def by_status(tenant: Tenant, start: date | None = None, end: date | None = None) -> list[StatusCount]:
    order = {status.value: n for n, status in enumerate(ClaimStatus)}
    rows = db.session.execute(
        _claims(
            tenant,
            start,
            end,
            Claim.status,
            func.count(Claim.id),
            func.coalesce(func.sum(Claim.total_billed), 0),
            func.coalesce(func.sum(Claim.total_approved), 0),
        ).group_by(Claim.status)
    ).all()
    found = [StatusCount(ClaimStatus(s).value, n, money(billed), money(approved)) for s, n, billed, approved in rows]
    return sorted(found, key=lambda row: order[row.status])


def approval(counts: list[StatusCount]) -> Approval:
    """From ``by_status``'s rows: no second query."""
    finalised = {s.value for s in FINALISED}
    decided = [row for row in counts if row.status in finalised or row.status in {s.value for s in NOT_APPROVED}]
    approved = [row for row in decided if row.status in finalised]
    return Approval(
        decided=sum(row.claims for row in decided),
        approved=sum(row.claims for row in approved),
        billed=money(sum((row.billed for row in decided), ZERO)),
        approved_amount=money(sum((row.approved for row in decided), ZERO)),
    )


def _seconds():
    """Submission to decision in seconds, in the database's own dialect."""
    if db.session.get_bind().dialect.name == "postgresql":
        return extract("epoch", Claim.decided_at - Claim.submitted_at)
    return (func.julianday(Claim.decided_at) - func.julianday(Claim.submitted_at)) * 86400.0


def turnaround(
    tenant: Tenant, start: date | None = None, end: date | None = None, *, reviewed_only: bool = False
) -> Turnaround:
    """Average and median over every decided claim, in two queries: the median is read with an offset into
    the ordered durations, so no list of claims comes back to Python."""
    seconds = cast(_seconds(), Float)
    stmt = _claims(tenant, start, end, seconds).where(Claim.decided_at.is_not(None), Claim.submitted_at.is_not(None))
    if reviewed_only:
        stmt = stmt.where(Claim.review.is_(True))
    durations = stmt.subquery()
    value = durations.c[0]
    count, average = db.session.execute(select(func.count(), func.avg(value)).select_from(durations)).one()
    if not count:
        return Turnaround(0, None, None)
    middle = db.session.scalars(
        select(value).select_from(durations).order_by(value).offset((count - 1) // 2).limit(2 - count % 2)
    ).all()
    median = sum(middle) / len(middle)
    return Turnaround(count, _hours(average), _hours(median))


def _hours(seconds) -> Decimal:
    return money(Decimal(str(max(float(seconds or 0), 0.0))) / 3600)


def top_rejection_reasons(
    tenant: Tenant, start: date | None = None, end: date | None = None, limit: int = 8
) -> list[ReasonCount]:
    """R-codes on rejected lines. The codes sit in a JSON list, awkward to unnest in SQL on both SQLite and
    PostgreSQL; so SQL groups the lines by their list as text (a handful of distinct lists, however many
    lines) and Python splits those few rows into codes."""
    codes_text = cast(ClaimItem.reason_codes, Text)
    stmt = (
        _claims(tenant, start, end, codes_text, func.count(ClaimItem.id))
        .join_from(Claim, ClaimItem, ClaimItem.claim_id == Claim.id)
        .where(ClaimItem.decision == "rejected")
        .group_by(codes_text)
    )
    counts: Counter[str] = Counter()
    for text, lines in db.session.execute(stmt):
        for code in _codes(text):
            if code.startswith("R"):
                counts[code] += lines
    return [ReasonCount(code, REASONS.get(code, code), n) for code, n in counts.most_common(limit)]


def _codes(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(code) for code in value] if isinstance(value, list) else []


def spend_by_scheme(tenant: Tenant, start: date | None = None, end: date | None = None) -> list[SchemeSpend]:
    """Approved totals of finalised claims per scheme, beside each scheme's annual limit and the number of
    members with active cover on it during the range (three queries)."""
    spent = {
        scheme_id: (n, money(total))
        for scheme_id, n, total in db.session.execute(
            _claims(tenant, start, end, Claim.scheme_id, func.count(Claim.id), func.sum(Claim.total_approved))
            .where(Claim.status.in_(FINALISED), Claim.scheme_id.is_not(None))
            .group_by(Claim.scheme_id)
        )
    }
    schemes = insurance.schemes_of(tenant)
    members = insurance.members_per_scheme(tenant, start=start, end=end)
    rows = [
        SchemeSpend(
            scheme_id=s.id,
            code=s.code,
            name=s.name,
            claims=spent.get(s.id, (0, ZERO))[0],
            approved=spent.get(s.id, (0, ZERO))[1],
            annual_limit=s.annual_limit,
            members=members.get(s.id, 0),
        )
        for s in schemes
        if s.id in spent or members.get(s.id)
    ]
    return sorted(rows, key=lambda row: (-row.approved, row.code))
