"""CSV exports: one writer for every download, with cells a spreadsheet would run as a formula defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from flask import Response


def csv_cell(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """The CSV document: the header, then each row's cells defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()


def csv_response(header: Sequence[str], rows: Iterable[Sequence], filename: str) -> Response:
    """A CSV download named ``filename``; the caller audits the export and commits."""
    return Response(
        csv_text(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}", "X-Content-Type-Options": "nosniff"},
    )
