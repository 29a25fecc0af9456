"""Everything the engine needs about a set of claims, read in a fixed number of queries however many claims
there are: members and their coverages with scheme terms and pre-authorisations (insurance), tariff prices
(billing), the members' finalised usage and the standing claims that make a line a duplicate (claims), and
what the review triggers compare with (``trigger_facts``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Text, cast, select

from blueprints.billing import services as billing
from blueprints.claims import engine
from blueprints.claims.models import FINALISED, STANDING, Claim, ClaimItem
from blueprints.claims.services.trigger_facts import TriggerBook, nearby_span, read_trigger_facts
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.bulk import among, autoflush
from medcover.extensions import db
from medcover.money import ZERO, money

FINALISED_LINE = ("approved", "adjusted")
#: the columns the reads below select: plain rows (an entity's attributes would go through the ORM's loading)
CLAIM, ITEM = Claim.__table__.c, ClaimItem.__table__.c


def claim_in(claim: Claim, items: list[ClaimItem]) -> engine.ClaimIn:
    return engine.ClaimIn(
        claim_id=claim.id,
        member_number=claim.member_number,
        institution_id=claim.institution_id,
        service_date=claim.service_date,
        submitted_on=claim.submitted_on or claim.service_date,
        lines=tuple(
            engine.LineIn(i.line_no, i.service_code, i.quantity, i.unit_price, i.preauth_code)
            for i in sorted(items, key=lambda i: i.line_no)
        ),
        claim_number=claim.claim_number,
        diagnosis_codes=tuple(str(code) for code in claim.diagnosis_codes or ()),
    )


def _coverage_terms(cover: insurance.CoverageOut, schemes: dict[int, engine.SchemeTerms]) -> engine.CoverageTerms:
    """A coverage as the engine reads it; ``schemes`` keeps each scheme's terms, made once (thousands of
    coverages share a handful of schemes)."""
    scheme = cover.scheme
    if scheme.scheme_id not in schemes:
        schemes[scheme.scheme_id] = engine.SchemeTerms(
            scheme_id=scheme.scheme_id,
            deductible=scheme.deductible,
            annual_limit=scheme.annual_limit,
            timely_filing_days=scheme.timely_filing_days,
            review_threshold=scheme.review_threshold,
            review_sample_percent=scheme.review_sample_percent,
            duplicate_window_days=scheme.duplicate_window_days,
            duplicate_score_threshold=scheme.duplicate_score_threshold,
            variance_factor=scheme.variance_factor,
            benefits={
                code: engine.BenefitTerms(
                    covered=b.covered,
                    annual_limit=b.annual_limit,
                    per_visit_limit=b.per_visit_limit,
                    copay_percent=b.copay_percent,
                    copay_fixed=b.copay_fixed,
                    waiting_period_days=b.waiting_period_days,
                    requires_preauth=b.requires_preauth,
                    max_visits=b.max_visits,
                )
                for code, b in scheme.benefits.items()
            },
        )
    return engine.CoverageTerms(
        start_date=cover.start_date,
        end_date=cover.end_date,
        status=cover.status,
        coverage_id=cover.coverage_id,
        scheme=schemes[scheme.scheme_id],
    )


@dataclass
class _UsageRow:
    claim_id: int
    service_date: date
    benefit_code: str | None
    deductible: Decimal
    approved: Decimal
    decision: str | None
    claim_total: Decimal
    #: (submitted at, claim id): which claims came before which
    order: tuple | None = None


@dataclass
class FactBook:
    """The batch's facts; ``facts_for`` assembles one claim's, and ``record`` folds a decision back in
    so later claims of the same batch see it (usage once finalised, duplicates while it stands)."""

    covers: dict[str, insurance.MemberCover]
    prices: dict[tuple[int, str, date], billing.TariffPrice]
    usage_rows: dict[str, list[_UsageRow]]
    #: (member, institution, service date, code) -> [(submitted order key, claim id)]
    standing: dict[tuple[str, int, date, str], list[tuple[tuple, int]]]
    order: dict[int, tuple] = field(default_factory=dict)
    triggers: TriggerBook = field(default_factory=lambda: TriggerBook({}, {}))

    #: member number -> the engine's terms of their coverages, built once per batch (hundreds of claims share them)
    terms: dict[str, tuple[engine.CoverageTerms, ...]] = field(default_factory=dict)
    #: scheme id -> the engine's terms of the scheme
    schemes: dict[int, engine.SchemeTerms] = field(default_factory=dict)

    def coverage_terms(self, member_number: str) -> tuple[engine.CoverageTerms, ...]:
        if member_number not in self.terms:
            cover = self.covers.get(member_number)
            self.terms[member_number] = (
                tuple(_coverage_terms(c, self.schemes) for c in cover.coverages) if cover else ()
            )
        return self.terms[member_number]

    def facts_for(self, claim: Claim, items: list[ClaimItem], *, earlier_only: bool = False) -> engine.Facts:
        """One claim's facts. ``earlier_only``: the usage of the claims submitted before it alone, as it was
        decided first (a dispute upheld is decided again as of its original submission)."""
        cover = self.covers.get(claim.member_number)
        if cover is None:
            return engine.Facts(member_found=False)
        coverages = self.coverage_terms(claim.member_number)
        tariff_map = {
            i.service_code: engine.Tariff(price.unit_price, price.benefit_code)
            for i in items
            if (price := self.prices.get((claim.institution_id, i.service_code, claim.service_date))) is not None
        }
        # A draft (previewed, never submitted) comes after every claim already submitted.
        me = self.order.get(claim.id) or (claim.submitted_at or clock.now(), claim.id)
        applicable = engine.applicable_coverage(coverages, claim.service_date)
        usage = engine.Usage()
        if applicable is not None:
            start, end = engine.benefit_period(applicable.start_date, claim.service_date)
            usage = self._usage(claim.member_number, claim.id, start, end, before=me if earlier_only else None)
        duplicates = frozenset(
            i.service_code
            for i in items
            if any(
                other_id != claim.id and key < me
                for key, other_id in self.standing.get(
                    (claim.member_number, claim.institution_id, claim.service_date, i.service_code), ()
                )
            )
        )
        return engine.Facts(
            member_found=True,
            coverages=coverages,
            tariffs=tariff_map,
            usage=usage,
            preauths=tuple(
                engine.PreAuth(p.code, p.benefit_code, p.status, p.valid_from, p.valid_to) for p in cover.preauths
            ),
            duplicates=duplicates,
            nearby=self.triggers.nearby_for(claim, me),
            provider_mean=self.triggers.provider_mean(claim),
        )

    def _usage(
        self, member_number: str, claim_id: int, start: date, end: date, before: tuple | None = None
    ) -> engine.Usage:
        deductible = ZERO
        approved: dict[str, Decimal] = defaultdict(lambda: ZERO)
        visits: dict[str, set[int]] = defaultdict(set)
        totals: dict[int, Decimal] = {}
        for row in self.usage_rows.get(member_number, ()):
            if row.claim_id == claim_id or not start <= row.service_date <= end:
                continue
            if before is not None and (row.order is None or row.order >= before):
                continue
            deductible += row.deductible
            totals[row.claim_id] = row.claim_total
            if row.decision in FINALISED_LINE and row.benefit_code:
                approved[row.benefit_code] += row.approved
                visits[row.benefit_code].add(row.claim_id)
        return engine.Usage(
            deductible_applied=money(deductible),
            approved_by_benefit={code: money(amount) for code, amount in approved.items()},
            approved_total=money(sum(totals.values(), ZERO)),
            visits_by_benefit={code: len(ids) for code, ids in visits.items()},
        )

    def record(self, claim: Claim, decision: engine.Decision) -> None:
        """Fold a decision into the book for the claims decided after it in the same batch."""
        claim_id = claim.id
        key_order = self.order.get(claim_id) or (claim.submitted_at or clock.now(), claim_id)
        # A claim stands only under its own lines' keys: clean those, not the whole index (batches are big).
        keys = {
            (claim.member_number, claim.institution_id, claim.service_date, line.service_code)
            for line in decision.lines
        }
        for key in keys:
            if key in self.standing:
                self.standing[key] = [(k, cid) for k, cid in self.standing[key] if cid != claim_id]
        if decision.status != engine.ClaimOutcome.REJECTED:
            for key in keys:
                self.standing.setdefault(key, []).append((key_order, claim_id))
        rows = [r for r in self.usage_rows.get(claim.member_number, []) if r.claim_id != claim.id]
        if decision.status in (engine.ClaimOutcome.APPROVED, engine.ClaimOutcome.PARTIALLY_APPROVED):
            rows += [
                _UsageRow(
                    claim.id,
                    claim.service_date,
                    line.benefit_code,
                    line.deductible,
                    line.approved,
                    line.decision.value,
                    decision.total_approved,
                    key_order,
                )
                for line in decision.lines
            ]
        self.usage_rows[claim.member_number] = rows
        self.triggers.record(claim, decision, key_order)


def gather(claims: list[Claim], items_by_claim: dict[int, list[ClaimItem]]) -> FactBook:
    """Read the facts of all these claims: insurance (5 queries), tariffs (1), the members' claims around the
    service dates (1: usage, duplicates and the review triggers' nearby claims come from the same rows) and,
    when a scheme has an outlier factor, the providers' history (1)."""
    autoflush()  # the reads below are Core
    members = {c.member_number for c in claims}
    covers = insurance.member_covers(members)
    prices = billing.prices_on(
        (c.institution_id, i.service_code, c.service_date) for c in claims for i in items_by_claim.get(c.id, ())
    )
    schemes = {cover.scheme.scheme_id: cover.scheme for m in covers.values() for cover in m.coverages}
    usage_rows: dict[str, list[_UsageRow]] = defaultdict(list)
    standing: dict[tuple[str, int, date, str], list[tuple[tuple, int]]] = defaultdict(list)
    order = {c.id: (c.submitted_at, c.id) for c in claims if c.submitted_at is not None}
    history = []
    if claims:
        earliest = min(c.service_date for c in claims).replace(month=1, day=1)
        earliest = date(earliest.year - 1, 1, 1)  # a benefit period reaches back at most a year
        latest = max(c.service_date for c in claims)
        latest = date(latest.year + 1, 12, 31)
        first, last = nearby_span(claims, schemes.values())
        history = _members_claims(members, min(earliest, first), max(latest, last))
        days = {c.service_date for c in claims}
        for (
            claim_id,
            _n,
            member,
            institution,
            day,
            status,
            total,
            _d,
            at,
            code,
            _b,
            benefit,
            deducted,
            approved,
            decision,
        ) in history:
            if status in FINALISED and earliest <= day <= latest:
                key = (at, claim_id) if at is not None else None
                usage_rows[member].append(_UsageRow(claim_id, day, benefit, deducted, approved, decision, total, key))
            if day in days:
                # Only claims submitted before the one decided make its line a duplicate: of two claims for
                # one service, the first submitted stands and the later one is the duplicate.
                standing[(member, institution, day, code)].append(((at, claim_id), claim_id))
                order.setdefault(claim_id, (at, claim_id))
    triggers = read_trigger_facts(claims, schemes.values(), history)
    return FactBook(covers, prices, usage_rows, standing, order, triggers)


#: the members' claims as ``_members_claims`` reads them, a row per line; ``trigger_facts`` reads the same rows
MEMBERS_CLAIMS = (
    CLAIM.id,
    CLAIM.claim_number,
    CLAIM.member_number,
    CLAIM.institution_id,
    CLAIM.service_date,
    CLAIM.status,
    CLAIM.total_approved,
    cast(CLAIM.diagnosis_codes, Text).label("diagnosis_codes"),  # parsed once per claim, not once per line
    CLAIM.submitted_at,
    ITEM.service_code,
    ITEM.billed,
    ITEM.benefit_code,
    ITEM.deductible,
    ITEM.approved,
    ITEM.decision,
)


def _members_claims(members: set[str], first: date, last: date) -> list:
    """The members' standing claims (finalised ones among them) served from ``first`` to ``last``, a row per
    line: what usage, duplicates and the nearby claims are made of, in one read."""
    return db.session.execute(
        select(*MEMBERS_CLAIMS)
        .join(ClaimItem.__table__, ITEM.claim_id == CLAIM.id)
        .where(
            among(CLAIM.member_number, members),
            CLAIM.service_date.between(first, last),
            CLAIM.status.in_(STANDING),
        )
    ).all()  # one fetch of every row, not one call per row
