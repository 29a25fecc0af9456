"""The adjudication engine against ADJUDICATION.md, rule by rule, to the cent (amounts worked by hand)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blueprints.claims import engine
from blueprints.claims.engine import (
    REASONS,
    BenefitTerms,
    ClaimIn,
    CoverageTerms,
    Decision,
    Facts,
    LineIn,
    OverrideRefused,
    PreAuth,
    SchemeTerms,
    Tariff,
    Usage,
    apply_overrides,
    decide,
)

D = Decimal
START = date(2025, 1, 1)
END = date(2025, 12, 31)
DAY = date(2025, 6, 10)
SUBMITTED = date(2025, 6, 12)

TARIFFS = {
    "CONSULT": Tariff(D("1000.00"), "OUTPATIENT"),
    "XRAY": Tariff(D("500.00"), "OUTPATIENT"),
    "LAB": Tariff(D("300.00"), "OUTPATIENT"),
    "ECG": Tariff(D("200.00"), "OUTPATIENT"),
    "FILLING": Tariff(D("400.00"), "DENTAL"),
}


@pytest.fixture(autouse=True)
def db_session():
    """The engine is pure: these tests need no app and no database (this replaces conftest's transaction)."""
    yield None


def scheme(benefits: dict[str, BenefitTerms] | None = None, **terms) -> SchemeTerms:
    terms.setdefault("scheme_id", 1)
    return SchemeTerms(benefits=benefits if benefits is not None else {"OUTPATIENT": BenefitTerms()}, **terms)


def cover(terms: SchemeTerms | None = None, *, start=START, end=END, status="active", coverage_id=1) -> CoverageTerms:
    return CoverageTerms(start, end, status, terms or scheme(), coverage_id)


def facts(terms: SchemeTerms | None = None, **given) -> Facts:
    given.setdefault("coverages", (cover(terms),))
    given.setdefault("tariffs", TARIFFS)
    return Facts(member_found=given.pop("member_found", True), **given)


def line(no: int, code: str, price: str, quantity: int = 1, preauth: str | None = None) -> LineIn:
    return LineIn(no, code, quantity, D(price), preauth)


def claim(*lines: LineIn, service_date: date = DAY, submitted_on: date = SUBMITTED) -> ClaimIn:
    return ClaimIn(7, "M-0001", 3, service_date, submitted_on, lines)


def amounts(decision: Decision, name: str) -> list[Decimal]:
    return [getattr(each, name) for each in decision.lines]


def codes(decision: Decision) -> list[tuple[str, ...]]:
    return [each.reason_codes for each in decision.lines]


# --- Claim-level checks ------------------------------------------------------------------------------


def test_unknown_member_rejects_every_line_with_r01_before_anything_else():
    # No coverage and a service date after submission too: R01 is checked first.
    decision = decide(
        claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", "450.00", 2), submitted_on=DAY - timedelta(days=1)),
        facts(member_found=False, coverages=()),
    )
    assert decision.status == "rejected"
    assert decision.reason_codes == ("R01",)
    assert codes(decision) == [("R01",), ("R01",)]
    # 1000.00 + 2 x 450.00 = 1900.00 billed; a rejected line leaves the member the billed amount.
    assert decision.total_billed == D("1900.00")
    assert decision.total_approved == D("0.00")
    assert amounts(decision, "member_responsibility") == [D("1000.00"), D("900.00")]
    assert amounts(decision, "allowed") == [D("0.00"), D("0.00")]


@pytest.mark.parametrize(
    ("status", "start", "end", "rejected"),
    [
        pytest.param("active", START, END, False, id="active-covering"),
        pytest.param("active", DAY, DAY, False, id="active-starts-and-ends-on-the-day"),
        pytest.param("active", START, DAY - timedelta(days=1), True, id="ended-the-day-before"),
        pytest.param("active", DAY + timedelta(days=1), END, True, id="starts-the-day-after"),
        pytest.param("suspended", START, END, True, id="suspended"),
        pytest.param("lapsed", START, END, True, id="lapsed"),
        pytest.param("cancelled", START, END, True, id="cancelled"),
    ],
)
def test_r02_needs_an_active_coverage_covering_the_service_date(status, start, end, rejected):
    decision = decide(
        claim(line(1, "CONSULT", "1000.00")), facts(coverages=(cover(start=start, end=end, status=status),))
    )
    assert decision.reason_codes == (("R02",) if rejected else ())
    assert decision.total_approved == (D("0.00") if rejected else D("1000.00"))


def test_the_active_coverage_applies_when_the_member_has_several():
    cancelled = cover(
        scheme(scheme_id=9), start=date(2024, 1, 1), end=date(2025, 12, 31), status="cancelled", coverage_id=1
    )
    current = cover(start=date(2025, 3, 1), end=date(2026, 2, 28), coverage_id=2)
    next_year = cover(start=date(2026, 3, 1), end=date(2027, 2, 28), coverage_id=3)
    decision = decide(claim(line(1, "CONSULT", "1000.00")), facts(coverages=(cancelled, current, next_year)))
    assert decision.coverage_id == 2
    # The benefit period runs 12 months from the applicable coverage's start.
    assert decision.period == (date(2025, 3, 1), date(2026, 2, 28))


def test_a_29_february_start_rolls_the_period_to_28_february():
    leap = cover(start=date(2024, 2, 29), end=date(2026, 12, 31))
    decision = decide(
        claim(line(1, "CONSULT", "1000.00"), service_date=date(2025, 3, 1), submitted_on=date(2025, 3, 1)),
        facts(coverages=(leap,)),
    )
    assert decision.period == (date(2025, 2, 28), date(2026, 2, 27))


@pytest.mark.parametrize(
    ("service_date", "submitted_on", "filing_days", "late"),
    [
        pytest.param(DAY, DAY, 180, False, id="same-day"),
        pytest.param(DAY, DAY + timedelta(days=180), 180, False, id="exactly-180-days-before"),
        pytest.param(DAY, DAY + timedelta(days=181), 180, True, id="181-days-before"),
        pytest.param(DAY, DAY + timedelta(days=30), 30, False, id="exactly-the-scheme-days"),
        pytest.param(DAY, DAY + timedelta(days=31), 30, True, id="one-day-past-the-scheme-days"),
        pytest.param(DAY, DAY - timedelta(days=1), 180, True, id="service-after-submission"),
    ],
)
def test_r03_timely_filing(service_date, submitted_on, filing_days, late):
    terms = scheme(timely_filing_days=filing_days)
    decision = decide(
        claim(line(1, "CONSULT", "1000.00"), service_date=service_date, submitted_on=submitted_on), facts(terms)
    )
    assert decision.reason_codes == (("R03",) if late else ())
    assert decision.status == ("rejected" if late else "approved")


def test_r03_defaults_to_180_days():
    assert SchemeTerms(scheme_id=1).timely_filing_days == 180


# --- Line checks -------------------------------------------------------------------------------------


def test_r07_a_service_without_tariff_is_rejected_and_the_rest_is_decided():
    decision = decide(claim(line(1, "CONSULT", "1000.00"), line(2, "MRI", "9000.00")), facts())
    assert codes(decision) == [(), ("R07",)]
    assert decision.lines[1].benefit_code is None
    assert decision.status == "partially_approved"
    # 1000.00 approved; the MRI line: 9000.00 billed, all of it the member's.
    assert decision.total_approved == D("1000.00")
    assert decision.lines[1].member_responsibility == D("9000.00")


def test_r04_duplicate_of_a_line_on_another_claim():
    decision = decide(
        claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00")), facts(duplicates=frozenset({"XRAY"}))
    )
    assert codes(decision) == [(), ("R04",)]
    assert decision.total_approved == D("1000.00")


def test_r07_is_checked_before_r04():
    decision = decide(claim(line(1, "MRI", "100.00")), facts(duplicates=frozenset({"MRI"})))
    assert codes(decision) == [("R07",)]


def test_the_same_code_twice_on_one_claim_is_not_a_duplicate():
    decision = decide(claim(line(1, "LAB", "300.00"), line(2, "LAB", "300.00")), facts())
    assert codes(decision) == [(), ()]
    assert decision.total_approved == D("600.00")


@pytest.mark.parametrize(
    "benefits",
    [
        pytest.param({"OUTPATIENT": BenefitTerms()}, id="benefit-not-in-scheme"),
        pytest.param({"OUTPATIENT": BenefitTerms(), "DENTAL": BenefitTerms(covered=False)}, id="covered-false"),
    ],
)
def test_r10_benefit_not_covered(benefits):
    decision = decide(claim(line(1, "FILLING", "400.00"), line(2, "LAB", "300.00")), facts(scheme(benefits)))
    assert codes(decision) == [("R10",), ()]
    assert decision.lines[0].benefit_code == "DENTAL"
    assert decision.total_approved == D("300.00")


def test_r10_a_tariff_mapping_to_no_benefit():
    tariffs = {**TARIFFS, "MISC": Tariff(D("50.00"), None)}
    decision = decide(claim(line(1, "MISC", "50.00")), facts(tariffs=tariffs))
    assert codes(decision) == [("R10",)]


@pytest.mark.parametrize(
    ("service_date", "expected"),
    [
        # 2025-01-01 + 30 days = 2025-01-31: the waiting period ends that day and it pays.
        pytest.param(date(2025, 1, 31), (), id="ends-that-day"),
        pytest.param(date(2025, 1, 30), ("R11",), id="the-day-before"),
    ],
)
def test_r11_waiting_period(service_date, expected):
    terms = scheme({"DENTAL": BenefitTerms(waiting_period_days=30)})
    decision = decide(
        claim(line(1, "FILLING", "400.00"), service_date=service_date, submitted_on=date(2025, 2, 1)), facts(terms)
    )
    assert codes(decision) == [expected]
    assert decision.total_approved == (D("0.00") if expected else D("400.00"))


PREAUTHS = (
    PreAuth("PA-OK", "DENTAL", "approved", date(2025, 6, 1), date(2025, 6, 30)),
    PreAuth("PA-ENDS", "DENTAL", "approved", date(2025, 6, 1), DAY),
    PreAuth("PA-OLD", "DENTAL", "approved", date(2025, 5, 1), DAY - timedelta(days=1)),
    PreAuth("PA-LATER", "DENTAL", "approved", DAY + timedelta(days=1), date(2025, 6, 30)),
    PreAuth("PA-OUT", "OUTPATIENT", "approved", date(2025, 6, 1), date(2025, 6, 30)),
    PreAuth("PA-ASKED", "DENTAL", "requested", date(2025, 6, 1), date(2025, 6, 30)),
    PreAuth("PA-NO", "DENTAL", "declined", date(2025, 6, 1), date(2025, 6, 30)),
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("PA-OK", (), id="approved-valid"),
        pytest.param(" PA-OK ", (), id="approved-valid-with-spaces"),
        pytest.param("PA-ENDS", (), id="valid-to-the-service-date"),
        pytest.param(None, ("R12",), id="no-code"),
        pytest.param("PA-NOPE", ("R12",), id="unknown-code"),
        pytest.param("PA-OLD", ("R12",), id="expired"),
        pytest.param("PA-LATER", ("R12",), id="not-yet-valid"),
        pytest.param("PA-OUT", ("R12",), id="other-benefit"),
        pytest.param("PA-ASKED", ("R12",), id="requested-only"),
        pytest.param("PA-NO", ("R12",), id="declined"),
    ],
)
def test_r12_preauthorisation(code, expected):
    terms = scheme({"DENTAL": BenefitTerms(requires_preauth=True)})
    decision = decide(claim(line(1, "FILLING", "400.00", preauth=code)), facts(terms, preauths=PREAUTHS))
    assert codes(decision) == [expected]


