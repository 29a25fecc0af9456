"""CSV exports: cells a spreadsheet would run as a formula are defused with a leading quote."""

from __future__ import annotations


def csv_cell(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
