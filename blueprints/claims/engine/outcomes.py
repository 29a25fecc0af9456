"""What the engine answers: the reason codes in words, line and claim outcomes, and the decision itself."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from medcover.money import ZERO, money

#: Every code the engine (R, A) or an adjudicator (M) puts on a decision, in words for adjudicators and
#: claim letters.
REASONS: dict[str, str] = {
    "R01": "No member has this member number.",
    "R02": "The member had no active cover on the service date.",
    "R03": "The claim was submitted before the service date or after the scheme's time limit for filing.",
    "R04": "This service for this member, provider and date is already on another claim.",
    "R07": "The provider has no tariff price for this service on the service date.",
    "R10": "The member's scheme does not cover this benefit.",
    "R11": "The benefit's waiting period had not ended on the service date.",
    "R12": "The benefit needs a pre-authorisation, and the line has no approved one valid on the service date.",
    "R13": "The member has used all visits this scheme allows for this benefit in the period.",
    "R14": "The member has used the whole annual limit of this benefit for the period.",
    "R15": "The member has used the whole annual limit of the scheme for the period.",
    "A01": "The billed price is above the provider's tariff; the tariff price is allowed.",
    "A02": "The amount was cut to the benefit's limit per visit.",
    "A03": "The amount was cut to what is left of the benefit's annual limit.",
    "A04": "The amount was cut to what is left of the scheme's annual limit.",
    "V02": "The claim's total billed reached the scheme's review threshold.",
    "S01": "Suspect duplicate: another claim of the member looks like the same service.",
    "V01": "Drawn at random for review from the scheme's review sample.",
    "V03": "The claim bills far more than this provider's usual claim for the same diagnosis.",
    "M01": "An adjudicator set the approved amount by hand, with a note.",
    "M02": "An adjudicator waived the rule that rejected the line and approved it, with a note.",
    "M03": "An adjudicator rejected the line, with a reason.",
}

#: the line rejections an adjudicator may waive (M02); R01-R03 and R07 leave no member, cover or price
WAIVABLE = ("R04", "R10", "R11", "R12", "R13", "R14", "R15")
#: the codes of an adjudicator's decision on a line
MANUAL = ("M01", "M02", "M03")
#: the review triggers, in the order they are checked
TRIGGERS = ("V02", "S01", "V01", "V03")
#: the triggers' short names, for the work queue
TRIGGER_NAMES = {
    "V02": "Review threshold",
    "S01": "Suspect duplicate",
    "V01": "Random sample",
    "V03": "Outlier for the diagnosis",
}
#: the parts of a suspect duplicate's score, with their points
DUPLICATE_PARTS = {
    "same_provider": 30,
    "same_service_date": 25,
    "service_code_in_common": 25,
    "diagnosis_code_in_common": 10,
    "equal_total_billed": 10,
}


#: the line decisions that consume a benefit
FINALISED_LINE = ("approved", "adjusted")


class LineOutcome(enum.StrEnum):
    APPROVED = "approved"
    ADJUSTED = "adjusted"
    REJECTED = "rejected"


class ClaimOutcome(enum.StrEnum):
    """The claim statuses the engine can reach; the values are the claim statuses' own."""

    APPROVED = "approved"
    PARTIALLY_APPROVED = "partially_approved"
    REJECTED = "rejected"
    PENDING_REVIEW = "pending_review"


class OverrideRefused(ValueError):
    """An adjudicator's override breaks a rule (above allowed, negative, unknown or rejected line, no note)."""


@dataclass(frozen=True)
class Waivable:
    """What steps 1-4 of the amounts give a rejected line as if its rule had not fired, against the same usage
    as the decision: an adjudicator may approve at most ``payable`` (M02)."""

    allowed: Decimal
    deductible: Decimal
    copay: Decimal
    payable: Decimal

    def as_dict(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in ("allowed", "deductible", "copay", "payable")}

    @classmethod
    def from_dict(cls, values) -> Waivable | None:
        if not values:
            return None
        return cls(**{name: money(values[name]) for name in ("allowed", "deductible", "copay", "payable")})


@dataclass(frozen=True)
class ManualLine:
    """An adjudicator's decision on one line: an amount (M01 on an approved or adjusted line, M02 on a waivable
    rejected one) or a rejection (M03), always with a note."""

    note: str
    approved: Decimal | None = None
    reject: bool = False


@dataclass(frozen=True)
class DuplicateMatch:
    """The best match of a suspect duplicate (S01): the other claim, its score and the parts that made it."""

    claim_id: int
    claim_number: str | None
    score: int
    #: the parts that scored, in DUPLICATE_PARTS order
    parts: tuple[str, ...]

    def as_dict(self) -> dict:
        return {
            "claim_id": self.claim_id,
            "claim_number": self.claim_number,
            "score": self.score,
            "parts": list(self.parts),
        }


@dataclass(frozen=True)
class LineDecision:
    line_no: int
    service_code: str
    benefit_code: str | None
    quantity: int
    unit_price: Decimal
    billed: Decimal
    allowed: Decimal
    deductible: Decimal
    copay: Decimal
    approved: Decimal
    #: allowed - approved; billed for a rejected line
    member_responsibility: Decimal
    decision: LineOutcome
    reason_codes: tuple[str, ...]
    #: the adjudicator's note with a manual decision (M01, M02, M03)
    note: str | None = None
    #: a rejected line that may be waived: its amounts as if the rule had not fired (None otherwise)
    waivable: Waivable | None = None

    @property
    def write_off(self) -> Decimal:
        """What the provider billed above the allowed amount and cannot charge anyone."""
        return ZERO if self.decision == LineOutcome.REJECTED else money(self.billed - self.allowed)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(REASONS[code] for code in self.reason_codes)


@dataclass(frozen=True)
class Decision:
    claim_id: int | None
    #: the claim's next status: ``outcome``, or ``pending_review`` when the review threshold is reached
    status: ClaimOutcome
    #: what the rules decided (approved, partially_approved or rejected): the proposal under review
    outcome: ClaimOutcome
    total_billed: Decimal
    total_approved: Decimal
    #: a review trigger fired (``review_codes``)
    review: bool
    lines: tuple[LineDecision, ...]
    #: the claim-level code alone when one fired, else the lines' codes in order of first appearance
    reason_codes: tuple[str, ...]
    coverage_id: int | None = None
    #: the benefit period the usage was read for (None when no coverage applied)
    period: tuple[date, date] | None = None
    #: the review triggers that fired, in TRIGGERS order (also at the end of ``reason_codes``)
    review_codes: tuple[str, ...] = ()
    #: S01's best match
    duplicate: DuplicateMatch | None = None
    #: what each trigger that fired saw: ``{"V01": {"draw": 7}, "V03": {"mean": "1200.00", "claims": 10}, ...}``
    review_details: dict | None = None

    @property
    def total_member_responsibility(self) -> Decimal:
        return money(sum((line.member_responsibility for line in self.lines), ZERO))

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(REASONS[code] for code in self.reason_codes)
