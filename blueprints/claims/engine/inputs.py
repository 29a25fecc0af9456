"""What the engine reads: the claim and its lines, and the facts gathered for it from the other domains (the
member's coverages with their scheme terms, the provider's tariffs, the member's usage and pre-authorisations,
the standing claims that make a line a duplicate)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from blueprints.claims.engine.outcomes import FINALISED_LINE, ClaimOutcome, Decision
from medcover.money import ZERO, money

DEFAULT_TIMELY_FILING_DAYS = 180


@dataclass(frozen=True)
class LineIn:
    line_no: int
    service_code: str
    quantity: int
    #: the price the provider billed for one unit
    unit_price: Decimal
    preauth_code: str | None = None

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError(f"line {self.line_no}: quantity must be 1 or more")
        if money(self.unit_price) < ZERO:
            raise ValueError(f"line {self.line_no}: unit price must not be negative")


@dataclass(frozen=True)
class ClaimIn:
    claim_id: int | None
    member_number: str
    institution_id: int
    service_date: date
    submitted_on: date
    lines: tuple[LineIn, ...]
    #: the random review sample is drawn from it (V01); None: a preview, never drawn
    claim_number: str | None = None
    #: ICD codes, the main one first: its first three characters are the main diagnosis category (V03)
    diagnosis_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("a claim has one or more lines")
        numbers = [line.line_no for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("line numbers must be unique on a claim")


@dataclass(frozen=True)
class BenefitTerms:
    """A benefit's terms in a scheme; a null limit means no limit."""

    covered: bool = True
    annual_limit: Decimal | None = None
    per_visit_limit: Decimal | None = None
    copay_percent: Decimal = Decimal("0")
    copay_fixed: Decimal = ZERO
    waiting_period_days: int = 0
    requires_preauth: bool = False
    max_visits: int | None = None


@dataclass(frozen=True)
class SchemeTerms:
    scheme_id: int
    deductible: Decimal = ZERO
    #: across all benefits, per member per benefit period; null: no limit
    annual_limit: Decimal | None = None
    timely_filing_days: int = DEFAULT_TIMELY_FILING_DAYS
    #: claims billing this much or more go to an adjudicator; null: never
    review_threshold: Decimal | None = None
    #: the share of claims (0-100) drawn for review at random, reproducibly from the claim number (V01)
    review_sample_percent: int = 0
    #: the member's other claims this many days either side of the service date are compared (S01)
    duplicate_window_days: int = 3
    #: the score at which another claim makes this one a suspect duplicate (S01)
    duplicate_score_threshold: int = 60
    #: an outlier bills more than this many times the provider's mean (V03); null: never
    variance_factor: Decimal | None = None
    #: benefit code -> terms; a benefit missing here is not in the scheme
    benefits: Mapping[str, BenefitTerms] = field(default_factory=dict)


@dataclass(frozen=True)
class CoverageTerms:
    start_date: date
    #: inclusive
    end_date: date
    status: str
    scheme: SchemeTerms
    coverage_id: int | None = None


@dataclass(frozen=True)
class Tariff:
    """The provider's price for a service on the service date, and the benefit it maps the service to."""

    unit_price: Decimal
    benefit_code: str | None


@dataclass(frozen=True)
class Usage:
    """What the member's finalised claims consumed in the benefit period of the applicable coverage."""

    deductible_applied: Decimal = ZERO
    approved_by_benefit: Mapping[str, Decimal] = field(default_factory=dict)
    approved_total: Decimal = ZERO
    #: finalised claims with an approved or adjusted line of the benefit
    visits_by_benefit: Mapping[str, int] = field(default_factory=dict)

    def plus(self, decision: Decision) -> Usage:
        """The usage once ``decision`` is finalised, as the caller would read it back from the database.

        For tests and previews; a decision still pending review consumes nothing until it is decided.
        """
        if decision.status == ClaimOutcome.PENDING_REVIEW:
            raise ValueError("a claim pending review is not finalised; apply the adjudicator's decision first")
        approved = dict(self.approved_by_benefit)
        visits = dict(self.visits_by_benefit)
        visited: set[str] = set()
        for line in decision.lines:
            if line.decision not in FINALISED_LINE or line.benefit_code is None:
                continue
            approved[line.benefit_code] = money(approved.get(line.benefit_code, ZERO) + line.approved)
            visited.add(line.benefit_code)
        for code in visited:
            visits[code] = visits.get(code, 0) + 1
        return Usage(
            deductible_applied=money(self.deductible_applied + sum((ln.deductible for ln in decision.lines), ZERO)),
            approved_by_benefit=approved,
            approved_total=money(self.approved_total + decision.total_approved),
            visits_by_benefit=visits,
        )


@dataclass(frozen=True)
class PreAuth:
    code: str
    benefit_code: str
    status: str
    valid_from: date
    #: inclusive
    valid_to: date


@dataclass(frozen=True)
class NearbyClaim:
    """Another claim of the member near the service date, as S01 scores it."""

    claim_id: int
    claim_number: str | None
    institution_id: int
    service_date: date
    #: the claim's status; S01 passes over draft, rejected and void claims
    status: str
    total_billed: Decimal
    service_codes: frozenset[str]
    diagnosis_codes: frozenset[str]
    #: (submitted at, claim id): the earliest submitted wins a tie, and only claims submitted before count
    order: tuple


@dataclass(frozen=True)
class ProviderMean:
    """The provider's finalised claims with the claim's main diagnosis category in the 365 days before its
    service date (V03): how many, and their total billed."""

    claims: int
    total_billed: Decimal


@dataclass(frozen=True)
class Facts:
    """Everything the rules read from other domains, gathered by the caller for this claim."""

    member_found: bool
    #: the member's coverages, any status
    coverages: tuple[CoverageTerms, ...] = ()
    #: service code -> the provider's tariff on the service date; missing: R07
    tariffs: Mapping[str, Tariff] = field(default_factory=dict)
    #: for the benefit period (see :func:`benefit_period`) of :func:`applicable_coverage`
    usage: Usage = field(default_factory=Usage)
    #: the member's pre-authorisations
    preauths: tuple[PreAuth, ...] = ()
    #: service codes of this member, provider and service date on other claims not rejected, void or draft
    duplicates: frozenset[str] = frozenset()
    #: the member's other claims submitted before this one, within the scheme's duplicate window (S01)
    nearby: tuple[NearbyClaim, ...] = ()
    #: the provider's history for the claim's main diagnosis category (V03); None: no category
    provider_mean: ProviderMean | None = None
