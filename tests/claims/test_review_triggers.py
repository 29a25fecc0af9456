"""The review triggers of ADJUDICATION.md (V02, S01, V01, V03) in the pure engine, with hand-worked cases."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from blueprints.claims.engine import (
    BenefitTerms,
    ClaimIn,
    CoverageTerms,
    Facts,
    LineIn,
    NearbyClaim,
    ProviderMean,
    SchemeTerms,
    Tariff,
    decide,
    sample_draw,
)

D = Decimal
DAY = date(2025, 6, 10)
SUBMITTED = date(2025, 6, 12)
PROVIDER = 3
TARIFFS = {
    "CONSULT": Tariff(D("1000.00"), "OUTPATIENT"),
    "XRAY": Tariff(D("500.00"), "OUTPATIENT"),
    "LAB": Tariff(D("300.00"), "OUTPATIENT"),
}


@pytest.fixture(autouse=True)
def db_session():
    """Pure engine: no app, no database."""
    yield None


def scheme(**terms) -> SchemeTerms:
    return SchemeTerms(scheme_id=1, benefits={"OUTPATIENT": BenefitTerms()}, **terms)


def facts(terms: SchemeTerms | None = None, **given) -> Facts:
    cover = CoverageTerms(date(2025, 1, 1), date(2025, 12, 31), "active", terms or scheme(), 1)
    return Facts(member_found=True, coverages=(cover,), tariffs=TARIFFS, **given)


def claim(*codes: str, number: str | None = "CL-2026-000042", diagnoses=("J06.9",), **changes) -> ClaimIn:
    prices = {"CONSULT": "1000.00", "XRAY": "500.00", "LAB": "300.00"}
    lines = tuple(LineIn(n, code, 1, D(prices[code])) for n, code in enumerate(codes or ("CONSULT",), start=1))
    base = ClaimIn(7, "M-0001", PROVIDER, DAY, SUBMITTED, lines, number, tuple(diagnoses))
    return replace(base, **changes)


def other(
    claim_id=1,
    *,
    provider=PROVIDER,
    day=DAY,
    codes=("CONSULT",),
    diagnoses=("J06.9",),
    total="1000.00",
    status="approved",
    minute=0,
) -> NearbyClaim:
    return NearbyClaim(
        claim_id=claim_id,
        claim_number=f"CL-2026-{claim_id:06d}",
        institution_id=provider,
        service_date=day,
        status=status,
        total_billed=D(total),
        service_codes=frozenset(codes),
        diagnosis_codes=frozenset(diagnoses),
        order=(datetime(2025, 6, 11, 8, minute), claim_id),
    )


# --- V02 review threshold ------------------------------------------------------------------------


def test_v02_fires_at_the_threshold_with_its_code_and_amounts_unchanged():
    # 1000.00 + 500.00 billed = 1500.00, the threshold exactly
    decision = decide(claim("CONSULT", "XRAY"), facts(scheme(review_threshold=D("1500.00"))))
    assert (decision.status, decision.outcome) == ("pending_review", "approved")
    assert decision.review_codes == ("V02",) and decision.reason_codes == ("V02",)
    assert decision.total_approved == D("1500.00")
    below = decide(claim("CONSULT", "XRAY"), facts(scheme(review_threshold=D("1500.01"))))
    assert (below.status, below.review_codes) == ("approved", ())


# --- S01 suspect duplicate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nearby", "threshold", "score", "fires"),
    [
        # other provider, next day, same code, same diagnosis, same total: 25 + 10 + 10 = 45; +0
        pytest.param(other(provider=9, day=DAY + timedelta(days=1)), 45, 45, True, id="45-at-45"),
        pytest.param(other(provider=9, day=DAY + timedelta(days=1)), 46, 45, False, id="45-below-46"),
        # same provider next day, same code, other diagnosis, other total: 30 + 25 = 55
        pytest.param(other(day=DAY - timedelta(days=1), diagnoses=("K21",), total="900.00"), 55, 55, True, id="55-at"),
        pytest.param(
            other(day=DAY - timedelta(days=1), diagnoses=("K21",), total="900.00"), 56, 55, False, id="55-below"
        ),
        # same provider, same day, nothing else in common: 30 + 25 = 55 < the default 60
        pytest.param(other(codes=("LAB",), diagnoses=("K21",), total="300.00"), 60, 55, False, id="default-below"),
        # + a diagnosis in common: 65 >= 60
        pytest.param(other(codes=("LAB",), total="300.00"), 60, 65, True, id="default-reached"),
    ],
)
def test_s01_score_just_below_and_at_the_threshold(nearby, threshold, score, fires):
    # this claim: CONSULT at provider 3 on 10 Jun, diagnosis J06.9, 1000.00 billed
    decision = decide(claim("CONSULT"), facts(scheme(duplicate_score_threshold=threshold), nearby=(nearby,)))
    assert ("S01" in decision.review_codes) is fires
    assert decision.status == ("pending_review" if fires else "approved")
    if fires:
        assert decision.duplicate.score == score and decision.duplicate.claim_id == nearby.claim_id
        assert decision.review_details["S01"]["score"] == score


def test_s01_score_parts_are_named():
    decision = decide(claim("CONSULT"), facts(nearby=(other(),)))
    assert decision.duplicate.score == 100
    assert decision.duplicate.parts == (
        "same_provider",
        "same_service_date",
        "service_code_in_common",
        "diagnosis_code_in_common",
        "equal_total_billed",
    )


@pytest.mark.parametrize(("days", "fires"), [(3, True), (4, False), (-3, True), (-4, False)])
def test_s01_window_edges(days, fires):
    # same provider, code, diagnosis and total (30 + 25 + 10 + 10 = 75) on another day, window 3 days
    nearby = other(day=DAY + timedelta(days=days))
    decision = decide(claim("CONSULT"), facts(nearby=(nearby,)))
    assert ("S01" in decision.review_codes) is fires
    wider = decide(claim("CONSULT"), facts(scheme(duplicate_window_days=4), nearby=(nearby,)))
    assert wider.review_codes == ("S01",)


@pytest.mark.parametrize("status", ["draft", "rejected", "void"])
def test_s01_passes_over_draft_rejected_and_void_claims(status):
    decision = decide(claim("CONSULT"), facts(nearby=(other(status=status),)))
    assert decision.review_codes == () and decision.status == "approved"


def test_s01_names_the_best_match_then_the_earliest_submitted():
    weaker = other(1, codes=("LAB",), total="300.00", minute=0)  # 30 + 25 + 10 = 65
    best_late = other(2, minute=30)  # 100
    best_early = other(3, minute=10)  # 100, submitted before claim 2
    decision = decide(claim("CONSULT"), facts(nearby=(weaker, best_late, best_early)))
    assert decision.duplicate.claim_id == 3 and decision.duplicate.claim_number == "CL-2026-000003"


def test_s01_lines_rejected_r04_against_that_claim_do_not_count():
    # CONSULT is rejected R04 (the other claim has it, same provider and day); XRAY counts alone:
    # 30 same provider + 25 same day + 10 diagnosis = 65; no code in common, 500.00 != 1000.00
    decision = decide(claim("CONSULT", "XRAY"), facts(nearby=(other(),), duplicates=frozenset({"CONSULT"})))
    assert decision.lines[0].reason_codes == ("R04",)
    assert decision.duplicate.score == 65
    assert "service_code_in_common" not in decision.duplicate.parts
    # threshold 66: the R04 line would have made it 100; without it S01 stays quiet
    quiet = decide(
        claim("CONSULT", "XRAY"),
        facts(scheme(duplicate_score_threshold=66), nearby=(other(),), duplicates=frozenset({"CONSULT"})),
    )
    assert quiet.review_codes == () and quiet.status == "partially_approved"


def test_s01_a_claim_whose_every_line_r04_caught_is_not_suspected_again():
    decision = decide(claim("CONSULT"), facts(nearby=(other(),), duplicates=frozenset({"CONSULT"})))
    assert (decision.status, decision.review_codes) == ("rejected", ())


# --- V01 random sample ---------------------------------------------------------------------------


def test_v01_sample_draw_is_reproducible_from_the_claim_number():
    # sha256("CL-2026-000042") starts dc397c88 = 3694754952; 3694754952 % 100 = 52
    assert hashlib.sha256(b"CL-2026-000042").hexdigest()[:8] == "dc397c88"
    assert sample_draw("CL-2026-000042") == 52
    assert decide(claim(), facts(scheme(review_sample_percent=52))).review_codes == ()  # 52 > 52 is false
    drawn = decide(claim(), facts(scheme(review_sample_percent=53)))
    assert drawn.review_codes == ("V01",) and drawn.review_details["V01"]["draw"] == 52
    assert decide(claim(), facts(scheme(review_sample_percent=53))) == drawn  # same inputs, same result
    assert decide(claim(), facts(scheme(review_sample_percent=100))).review_codes == ("V01",)
    assert decide(claim(), facts(scheme())).review_codes == ()  # default 0: nobody is drawn


def test_v01_a_claim_without_a_number_is_never_drawn():
    assert decide(claim(number=None), facts(scheme(review_sample_percent=100))).review_codes == ()


# --- V03 outlier ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "history_total", "fires"),
    [
        # 10 claims billing 3000.00: mean 300.00; x 3 = 900.00 < 1000.00 billed
        pytest.param(10, "3000.00", True, id="10-claims-outlier"),
        # 9 claims: too little history, never an outlier
        pytest.param(9, "2700.00", False, id="9-claims-too-few"),
        # 10 claims billing 3333.40: mean 333.34; x 3 = 1000.02 > 1000.00
        pytest.param(10, "3333.40", False, id="10-claims-within"),
        # 10 claims billing 3333.33: mean 333.333; x 3 = 999.999 < 1000.00: exceeds
        pytest.param(10, "3333.33", True, id="10-claims-just-over"),
    ],
)
def test_v03_outlier_needs_ten_prior_claims(claims, history_total, fires):
    history = ProviderMean(claims, D(history_total))
    decision = decide(claim("CONSULT"), facts(scheme(variance_factor=D("3")), provider_mean=history))
    assert ("V03" in decision.review_codes) is fires
    assert decision.total_approved == D("1000.00")


def test_v03_exactly_the_factor_times_the_mean_is_not_an_outlier():
    # mean 500.00 x 2 = 1000.00: the claim must exceed it
    history = ProviderMean(10, D("5000.00"))
    assert decide(claim(), facts(scheme(variance_factor=D("2")), provider_mean=history)).review_codes == ()
    assert decide(claim(), facts(scheme(variance_factor=D("1.99")), provider_mean=history)).review_codes == ("V03",)
    assert decide(claim(), facts(scheme(), provider_mean=history)).review_codes == ()  # null factor: never


# --- together ------------------------------------------------------------------------------------


def test_every_trigger_that_fires_adds_its_code_in_order():
    terms = scheme(review_threshold=D("1000.00"), review_sample_percent=100, variance_factor=D("1"))
    decision = decide(claim("CONSULT"), facts(terms, nearby=(other(),), provider_mean=ProviderMean(10, D("100.00"))))
    assert decision.review_codes == ("V02", "S01", "V01", "V03")
    assert decision.reason_codes == ("V02", "S01", "V01", "V03")
    assert decision.status == "pending_review" and decision.total_approved == D("1000.00")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"member_found": False}, "R01"),
        ({"coverages": ()}, "R02"),
    ],
)
def test_claims_rejected_r01_or_r02_are_never_sent_to_review(changes, code):
    terms = scheme(review_threshold=D("1.00"), review_sample_percent=100)
    decision = decide(claim(), replace(facts(terms, nearby=(other(),)), **changes))
    assert (decision.status, decision.reason_codes, decision.review_codes) == ("rejected", (code,), ())


def test_a_late_claim_r03_is_never_sent_to_review():
    terms = scheme(review_threshold=D("1.00"), review_sample_percent=100)
    decision = decide(claim(submitted_on=DAY + timedelta(days=400)), facts(terms, nearby=(other(),)))
    assert (decision.status, decision.reason_codes, decision.review_codes) == ("rejected", ("R03",), ())
