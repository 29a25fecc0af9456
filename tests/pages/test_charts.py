"""Bar chart geometry (medcover.charts): shares of the largest in per cent, parts side by side, values in words."""

from __future__ import annotations

from decimal import Decimal

from medcover import charts
from medcover.money import format_money


def test_plain_bars_are_shares_of_the_largest_with_their_values_written_out():
    drawn = charts.bars([("Approved", 10), ("Rejected", 2), ("Void", 0)], text=lambda n: f"{n:,}")
    assert [(b.label, b.text) for b in drawn] == [("Approved", "10"), ("Rejected", "2"), ("Void", "0")]
    assert [[(s.start, s.width) for s in b.segments] for b in drawn] == [[(0.0, 100.0)], [(0.0, 20.0)], []]


def test_stacked_parts_sit_side_by_side_and_parts_of_nothing_are_left_out():
    rows = [
        ("Acme Insurance", [("current", "0-30 days", Decimal("4500.00")), ("d30", "31-60 days", Decimal("0.00"))]),
        (
            "Patients",
            [
                ("current", "0-30 days", Decimal("500.00")),
                ("d30", "31-60 days", Decimal("2500.00")),
                ("d120", "Over 120 days", Decimal("5000.00")),
            ],
        ),
    ]
    acme, patients = charts.stacked_bars(rows, text=format_money)
    assert acme.text == "4,500.00" and [(s.key, s.start, s.width) for s in acme.segments] == [("current", 0.0, 56.25)]
    assert patients.text == "8,000.00"
    assert [(s.key, s.label, s.text, s.start, s.width) for s in patients.segments] == [
        ("current", "0-30 days", "500.00", 0.0, 6.25),
        ("d30", "31-60 days", "2,500.00", 6.25, 31.25),
        ("d120", "Over 120 days", "5,000.00", 37.5, 62.5),
    ]


def test_nothing_to_draw():
    assert charts.bars([]) == []
    assert [b.segments for b in charts.bars([("None yet", 0)])] == [()]
