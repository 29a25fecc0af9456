"""The checks the hospital's forms of record share: a person's or a place's name, free text, a phone number."""

from __future__ import annotations

import re
import unicodedata

from medcover.errors import Invalid


def name(value: str, field: str, limit: int = 80) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise Invalid.field(field, "This field is required.")
    if len(value) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(unicodedata.category(c) == "Cc" for c in value) or "<" in value or ">" in value:
        raise Invalid.field(field, "Use letters, spaces and punctuation only (no < or >).")
    return value


def free_text(value: str | None, field: str, limit: int) -> str | None:
    """Optional free text (a reason, an address): trimmed, cut to ``limit``; control characters other than line
    breaks and tabs refused (PostgreSQL cannot store NUL)."""
    value = (value or "").strip()[:limit]
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
        raise Invalid.field(field, "Remove the control characters.")
    return value or None


#: 7 to 15 digits with an optional + in front, spaced by blanks, dashes, dots or brackets as people write them
PHONE = re.compile(r"[\s\-().]*\+?(?:[\s\-().]*[0-9]){7,15}[\s\-().]*")


def phone(value: str | None, field: str = "phone") -> str | None:
    if not value:
        return None
    if not PHONE.fullmatch(value):
        raise Invalid.field(field, "Use 7 to 15 digits, with an optional +.")
    return re.sub(r"[\s\-().]", "", value).lstrip("+")
