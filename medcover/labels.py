"""Plain words for stored values (UI.md, "Words and numbers"): no enum value or snake_case on a page, a letter, a
CSV or the audit log. ``label(value)`` is the one place that turns ``bank_transfer`` into "Bank transfer"; pages
use it as the ``label`` template filter.

A value whose words differ from its spelling is registered here (``LABELS``) or by its domain (``register``); any
other snake_case value reads as its words, capitalised. An enum member with a ``label`` of its own keeps it."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum
from functools import lru_cache

from markupsafe import Markup, escape

from medcover import clock

#: values whose plain words are not just the value's words
LABELS: dict[str, str] = {
    "bank_transfer": "Bank transfer",
    "mpesa": "M-Pesa",
    "mobile_money": "Mobile money",
    "pending_review": "Pending review",
    "credit_note": "Credit note",
    "self_pay": "Self-pay",
    "billing_clerk": "Billing clerk",
    "finance_officer": "Finance officer",
    "in_progress": "In progress",
    "co_pay": "Co-pay",
    "copay": "Co-pay",
    "upheld": "Upheld",
    "create": "Created",
    "update": "Changed",
    "delete": "Deleted",
    "void": "Void",
    "adjudicate": "Decided",
    "approve": "Approved",
    "reject": "Rejected",
    "issue": "Issued",
    "submit": "Submitted",
    "login": "Signed in",
    "logout": "Signed out",
}

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:[_.][a-z0-9]+)*$")


def register(mapping: dict[str, str]) -> None:
    """A domain's own words for its values (added at start-up; the first registration of a value wins)."""
    for value, words in mapping.items():
        LABELS.setdefault(value, words)


def label(value) -> str:
    """Plain words for a stored value (an enum member, its value, or None for nothing)."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        own = getattr(value, "label", None)
        if isinstance(own, str) and own:
            return own
        value = value.value
    text = str(value)
    if text in LABELS:
        return LABELS[text]
    if _IDENTIFIER.match(text):
        words = text.replace("_", " ").replace(".", " ")
        return words[:1].upper() + words[1:]
    return text


def badge(status, kinds: dict[str, str]) -> Markup:
    """A status as its badge, ``<span class="badge ok" data-status="paid">Paid</span>``; ``kinds`` gives each
    status its colour ("off" for any other). A Python helper, not a macro: list pages show one a row."""
    value = getattr(status, "value", status)
    # Not Markup.format: its escaping formatter costs more than the rest of the row
    kind, words = escape(kinds.get(value, "off")), escape(label(value))
    return Markup(f'<span class="badge {kind}" data-status="{escape(value)}">{words}</span>')  # noqa: S704 - all escaped


def badges(kinds: dict[str, str]):
    """A status filter for one set of colours (``kinds``): ``badge`` made once per status and kept, as a list shows
    the same few statuses row after row."""
    made: dict[str, Markup] = {}

    def status_badge(status) -> Markup:
        value = getattr(status, "value", status)
        found = made.get(value)
        if found is None:
            found = badge(value, kinds)
            if isinstance(value, str) and len(made) < _KEPT_BADGES:
                made[value] = found
        return found

    return status_badge


#: more statuses than any list has (the kept badges of a filter stay few whatever it is given)
_KEPT_BADGES = 64


@lru_cache(maxsize=4096)
def _day_of(value: date) -> str:
    return f"{value.day} {value.strftime('%b %Y')}"


def day(value) -> str:
    """A date as pages and letters show it: "4 Dec 2026" (CSV and JSON keep ISO 8601). A list's dates repeat (a
    day's claims, a month's invoices), so each is written out once and then remembered."""
    if type(value) is date:
        return _day_of(value)
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return clock.format_date(value)  # an instant: its day on the site's calendar, not UTC's
    if hasattr(value, "strftime"):
        return _day_of(value)
    return str(value)
