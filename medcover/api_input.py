"""Typed values of a request: dates and money in bodies (``Day``, ``MoneyIn``, ``PercentIn``) and the readers
of the query string (``day_arg``, ``int_arg`` ...). Each states what it accepts in the OpenAPI document:
bodies through their JSON schema, readers through ``medcover.openapi_query``."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from flask import request
from pydantic import BeforeValidator, Field, WithJsonSchema

from medcover.errors import Invalid

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONEY = re.compile(r"^\d{1,10}(\.\d{1,2})?$")


def strict_day(value: Any) -> date:
    """A date only as ``YYYY-MM-DD`` (no timestamps, no numbers)."""
    if isinstance(value, str) and _DAY.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("Enter a date as YYYY-MM-DD.")


def strict_money(value: Any) -> Decimal:
    """Money is a JSON string ("1250.00"): a JSON number, even a whole one, is refused (floats lose cents)."""
    if not isinstance(value, str):
        raise ValueError('Enter an amount as a string such as "1250.00".')
    if not _MONEY.match(value.strip()):
        raise ValueError('Enter an amount such as "1250.00": digits, at most two decimals, not negative.')
    return Decimal(value.strip())


#: what the OpenAPI document says these accept (exactly what strict_day and strict_money take)
DAY_JSON = {"type": "string", "format": "date", "pattern": _DAY.pattern}
MONEY_JSON = {"type": "string", "pattern": r"^[ \t\r\n]*\d{1,10}(\.\d{1,2})?[ \t\r\n]*$", "examples": ["1250.00"]}
#: request fields: a date as YYYY-MM-DD; money as a string with at most two decimals, not negative
Day = Annotated[date, BeforeValidator(strict_day), WithJsonSchema(DAY_JSON)]
MoneyIn = Annotated[Decimal, BeforeValidator(strict_money), WithJsonSchema(MONEY_JSON)]
#: a percentage as a string, "0" to "100" with at most two decimals
PERCENT_JSON = {
    "type": "string",
    "pattern": r"^[ \t\r\n]*(100(\.0{1,2})?|\d{1,2}(\.\d{1,2})?)[ \t\r\n]*$",
    "examples": ["16.00"],
}
PercentIn = Annotated[Decimal, BeforeValidator(strict_money), Field(le=100), WithJsonSchema(PERCENT_JSON)]
#: a currency code: three letters in any case, blanks around (the services trim and upper-case it, and refuse
#: anything else with their own message)
CURRENCY_JSON = {"type": "string", "pattern": r"^[ \t\r\n]*[A-Za-z]{3}[ \t\r\n]*$", "examples": ["KES"]}
CurrencyIn = Annotated[str, WithJsonSchema(CURRENCY_JSON)]


def any_case(words) -> str:
    """A pattern taking exactly these words in any letter case, blanks around (as ``.strip().lower()`` does)."""
    spelled = ["".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in w) for w in words]
    return r"^[ \t\r\n]*(" + "|".join(spelled) + r")[ \t\r\n]*$"


def day_arg(name: str) -> date | None:
    """An optional ``YYYY-MM-DD`` date in the query string."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return strict_day(raw)
    except ValueError as exc:
        raise Invalid.field(name, str(exc)) from None


#: a whole number in ASCII digits, as the document's ``integer`` reads: ``7``, or ``7.0`` (JSON Schema counts 7.0 as
#: an integer, and clients that serialise numbers send it so)
_WHOLE = re.compile(r"([0-9]{1,12})(?:\.0*)?")


def int_arg(name: str) -> int | None:
    """An optional id in the query string."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    whole = _WHOLE.fullmatch(raw)
    if whole is None or not 1 <= int(whole.group(1)) <= 2**31 - 1:
        raise Invalid.field(name, "Use a record id (a whole number).")
    return int(whole.group(1))


def choice_arg(name: str, choices) -> str:
    """An optional enum value (or one of a sequence of strings) in the query string: an allowlist, never SQL
    text."""
    allowed = [getattr(c, "value", c) for c in choices]
    value = request.args.get(name, "").strip()
    if value and value not in allowed:
        raise Invalid.field(name, "Choose one of " + ", ".join(allowed) + ".")
    return value


def money_arg(name: str) -> Decimal | None:
    """An optional amount in the query string ("1250.00")."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return strict_money(raw)
    except ValueError:
        raise Invalid.field(name, 'Enter an amount such as "1250.00".') from None


def bool_arg(name: str) -> bool:
    """An optional ``true``/``false`` (or 1/0) in the query string; absent is false."""
    raw = request.args.get(name, "").strip().lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise Invalid.field(name, "Use true or false.")


def text_arg(name: str, limit: int = 60) -> str:
    """Free text from the query string (a search), trimmed and cut to ``limit`` characters."""
    return request.args.get(name, "").strip()[:limit]


def required(name: str, value):
    """A query parameter the endpoint cannot do without: absent or empty is a 422 on it."""
    if value in (None, ""):
        raise Invalid.field(name, "This parameter is required.")
    return value