def test_a_preauth_code_is_ignored_when_the_benefit_needs_none():
    decision = decide(claim(line(1, "CONSULT", "1000.00", preauth="PA-NOPE")), facts())
    assert codes(decision) == [()]


@pytest.mark.parametrize(("visits", "expected"), [(1, ()), (2, ("R13",)), (3, ("R13",))])
def test_r13_max_visits_counts_finalised_claims(visits, expected):
    terms = scheme({"DENTAL": BenefitTerms(max_visits=2)})
    usage = Usage(visits_by_benefit={"DENTAL": visits})
    decision = decide(claim(line(1, "FILLING", "400.00")), facts(terms, usage=usage))
    assert codes(decision) == [expected]


def test_r13_lines_of_one_claim_are_one_visit():
    # One visit left: both lines belong to the visit being claimed, so both pay (400.00 + 400.00).
    terms = scheme({"DENTAL": BenefitTerms(max_visits=2)})
    decision = decide(
        claim(line(1, "FILLING", "400.00"), line(2, "FILLING", "400.00")),
        facts(terms, usage=Usage(visits_by_benefit={"DENTAL": 1})),
    )
    assert codes(decision) == [(), ()]
    assert decision.total_approved == D("800.00")


def test_line_checks_fire_in_the_contract_order():
    # Every line check would fire on this line; R04 wins over R10..R13 (R07 needs no tariff at all).
    terms = scheme(
        {"DENTAL": BenefitTerms(covered=False, waiting_period_days=900, requires_preauth=True, max_visits=1)}
    )
    usage = Usage(visits_by_benefit={"DENTAL": 5})
    first = decide(claim(line(1, "FILLING", "400.00")), facts(terms, usage=usage, duplicates=frozenset({"FILLING"})))
    assert codes(first) == [("R04",)]
    second = decide(claim(line(1, "FILLING", "400.00")), facts(terms, usage=usage))
    assert codes(second) == [("R10",)]
    covered = scheme({"DENTAL": BenefitTerms(waiting_period_days=900, requires_preauth=True, max_visits=1)})
    assert codes(decide(claim(line(1, "FILLING", "400.00")), facts(covered, usage=usage))) == [("R11",)]
    no_wait = scheme({"DENTAL": BenefitTerms(requires_preauth=True, max_visits=1)})
    assert codes(decide(claim(line(1, "FILLING", "400.00")), facts(no_wait, usage=usage))) == [("R12",)]


