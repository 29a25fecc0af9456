"""The claims dashboard's view of review: how many claims each trigger sent to review and how often its claims
ended cut or rejected (is the trigger worth its cost?), and per provider the first-pass rate and turnaround.
Grouped SQL, a fixed number of queries whatever the number of claims (the dashboard's own ``_claims`` range)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Float, Integer, Text, case, cast, func

from blueprints.claims.engine import REASONS, TRIGGER_NAMES, TRIGGERS
from blueprints.claims.models import FINALISED, Claim, ClaimStatus
from blueprints.claims.services.dashboard import NOT_APPROVED, _claims, _codes, _hours, _seconds
from blueprints.hospital import services as hospital
from medcover.extensions import db
from medcover.money import money
from medcover.rbac import Tenant

DECIDED = (*FINALISED, *NOT_APPROVED)


def _percent(part: int, whole: int) -> Decimal | None:
    return money(Decimal(part) * 100 / whole) if whole else None


@dataclass(frozen=True)
class TriggerOutcome:
    code: str
    name: str
    words: str
    #: claims the trigger sent to review (with other triggers or alone)
    sent: int
    #: of those, decided by now
    decided: int
    #: decided below the engine's proposal (an adjudicator lowered or rejected lines)
    cut: int
    #: rejected
    rejected: int

    @property
    def caught_rate(self) -> Decimal | None:
        """Decided claims of the trigger that ended cut or rejected, as a percentage."""
        return _percent(self.cut + self.rejected, self.decided)


@dataclass(frozen=True)
class ProviderPass:
    institution_id: int
    name: str
    decided: int
    #: decided by the rules alone without review, and approved in full
    first_pass: int
    average_hours: Decimal | None

    @property
    def first_pass_rate(self) -> Decimal | None:
        return _percent(self.first_pass, self.decided)


def by_trigger(tenant: Tenant, start: date | None = None, end: date | None = None) -> list[TriggerOutcome]:
    """One query: the reviewed claims grouped by their list of triggers (as text: a handful of lists) and status."""
    codes_text = cast(Claim.review_codes, Text)
    lowered = func.sum(
        cast(case((Claim.total_approved < func.coalesce(Claim.proposed_approved, 0), 1), else_=0), Integer)
    )
    rows = db.session.execute(
        _claims(tenant, start, end, codes_text, Claim.status, func.count(Claim.id), lowered)
        .where(Claim.review.is_(True), Claim.review_codes.is_not(None))
        .group_by(codes_text, Claim.status)
    ).all()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    decided = {status.value for status in DECIDED}
    for text, status, claims, cut in rows:
        status = ClaimStatus(status).value
        for code in _codes(text):
            row = counts[code]
            row[0] += claims
            if status in decided:
                row[1] += claims
                if status == ClaimStatus.REJECTED.value:
                    row[3] += claims
                else:
                    row[2] += int(cut or 0)
    return [
        TriggerOutcome(code, TRIGGER_NAMES[code], REASONS[code], *counts[code]) for code in TRIGGERS if code in counts
    ]


def by_provider(tenant: Tenant, start: date | None = None, end: date | None = None) -> list[ProviderPass]:
    """Two queries: each provider's decided claims, first-pass count and mean turnaround; their names."""
    first_pass = func.sum(
        cast(
            case(
                (Claim.review.is_(False) & Claim.status.in_((ClaimStatus.APPROVED, ClaimStatus.PAID)), 1),
                else_=0,
            ),
            Integer,
        )
    )
    seconds = func.avg(case((Claim.decided_at.is_not(None), cast(_seconds(), Float)), else_=None))
    rows = db.session.execute(
        _claims(tenant, start, end, Claim.institution_id, func.count(Claim.id), first_pass, seconds)
        .where(Claim.status.in_(DECIDED))
        .group_by(Claim.institution_id)
    ).all()
    if not rows:
        return []
    names = hospital.institution_names()
    found = [
        ProviderPass(
            institution_id,
            names.get(institution_id, ""),
            claims,
            int(passed or 0),
            _hours(average) if average is not None else None,
        )
        for institution_id, claims, passed, average in rows
    ]
    return sorted(found, key=lambda row: (row.name.lower(), row.institution_id))
