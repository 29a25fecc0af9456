"""Manual decisions in the engine (ADJUDICATION.md "Manual decisions"): M02 waivers with the would-be amounts,
M03 rejections, and a dispute's re-decision keeping earlier manual decisions. Amounts worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from blueprints.claims.engine import (
    BenefitTerms,
    ClaimIn,
    CoverageTerms,
    Facts,
    LineIn,
    ManualLine,
    OverrideRefused,
    SchemeTerms,
    Tariff,
    Usage,
    Waivable,
    apply_overrides,
    changed_lines,
    decide,
    redecide,
    reject_all,
)

D = Decimal
START = date(2025, 1, 1)
DAY = date(2025, 6, 10)
TARIFFS = {
    "CONSULT": Tariff(D("1000.00"), "OUTPATIENT"),
    "XRAY": Tariff(D("500.00"), "OUTPATIENT"),
    "FILLING": Tariff(D("400.00"), "DENTAL"),
    "SCAN": Tariff(D("900.00"), "IMAGING"),
}


@pytest.fixture(autouse=True)
def db_session():
    """Pure engine: no app, no database."""
    yield None


def terms(**benefits) -> SchemeTerms:
    return SchemeTerms(scheme_id=1, deductible=D("500.00"), benefits=benefits)


def facts(scheme: SchemeTerms, usage: Usage | None = None, **given) -> Facts:
    return Facts(
        member_found=given.pop("member_found", True),
        coverages=(CoverageTerms(START, date(2025, 12, 31), "active", scheme, 1),),
        tariffs=TARIFFS,
        usage=usage or Usage(),
        **given,
    )


def claim(*lines: LineIn, submitted_on: date = date(2025, 6, 12)) -> ClaimIn:
    return ClaimIn(7, "M-0001", 3, DAY, submitted_on, lines)


WAITING = BenefitTerms(copay_percent=D("20"), waiting_period_days=365)


def test_waiting_period_rejection_shows_what_steps_one_to_four_would_give():
    scheme = terms(OUTPATIENT=BenefitTerms(copay_percent=D("10"), waiting_period_days=200))
    # 1,200.00 billed, tariff 1,000.00: allowed 1,000.00; 200.00 of the 500.00 deductible already applied:
    # deductible 300.00; copay 10% of 700.00 = 70.00; payable 630.00.
    decision = decide(claim(LineIn(1, "CONSULT", 1, D("1200.00"))), facts(scheme, Usage(deductible_applied=D("200"))))
    line = decision.lines[0]
    assert (line.decision, line.reason_codes, line.approved) == ("rejected", ("R11",), D("0.00"))
    assert line.waivable == Waivable(D("1000.00"), D("300.00"), D("70.00"), D("630.00"))


def test_m02_waiver_approves_at_most_the_payable_and_records_deductible_and_copay():
    scheme = terms(OUTPATIENT=BenefitTerms(copay_percent=D("10"), waiting_period_days=200))
    proposal = decide(claim(LineIn(1, "CONSULT", 1, D("1200.00"))), facts(scheme, Usage(deductible_applied=D("200"))))
    with pytest.raises(OverrideRefused, match="at most 630.00 can be approved"):
        apply_overrides(proposal, {1: (D("630.01"), "Waiting period waived: emergency")})
    decided = apply_overrides(proposal, {1: (D("630.00"), "Waiting period waived: emergency")})
    line = decided.lines[0]
    assert (line.decision, line.reason_codes, line.note) == (
        "adjusted",
        ("R11", "M02"),
        "Waiting period waived: emergency",
    )
    assert (line.allowed, line.deductible, line.copay, line.approved) == (
        D("1000.00"),
        D("300.00"),
        D("70.00"),
        D("630.00"),
    )
    # the member owes allowed - approved = 370.00 (the deductible and the copay); 200.00 is written off
    assert line.member_responsibility == D("370.00") and line.write_off == D("200.00")
    assert (decided.status, decided.total_approved) == ("approved", D("630.00"))
    # Later claims see what the final decision recorded: 200.00 + 300.00 of the deductible is used up.
    after = Usage(deductible_applied=D("200")).plus(decided)
    assert after.deductible_applied == D("500.00")
    assert after.approved_by_benefit == {"OUTPATIENT": D("630.00")}
    later = decide(claim(LineIn(1, "XRAY", 1, D("500.00"))), facts(terms(OUTPATIENT=BenefitTerms()), after))
    assert (later.lines[0].deductible, later.lines[0].approved) == (D("0.00"), D("500.00"))


def test_waivable_amounts_see_the_deductible_the_earlier_lines_used():
    scheme = terms(OUTPATIENT=BenefitTerms(), DENTAL=WAITING)
    decision = decide(claim(LineIn(1, "CONSULT", 1, D("1000.00")), LineIn(2, "FILLING", 1, D("400.00"))), facts(scheme))
    # line 1: allowed 1,000.00, the whole 500.00 deductible, payable 500.00
    assert (decision.lines[0].deductible, decision.lines[0].approved) == (D("500.00"), D("500.00"))
    # line 2 (R11): nothing left of the deductible; copay 20% of 400.00 = 80.00; payable 320.00
    assert decision.lines[1].waivable == Waivable(D("400.00"), D("0.00"), D("80.00"), D("320.00"))
    decided = apply_overrides(decision, {2: ManualLine("Waiting period waived", D("300.00"))})
    assert [(ln.decision, ln.approved, ln.member_responsibility) for ln in decided.lines] == [
        ("approved", D("500.00"), D("500.00")),
        ("adjusted", D("300.00"), D("100.00")),
    ]
    assert decided.total_approved == D("800.00")


def test_a_limit_rejection_waived_may_exceed_the_limit():
    scheme = terms(OUTPATIENT=BenefitTerms(annual_limit=D("1000.00")))
    usage = Usage(deductible_applied=D("500.00"), approved_by_benefit={"OUTPATIENT": D("1000.00")})
    proposal = decide(claim(LineIn(1, "XRAY", 2, D("450.00"))), facts(scheme, usage))
    line = proposal.lines[0]
    # 2 x 450.00 = 900.00 allowed (under the tariff), no deductible left, no copay: payable 900.00
    assert line.reason_codes == ("R14",) and line.waivable == Waivable(D("900.00"), D("0"), D("0"), D("900.00"))
    decided = apply_overrides(proposal, {1: (D("900.00"), "Limit waived: chronic care")})
    assert (decided.lines[0].approved, decided.lines[0].reason_codes) == (D("900.00"), ("R14", "M02"))


@pytest.mark.parametrize(
    ("given", "code"),
    [
        pytest.param({"member_found": False}, "R01", id="no-member"),
        pytest.param({"tariffs": {}}, "R07", id="no-price"),
    ],
)
def test_rejections_without_a_member_or_a_price_cannot_be_waived(given, code):
    scheme = terms(OUTPATIENT=BenefitTerms())
    tariffs = given.pop("tariffs", TARIFFS)
    chosen = Facts(member_found=False) if given.get("member_found") is False else facts(scheme)
    if tariffs != TARIFFS:
        chosen = Facts(member_found=True, coverages=chosen.coverages, tariffs=tariffs)
    proposal = decide(claim(LineIn(1, "CONSULT", 1, D("1000.00"))), chosen)
    assert proposal.lines[0].reason_codes == (code,) and proposal.lines[0].waivable is None
    with pytest.raises(OverrideRefused, match="cannot be waived"):
        apply_overrides(proposal, {1: (D("1.00"), "Please")})


def test_late_filing_cannot_be_waived():
    proposal = decide(
        claim(LineIn(1, "CONSULT", 1, D("1000.00")), submitted_on=date(2026, 6, 12)),
        facts(terms(OUTPATIENT=BenefitTerms())),
    )
    assert proposal.reason_codes == ("R03",) and proposal.lines[0].waivable is None
    with pytest.raises(OverrideRefused, match="cannot be waived"):
        apply_overrides(proposal, {1: (D("100.00"), "Late but fair")})


def test_m03_rejects_a_line_and_the_claim_becomes_partial():
    scheme = terms(OUTPATIENT=BenefitTerms())
    proposal = decide(claim(LineIn(1, "CONSULT", 1, D("1000.00")), LineIn(2, "XRAY", 1, D("500.00"))), facts(scheme))
    with pytest.raises(OverrideRefused, match="note"):
        apply_overrides(proposal, {2: ManualLine(" ", reject=True)})
    decided = apply_overrides(proposal, {2: ManualLine("Not medically necessary", reject=True)})
    second = decided.lines[1]
    assert (second.decision, second.reason_codes, second.approved) == ("rejected", ("M03",), D("0.00"))
    assert (second.deductible, second.member_responsibility) == (D("0.00"), D("500.00"))
    # line 1 keeps its amounts: 1,000.00 - 500.00 deductible
    assert (decided.status, decided.total_approved) == ("partially_approved", D("500.00"))


def test_m03_rejects_the_whole_claim():
    proposal = decide(claim(LineIn(1, "CONSULT", 1, D("1000.00"))), facts(terms(OUTPATIENT=BenefitTerms())))
    decided = reject_all(proposal, "Services not rendered")
    assert (decided.status, decided.total_approved, decided.reason_codes) == ("rejected", D("0.00"), ("M03",))
    assert decided.lines[0].note == "Services not rendered"


def _two_lines(scheme: SchemeTerms, usage: Usage | None = None):
    return decide(
        claim(LineIn(1, "CONSULT", 1, D("1000.00")), LineIn(2, "FILLING", 1, D("400.00"))), facts(scheme, usage)
    )


def test_redecision_keeps_the_earlier_manual_amounts_unless_changed():
    scheme = terms(OUTPATIENT=BenefitTerms(), DENTAL=WAITING)
    first = apply_overrides(_two_lines(scheme), {1: (D("450.00"), "Agreed package")})
    assert [ln.approved for ln in first.lines] == [D("450.00"), D("0.00")]
    # Upheld: the proposal is the same; the earlier 450.00 stands and the adjudicator waives line 2.
    again = redecide(_two_lines(scheme), first, {2: (D("320.00"), "Waiting period waived on appeal")})
    assert [(ln.decision, ln.approved, ln.reason_codes) for ln in again.lines] == [
        ("adjusted", D("450.00"), ("M01",)),
        ("adjusted", D("320.00"), ("R11", "M02")),
    ]
    assert again.lines[0].note == "Agreed package" and again.total_approved == D("770.00")
    assert changed_lines(first, again) == [2]
    # Changing nothing changes no line: that is a dismissal.
    assert changed_lines(first, redecide(_two_lines(scheme), first, {})) == []
    # The earlier amount may be changed while resolving.
    changed = redecide(_two_lines(scheme), first, {1: (D("500.00"), "Full amount after all")})
    assert changed.lines[0].approved == D("500.00") and changed_lines(first, changed) == [1]


def test_redecision_keeps_an_earlier_m03_and_an_earlier_waiver():
    scheme = terms(OUTPATIENT=BenefitTerms(), DENTAL=WAITING)
    first = apply_overrides(
        _two_lines(scheme),
        {1: ManualLine("Not rendered", reject=True), 2: ManualLine("Waived", D("200.00"))},
    )
    # Amounts on other lines are not recomputed by a manual decision: line 1's M03 leaves line 2's waivable at
    # 320.00 (the proposal's line 1 took the deductible), and both earlier decisions stand.
    again = redecide(_two_lines(scheme), first, {})
    assert [(ln.decision, ln.approved) for ln in again.lines] == [("rejected", D("0.00")), ("adjusted", D("200.00"))]
    assert again.lines[0].reason_codes == ("M03",) and again.lines[1].reason_codes == ("R11", "M02")