# --- Amounts -----------------------------------------------------------------------------------------


def test_a01_billed_above_tariff_is_allowed_at_the_tariff():
    decision = decide(claim(line(1, "CONSULT", "1200.00", 2), line(2, "XRAY", "450.00", 2)), facts())
    first, second = decision.lines
    # 2 x 1200.00 = 2400.00 billed; 2 x min(1200.00, 1000.00) = 2000.00 allowed; 400.00 written off.
    assert (first.billed, first.allowed, first.approved) == (D("2400.00"), D("2000.00"), D("2000.00"))
    assert first.decision == "adjusted" and first.reason_codes == ("A01",)
    assert first.member_responsibility == D("0.00") and first.write_off == D("400.00")
    # Billed below the tariff: 2 x 450.00 = 900.00 allowed, no A01.
    assert (second.billed, second.allowed, second.decision, second.reason_codes) == (
        D("900.00"),
        D("900.00"),
        "approved",
        (),
    )
    # An adjusted line still counts as approved for the claim.
    assert decision.status == "approved"
    assert decision.total_approved == D("2900.00")


def test_deductible_is_taken_across_the_lines_of_the_claim():
    # Deductible 1500.00, 200.00 already applied: 1300.00 left.
    terms = scheme(deductible=D("1500.00"))
    decision = decide(
        claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00"), line(3, "LAB", "300.00")),
        facts(terms, usage=Usage(deductible_applied=D("200.00"))),
    )
    # CONSULT: min(1000.00, 1300.00) = 1000.00 -> 0.00 approved, left 300.00
    # XRAY:    min(500.00, 300.00) = 300.00 -> 200.00 approved, left 0.00
    # LAB:     0.00 -> 300.00 approved
    assert amounts(decision, "deductible") == [D("1000.00"), D("300.00"), D("0.00")]
    assert amounts(decision, "approved") == [D("0.00"), D("200.00"), D("300.00")]
    assert amounts(decision, "member_responsibility") == [D("1000.00"), D("300.00"), D("0.00")]
    assert codes(decision) == [(), (), ()]  # the deductible is not a cut: no A-code
    assert decision.total_approved == D("500.00")


def test_deductible_already_used_up_takes_nothing():
    # 600.00 applied against a 500.00 deductible (the scheme's was lowered): nothing left, never negative.
    terms = scheme(deductible=D("500.00"))
    decision = decide(claim(line(1, "LAB", "300.00")), facts(terms, usage=Usage(deductible_applied=D("600.00"))))
    assert amounts(decision, "deductible") == [D("0.00")]
    assert decision.total_approved == D("300.00")


