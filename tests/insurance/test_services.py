"""The insurance domain's services, called the way a view, a job or another domain calls them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from blueprints.insurance import services
from blueprints.insurance.models import (
    Coverage,
    CoverageStatus,
    Member,
    Preauthorization,
    PreauthStatus,
    PremiumRate,
    Scheme,
    SchemeBenefit,
    SchemeStatus,
)
from blueprints.insurance.services import premiums, verification
from blueprints.insurance.services.companies import company_row
from blueprints.insurance.services.periods import anniversary, benefit_period
from medcover import clock
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Role, tenant_of
from tests.factories import (
    add_benefit,
    make_benefit,
    make_company,
    make_coverage,
    make_member,
    make_rate,
    make_scheme,
    make_user,
)

SCRIPT = "<script>alert(1)</script>"
SQL = "Robert'); DROP TABLE members;--"
UNICODE = "Zoë Ñandú 李雷"
NUL = "ab\x00cd"
OVERSIZED = "x" * 10_000
D = date.fromisoformat


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audits(entity_type: str, action: str) -> list[AuditLog]:
    stmt = select(AuditLog).where(AuditLog.entity_type == entity_type, AuditLog.action == action)
    return list(db.session.scalars(stmt.order_by(AuditLog.id)))


def terms_of(scheme: Scheme, **changes) -> services.SchemeTerms:
    values = {field: getattr(scheme, field) for field in services.SCHEME_FIELDS}
    values["status"] = scheme.status.value
    return services.SchemeTerms(**(values | changes))


def details(number: str, **changes) -> services.MemberDetails:
    values = {
        "member_number": number,
        "first_name": "Achieng",
        "last_name": "Otieno",
        "date_of_birth": D("1984-03-02"),
        "gender": "female",
    }
    return services.MemberDetails(**(values | changes))


@pytest.fixture
def admin():
    return make_user(Role.ADMIN)


@pytest.fixture
def company():
    return make_company("ACME", "Acme Health")


@pytest.fixture
def staff(company):
    return make_user(Role.ADMIN, company_id=company.id)


@pytest.fixture
def scheme(company):
    return make_scheme(company, code="GOLD", name="Gold", annual_limit=Decimal("500000.00"))


@pytest.fixture
def outpatient(scheme):
    benefit = make_benefit("OP-CONSULT", "Outpatient consultation")
    add_benefit(scheme, benefit, annual_limit=Decimal("30000.00"), copay_percent=Decimal("10"))
    return benefit


@pytest.fixture
def member(company):
    return make_member(company, member_number="ACME-0001", first_name="Amani", last_name="Kariuki")


@pytest.fixture
def spent():
    """A usage provider standing in for the claims domain: {benefit_id: amount used} for every period."""
    used: dict[int, Decimal] = {}
    calls: list[tuple[int, date, date]] = []

    def provider(member_id: int, start: date, end: date) -> dict[int, Decimal]:
        calls.append((member_id, start, end))
        return used

    # The claims domain registers the real provider at start-up; this one stands in for it meanwhile.
    registered = list(verification._usage_providers)
    verification._usage_providers[:] = []
    verification.register_usage_provider(provider)
    assert verification._usage_providers[0] is provider
    used_and_calls = (used, calls)
    yield used_and_calls
    verification._usage_providers[:] = registered
    assert provider not in verification._usage_providers


# --- verification ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "eligible", "codes"),
    [
        ("2026-01-01", True, []),  # cover starts that day
        ("2026-12-31", True, []),  # cover ends that day
        ("2027-01-01", False, ["R02"]),  # the day after the end
        ("2025-12-31", False, ["R02"]),  # the day before the start
    ],
)
def test_verify_on_the_edges_of_the_cover(scheme, outpatient, member, day, eligible, codes):
    make_coverage(member, scheme, D("2026-01-01"), D("2026-12-31"))

    result = verification.verify("ACME-0001", D(day))

    assert (result.eligible, result.reason_codes) == (eligible, codes)


@pytest.mark.parametrize("status", ["suspended", "lapsed", "cancelled"])
def test_verify_refuses_cover_that_is_not_active(scheme, member, status):
    make_coverage(member, scheme, D("2026-01-01"), D("2026-12-31"), status=status)

    result = verification.verify("ACME-0001", D("2026-06-01"))

    assert (result.eligible, result.reason_codes, result.member_name) == (False, ["R02"], "Amani Kariuki")
    assert result.reasons == ["No active cover on this date."]


def test_verify_unknown_member_is_r01(scheme):
    result = verification.verify("NOBODY-1", D("2026-06-01"))

    assert (result.eligible, result.reason_codes, result.coverage) == (False, ["R01"], None)


@pytest.mark.parametrize("typed", ["acme-0001", "  ACME-0001  ", "\tAcMe-0001\n"])
def test_member_number_is_case_and_whitespace_insensitive(scheme, member, typed):
    make_coverage(member, scheme, D("2026-01-01"))

    result = verification.verify(typed, D("2026-06-01"))

    assert result.eligible and result.member_number == "ACME-0001"


def test_waiting_period_ends_on_start_plus_days(scheme, member):
    maternity = make_benefit("MAT-DELIVERY")
    add_benefit(scheme, maternity, waiting_period_days=300)
    make_coverage(member, scheme, D("2026-01-01"))
    ends = D("2026-01-01") + timedelta(days=300)
    assert ends == D("2026-10-28")

    on_the_day = verification.verify("ACME-0001", ends, "MAT-DELIVERY")
    day_before = verification.verify("ACME-0001", ends - timedelta(days=1), "MAT-DELIVERY")

    assert (on_the_day.eligible, on_the_day.reason_codes) == (True, [])
    assert on_the_day.benefits[0].waiting_until == ends
    assert (day_before.eligible, day_before.reason_codes) == (False, ["R11"])


def test_benefit_not_in_scheme_or_not_covered_is_r10(scheme, outpatient, member):
    dental = make_benefit("DENT-CHECK")
    make_benefit("OPT-GLASSES")
    add_benefit(scheme, dental, covered=False)
    make_coverage(member, scheme, D("2026-01-01"))

    assert verification.verify("ACME-0001", D("2026-03-01"), "DENT-CHECK").reason_codes == ["R10"]
    assert verification.verify("ACME-0001", D("2026-03-01"), "OPT-GLASSES").reason_codes == ["R10"]
    assert verification.verify("ACME-0001", D("2026-03-01"), "OP-CONSULT").reason_codes == []


def test_leap_year_start_rolls_to_28_february():
    start = D("2024-02-29")

    assert [anniversary(start, n) for n in range(1, 5)] == [
        D("2025-02-28"),
        D("2026-02-28"),
        D("2027-02-28"),
        D("2028-02-29"),
    ]
    assert benefit_period(start, D("2024-02-29")) == (D("2024-02-29"), D("2025-02-27"))
    assert benefit_period(start, D("2025-02-27")) == (D("2024-02-29"), D("2025-02-27"))
    assert benefit_period(start, D("2025-02-28")) == (D("2025-02-28"), D("2026-02-27"))
    assert benefit_period(start, D("2026-02-27")) == (D("2025-02-28"), D("2026-02-27"))
    assert benefit_period(start, D("2028-02-28")) == (D("2027-02-28"), D("2028-02-28"))
    assert benefit_period(start, D("2028-02-29")) == (D("2028-02-29"), D("2029-02-27"))


def test_verify_reports_the_benefit_period_of_a_leap_year_cover(scheme, outpatient, member):
    make_coverage(member, scheme, D("2024-02-29"), D("2028-12-31"))  # longer than the services allow

    periods = [verification.verify("ACME-0001", D(day)).coverage for day in ("2025-02-27", "2025-02-28", "2028-02-29")]

    assert [(p.period_start, p.period_end) for p in periods] == [
        (D("2024-02-29"), D("2025-02-27")),
        (D("2025-02-28"), D("2026-02-27")),
        (D("2028-02-29"), D("2029-02-27")),
    ]


def test_remaining_limit_is_limit_minus_usage_never_below_zero(scheme, outpatient, member, spent):
    used, calls = spent
    unlimited = make_benefit("PHARM-RX")
    add_benefit(scheme, unlimited)  # no limit
    dental = make_benefit("DENT-CHECK")
    add_benefit(scheme, dental, annual_limit=Decimal("5000.00"))
    make_coverage(member, scheme, D("2026-03-15"), D("2027-03-14"))
    used.update({outpatient.id: Decimal("12345.50"), dental.id: Decimal("7000.00"), unlimited.id: Decimal("999")})

    result = verification.verify("ACME-0001", D("2026-08-01"))

    by_code = {b.benefit_code: b for b in result.benefits}
    assert (by_code["OP-CONSULT"].used, by_code["OP-CONSULT"].remaining_limit) == (
        Decimal("12345.50"),
        Decimal("17654.50"),
    )
    assert (by_code["DENT-CHECK"].used, by_code["DENT-CHECK"].remaining_limit) == (Decimal("7000.00"), Decimal("0.00"))
    assert (by_code["PHARM-RX"].annual_limit, by_code["PHARM-RX"].remaining_limit) == (None, None)
    assert calls == [(member.id, D("2026-03-15"), D("2027-03-14"))]


def test_nothing_used_before_any_claim(scheme, outpatient, member):
    make_coverage(member, scheme, D("2026-01-01"))

    (status,) = verification.verify("ACME-0001", D("2026-02-01")).benefits

    assert (status.used, status.remaining_limit) == (Decimal("0.00"), Decimal("30000.00"))


def test_verify_makes_the_same_number_of_queries_however_many_benefits(company, count_queries):
    counts = []
    for size in (2, 20):
        scheme = make_scheme(company)
        for _ in range(size):
            add_benefit(scheme, make_benefit(), annual_limit=Decimal("1000.00"))
        person = make_member(company)
        make_coverage(person, scheme, D("2026-01-01"))
        with count_queries() as counter:
            result = verification.verify(person.member_number, D("2026-05-05"))
        assert result.eligible and len(result.benefits) == size
        counts.append(counter.count)

    assert counts[0] == counts[1] <= 4


# --- premium rates and quotes ------------------------------------------------------------------


@pytest.fixture
def priced(scheme):
    start = D("2020-01-01")
    make_rate(scheme, "principal", 0, 17, "10000", start)
    make_rate(scheme, "principal", 18, 40, "24000", start)
    make_rate(scheme, "principal", 41, 65, "30000", start)
    make_rate(scheme, "dependant", 0, 17, "6000", start)
    make_rate(scheme, "dependant", 18, 65, "12000", start)
    return scheme


def quote(scheme, staff, **kwargs):
    values = {
        "principal_date_of_birth": D("1990-05-05"),
        "dependant_dates_of_birth": [D("1992-07-07")],
        "start_date": D("2026-01-01"),
    }
    return premiums.quote(tenant=tenant_of(staff), scheme_id=scheme.id, **(values | kwargs))


def test_annual_quote_is_one_instalment(priced, staff):
    result = quote(priced, staff, frequency="annual")

    assert (result.annual_premium, result.total) == (Decimal("36000.00"), Decimal("36000.00"))
    assert [(line.member_type, line.age, line.annual_amount) for line in result.lines] == [
        ("principal", 35, Decimal("24000.00")),
        ("dependant", 33, Decimal("12000.00")),
    ]
    assert [(i.due_date, i.amount) for i in result.instalments] == [(D("2026-01-01"), Decimal("36000.00"))]
    assert result.end_date == D("2026-12-31")


def test_quarterly_quote_is_four_instalments(priced, staff):
    result = quote(priced, staff, frequency="quarterly")

    assert [(i.due_date, i.amount) for i in result.instalments] == [
        (D("2026-01-01"), Decimal("9000.00")),
        (D("2026-04-01"), Decimal("9000.00")),
        (D("2026-07-01"), Decimal("9000.00")),
        (D("2026-10-01"), Decimal("9000.00")),
    ]


def test_monthly_quote_is_twelve_instalments(priced, staff):
    result = quote(priced, staff, frequency="monthly")

    assert len(result.instalments) == 12
    assert {i.amount for i in result.instalments} == {Decimal("3000.00")}
    assert result.instalments[-1].due_date == D("2026-12-01")
    assert result.instalment_amount == Decimal("3000.00")


def test_part_year_is_prorated_by_days(priced, staff):
    # 24000 x 181 / 365 = 11901.369... -> 11901.37; / 6 = 1983.5616... -> 1983.56; 5 x 1983.56 = 9917.80,
    # so the last instalment is 11901.37 - 9917.80 = 1983.57.
    result = quote(priced, staff, dependant_dates_of_birth=[], frequency="monthly", end_date=D("2026-06-30"))

    assert (result.annual_premium, result.total) == (Decimal("24000.00"), Decimal("11901.37"))
    assert [i.amount for i in result.instalments] == [Decimal("1983.56")] * 5 + [Decimal("1983.57")]
    assert [i.due_date.month for i in result.instalments] == [1, 2, 3, 4, 5, 6]
    assert sum(i.amount for i in result.instalments) == result.total


def test_age_band_is_chosen_by_age_at_the_start(priced, staff):
    turns_41_next_day = quote(priced, staff, principal_date_of_birth=D("1985-01-02"), dependant_dates_of_birth=[])
    turned_41_that_day = quote(priced, staff, principal_date_of_birth=D("1985-01-01"), dependant_dates_of_birth=[])

    assert (turns_41_next_day.lines[0].age, turns_41_next_day.total) == (40, Decimal("24000.00"))
    assert (turned_41_that_day.lines[0].age, turned_41_that_day.total) == (41, Decimal("30000.00"))


def test_missing_rate_is_invalid_on_the_person_without_one(priced, staff):
    with pytest.raises(Invalid) as refused:
        quote(priced, staff, dependant_dates_of_birth=[D("2010-01-01"), D("1950-01-01")])

    assert list(refused.value.errors) == ["dependant_dates_of_birth.1"]
    assert "age 76" in refused.value.detail

    with pytest.raises(Invalid) as refused:
        quote(priced, staff, principal_date_of_birth=D("1940-01-01"))
    assert list(refused.value.errors) == ["principal_date_of_birth"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dependant_dates_of_birth": [D("2026-01-02")]}, "dependant_dates_of_birth.0"),
        ({"end_date": D("2027-01-01")}, "end_date"),
        ({"end_date": D("2025-12-31")}, "end_date"),
        ({"frequency": "weekly"}, "frequency"),
        ({"start_date": "2026-01-01"}, "start_date"),
        ({"end_date": "2026-06-30"}, "end_date"),
        ({"dependant_dates_of_birth": [D("2000-01-01")] * 21}, "dependant_dates_of_birth"),
    ],
)
def test_bad_quote_input_is_invalid(priced, staff, changes, field):
    with pytest.raises(Invalid) as refused:
        quote(priced, staff, **changes)

    assert field in refused.value.errors


def test_quote_for_another_insurers_scheme_is_not_found(priced):
    other = make_user(Role.ADMIN, company_id=make_company().id)

    with pytest.raises(NotFound):
        quote(priced, other)


def rate(staff, scheme, **changes):
    values = {
        "member_type": "principal",
        "age_from": 18,
        "age_to": 25,
        "annual_amount": "20000",
        "effective_from": D("2026-01-01"),
        "effective_to": D("2026-12-31"),
    }
    return premiums.add_rate(actor=staff, scheme_id=scheme.id, **(values | changes))


def test_overlapping_bands_are_refused(staff, scheme):
    rate(staff, scheme)

    with pytest.raises(Conflict) as refused:
        rate(staff, scheme, age_from=25, age_to=30)

    assert "age_from" in refused.value.errors
    assert count(PremiumRate) == 1


def test_adjacent_bands_and_other_member_types_are_fine(staff, scheme):
    rate(staff, scheme, age_from=0, age_to=17)
    rate(staff, scheme, age_from=18, age_to=25)
    rate(staff, scheme, member_type="dependant", age_from=0, age_to=25)

    assert count(PremiumRate) == 3
    assert len(audits("premium_rate", "create")) == 3


def test_bands_overlap_only_when_their_dates_overlap_too(staff, scheme):
    rate(staff, scheme)  # 2026

    rate(staff, scheme, effective_from=D("2027-01-01"), effective_to=None)  # same ages in 2027: fine
    with pytest.raises(Conflict):
        rate(staff, scheme, effective_from=D("2026-12-31"), effective_to=D("2027-06-30"))
    with pytest.raises(Conflict):
        rate(staff, scheme, effective_from=D("2025-01-01"), effective_to=None)  # open-ended reaches 2026

    assert count(PremiumRate) == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"age_from": 30, "age_to": 20}, "age_to"),
        ({"age_from": -1}, "age_from"),
        ({"age_to": 131}, "age_to"),
        ({"annual_amount": "-5"}, "annual_amount"),
        ({"annual_amount": "1e400"}, "annual_amount"),
        ({"member_type": "spouse"}, "member_type"),
        ({"effective_to": D("2025-12-31")}, "effective_to"),
    ],
)
def test_bad_rates_are_invalid_and_not_written(staff, scheme, changes, field):
    with pytest.raises(Invalid) as refused:
        rate(staff, scheme, **changes)

    assert field in refused.value.errors
    assert count(PremiumRate) == 0


# --- schemes -------------------------------------------------------------------------------------


def new_scheme(actor, company, **changes) -> Scheme:
    values = {"code": "SILVER", "name": "Silver", "annual_limit": "250000", "deductible": "1000", "status": "draft"}
    return services.create_scheme(actor=actor, company_id=company.id, terms=services.SchemeTerms(**(values | changes)))


def test_create_scheme_is_audited(staff, company):
    scheme = new_scheme(staff, company)

    assert (scheme.annual_limit, scheme.deductible, scheme.status) == (
        Decimal("250000.00"),
        Decimal("1000.00"),
        SchemeStatus.DRAFT,
    )
    (entry,) = audits("scheme", "create")
    assert (entry.actor_id, entry.entity_id, entry.company_id) == (staff.id, str(scheme.id), company.id)
    assert entry.after["annual_limit"] == "250000.00"


def test_scheme_codes_are_unique_within_a_company_only(staff, admin, company):
    new_scheme(staff, company)
    with pytest.raises(Conflict) as refused:
        new_scheme(staff, company, name="Another silver")
    assert "code" in refused.value.errors

    new_scheme(admin, make_company())

    assert count(Scheme) == 2


def test_active_scheme_terms_change_only_with_a_reason(staff, scheme):
    with pytest.raises(Invalid) as refused:
        services.update_scheme(actor=staff, scheme_id=scheme.id, terms=terms_of(scheme, deductible="2500"))
    assert "reason" in refused.value.errors
    assert scheme.deductible == Decimal("0.00")
    assert audits("scheme", "update") == []

    services.update_scheme(
        actor=staff, scheme_id=scheme.id, terms=terms_of(scheme, deductible="2500"), reason="Board decision 12/2026"
    )

    (entry,) = audits("scheme", "update")
    assert (entry.before, entry.after, entry.summary) == (
        {"deductible": "0.00"},
        {"deductible": "2500.00"},
        "Board decision 12/2026",
    )


def test_renaming_an_active_scheme_needs_no_reason(staff, scheme):
    services.update_scheme(actor=staff, scheme_id=scheme.id, terms=terms_of(scheme, name="Gold Plus"))

    assert scheme.name == "Gold Plus"


def test_scheme_status_goes_draft_active_retired_only(staff, company):
    scheme = new_scheme(staff, company)
    with pytest.raises(Conflict):
        services.update_scheme(actor=staff, scheme_id=scheme.id, terms=terms_of(scheme, status="retired"))

    services.update_scheme(actor=staff, scheme_id=scheme.id, terms=terms_of(scheme, status="active"))
    services.update_scheme(actor=staff, scheme_id=scheme.id, terms=terms_of(scheme, status="retired"))

    assert scheme.status is SchemeStatus.RETIRED
    for status in ("active", "draft"):
        with pytest.raises(Conflict):
            services.update_scheme(actor=staff, scheme_id=scheme.id, terms=terms_of(scheme, status=status))
    with pytest.raises(Conflict):
        services.update_scheme(
            actor=staff, scheme_id=scheme.id, terms=terms_of(scheme, deductible="9"), reason="quietly, later"
        )
    assert scheme.status is SchemeStatus.RETIRED and scheme.deductible == Decimal("1000.00")


def test_clone_copies_terms_and_benefits_into_a_draft(staff, scheme, outpatient):
    dental = make_benefit("DENT-CHECK")
    add_benefit(scheme, dental, requires_preauth=True, max_visits=2, waiting_period_days=90)
    scheme.deductible = Decimal("1500.00")

    clone = services.clone_scheme(
        actor=staff, scheme_id=scheme.id, code="GOLD-2027", name="Gold 2027", effective_from=D("2027-01-01")
    )

    assert (clone.status, clone.previous_id, clone.company_id) == (SchemeStatus.DRAFT, scheme.id, scheme.company_id)
    assert (clone.annual_limit, clone.deductible, clone.effective_from) == (
        Decimal("500000.00"),
        Decimal("1500.00"),
        D("2027-01-01"),
    )
    copied = {row.benefit_id: row for row in services.scheme_benefits(clone.id)}
    assert set(copied) == {outpatient.id, dental.id}
    assert (copied[outpatient.id].annual_limit, copied[outpatient.id].copay_percent) == (
        Decimal("30000.00"),
        Decimal("10.00"),
    )
    assert (
        copied[dental.id].requires_preauth,
        copied[dental.id].max_visits,
        copied[dental.id].waiting_period_days,
    ) == (
        True,
        2,
        90,
    )
    assert len(services.scheme_benefits(scheme.id)) == 2  # the source is untouched


def test_clone_with_a_taken_code_is_a_conflict(staff, scheme):
    with pytest.raises(Conflict):
        services.clone_scheme(actor=staff, scheme_id=scheme.id, code="GOLD", name="Gold again")


def test_scheme_benefits_add_update_remove_on_a_draft(staff, company):
    draft = new_scheme(staff, company)
    benefit = make_benefit("LAB-TEST")

    row = services.add_scheme_benefit(
        actor=staff,
        scheme_id=draft.id,
        benefit_id=benefit.id,
        terms=services.BenefitTerms(annual_limit="20000", copay_percent="15", max_visits="6"),
    )
    assert (row.annual_limit, row.copay_percent, row.max_visits) == (Decimal("20000.00"), Decimal("15.00"), 6)

    services.update_scheme_benefit(
        actor=staff, scheme_benefit_id=row.id, terms=services.BenefitTerms(annual_limit="25000", copay_percent="15")
    )
    assert (row.annual_limit, row.max_visits) == (Decimal("25000.00"), None)
    (entry,) = audits("scheme_benefit", "update")
    assert entry.after == {"annual_limit": "25000.00", "max_visits": None}

    services.remove_scheme_benefit(actor=staff, scheme_benefit_id=row.id)
    assert count(SchemeBenefit) == 0
    assert len(audits("scheme_benefit", "delete")) == 1


def test_duplicate_scheme_benefit_is_a_conflict(staff, scheme, outpatient):
    with pytest.raises(Conflict) as refused:
        services.add_scheme_benefit(
            actor=staff, scheme_id=scheme.id, benefit_id=outpatient.id, terms=services.BenefitTerms(), reason="again!"
        )
    assert "benefit_id" in refused.value.errors


def test_active_scheme_benefit_edit_without_reason_changes_nothing(staff, scheme, outpatient):
    row = db.session.scalar(select(SchemeBenefit).where(SchemeBenefit.scheme_id == scheme.id))

    with pytest.raises(Invalid) as refused:
        services.update_scheme_benefit(
            actor=staff, scheme_benefit_id=row.id, terms=services.BenefitTerms(annual_limit="1", copay_percent="10")
        )

    assert "reason" in refused.value.errors
    assert row.annual_limit == Decimal("30000.00")  # not even pending in the session
    assert db.session.is_modified(row) is False
    with pytest.raises(Invalid):
        services.remove_scheme_benefit(actor=staff, scheme_benefit_id=row.id)
    with pytest.raises(Invalid):
        services.add_scheme_benefit(
            actor=staff, scheme_id=scheme.id, benefit_id=make_benefit().id, terms=services.BenefitTerms()
        )


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"copay_percent": "101"}, "copay_percent"),
        ({"copay_percent": "-1"}, "copay_percent"),
        ({"copay_percent": "NaN"}, "copay_percent"),
        ({"copay_percent": "lots"}, "copay_percent"),
        ({"annual_limit": "-0.01"}, "annual_limit"),
        ({"annual_limit": "1e400"}, "annual_limit"),
        ({"per_visit_limit": "-100"}, "per_visit_limit"),
        ({"copay_fixed": "-5"}, "copay_fixed"),
        ({"max_visits": 0}, "max_visits"),
        ({"max_visits": "two"}, "max_visits"),
        ({"waiting_period_days": -1}, "waiting_period_days"),
        ({"waiting_period_days": True}, "waiting_period_days"),
    ],
)
def test_bad_benefit_terms_are_invalid_and_not_written(staff, company, terms, field):
    draft = new_scheme(staff, company)

    with pytest.raises(Invalid) as refused:
        services.add_scheme_benefit(
            actor=staff, scheme_id=draft.id, benefit_id=make_benefit().id, terms=services.BenefitTerms(**terms)
        )

    assert field in refused.value.errors
    assert count(SchemeBenefit) == 0


def test_unknown_benefit_or_scheme(staff, company):
    draft = new_scheme(staff, company)
    with pytest.raises(Invalid) as refused:
        services.add_scheme_benefit(actor=staff, scheme_id=draft.id, benefit_id=99999, terms=services.BenefitTerms())
    assert "benefit_id" in refused.value.errors
    with pytest.raises(NotFound):
        services.add_scheme_benefit(
            actor=staff, scheme_id=99999, benefit_id=make_benefit().id, terms=services.BenefitTerms()
        )
    with pytest.raises(NotFound):
        services.update_scheme_benefit(actor=staff, scheme_benefit_id=99999, terms=services.BenefitTerms())


# --- members and coverages -----------------------------------------------------------------------


def enrol(staff, company, scheme, dependants=(), **kwargs):
    return services.enrol(
        actor=staff,
        company_id=company.id,
        principal=details("acme-100"),
        dependants=list(dependants),
        scheme_id=scheme.id,
        start_date=kwargs.pop("start_date", D("2026-01-01")),
        **kwargs,
    )


def test_enrol_principal_with_dependants(staff, company, scheme):
    head, family = enrol(
        staff,
        company,
        scheme,
        [
            details("ACME-100-01", first_name="Baraka", date_of_birth=D("2015-09-09"), gender="male"),
            details("ACME-100-02"),
        ],
    )

    assert head.member_number == "ACME-100" and head.principal_id is None
    assert [m.principal_id for m in family] == [head.id, head.id]
    covers = db.session.scalars(select(Coverage).order_by(Coverage.member_id)).all()
    assert [(c.member_id, c.start_date, c.end_date, c.status) for c in covers] == [
        (m.id, D("2026-01-01"), D("2026-12-31"), CoverageStatus.ACTIVE) for m in (head, *family)
    ]


def test_a_bad_dependant_writes_nothing(staff, company, scheme):
    db.session.commit()  # the world so far, as if an earlier request made it
    before = (count(Member), count(Coverage), count(AuditLog))

    with pytest.raises(Invalid) as refused:
        enrol(staff, company, scheme, [details("ACME-100-01"), details("ACME-100-02", date_of_birth=D("2999-01-01"))])

    assert "dependants.1.date_of_birth" in refused.value.errors
    assert (count(Member), count(Coverage), count(AuditLog)) == before  # refused before any write


def test_a_dependant_with_a_taken_number_leaves_nothing_after_the_rollback(staff, company, scheme):
    make_member(company, member_number="ACME-TAKEN")
    db.session.commit()
    before = (count(Member), count(Coverage), count(AuditLog))

    with pytest.raises(Conflict) as refused:
        enrol(staff, company, scheme, [details("ACME-100-01"), details("acme-taken")])
    db.session.rollback()  # what the edge does with a domain error

    assert "dependants.1.member_number" in refused.value.errors
    assert (count(Member), count(Coverage), count(AuditLog)) == before


def test_member_numbers_must_differ(staff, company, scheme, member):
    with pytest.raises(Invalid):
        enrol(staff, company, scheme, [details("ACME-100")])
    with pytest.raises(Conflict):
        services.create_member(actor=staff, company_id=company.id, details=details(" acme-0001 "))
    assert count(Member) == 1


def test_a_dependant_cannot_have_dependants(staff, company, member):
    child = make_member(company, member_number="ACME-0001-01", principal=member)

    with pytest.raises(Invalid) as refused:
        services.create_member(
            actor=staff, company_id=company.id, details=details("ACME-0001-01-01"), principal_number=child.member_number
        )

    assert "principal_member_number" in refused.value.errors


def cover(staff, member, scheme, start="2026-01-01", end=None, **kwargs) -> Coverage:
    return services.create_coverage(
        actor=staff,
        member_number=member.member_number,
        scheme_id=scheme.id,
        start_date=D(start),
        end_date=D(end) if end else None,
        **kwargs,
    )


def test_coverage_dates(staff, member, scheme):
    with pytest.raises(Invalid) as refused:
        cover(staff, member, scheme, "2026-06-01", "2026-05-31")
    assert "end_date" in refused.value.errors
    with pytest.raises(Invalid):
        cover(staff, member, scheme, "2026-01-01", "2030-01-01")

    made = cover(staff, member, scheme, "2026-06-01", "2026-06-01")  # a one-day cover is fine
    assert (made.start_date, made.end_date) == (D("2026-06-01"), D("2026-06-01"))


def test_overlapping_active_cover_is_a_conflict(staff, member, scheme):
    cover(staff, member, scheme)

    with pytest.raises(Conflict):
        cover(staff, member, scheme, "2026-12-31", "2027-06-30")
    cover(staff, member, scheme, "2027-01-01")  # the next day is fine

    assert count(Coverage) == 2


def test_suspend_reinstate_cancel(staff, member, scheme):
    made = cover(staff, member, scheme)

    for status in ("suspended", "active", "cancelled"):
        services.change_coverage_status(actor=staff, coverage_id=made.id, status=status, reason="premium")
        assert made.status is CoverageStatus(status)

    assert [e.after for e in audits("coverage", "update")] == [
        {"status": "suspended"},
        {"status": "active"},
        {"status": "cancelled"},
    ]
    for status in ("active", "suspended", "lapsed"):
        with pytest.raises(Conflict):
            services.change_coverage_status(actor=staff, coverage_id=made.id, status=status)
    with pytest.raises(Invalid):
        services.change_coverage_status(actor=staff, coverage_id=made.id, status="paused")


def test_lapsed_cover_stays_lapsed(staff, member, scheme):
    made = cover(staff, member, scheme)
    services.change_coverage_status(actor=staff, coverage_id=made.id, status="lapsed")

    with pytest.raises(Conflict):
        services.change_coverage_status(actor=staff, coverage_id=made.id, status="active")


def test_reinstating_over_newer_active_cover_is_a_conflict(staff, member, scheme):
    old = cover(staff, member, scheme)
    services.change_coverage_status(actor=staff, coverage_id=old.id, status="suspended")
    cover(staff, member, scheme, "2026-06-01")

    with pytest.raises(Conflict):
        services.change_coverage_status(actor=staff, coverage_id=old.id, status="active")

    assert old.status is CoverageStatus.SUSPENDED


def test_renew_starts_the_day_after_the_end(staff, member, scheme):
    made = cover(staff, member, scheme, "2026-03-01")

    renewed = services.renew_coverage(actor=staff, coverage_id=made.id)

    assert (renewed.start_date, renewed.end_date, renewed.renewed_from_id) == (
        D("2027-03-01"),
        D("2028-02-29"),
        made.id,
    )
    with pytest.raises(Conflict):  # the renewal already covers that year
        services.renew_coverage(actor=staff, coverage_id=made.id)


def test_cancelled_cover_is_not_renewed(staff, member, scheme):
    made = cover(staff, member, scheme)
    services.change_coverage_status(actor=staff, coverage_id=made.id, status="cancelled")

    with pytest.raises(Conflict):
        services.renew_coverage(actor=staff, coverage_id=made.id)


def test_cover_on_a_retired_scheme_is_refused(staff, member, company):
    retired = make_scheme(company, status="retired")

    with pytest.raises(Invalid) as refused:
        cover(staff, member, retired)

    assert "scheme_id" in refused.value.errors


# --- tenants -------------------------------------------------------------------------------------


@pytest.fixture
def other(company):
    """Company B with a scheme, a member and a cover; ``company`` (A) has its own."""
    b = make_company("BETA", "Beta Mutual")
    scheme = make_scheme(b, code="B-GOLD")
    person = make_member(b, member_number="BETA-0001")
    return b, scheme, person, make_coverage(person, scheme, D("2026-01-01"))


def test_staff_of_one_insurer_cannot_touch_another(staff, scheme, member, other):
    b, b_scheme, b_member, b_cover = other
    mine = tenant_of(staff)

    refused = [
        lambda: new_scheme(staff, b),
        lambda: services.update_scheme(actor=staff, scheme_id=b_scheme.id, terms=terms_of(b_scheme, name="Mine")),
        lambda: services.get_scheme(mine, b_scheme.id),
        lambda: services.clone_scheme(actor=staff, scheme_id=b_scheme.id, code="COPY", name="Copy"),
        lambda: services.create_member(actor=staff, company_id=b.id, details=details("BETA-0002")),
        lambda: services.get_member(mine, b_member.id),
        lambda: services.member_by_number(mine, "BETA-0001"),
        lambda: services.get_coverage(mine, b_cover.id),
        lambda: services.change_coverage_status(actor=staff, coverage_id=b_cover.id, status="suspended"),
        lambda: services.renew_coverage(actor=staff, coverage_id=b_cover.id),
        lambda: cover(staff, b_member, scheme),
        lambda: cover(staff, member, b_scheme),
        lambda: premiums.add_rate(
            actor=staff,
            scheme_id=b_scheme.id,
            member_type="principal",
            age_from=0,
            age_to=99,
            annual_amount="1",
            effective_from=D("2026-01-01"),
        ),
    ]
    for attempt in refused:
        with pytest.raises((NotFound, Forbidden)):
            attempt()

    assert b_scheme.name != "Mine" and b_cover.status is CoverageStatus.ACTIVE
    assert count(Member) == 2 and count(Coverage) == 1


def test_queries_are_scoped_to_the_tenant(staff, admin, scheme, member, other):
    b, b_scheme, b_member, _ = other
    make_coverage(member, scheme, D("2026-01-01"))
    mine, everyone = tenant_of(staff), tenant_of(admin)

    assert db.session.scalars(services.schemes_query(mine)).all() == [scheme]
    assert db.session.scalars(services.members_query(mine)).all() == [member]
    assert [c.member_id for c in db.session.scalars(services.coverages_query(mine))] == [member.id]
    assert db.session.scalars(services.companies_query(mine)).all() == [scheme_company(scheme)]
    assert db.session.scalars(services.coverages_query(mine, member_number="BETA-0001")).all() == []
    assert len(db.session.scalars(services.schemes_query(everyone)).all()) == 2
    assert len(db.session.scalars(services.members_query(everyone)).all()) == 2
    hospital = tenant_of(make_user(Role.RECEPTIONIST))
    assert db.session.scalars(services.members_query(hospital)).all() == []


def scheme_company(scheme):
    return company_row(tenant_of(make_user(Role.ADMIN)), scheme.company_id)


def test_only_platform_admins_add_companies_and_catalogue(staff, admin):
    with pytest.raises(Forbidden):
        services.create_company(actor=staff, code="NEW", name="New Insurer")
    with pytest.raises(Forbidden):
        services.create_category(actor=staff, code="NEW", name="New")

    made = services.create_company(actor=admin, code="NEW", name="New Insurer")
    with pytest.raises(Conflict):
        services.create_company(actor=admin, code="new", name="Again")
    assert services.company_id_for_code("NEW") == made.id


# --- pre-authorisations --------------------------------------------------------------------------


@pytest.fixture
def dental(scheme):
    benefit = make_benefit("DENT-CHECK")
    add_benefit(scheme, benefit, requires_preauth=True)
    return benefit


def ask(actor, **changes):
    values = {
        "member_number": "acme-0001",
        "benefit_code": "DENT-CHECK",
        "valid_from": D("2026-05-01"),
        "valid_to": D("2026-05-31"),
    }
    return services.request_preauthorization(actor=actor, **(values | changes))


def test_hospital_requests_and_insurer_approves(staff, member, dental):
    hospital = make_user(Role.RECEPTIONIST)
    row = ask(hospital, notes="Root canal, tooth 36")
    assert (row.status, row.member_id, row.benefit_id, row.company_id) == (
        PreauthStatus.REQUESTED,
        member.id,
        dental.id,
        member.company_id,
    )
    assert row.code.startswith("PA-")

    with pytest.raises(Forbidden):
        services.decide_preauthorization(actor=hospital, preauthorization_id=row.id, approve=True)

    services.decide_preauthorization(actor=staff, preauthorization_id=row.id, approve=True, notes="OK")
    assert (row.status, row.decided_by_id) == (PreauthStatus.APPROVED, staff.id)
    assert row.notes == "Root canal, tooth 36\nOK"

    for approve in (True, False):
        with pytest.raises(Conflict):
            services.decide_preauthorization(actor=staff, preauthorization_id=row.id, approve=approve)


def test_insurer_declines(staff, member, dental):
    row = ask(staff)

    services.decide_preauthorization(actor=staff, preauthorization_id=row.id, approve=False)

    assert row.status is PreauthStatus.DECLINED
    assert [e.after for e in audits("preauthorization", "update")] == [{"status": "declined"}]


def test_request_and_approve_in_one_step(staff, member, dental):
    assert ask(staff, approve=True).status is PreauthStatus.APPROVED


def test_another_insurer_can_neither_request_nor_decide(staff, member, dental):
    outsider = make_user(Role.ADJUDICATOR, company_id=make_company().id)
    row = ask(staff)

    with pytest.raises(Invalid):
        ask(outsider)
    with pytest.raises(NotFound):
        services.decide_preauthorization(actor=outsider, preauthorization_id=row.id, approve=True)
    assert row.status is PreauthStatus.REQUESTED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"valid_to": D("2026-04-30")}, "valid_to"),
        ({"valid_to": D("2027-06-01")}, "valid_to"),
        ({"valid_from": "2026-05-01"}, "valid_from"),
        ({"member_number": "NOBODY"}, "member_number"),
        ({"benefit_code": "NOPE"}, "benefit_code"),
        ({"notes": OVERSIZED}, "notes"),
    ],
)
def test_bad_preauthorization_requests_are_invalid(staff, member, dental, changes, field):
    with pytest.raises(Invalid) as refused:
        ask(staff, **changes)

    assert field in refused.value.errors
    assert db.session.scalar(select(func.count()).select_from(Preauthorization)) == 0


# --- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [SCRIPT, SQL, UNICODE, NUL, OVERSIZED, "", "   "])
def test_hostile_codes_are_invalid(staff, admin, company, code):
    before = (count(Scheme), count(Member))

    with pytest.raises(Invalid) as refused:
        new_scheme(staff, company, code=code)
    assert "code" in refused.value.errors
    if code.strip():  # a blank member number is not hostile: the insurer's pattern makes one
        with pytest.raises(Invalid) as refused:
            services.create_member(actor=staff, company_id=company.id, details=details(code))
        assert "member_number" in refused.value.errors
    with pytest.raises(Invalid):
        services.create_company(actor=admin, code=code, name="Fine name")

    assert (count(Scheme), count(Member)) == before


@pytest.mark.parametrize("name", [NUL, OVERSIZED, "", "\t\n"])
def test_unusable_names_are_invalid(staff, company, name):
    with pytest.raises(Invalid) as refused:
        new_scheme(staff, company, name=name)
    assert "name" in refused.value.errors
    with pytest.raises(Invalid) as refused:
        services.create_member(actor=staff, company_id=company.id, details=details("ACME-9", last_name=name))
    assert "last_name" in refused.value.errors

    assert (count(Scheme), count(Member)) == (0, 0)


@pytest.mark.parametrize("name", [SCRIPT, SQL, UNICODE])
def test_hostile_names_that_are_valid_text_are_stored_as_typed(staff, company, name):
    scheme = new_scheme(staff, company, name=name)
    person = services.create_member(actor=staff, company_id=company.id, details=details("ACME-9", last_name=name))

    db.session.expire_all()
    assert db.session.get(Scheme, scheme.id).name == name
    assert db.session.get(Member, person.id).last_name == name


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"annual_limit": "-1"}, "annual_limit"),
        ({"deductible": "-0.01"}, "deductible"),
        ({"annual_limit": "1e400"}, "annual_limit"),
        ({"annual_limit": "NaN"}, "annual_limit"),
        ({"annual_limit": SQL}, "annual_limit"),
        ({"review_threshold": "ten"}, "review_threshold"),
        ({"timely_filing_days": 0}, "timely_filing_days"),
        ({"currency": "KSH1"}, "currency"),
        ({"status": "live"}, "status"),
        ({"effective_from": D("2026-02-01"), "effective_to": D("2026-01-31")}, "effective_to"),
    ],
)
def test_bad_scheme_terms_are_invalid_and_not_written(staff, company, changes, field):
    with pytest.raises(Invalid) as refused:
        new_scheme(staff, company, **changes)

    assert field in refused.value.errors
    assert count(Scheme) == 0 and audits("scheme", "create") == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date_of_birth": D("1899-12-31")}, "date_of_birth"),
        ({"date_of_birth": "1990-01-01"}, "date_of_birth"),
        ({"gender": "robot"}, "gender"),
        ({"email": "not an email"}, "email"),
        ({"email": f"a@b.c{SCRIPT}"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"phone": SQL}, "phone"),
    ],
)
def test_bad_member_details_are_invalid(staff, company, changes, field):
    with pytest.raises(Invalid) as refused:
        services.create_member(actor=staff, company_id=company.id, details=details("ACME-9", **changes))

    assert field in refused.value.errors
    assert count(Member) == 0


def test_unknown_ids_are_not_found(staff):
    mine = tenant_of(staff)
    for lookup in (
        services.get_scheme,
        services.get_member,
        services.get_coverage,
        services.get_preauthorization,
        services.get_company,
    ):
        for ident in (0, None, 987654):
            with pytest.raises(NotFound):
                lookup(mine, ident)


# --- demo data -----------------------------------------------------------------------------------


def test_demo_seed_builds_the_insurers_once():
    from blueprints.insurance.cli import seed_demo

    made = seed_demo(if_empty=True)

    assert made["created"] and (made["companies"], made["schemes"], made["benefits"]) == (2, 4, 14)
    assert 300 <= made["members"] == made["coverages"] == count(Member) and 0 < made["suspended_or_lapsed"] < 60
    assert [services.company_name(i) for i in made["company_ids"]] == ["Jubilant Health Insurance", "Savanna Mutual"]
    today = clock.today()
    assert verification.verify("jhi-000001", today).eligible or verification.verify("jhi-000002", today).eligible
    again = seed_demo(if_empty=False)
    assert (again["created"], again["company_ids"]) == (False, made["company_ids"])
    assert count(Member) == made["members"]


def test_demo_seed_if_empty_leaves_an_existing_insurer_alone(company):
    from blueprints.insurance.cli import seed_demo

    assert seed_demo(if_empty=True)["created"] is False
    assert count(Member) == 0
