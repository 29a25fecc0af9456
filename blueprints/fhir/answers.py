"""Writing FHIR answers: a fhir.resources model as ``application/fhir+json``, its decimals exactly as held."""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal

from flask import Response
from pydantic import BaseModel

FHIR_JSON = "application/fhir+json"

#: a decimal's place in the JSON while it is encoded (the model library writes decimals as floats: 50000.0)
#: (with a per-process nonce, so no text a user typed can pass for one)
_DECIMAL_MARK = f"@@fhir-decimal-{secrets.token_hex(8)}:"
_DECIMAL_SLOT = re.compile(rf'"{_DECIMAL_MARK}(-?[0-9]+(?:\.[0-9]+)?)@@"')


def _keep_decimals(model, dumped: dict) -> dict:
    """``dumped`` (the model as JSON values) with every decimal as the model holds it, 48749.50 not 48749.5:
    money reads the same to the cent as /api/v1's."""
    for name, field in type(model).model_fields.items():
        key = field.alias or name
        if key in dumped:
            dumped[key] = _kept(getattr(model, name, None), dumped[key])
    return dumped


def _kept(value, dumped):
    if isinstance(value, Decimal) and value.is_finite() and isinstance(dumped, int | float):
        return f"{_DECIMAL_MARK}{value:f}@@"
    if isinstance(value, list) and isinstance(dumped, list) and len(value) == len(dumped):
        return [_kept(item, out) for item, out in zip(value, dumped, strict=True)]
    if isinstance(value, BaseModel) and isinstance(dumped, dict):
        return _keep_decimals(value, dumped)
    return dumped


def dump(resource) -> str:
    """The model as compact JSON, elements without a value left out."""
    dumped = resource.model_dump(exclude_none=True, by_alias=True, mode="json")
    text = json.dumps(_keep_decimals(resource, dumped), separators=(",", ":"), ensure_ascii=False)
    return _DECIMAL_SLOT.sub(r"\1", text)


def respond(resource, status: int = 200, headers=None) -> Response:
    """A fhir.resources model as ``application/fhir+json`` (empty elements left out)."""
    response = Response(dump(resource), status=status, mimetype=FHIR_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