def test_copay_percent_plus_fixed_after_the_deductible():
    terms = scheme(
        {"OUTPATIENT": BenefitTerms(copay_percent=D("10"), copay_fixed=D("50.00"))},
        deductible=D("300.00"),
    )
    decision = decide(claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00")), facts(terms))
    # CONSULT: deductible 300.00; copay min(700.00, 700.00 x 10 / 100 + 50.00 = 120.00) = 120.00;
    #          payable 1000.00 - 300.00 - 120.00 = 580.00
    # XRAY:    deductible 0.00; copay min(500.00, 50.00 + 50.00 = 100.00) = 100.00; payable 400.00
    assert amounts(decision, "copay") == [D("120.00"), D("100.00")]
    assert amounts(decision, "approved") == [D("580.00"), D("400.00")]
    assert amounts(decision, "member_responsibility") == [D("420.00"), D("100.00")]
    assert decision.total_approved == D("980.00")


def test_copay_never_exceeds_what_is_left_after_the_deductible():
    terms = scheme({"OUTPATIENT": BenefitTerms(copay_percent=D("20"), copay_fixed=D("100.00"))})
    decision = decide(claim(line(1, "CONSULT", "80.00")), facts(terms))
    # min(80.00, 80.00 x 20 / 100 + 100.00 = 116.00) = 80.00: nothing payable, not a cut.
    only = decision.lines[0]
    assert (only.copay, only.approved, only.member_responsibility, only.decision) == (
        D("80.00"),
        D("0.00"),
        D("80.00"),
        "approved",
    )


def test_a02_per_visit_limit_across_the_benefits_lines():
    terms = scheme({"OUTPATIENT": BenefitTerms(per_visit_limit=D("1200.00"))})
    decision = decide(
        claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00"), line(3, "LAB", "300.00")),
        facts(terms),
    )
    # 1000.00 fits; 1200.00 - 1000.00 = 200.00 left for the XRAY; 0.00 for the LAB (cut, not rejected).
    assert amounts(decision, "approved") == [D("1000.00"), D("200.00"), D("0.00")]
    assert codes(decision) == [(), ("A02",), ("A02",)]
    assert [each.decision for each in decision.lines] == ["approved", "adjusted", "adjusted"]
    assert amounts(decision, "member_responsibility") == [D("0.00"), D("300.00"), D("300.00")]
    assert decision.status == "approved"
    assert decision.total_approved == D("1200.00")


def test_a02_only_counts_lines_of_the_same_benefit():
    terms = scheme({"OUTPATIENT": BenefitTerms(per_visit_limit=D("1000.00")), "DENTAL": BenefitTerms()})
    decision = decide(claim(line(1, "CONSULT", "1000.00"), line(2, "FILLING", "400.00")), facts(terms))
    assert amounts(decision, "approved") == [D("1000.00"), D("400.00")]


def test_a03_benefit_limit_cuts_to_what_is_left():
    terms = scheme({"OUTPATIENT": BenefitTerms(annual_limit=D("3000.00"))})
    usage = Usage(approved_by_benefit={"OUTPATIENT": D("2400.00")}, approved_total=D("2400.00"))
    decision = decide(claim(line(1, "CONSULT", "1000.00")), facts(terms, usage=usage))
    # 3000.00 - 2400.00 = 600.00 left
    assert amounts(decision, "approved") == [D("600.00")]
    assert codes(decision) == [("A03",)]
    assert amounts(decision, "member_responsibility") == [D("400.00")]


def test_r14_benefit_limit_used_up_rejects_the_line():
    terms = scheme({"OUTPATIENT": BenefitTerms(annual_limit=D("3000.00"))})
    usage = Usage(approved_by_benefit={"OUTPATIENT": D("3000.00")})
    decision = decide(claim(line(1, "CONSULT", "1000.00")), facts(terms, usage=usage))
    assert codes(decision) == [("R14",)]
    assert decision.status == "rejected"
    assert amounts(decision, "member_responsibility") == [D("1000.00")]


def test_r14_when_an_earlier_line_of_the_claim_used_the_rest():
    terms = scheme({"OUTPATIENT": BenefitTerms(annual_limit=D("3000.00"))}, deductible=D("100.00"))
    usage = Usage(approved_by_benefit={"OUTPATIENT": D("2000.00")}, deductible_applied=D("100.00"))
    decision = decide(claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00")), facts(terms, usage=usage))
    # 1000.00 left: the CONSULT takes exactly 1000.00 (no cut, no A03), nothing is left for the XRAY.
    assert codes(decision) == [(), ("R14",)]
    assert amounts(decision, "approved") == [D("1000.00"), D("0.00")]
    assert decision.status == "partially_approved"


def test_a04_scheme_limit_cuts_to_what_is_left():
    terms = scheme(annual_limit=D("5000.00"))
    usage = Usage(approved_total=D("4700.00"))
    decision = decide(claim(line(1, "CONSULT", "1000.00")), facts(terms, usage=usage))
    # 5000.00 - 4700.00 = 300.00 left
    assert amounts(decision, "approved") == [D("300.00")]
    assert codes(decision) == [("A04",)]


def test_r15_scheme_limit_used_up_rejects_the_line():
    terms = scheme(annual_limit=D("5000.00"))
    decision = decide(claim(line(1, "CONSULT", "1000.00")), facts(terms, usage=Usage(approved_total=D("5000.00"))))
    assert codes(decision) == [("R15",)]


def test_r14_is_checked_before_r15():
    terms = scheme({"OUTPATIENT": BenefitTerms(annual_limit=D("100.00"))}, annual_limit=D("100.00"))
    usage = Usage(approved_by_benefit={"OUTPATIENT": D("100.00")}, approved_total=D("100.00"))
    assert codes(decide(claim(line(1, "LAB", "300.00")), facts(terms, usage=usage))) == [("R14",)]


def test_cuts_add_up_in_order_per_visit_benefit_scheme():
    terms = scheme(
        {"OUTPATIENT": BenefitTerms(per_visit_limit=D("900.00"), annual_limit=D("1000.00"))},
        annual_limit=D("2000.00"),
    )
    usage = Usage(approved_by_benefit={"OUTPATIENT": D("150.00")}, approved_total=D("1300.00"))
    decision = decide(claim(line(1, "CONSULT", "1200.00")), facts(terms, usage=usage))
    # allowed 1000.00 (A01); per visit 900.00 (A02); benefit 1000.00 - 150.00 = 850.00 (A03);
    # scheme 2000.00 - 1300.00 = 700.00 (A04)
    assert amounts(decision, "approved") == [D("700.00")]
    assert codes(decision) == [("A01", "A02", "A03", "A04")]
    assert amounts(decision, "member_responsibility") == [D("300.00")]


def test_a_rejected_line_consumes_nothing():
    terms = scheme({"OUTPATIENT": BenefitTerms(per_visit_limit=D("1000.00"))}, deductible=D("200.00"))
    decision = decide(
        claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00"), line(3, "LAB", "300.00")),
        facts(terms, duplicates=frozenset({"CONSULT"})),
    )
    # CONSULT rejected (R04) takes no deductible and no per-visit room:
    # XRAY: deductible 200.00, approved 300.00; LAB: 300.00 (300.00 + 300.00 <= 1000.00)
    assert codes(decision) == [("R04",), (), ()]
    assert amounts(decision, "deductible") == [D("0.00"), D("200.00"), D("0.00")]
    assert amounts(decision, "approved") == [D("0.00"), D("300.00"), D("300.00")]


def test_null_limits_mean_no_limit():
    terms = scheme({"OUTPATIENT": BenefitTerms(annual_limit=None, per_visit_limit=None)}, annual_limit=None)
    usage = Usage(approved_by_benefit={"OUTPATIENT": D("9999999.00")}, approved_total=D("9999999.00"))
    decision = decide(claim(line(1, "CONSULT", "1000.00", 3)), facts(terms, usage=usage))
    assert decision.total_approved == D("3000.00")


# --- Claim outcome -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xray_price", "threshold", "status"),
    [
        # 1000.00 + 500.00 = 1500.00 billed
        pytest.param("500.00", D("1500.00"), "pending_review", id="reaches-it"),
        # 1000.00 + 499.99 = 1499.99 billed
        pytest.param("499.99", D("1500.00"), "approved", id="one-cent-below"),
        pytest.param("500.00", None, "approved", id="no-threshold"),
    ],
)
def test_review_threshold(xray_price, threshold, status):
    decision = decide(
        claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", xray_price)), facts(scheme(review_threshold=threshold))
    )
    assert decision.status == status
    assert decision.review is (status == "pending_review")
    assert decision.outcome == "approved"  # the proposal
    assert decision.total_approved == D("1000.00") + D(xray_price)


def test_review_keeps_the_proposal_of_a_partial_claim():
    terms = scheme(review_threshold=D("1000.00"))
    decision = decide(claim(line(1, "CONSULT", "1000.00"), line(2, "MRI", "50.00")), facts(terms))
    assert (decision.status, decision.outcome) == ("pending_review", "partially_approved")
    assert decision.total_approved == D("1000.00")


def test_a_late_claim_is_never_sent_to_review():
    # ADJUDICATION.md, review triggers: a claim that R01-R03 rejected is never sent to review.
    terms = scheme(review_threshold=D("500.00"))
    decision = decide(claim(line(1, "CONSULT", "1000.00"), submitted_on=DAY + timedelta(days=200)), facts(terms))
    assert (decision.status, decision.outcome, decision.reason_codes) == ("rejected", "rejected", ("R03",))
    assert decision.review is False and decision.review_codes == ()


def test_m01_override_lowers_a_line_and_recomputes_the_claim():
    terms = scheme(review_threshold=D("1000.00"))
    proposal = decide(claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00")), facts(terms))
    assert proposal.status == "pending_review"
    decided = apply_overrides(proposal, {2: (D("250.00"), "Second view not needed")})
    second = decided.lines[1]
    # 500.00 allowed, 250.00 approved: the member owes 250.00.
    assert (second.approved, second.member_responsibility, second.decision) == (D("250.00"), D("250.00"), "adjusted")
    assert second.reason_codes == ("M01",) and second.note == "Second view not needed"
    assert decided.lines[0] == proposal.lines[0]
    assert decided.status == "approved" and decided.review is True
    # 1000.00 + 250.00
    assert decided.total_approved == D("1250.00")
    assert decided.reason_codes == ("M01",)


def test_m01_override_to_the_same_amount_keeps_the_line_decision():
    proposal = decide(claim(line(1, "CONSULT", "1200.00")), facts())
    decided = apply_overrides(proposal, {1: (D("1000.00"), "Checked")})
    assert decided.lines[0].decision == "adjusted"  # it was already, for A01
    assert decided.lines[0].reason_codes == ("A01", "M01")
    plain = apply_overrides(decide(claim(line(1, "LAB", "300.00")), facts()), {1: (D("300.00"), "Checked")})
    assert plain.lines[0].decision == "approved"
    assert plain.lines[0].reason_codes == ("M01",)


def test_m01_override_may_raise_up_to_allowed_after_a_cut():
    terms = scheme({"OUTPATIENT": BenefitTerms(per_visit_limit=D("1200.00"))})
    proposal = decide(claim(line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00")), facts(terms))
    decided = apply_overrides(proposal, {2: (D("500.00"), "Emergency, limit waived")})
    assert amounts(decided, "approved") == [D("1000.00"), D("500.00")]
    assert decided.lines[1].member_responsibility == D("0.00")
    assert decided.total_approved == D("1500.00")


def test_no_overrides_accepts_the_proposal():
    terms = scheme(review_threshold=D("100.00"))
    proposal = decide(claim(line(1, "CONSULT", "1000.00"), line(2, "MRI", "50.00")), facts(terms))
    decided = apply_overrides(proposal, {})
    assert decided.status == "partially_approved"
    assert decided.lines == proposal.lines


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({1: (D("1000.01"), "Too generous")}, "at most the allowed 1,000.00", id="above-allowed"),
        pytest.param({1: (D("-0.01"), "Negative")}, "negative", id="negative"),
        pytest.param({1: (D("10.00"), "  ")}, "note", id="no-note"),
        pytest.param({2: (D("0.00"), "Rejected line")}, "rejected", id="rejected-line"),
        pytest.param({9: (D("0.00"), "Missing line")}, "no line 9", id="unknown-line"),
    ],
)
def test_m01_override_refused(overrides, message):
    proposal = decide(claim(line(1, "CONSULT", "1000.00"), line(2, "MRI", "50.00")), facts())
    with pytest.raises(OverrideRefused, match=message):
        apply_overrides(proposal, overrides)


def test_every_code_is_explained():
    for code in ("R01", "R02", "R03", "R04", "R07", "R10", "R11", "R12", "R13", "R14", "R15"):
        assert REASONS[code]
    for code in ("A01", "A02", "A03", "A04", "M01"):
        assert REASONS[code]
    decision = decide(claim(line(1, "CONSULT", "1200.00")), facts())
    assert decision.lines[0].reasons == (REASONS["A01"],)


# --- Combined cases: one member, one benefit period, claim after claim ---------------------------------


@dataclass(frozen=True)
class Scenario:
    terms: SchemeTerms
    #: each claim's lines, decided in turn; a finalised claim's consumption feeds the next
    claims: tuple[tuple[LineIn, ...], ...]
    #: per claim: status, total approved, per line (approved, reason codes)
    expected: tuple[tuple[str, str, tuple[tuple[str, tuple[str, ...]], ...]], ...]
    service_date: date = DAY
    submitted_on: date = SUBMITTED
    duplicates: frozenset[str] = field(default_factory=frozenset)


def rounding(copay_percent: str, price: str, approved: str, deductible: str = "0.00", quantity: int = 1) -> Scenario:
    terms = scheme({"OUTPATIENT": BenefitTerms(copay_percent=D(copay_percent))}, deductible=D(deductible))
    return Scenario(terms, ((line(1, "CONSULT", price, quantity),),), (("approved", approved, ((approved, ()),)),))


SCENARIOS = [
    pytest.param(
        Scenario(
            scheme(
                {"OUTPATIENT": BenefitTerms(copay_percent=D("10"), annual_limit=D("1500.00"))}, deductible=D("300.00")
            ),
            ((line(1, "CONSULT", "1000.00"),), (line(1, "CONSULT", "1000.00"),), (line(1, "CONSULT", "1000.00"),)),
            (
                # deductible 300.00, copay 10% of 700.00 = 70.00 -> 630.00
                ("approved", "630.00", (("630.00", ()),)),
                # deductible used up, copay 100.00 -> 900.00, benefit left 1500.00 - 630.00 = 870.00
                ("approved", "870.00", (("870.00", ("A03",)),)),
                # benefit used up
                ("rejected", "0.00", (("0.00", ("R14",)),)),
            ),
        ),
        id="deductible-then-copay-then-benefit-limit-over-three-claims",
    ),
    pytest.param(
        Scenario(
            scheme(deductible=D("700.00")),
            (
                (line(1, "LAB", "300.00"), line(2, "ECG", "200.00")),
                (line(1, "XRAY", "500.00"), line(2, "CONSULT", "1000.00")),
            ),
            (
                # 300.00 + 200.00 all to the deductible: approved 0.00 each, 200.00 of it left
                ("approved", "0.00", (("0.00", ()), ("0.00", ()))),
                # XRAY: 200.00 deductible -> 300.00; CONSULT: 1000.00
                ("approved", "1300.00", (("300.00", ()), ("1000.00", ()))),
            ),
        ),
        id="deductible-spans-lines-and-claims",
    ),
    pytest.param(
        Scenario(
            scheme(annual_limit=D("1000.00")),
            (
                (
                    line(1, "CONSULT", "400.00"),
                    line(2, "XRAY", "500.00"),
                    line(3, "LAB", "300.00"),
                    line(4, "ECG", "200.00"),
                ),
                (line(1, "ECG", "100.00"),),
            ),
            (
                # 400.00 + 500.00 = 900.00; LAB cut to 100.00; nothing left for the ECG
                (
                    "partially_approved",
                    "1000.00",
                    (("400.00", ()), ("500.00", ()), ("100.00", ("A04",)), ("0.00", ("R15",))),
                ),
                ("rejected", "0.00", (("0.00", ("R15",)),)),
            ),
        ),
        id="scheme-limit-exhausted-mid-claim",
    ),
    pytest.param(
        Scenario(
            scheme(
                {
                    "OUTPATIENT": BenefitTerms(annual_limit=D("1000.00")),
                    "DENTAL": BenefitTerms(annual_limit=D("1000.00")),
                },
                annual_limit=D("1500.00"),
            ),
            (
                (line(1, "CONSULT", "1000.00"), line(2, "FILLING", "400.00")),
                (line(1, "XRAY", "500.00"), line(2, "FILLING", "400.00")),
            ),
            (
                ("approved", "1400.00", (("1000.00", ()), ("400.00", ()))),
                # OUTPATIENT used up; DENTAL has 600.00 left but the scheme only 1500.00 - 1400.00 = 100.00
                ("partially_approved", "100.00", (("0.00", ("R14",)), ("100.00", ("A04",)))),
            ),
        ),
        id="benefit-and-scheme-limits-across-benefits",
    ),
    pytest.param(
        Scenario(
            scheme({"OUTPATIENT": BenefitTerms(per_visit_limit=D("1200.00"))}),
            ((line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00")), (line(1, "XRAY", "500.00"),)),
            (
                ("approved", "1200.00", (("1000.00", ()), ("200.00", ("A02",)))),
                # a new visit: the per-visit limit starts again
                ("approved", "500.00", (("500.00", ()),)),
            ),
        ),
        id="per-visit-limit-starts-again-each-claim",
    ),
    pytest.param(
        Scenario(
            scheme({"DENTAL": BenefitTerms(max_visits=1)}),
            ((line(1, "FILLING", "400.00"), line(2, "FILLING", "400.00")), (line(1, "FILLING", "400.00"),)),
            (
                ("approved", "800.00", (("400.00", ()), ("400.00", ()))),
                ("rejected", "0.00", (("0.00", ("R13",)),)),
            ),
        ),
        id="max-visits-counts-claims-not-lines",
    ),
    pytest.param(
        Scenario(
            scheme(),
            ((line(1, "CONSULT", "1000.00"), line(2, "XRAY", "500.00")),),
            (("partially_approved", "1000.00", (("1000.00", ()), ("0.00", ("R04",)))),),
            duplicates=frozenset({"XRAY"}),
        ),
        id="duplicate",
    ),
    pytest.param(
        Scenario(
            scheme({"DENTAL": BenefitTerms(waiting_period_days=30, copay_fixed=D("25.00"))}),
            ((line(1, "FILLING", "400.00"),),),
            # 2025-01-01 + 30 days = 2025-01-31, the service date; 400.00 - 25.00 fixed copay
            (("approved", "375.00", (("375.00", ()),)),),
            service_date=date(2025, 1, 31),
            submitted_on=date(2025, 2, 1),
        ),
        id="waiting-period-ends-on-the-service-date",
    ),
    pytest.param(
        Scenario(
            scheme({"DENTAL": BenefitTerms(waiting_period_days=30)}),
            ((line(1, "FILLING", "400.00"),),),
            (("rejected", "0.00", (("0.00", ("R11",)),)),),
            service_date=date(2025, 1, 30),
            submitted_on=date(2025, 2, 1),
        ),
        id="waiting-period-ends-the-day-after",
    ),
    # 10.10 x 12.5 / 100 = 1.2625 -> 1.26; 10.10 - 1.26 = 8.84
    pytest.param(rounding("12.5", "10.10", "8.84"), id="copay-12.5pct-of-10.10"),
    # 9.96 x 12.5 / 100 = 1.245 -> 1.25 half up (half even would give 1.24); 9.96 - 1.25 = 8.71
    pytest.param(rounding("12.5", "9.96", "8.71"), id="copay-half-up-not-half-even"),
    # 0.05 x 10 / 100 = 0.005 -> 0.01; 0.05 - 0.01 = 0.04
    pytest.param(rounding("10", "0.05", "0.04"), id="half-a-cent-rounds-up"),
    # 3 x 3.35 = 10.05; 10.05 x 7.5 / 100 = 0.75375 -> 0.75; 10.05 - 0.75 = 9.30
    pytest.param(rounding("7.5", "3.35", "9.30", quantity=3), id="quantity-then-percent"),
    # deductible 0.01; 0.04 x 10 / 100 = 0.004 -> 0.00; 0.05 - 0.01 - 0.00 = 0.04
    pytest.param(rounding("10", "0.05", "0.04", deductible="0.01"), id="rounds-down-below-half"),
    # 0.30 x 2.5 / 100 = 0.0075 -> 0.01; 0.30 - 0.01 = 0.29
    pytest.param(rounding("2.5", "0.30", "0.29"), id="three-quarters-of-a-cent"),
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_combined_scenarios(scenario: Scenario):
    usage = Usage()
    for lines, (status, total, per_line) in zip(scenario.claims, scenario.expected, strict=True):
        decision = decide(
            claim(*lines, service_date=scenario.service_date, submitted_on=scenario.submitted_on),
            facts(scenario.terms, usage=usage, duplicates=scenario.duplicates),
        )
        assert decision.status == status
        assert decision.total_approved == D(total)
        assert [(str(each.approved), each.reason_codes) for each in decision.lines] == list(per_line)
        usage = usage.plus(decision)


def test_usage_plus_counts_one_visit_per_claim_and_refuses_a_pending_claim():
    terms = scheme({"OUTPATIENT": BenefitTerms(), "DENTAL": BenefitTerms()}, deductible=D("100.00"))
    decision = decide(
        claim(
            line(1, "CONSULT", "1000.00"),
            line(2, "XRAY", "500.00"),
            line(3, "FILLING", "400.00"),
            line(4, "MRI", "1.00"),
        ),
        facts(terms),
    )
    usage = Usage(visits_by_benefit={"DENTAL": 1}).plus(decision)
    # CONSULT 1000.00 - 100.00 deductible = 900.00; XRAY 500.00; FILLING 400.00
    assert usage == Usage(
        deductible_applied=D("100.00"),
        approved_by_benefit={"OUTPATIENT": D("1400.00"), "DENTAL": D("400.00")},
        approved_total=D("1800.00"),
        visits_by_benefit={"OUTPATIENT": 1, "DENTAL": 2},
    )
    pending = decide(claim(line(1, "CONSULT", "1000.00")), facts(scheme(review_threshold=D("1.00"))))
    with pytest.raises(ValueError, match="pending review"):
        Usage().plus(pending)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="quantity"):
        LineIn(1, "LAB", 0, D("1.00"))
    with pytest.raises(ValueError, match="negative"):
        LineIn(1, "LAB", 1, D("-1.00"))
    with pytest.raises(TypeError, match="float"):
        LineIn(1, "LAB", 1, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one or more"):
        ClaimIn(1, "M", 1, DAY, DAY, ())
    with pytest.raises(ValueError, match="unique"):
        ClaimIn(1, "M", 1, DAY, DAY, (line(1, "LAB", "1.00"), line(1, "ECG", "1.00")))


def test_lines_are_decided_in_line_number_order():
    terms = scheme({"OUTPATIENT": BenefitTerms(per_visit_limit=D("1000.00"))})
    decision = decide(claim(line(2, "XRAY", "500.00"), line(1, "CONSULT", "1000.00")), facts(terms))
    # line 1 first takes the whole 1000.00; line 2 is cut to 0.00
    assert [(each.line_no, each.approved) for each in decision.lines] == [(1, D("1000.00")), (2, D("0.00"))]


def test_the_engine_imports_only_the_standard_library_money_and_the_insurers_period_rule():
    # Every module of the engine package; the modules import each other by absolute name.
    modules = sorted(Path(engine.__file__).parent.glob("*.py"))
    assert Path(engine.__file__) in modules and len(modules) > 1
    imported: set[str] = set()
    for path in modules:
        tree = ast.parse(path.read_text())
        assert not [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level], path
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    own = {name for name in imported if name.startswith(engine.__name__ + ".")}
    assert own <= {f"{engine.__name__}.{path.stem}" for path in modules}
    assert imported - own == {
        "__future__",
        "enum",
        "collections.abc",
        "dataclasses",
        "datetime",
        "decimal",
        "hashlib",
        "blueprints.insurance.services",
        "medcover.money",
    }


# --- Properties --------------------------------------------------------------------------------------

SERVICE_CODES = ["S1", "S2", "S3", "S4", "S5"]
BENEFIT_CODES = ["B1", "B2", "B3"]
money_st = st.decimals(min_value=0, max_value=3000, places=2)
maybe_money = st.none() | money_st
days_st = st.integers(min_value=0, max_value=400)

benefit_terms_st = st.builds(
    BenefitTerms,
    covered=st.sampled_from([True] * 9 + [False]),
    annual_limit=maybe_money,
    per_visit_limit=maybe_money,
    copay_percent=st.decimals(min_value=0, max_value=100, places=2),
    copay_fixed=st.decimals(min_value=0, max_value=200, places=2),
    waiting_period_days=st.sampled_from([0, 0, 0, 30, 90]),
    requires_preauth=st.sampled_from([False] * 4 + [True]),
    max_visits=st.none() | st.integers(min_value=1, max_value=3),
)


@st.composite
def worlds(draw) -> tuple[ClaimIn, Facts]:
    """Random claims that mostly pass the claim checks, so the amounts get exercised too."""

    def rarely() -> bool:
        return draw(st.sampled_from([False] * 19 + [True]))

    start = date(2024, 1, 1) + timedelta(days=draw(days_st))
    filing_days = draw(st.integers(min_value=1, max_value=200))
    terms = SchemeTerms(
        scheme_id=1,
        deductible=draw(money_st),
        annual_limit=draw(st.none() | st.decimals(min_value=0, max_value=9000, places=2)),
        timely_filing_days=filing_days,
        review_threshold=draw(st.none() | st.decimals(min_value=0, max_value=20000, places=2)),
        benefits={code: draw(benefit_terms_st) for code in BENEFIT_CODES if not rarely()},
    )
    status = "suspended" if rarely() else "active"
    coverages = (CoverageTerms(start, start + timedelta(days=364), status, terms),)
    service_date = start + timedelta(
        days=draw(st.integers(min_value=-10, max_value=380) if rarely() else days_st) % 365
    )
    late_or_early = draw(st.integers(min_value=-2, max_value=filing_days + 2)) if rarely() else None
    submitted_on = service_date + timedelta(
        days=late_or_early if late_or_early is not None else draw(st.integers(min_value=0, max_value=filing_days))
    )
    lines = draw(
        st.lists(
            st.tuples(
                st.sampled_from(SERVICE_CODES),
                st.integers(min_value=1, max_value=4),
                st.decimals(min_value=0, max_value=2000, places=2),
                st.sampled_from([None, "P1", "P2", "P3"]),
            ),
            min_size=1,
            max_size=6,
        )
    )
    claim_in = ClaimIn(
        1,
        "M-1",
        1,
        service_date,
        submitted_on,
        tuple(LineIn(no, code, qty, price, preauth) for no, (code, qty, price, preauth) in enumerate(lines, 1)),
    )
    preauths = tuple(
        PreAuth(
            code, benefit, status, service_date + timedelta(days=offset), service_date + timedelta(days=offset + length)
        )
        for code, benefit, status, offset, length in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["P1", "P2", "P3"]),
                    st.sampled_from(BENEFIT_CODES),
                    st.sampled_from(["approved", "approved", "requested", "declined"]),
                    st.integers(min_value=-30, max_value=2),
                    st.integers(min_value=0, max_value=40),
                ),
                max_size=4,
            )
        )
    )
    usage = Usage(
        deductible_applied=draw(money_st),
        approved_by_benefit=draw(st.dictionaries(st.sampled_from(BENEFIT_CODES), money_st)),
        approved_total=draw(st.decimals(min_value=0, max_value=9000, places=2)),
        visits_by_benefit=draw(st.dictionaries(st.sampled_from(BENEFIT_CODES), st.integers(min_value=0, max_value=3))),
    )
    tariffs = {
        code: Tariff(
            draw(money_st),
            draw(st.sampled_from([*BENEFIT_CODES, "B4", None]) if rarely() else st.sampled_from(BENEFIT_CODES)),
        )
        for code in SERVICE_CODES
        if not rarely()
    }
    the_facts = Facts(
        member_found=not rarely(),
        coverages=coverages,
        tariffs=tariffs,
        usage=usage,
        preauths=preauths,
        duplicates=frozenset(code for code in SERVICE_CODES if rarely()),
    )
    return claim_in, the_facts


def _two_places(amount: Decimal) -> bool:
    return amount.as_tuple().exponent == -2


def _left(limit: Decimal, used: Decimal) -> Decimal:
    return max(limit - used, D("0.00"))


@settings(max_examples=400, deadline=None)
@given(worlds())
def test_property_amounts_hold_together(world):
    claim_in, the_facts = world
    decision = decide(claim_in, the_facts)
    assert decide(claim_in, the_facts) == decision  # deterministic

    for each in decision.lines:
        money_fields = (
            each.billed,
            each.allowed,
            each.deductible,
            each.copay,
            each.approved,
            each.member_responsibility,
        )
        assert all(amount >= 0 and _two_places(amount) for amount in money_fields)
        assert each.approved <= each.allowed <= each.billed
        assert each.deductible + each.copay + each.approved <= each.allowed
        if each.decision == "rejected":
            assert each.member_responsibility == each.billed
            assert each.allowed == each.approved == each.deductible == each.copay == 0
        else:
            assert each.member_responsibility + each.approved == each.allowed
            assert (each.decision == "adjusted") == bool(each.reason_codes)
    assert decision.total_approved == sum((each.approved for each in decision.lines), D("0.00"))
    assert decision.total_billed == sum((each.billed for each in decision.lines), D("0.00"))
    assert [each.line_no for each in decision.lines] == sorted(each.line_no for each in claim_in.lines)

    # Nothing consumed past what the period has left.
    cover_terms = engine.applicable_coverage(the_facts.coverages, claim_in.service_date)
    if cover_terms is not None:
        terms, usage = cover_terms.scheme, the_facts.usage
        assert sum(each.deductible for each in decision.lines) <= _left(terms.deductible, usage.deductible_applied)
        if terms.annual_limit is not None:
            assert decision.total_approved <= _left(terms.annual_limit, usage.approved_total)
        for code, benefit in terms.benefits.items():
            on_claim = sum(each.approved for each in decision.lines if each.benefit_code == code)
            if benefit.annual_limit is not None:
                assert on_claim <= _left(benefit.annual_limit, usage.approved_by_benefit.get(code, D("0.00")))
            if benefit.per_visit_limit is not None:
                assert on_claim <= benefit.per_visit_limit

    # The adjudicator's decision keeps the same invariants: approve every open line at its allowed amount.
    overrides = {each.line_no: (each.allowed, "ok") for each in decision.lines if each.decision != "rejected"}
    final = apply_overrides(decision, overrides)
    assert final.status == decision.outcome
    assert final.total_approved == sum((each.approved for each in final.lines), D("0.00"))
    for each in final.lines:
        if each.decision != "rejected":
            assert each.member_responsibility + each.approved == each.allowed == each.approved
