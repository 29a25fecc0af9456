"""Coverages: a member covered by a scheme from one day to another, with its status (suspend, reinstate,
cancel, lapse) and renewals; and the reads other domains make of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from blueprints.core import services as core
from blueprints.insurance.models import COVERAGE_TRANSITIONS, Coverage, CoverageStatus, Member, SchemeStatus
from blueprints.insurance.services import members, schemes
from blueprints.insurance.services.checks import check_writer
from blueprints.insurance.services.periods import anniversary
from medcover.audit import snapshot
from medcover.errors import Conflict, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.paging import fetch_page
from medcover.rbac import Tenant, scope, tenant_of

COVERAGE_FIELDS = ("member_id", "scheme_id", "start_date", "end_date", "status")


@dataclass(frozen=True)
class CoverageSummary:
    """A coverage as other domains see it, with the member it covers."""

    id: int
    member_id: int
    member_number: str
    #: "First Last"
    member_name: str
    scheme_id: int
    company_id: int
    start_date: date
    #: inclusive
    end_date: date
    #: a StrEnum: equal to its plain value ("active", "suspended", "lapsed", "cancelled")
    status: CoverageStatus
    renewed_from_id: int | None


def _summaries(stmt) -> list[CoverageSummary]:
    """``stmt`` selects coverages; each comes back with its member's number and name (one query)."""
    joined = stmt.add_columns(Member.member_number, Member.first_name, Member.last_name).join(
        Member, Member.id == Coverage.member_id
    )
    return [
        CoverageSummary(
            c.id,
            c.member_id,
            number,
            f"{first} {last}",
            c.scheme_id,
            c.company_id,
            c.start_date,
            c.end_date,
            c.status,
            c.renewed_from_id,
        )
        for c, number, first, last in db.session.execute(joined)
    ]


# --- writes --------------------------------------------------------------------------------------


def create_coverage(
    *,
    actor,
    member_number: str,
    scheme_id: int,
    start_date: date,
    end_date: date | None = None,
    status: str = "active",
    renewed_from_id: int | None = None,
) -> Coverage:
    member = members.member_row_by_number(tenant_of(actor), member_number)
    check_writer(actor, member.company_id)
    scheme = schemes.scheme_row(tenant_of(actor), scheme_id)
    end_date = cover_terms(scheme, member.company_id, start_date, end_date)
    try:
        status = CoverageStatus(status)
    except ValueError:
        raise Invalid.field("status", "Choose active, suspended, lapsed or cancelled.") from None
    if status is CoverageStatus.ACTIVE and _active_overlap(member.id, start_date, end_date):
        raise Conflict(
            "The member already has active cover in those dates.",
            {"start_date": ["Overlaps an active coverage of this member."]},
        )
    coverage = Coverage(
        member_id=member.id,
        scheme_id=scheme.id,
        company_id=member.company_id,
        start_date=start_date,
        end_date=end_date,
        status=status,
        renewed_from_id=renewed_from_id,
    )
    db.session.add(coverage)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "coverage",
        coverage.id,
        after=snapshot(coverage, COVERAGE_FIELDS),
        company_id=coverage.company_id,
    )
    return coverage


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def cover_terms(scheme, company_id: int, start_date: date, end_date: date | None) -> date:
    """The cover's last day, once the scheme is the insurer's own and the cover lies within the scheme's
    effective dates (422 naming the field and the reason otherwise). Left blank, the end is a year on, or the
    scheme's own end if that comes first."""
    if scheme.company_id != company_id:
        raise Invalid.field("scheme_id", "The scheme belongs to another insurer; choose one of this insurer's.")
    if scheme.status is SchemeStatus.RETIRED:
        raise Invalid.field("scheme_id", "That scheme is retired.")
    if not isinstance(start_date, date):
        raise Invalid.field("start_date", "Enter a date (YYYY-MM-DD).")
    if end_date is not None and not isinstance(end_date, date):
        raise Invalid.field("end_date", "Enter a date (YYYY-MM-DD).")
    opens, closes = scheme.effective_from, scheme.effective_to
    if opens and start_date < opens:
        raise Invalid.field(
            "start_date", f"The scheme {scheme.code} takes effect on {_day(opens)}; cover can't start before that."
        )
    if closes and start_date > closes:
        raise Invalid.field("start_date", f"The scheme {scheme.code} ended on {_day(closes)}.")
    if end_date is None:
        end_date = anniversary(start_date, 1) - timedelta(days=1)
        if closes and end_date > closes:
            end_date = closes
    if end_date < start_date:
        raise Invalid.field("end_date", "The end comes before the start.")
    if closes and end_date > closes:
        raise Invalid.field("end_date", f"The scheme {scheme.code} ends on {_day(closes)}; cover can't run past that.")
    if (end_date - start_date).days > 3 * 366:
        raise Invalid.field("end_date", "A coverage runs for at most three years; renew it after.")
    return end_date


def _active_overlap(member_id: int, start_date: date, end_date: date) -> int | None:
    return db.session.scalar(
        select(Coverage.id).where(
            Coverage.member_id == member_id,
            Coverage.status == CoverageStatus.ACTIVE,
            Coverage.start_date <= end_date,
            Coverage.end_date >= start_date,
        )
    )


