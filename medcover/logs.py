"""Structured logging: one JSON object a line, the request id on every line, PHI and secrets masked."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from medcover.context import current_origin

#: keys whose values never reach a log line, whatever object carries them
SENSITIVE_KEYS = {
    "password",
    "new_password",
    "current_password",
    "token",
    "access_token",
    "refresh_token",
    "authorization",
    "cookie",
    "secret",
    "csrf_token",
    "first_name",
    "last_name",
    "full_name",
    "date_of_birth",
    "dob",
    "national_id",
    "phone",
    "email",
    "address",
    "diagnosis",
    "diagnosis_codes",
    "notes",
    "member_number",
}
MASK = "***"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_BEARER = re.compile(r"(?i)bearer\s+[\w.\-~+/]+=*")
_LONG_DIGITS = re.compile(r"\b\d{7,}\b")  # phone numbers, national ids
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


#: what any of the three needs somewhere (an @, the word bearer, seven digits in a row): one pass over a line
#: that has none of them (most: "GET /claims 200") instead of three
_MAYBE_SENSITIVE = re.compile(r"@|(?i:bearer)|\d{7}")


def mask_text(text: str) -> str:
    if _MAYBE_SENSITIVE.search(text) is None:
        return text
    text = _EMAIL.sub(MASK, text)
    text = _BEARER.sub("Bearer " + MASK, text)
    return _LONG_DIGITS.sub(MASK, text)


def mask_value(key: str, value):
    if key.lower() in SENSITIVE_KEYS:
        return MASK
    if isinstance(value, dict):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value("", v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": current_origin().request_id,
            "msg": mask_text(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = mask_value(key, value)
        if record.exc_info:
            entry["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname:<7} {record.name}: {mask_text(record.getMessage())}"
        if record.exc_info:
            text += "\n" + mask_text(self.formatException(record.exc_info))
        return text


def configure(level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Werkzeug's access log prints query strings (patient searches): our own request line replaces it.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # WeasyPrint narrates every layout step (and its own import) at INFO.
    for chatty in ("weasyprint", "fontTools"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
