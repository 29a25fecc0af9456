"""Money: Decimal with two places, rounded half up after every step. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal | int | str) -> Decimal:
    """A two-place Decimal from a Decimal, int or string; floats are refused."""
    if type(value) is Decimal and value.is_finite():
        # the engine's case, hundreds of thousands of times a batch: the same result without the checks below
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    if isinstance(value, float):
        raise TypeError("money never comes from a float; pass a string or Decimal")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal | int | str) -> Decimal:
    return money(Decimal(amount) * Decimal(percent) / Decimal(100))


def format_money(amount: Decimal | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    text = f"{money(amount):,.2f}"
    return f"{currency} {text}" if currency else text
