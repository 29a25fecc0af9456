"""Benefit periods: 12 months from the coverage start, then each anniversary (29 February rolls to 28)."""

from __future__ import annotations

from datetime import date, timedelta


def anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a year without one
        return date(start.year + years, 2, 28)


def benefit_period(coverage_start: date, day: date) -> tuple[date, date]:
    """The period (first and last day, inclusive) of the coverage that ``day`` falls in."""
    years = max(0, day.year - coverage_start.year)
    start = anniversary(coverage_start, years)
    if start > day:
        years -= 1
        start = anniversary(coverage_start, years)
    return start, anniversary(coverage_start, years + 1) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)


def age_on(date_of_birth: date, day: date) -> int:
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))
