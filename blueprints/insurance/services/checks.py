"""The checks every insurance write shares: codes, names, amounts, whole numbers, and whose records the
acting user may change (an insurer's staff touch only their own company's)."""

from __future__ import annotations

import re
from decimal import Decimal

from blueprints.insurance.models import Company
from medcover.errors import Forbidden, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.money import money
from medcover.rbac import tenant_of

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$")


def valid_code(value: str, field: str = "code") -> str:
    value = (value or "").strip()
    if not CODE.match(value):
        raise Invalid.field(field, "Use 1 to 30 letters, digits, dots, dashes or underscores.")
    return value


def valid_name(value: str, field: str = "name", limit: int = 120) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise Invalid.field(field, "This field is required.")
    if len(value) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(ord(c) < 32 for c in value):
        raise Invalid.field(field, "Use letters, spaces and punctuation only.")
    return value


def valid_amount(value, field: str, *, optional: bool = True) -> Decimal | None:
    if value is None or value == "":
        if optional:
            return None
        raise Invalid.field(field, "This field is required.")
    try:
        amount = money(value if isinstance(value, Decimal | int) else str(value))
    except (TypeError, ValueError, ArithmeticError):  # ArithmeticError: 1e400 does not fit two places
        raise Invalid.field(field, "Enter an amount such as 1250.00.") from None
    if amount < 0:
        raise Invalid.field(field, "Amounts cannot be negative.")
    if amount >= Decimal("10000000000"):
        raise Invalid.field(field, "That amount is too large.")
    return amount


def valid_whole(value, field: str, *, low: int = 0, high: int = 36_500, optional: bool = False) -> int | None:
    if value is None or value == "":
        if optional:
            return None
        raise Invalid.field(field, "This field is required.")
    if isinstance(value, bool):
        raise Invalid.field(field, "Enter a whole number.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Invalid.field(field, "Enter a whole number.") from None
    if not low <= number <= high:
        raise Invalid.field(field, f"Use a number from {low} to {high}.")
    return number


def valid_factor(value, field: str) -> Decimal | None:
    """A positive multiplier with at most two decimals, below 1000; blank: none."""
    if value is None or value == "":
        return None
    try:
        factor = Decimal(value if isinstance(value, Decimal | int) else str(value).strip())
    except (TypeError, ValueError, ArithmeticError):
        raise Invalid.field(field, "Enter a number such as 3 or 2.5.") from None
    if not factor.is_finite() or factor <= 0 or factor >= 1000:
        raise Invalid.field(field, "Use a number above 0 and below 1000.")
    if factor != factor.quantize(Decimal("0.01")):
        raise Invalid.field(field, "Use at most two decimals.")
    return factor.quantize(Decimal("0.01"))


def review_settings(terms) -> dict:
    """A scheme's review triggers (ADJUDICATION.md): the random sample (V01), the suspect duplicate's window and
    threshold (S01) and the outlier factor (V03)."""
    return {
        "review_sample_percent": valid_whole(_or(terms.review_sample_percent, 0), "review_sample_percent", high=100),
        "duplicate_window_days": valid_whole(_or(terms.duplicate_window_days, 3), "duplicate_window_days", high=365),
        "duplicate_score_threshold": valid_whole(
            _or(terms.duplicate_score_threshold, 60), "duplicate_score_threshold", low=1, high=100
        ),
        "variance_factor": valid_factor(terms.variance_factor, "variance_factor"),
    }


def _or(value, default):
    return default if value is None or value == "" else value


def owned_company(actor, company_id: int) -> Company:
    company = db.session.get(Company, company_id) if company_id else None
    if company is None:
        raise NotFound("No such insurance company.")
    if not tenant_of(actor).owns(None, company.id):
        raise Hidden("No such insurance company.", record=f"insurance company {company.id}")
    return company


def check_writer(actor, company_id: int) -> None:
    tenant = tenant_of(actor)
    if not tenant.is_global and tenant.company_id != company_id:
        raise Forbidden("You can change your own company's records only.")
