"""Checks for the values services accept from people and integrations, raising ``Invalid`` with a message
for the field. Shared so every domain words its errors the same way."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

from medcover.errors import Invalid
from medcover.money import money

#: a tariff, stock, benefit or service code: letters, digits, dots, dashes, underscores (upper-cased)
CODE = re.compile(r"[A-Z0-9][A-Z0-9_.-]{0,29}")
MAX_AMOUNT = Decimal("10000000000")


def code(value, field: str) -> str:
    text = str(value or "").strip().upper()
    if not CODE.fullmatch(text):
        raise Invalid.field(field, "Use 1 to 30 letters, digits, dots, dashes or underscores.")
    return text


def text(value, field: str, limit: int, *, required: bool = True) -> str:
    """One line of text: spaces collapsed, no control characters."""
    clean = " ".join(str(value or "").split())
    if required and not clean:
        raise Invalid.field(field, "This field is required.")
    if len(clean) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(unicodedata.category(c) == "Cc" for c in clean):
        raise Invalid.field(field, "Remove the control characters.")
    return clean


def whole(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or value is None or value == "":
        raise Invalid.field(field, "Enter a whole number.")
    try:
        number = value if isinstance(value, int) else int(str(value).strip())
    except (TypeError, ValueError):
        raise Invalid.field(field, "Enter a whole number.") from None
    if not low <= number <= high:
        raise Invalid.field(field, f"Enter a number from {low} to {high:,}.")
    return number


def amount(value, field: str, *, positive: bool = False) -> Decimal:
    """Two places; never a float, never negative, never absurd."""
    if value is None or value == "" or isinstance(value, bool | float):
        raise Invalid.field(field, "Enter an amount such as 1250.00.")
    try:
        result = money(value if isinstance(value, Decimal | int) else str(value).strip().replace(",", ""))
    except (TypeError, ValueError, ArithmeticError):  # ArithmeticError: 1e400 does not fit two places
        raise Invalid.field(field, "Enter an amount such as 1250.00.") from None
    if result < 0:
        raise Invalid.field(field, "Amounts cannot be negative.")
    if positive and result == 0:
        raise Invalid.field(field, "Enter an amount above zero.")
    if result >= MAX_AMOUNT:
        raise Invalid.field(field, "That amount is too large.")
    return result


def day(value, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise Invalid.field(field, "Enter a date as YYYY-MM-DD.") from None
