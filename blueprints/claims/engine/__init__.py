"""The adjudication engine: decides a claim exactly as ADJUDICATION.md says, as a pure function.

No Flask, no database, no clock: the caller gathers everything the rules read from the other domains
into :class:`Facts`, calls :func:`decide`, and keeps the :class:`Decision` with who decided and when.
Same inputs, same result, every time. Money is two-place ``Decimal``, rounded half up after every step.

Readings of the contract where its words leave a choice (each one is also said where it is applied):

- Which coverage: the ``active`` one with ``start_date <= service_date <= end_date``; should several
  qualify, the latest start wins (as insurance's coverage verification does).
- R03: ``submitted_on - service_date`` may be exactly ``timely_filing_days``; one day more is late.
- R04 compares with *other* claims only (``Facts.duplicates``); the same code twice on one claim is not
  a duplicate.
- R12: the line's code must name a pre-authorisation of ``Facts.preauths`` (the member's) that is
  ``approved``, for the line's benefit, with ``valid_from <= service_date <= valid_to``.
- R13 counts finalised claims only (``Usage.visits_by_benefit``): the claim being decided is the visit
  being asked for, so its own earlier lines never count as a visit against its later lines; otherwise a
  second line of the same visit could be refused for the visit the first line is part of.
- Copay: ``copay_fixed`` is charged per line, as step 3 is written per line; the percentage is one step
  (``medcover.money.percent_of``: ``amount x percent / 100``, rounded once).
- R14/R15 fire when the limit has nothing left before the line (``<= 0``), whatever the line's payable;
  A02/A03/A04 are added only when the cut actually lowered the payable. The per-visit limit has no
  R-code: with nothing left a line is cut to 0.00 and is ``adjusted`` (A02).
- A rejected line shows ``allowed``, ``deductible``, ``copay`` and ``approved`` as 0.00 and
  ``member_responsibility = billed``.
- Review triggers (``triggers``: V02 threshold, S01 suspect duplicate, V01 sample, V03 outlier): checked on a
  claim past R01-R03, the threshold reached at ``>=``; their codes follow the lines' codes in ``reason_codes``
  and sit alone in ``review_codes``; ``outcome`` carries what the rules alone decided.

The package: ``inputs`` (what the engine reads), ``rules`` (the claim and line checks), ``amounts`` (a line's
steps 1-8), ``adjudicate`` (``decide``), ``triggers`` (the review triggers),
``overrides`` (M01, M02, M03) and ``outcomes`` (what it answers, ``REASONS``).
"""

from __future__ import annotations

from blueprints.claims.engine.adjudicate import decide
from blueprints.claims.engine.inputs import (
    BenefitTerms,
    ClaimIn,
    CoverageTerms,
    Facts,
    LineIn,
    NearbyClaim,
    PreAuth,
    ProviderMean,
    SchemeTerms,
    Tariff,
    Usage,
)
from blueprints.claims.engine.outcomes import (
    DUPLICATE_PARTS,
    MANUAL,
    REASONS,
    TRIGGER_NAMES,
    TRIGGERS,
    WAIVABLE,
    ClaimOutcome,
    Decision,
    DuplicateMatch,
    LineDecision,
    LineOutcome,
    ManualLine,
    OverrideRefused,
    Waivable,
)
from blueprints.claims.engine.overrides import (
    apply_overrides,
    changed_lines,
    earlier_manual,
    redecide,
    reject_all,
)
from blueprints.claims.engine.rules import applicable_coverage
from blueprints.claims.engine.triggers import main_category, sample_draw
from blueprints.insurance.services import benefit_period

__all__ = [
    "DUPLICATE_PARTS",
    "MANUAL",
    "REASONS",
    "TRIGGER_NAMES",
    "TRIGGERS",
    "WAIVABLE",
    "DuplicateMatch",
    "NearbyClaim",
    "ProviderMean",
    "BenefitTerms",
    "ClaimIn",
    "ClaimOutcome",
    "CoverageTerms",
    "Decision",
    "Facts",
    "LineDecision",
    "LineIn",
    "LineOutcome",
    "ManualLine",
    "OverrideRefused",
    "PreAuth",
    "SchemeTerms",
    "Tariff",
    "Usage",
    "Waivable",
    "applicable_coverage",
    "apply_overrides",
    "benefit_period",
    "changed_lines",
    "decide",
    "earlier_manual",
    "main_category",
    "redecide",
    "reject_all",
    "sample_draw",
]
