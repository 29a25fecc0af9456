"""What the review triggers read, set-based for a chunk of claims: the members' claims near the service dates
with their codes and totals (S01, from the rows ``facts.gather`` reads once for usage, duplicates and this),
and each provider's finalised claims per main diagnosis category and day in the year before (V03, one query).
``TriggerBook`` answers one claim's share and folds decisions back in, so a batch decides each claim as the
per-claim path would have after the claims before it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from blueprints.claims import engine
from blueprints.claims.models import FINALISED, Claim, ClaimStatus
from medcover.extensions import db
from medcover.money import ZERO, money

#: V03 looks back this many days before the service date
HISTORY_DAYS = 365
#: S01 passes over these claims
NOT_COMPARED = (ClaimStatus.DRAFT, ClaimStatus.REJECTED, ClaimStatus.VOID)
_FINALISED = {status.value for status in FINALISED}
#: the columns the read below selects: plain rows (an entity's attributes would go through the ORM's loading)
CLAIM = Claim.__table__.c


@dataclass
class _Nearby:
    claim_id: int
    claim_number: str | None
    member_number: str
    institution_id: int
    service_date: date
    status: str
    diagnosis_codes: frozenset[str]
    order: tuple
    codes: set[str] = field(default_factory=set)
    billed: Decimal = ZERO

    #: the engine's value, made once the claim is read whole (``value``): many later claims compare with it
    made: engine.NearbyClaim | None = None

    def value(self) -> engine.NearbyClaim:
        if self.made is None:
            self.made = engine.NearbyClaim(
                self.claim_id,
                self.claim_number,
                self.institution_id,
                self.service_date,
                self.status,
                money(self.billed),
                frozenset(self.codes),
                self.diagnosis_codes,
                self.order,
            )
        return self.made


class DayTotals:
    """A provider's finalised claims and what they billed by service date, summed over any run of days in a few
    steps however many days there are (a Fenwick tree over the days' ordinals, sparse): V03 asks for the year
    before each claim of a batch, and every claim decided adds to its day."""

    #: past the ordinal of ``date.max``
    SIZE = 1 << 22
    __slots__ = ("_claims", "_billed")

    def __init__(self) -> None:
        self._claims: dict[int, int] = {}
        self._billed: dict[int, Decimal] = {}

    def add(self, day: date, claims: int, billed: Decimal) -> None:
        i = day.toordinal()
        while i < self.SIZE:
            self._claims[i] = self._claims.get(i, 0) + claims
            self._billed[i] = self._billed.get(i, ZERO) + billed
            i += i & -i

    def between(self, since: date, until: date) -> tuple[int, Decimal]:
        """The claims and their total billed served from ``since`` up to the day before ``until``."""
        if since >= until:
            return 0, ZERO
        claims, billed = self._through(until.toordinal() - 1)
        before, billed_before = self._through(since.toordinal() - 1)
        return claims - before, billed - billed_before

    def _through(self, i: int) -> tuple[int, Decimal]:
        claims, billed = 0, ZERO
        while i > 0:
            claims += self._claims.get(i, 0)
            billed += self._billed.get(i, ZERO)
            i -= i & -i
        return claims, billed


def _diagnoses(codes) -> frozenset[str]:
    return frozenset(str(code).strip().upper() for code in codes or () if str(code).strip())


@dataclass
class TriggerBook:
    #: member number -> claim id -> the claim as S01 compares it
    nearby: dict[str, dict[int, _Nearby]]
    #: (provider, category) -> its finalised claims and total billed by service date
    history: dict[tuple[int, str], DayTotals]
    #: the claims whose (provider, category) history was read: V03 answers only for them
    read_history: bool = False

    def nearby_for(self, claim: Claim, me: tuple) -> tuple[engine.NearbyClaim, ...]:
        """The member's other claims submitted before this one (``me``: its submission order key)."""
        return tuple(
            other.value()
            for other in self.nearby.get(claim.member_number, {}).values()
            # a claim with no submission time (rows from before submissions were timed) is never "before"
            if other.claim_id != claim.id and other.order[0] is not None and other.order < me
        )

    def provider_mean(self, claim: Claim) -> engine.ProviderMean | None:
        # an estimate's probe (an invoice seen as a claim) has no diagnosis: never an outlier
        category = engine.main_category(getattr(claim, "diagnosis_codes", ()))
        if category is None or not self.read_history:
            return None
        totals = self.history.get((claim.institution_id, category))
        if totals is None:
            return engine.ProviderMean(0, ZERO)
        claims, total = totals.between(claim.service_date - timedelta(days=HISTORY_DAYS), claim.service_date)
        return engine.ProviderMean(claims, money(total))

    def record(self, claim: Claim, decision: engine.Decision, order: tuple) -> None:
        entry = _Nearby(
            claim.id,
            claim.claim_number,
            claim.member_number,
            claim.institution_id,
            claim.service_date,
            decision.status.value,
            _diagnoses(claim.diagnosis_codes),
            order,
            {line.service_code for line in decision.lines},
            decision.total_billed,
        )
        self.nearby.setdefault(claim.member_number, {})[claim.id] = entry
        if not self.read_history:  # no scheme of the batch looks for outliers: no provider history to keep
            return
        category = engine.main_category(claim.diagnosis_codes)
        if category and decision.status.value in _FINALISED:
            totals = self.history.setdefault((claim.institution_id, category), DayTotals())
            totals.add(claim.service_date, 1, decision.total_billed)


def nearby_span(claims, schemes) -> tuple[date, date]:
    """The service dates S01 compares the claims with: theirs, and the widest duplicate window of the schemes
    their members are covered by either side."""
    window = max((s.duplicate_window_days for s in schemes), default=3)
    first = min(c.service_date for c in claims)
    last = max(c.service_date for c in claims)
    return first - timedelta(days=window), last + timedelta(days=window)


def read_trigger_facts(claims: list[Claim], schemes, members_claims) -> TriggerBook:
    """The chunk's trigger facts. ``schemes``: the scheme terms the chunk's members are covered by;
    ``members_claims``: the members' standing claims a row per line (``facts.MEMBERS_CLAIMS``' columns), from at
    least ``nearby_span`` (the nearby claims are those in the span). The providers' history is read (one query)
    only when a scheme has an outlier factor."""
    book = TriggerBook({}, {})
    if not claims:
        return book
    schemes = list(schemes)
    first = min(c.service_date for c in claims)
    last = max(c.service_date for c in claims)
    since, until = nearby_span(claims, schemes)
    diagnoses: dict[str | None, frozenset[str]] = {}  # a handful of diagnosis lists recur over thousands of claims
    for row in members_claims:
        claim_id, number, member, institution, day, status, _approved, codes, at, code, billed = row[:11]
        if not since <= day <= until:
            continue
        entry = book.nearby.setdefault(member, {}).get(claim_id)
        if entry is None:
            if codes not in diagnoses:
                diagnoses[codes] = _diagnoses(json.loads(codes) if codes is not None else None)
            entry = _Nearby(
                claim_id, number, member, institution, day, ClaimStatus(status).value, diagnoses[codes], (at, claim_id)
            )
            book.nearby[member][claim_id] = entry
        entry.codes.add(code)
        entry.billed += billed
    if any(s.variance_factor is not None for s in schemes):
        book.read_history = True
        providers = {c.institution_id for c in claims}
        categories = {engine.main_category(getattr(c, "diagnosis_codes", ())) for c in claims} - {None}
        if categories:
            for institution, category, day, count, billed in db.session.execute(
                select(
                    CLAIM.institution_id,
                    CLAIM.diagnosis_category,
                    CLAIM.service_date,
                    func.count(CLAIM.id),
                    func.sum(CLAIM.total_billed),
                )
                .where(
                    CLAIM.institution_id.in_(providers),
                    CLAIM.diagnosis_category.in_(categories),
                    CLAIM.status.in_(FINALISED),
                    CLAIM.service_date >= first - timedelta(days=HISTORY_DAYS),
                    CLAIM.service_date < last,
                )
                .group_by(CLAIM.institution_id, CLAIM.diagnosis_category, CLAIM.service_date)
            ):
                book.history.setdefault((institution, category), DayTotals()).add(day, count, money(billed or ZERO))
    return book