def change_coverage_status(*, actor, coverage_id: int, status: str, reason: str = "") -> Coverage:
    """Suspend, reinstate, cancel or lapse a coverage."""
    coverage = coverage_row(tenant_of(actor), coverage_id)
    check_writer(actor, coverage.company_id)
    try:
        target = CoverageStatus(status)
    except ValueError:
        raise Invalid.field("status", "Choose active, suspended, lapsed or cancelled.") from None
    if target not in COVERAGE_TRANSITIONS[coverage.status]:
        raise Conflict(f"A {coverage.status.value} coverage cannot become {target.value}.")
    if target is CoverageStatus.ACTIVE and _active_overlap(coverage.member_id, coverage.start_date, coverage.end_date):
        raise Conflict(
            "The member has other active cover in those dates.",
            {"status": ["Overlaps an active coverage of this member."]},
        )
    before = coverage.status.value
    coverage.status = target
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "coverage",
        coverage.id,
        before={"status": before},
        after={"status": target.value},
        summary=reason or None,
        company_id=coverage.company_id,
    )
    return coverage


def renew_coverage(*, actor, coverage_id: int, scheme_id: int | None = None) -> Coverage:
    """The next period's coverage, starting the day after this one ends (on a newer scheme if given)."""
    coverage = coverage_row(tenant_of(actor), coverage_id)
    if coverage.status in (CoverageStatus.CANCELLED, CoverageStatus.LAPSED):
        raise Conflict("A cancelled or lapsed coverage is not renewed; enrol the member again.")
    member = db.session.get(Member, coverage.member_id)
    start = coverage.end_date + timedelta(days=1)
    return create_coverage(
        actor=actor,
        member_number=member.member_number,
        scheme_id=scheme_id or coverage.scheme_id,
        start_date=start,
        renewed_from_id=coverage.id,
    )


# --- reads ---------------------------------------------------------------------------------------


def coverage_row(tenant: Tenant, coverage_id: int) -> Coverage:
    """The table row, for the insurance domain's own writes."""
    coverage = db.session.get(Coverage, coverage_id) if coverage_id else None
    if coverage is None:
        raise NotFound("No such coverage.")
    if not tenant.owns(None, coverage.company_id):
        raise Hidden("No such coverage.", record=f"coverage {coverage.id}")
    return coverage


def get_coverage(tenant: Tenant, coverage_id: int) -> CoverageSummary:
    found = coverage_summaries(tenant, [coverage_id]).get(coverage_id)
    if found is None:
        raise NotFound("No such coverage.")
    return found


def coverages_of(member_id: int) -> list[CoverageSummary]:
    """The member's coverages, latest start first."""
    return _summaries(select(Coverage).where(Coverage.member_id == member_id).order_by(Coverage.start_date.desc()))


def coverage_summaries(tenant: Tenant, ids) -> dict[int, CoverageSummary]:
    """Batch form: the tenant's coverages among ``ids``, by id, in one query."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {c.id: c for c in _summaries(scope(select(Coverage), Coverage, tenant).where(Coverage.id.in_(ids)))}


def coverages_query(tenant: Tenant, member_number: str = "", status: str | tuple[str, ...] = ""):
    """The tenant's coverages, latest first; ``status`` one status or several (any of them)."""
    stmt = scope(select(Coverage), Coverage, tenant).order_by(Coverage.id.desc())
    if member_number:
        stmt = stmt.join(Member, Member.id == Coverage.member_id).where(
            Member.member_number == member_number.strip().upper()
        )
    known = {s.value for s in CoverageStatus}
    if isinstance(status, tuple):
        stmt = stmt.where(Coverage.status.in_([CoverageStatus(s) for s in status if s in known]))
    elif status in known:
        stmt = stmt.where(Coverage.status == CoverageStatus(status))
    return stmt


def coverages_page(
    tenant: Tenant, page: int, per_page: int, member_number: str = "", status: str | tuple[str, ...] = ""
) -> tuple[list[CoverageSummary], int]:
    """One page of ``coverages_query``'s coverages with their members, and how many there are (two queries)."""
    rows, total = fetch_page(coverages_query(tenant, member_number, status), page, per_page)
    found = coverage_summaries(tenant, [row.id for row in rows])
    return [found[row.id] for row in rows], total


def members_per_scheme(tenant: Tenant, *, start: date | None, end: date | None) -> dict[int, int]:
    """Distinct members with an active coverage overlapping ``start`` .. ``end`` (either open), by scheme id."""
    stmt = (
        scope(select(Coverage.scheme_id, func.count(func.distinct(Coverage.member_id))), Coverage, tenant)
        .where(Coverage.status == CoverageStatus.ACTIVE)
        .group_by(Coverage.scheme_id)
    )
    if start is not None:
        stmt = stmt.where(Coverage.end_date >= start)
    if end is not None:
        stmt = stmt.where(Coverage.start_date <= end)
    return dict(db.session.execute(stmt).all())


def scheme_in_use(scheme_id: int) -> bool:
    """Whether any coverage (of any status) names the scheme."""
    return db.session.scalar(select(Coverage.id).where(Coverage.scheme_id == scheme_id).limit(1)) is not None
