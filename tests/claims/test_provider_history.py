"""V03's provider history as a batch keeps it (``trigger_facts.DayTotals``): the claims and billed total of any run
of days, to the cent, as a day-by-day sum would give them, while claims keep being added."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from blueprints.claims.services.trigger_facts import DayTotals

START = date(2025, 1, 1)
day = st.integers(0, 800).map(lambda n: START + timedelta(days=n))
added = st.tuples(day, st.integers(1, 5), st.decimals("0.01", "999999.99", places=2))


@given(adds=st.lists(added, max_size=60), asks=st.lists(st.tuples(day, day), min_size=1, max_size=10))
def test_any_run_of_days_sums_what_its_days_hold(adds, asks):
    totals, by_day = DayTotals(), {}
    for served, claims, billed in adds:
        totals.add(served, claims, billed)
        held = by_day.setdefault(served, [0, Decimal("0")])
        held[0] += claims
        held[1] += billed
        for since, until in asks:
            days = [v for d, v in by_day.items() if since <= d < until]
            assert totals.between(since, until) == (sum(v[0] for v in days), sum((v[1] for v in days), Decimal("0")))


def test_the_year_before_a_day_leaves_out_that_day_and_the_days_before_the_year():
    totals = DayTotals()
    served = date(2026, 6, 15)
    totals.add(served - timedelta(days=366), 1, Decimal("100.00"))  # a year and a day before: out
    totals.add(served - timedelta(days=365), 2, Decimal("250.50"))  # a year before to the day: in
    totals.add(served - timedelta(days=1), 1, Decimal("0.75"))
    totals.add(served, 4, Decimal("999.00"))  # the day itself: out
    assert totals.between(served - timedelta(days=365), served) == (3, Decimal("251.25"))
    assert DayTotals().between(served - timedelta(days=365), served) == (0, Decimal("0"))
