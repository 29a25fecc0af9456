"""schemathesis hooks for the contract run (``SCHEMATHESIS_HOOKS``): what the document states for one kind of
caller, and records paired with the data that needs them.

- A body's ``x-platform-admin`` (``medcover.api.PLATFORM_ADMIN``) is the JSON Schema it must also meet when a
  platform administrator sends it: the run is an admin's, so it holds for every request of the run.
- The run's bindings (world.bindings: the records a path parameter or body field names, the values a rule tied to
  stored state keeps) reach the fuzzing phase as schemathesis dictionaries, but neither the examples phase (the
  document's examples, ``"1250.00"``, ``"0"``) nor the stateful phase's valid requests: there the hooks draw the
  bound values themselves (the stateful phase keeps the path its link filled).
- ``POST /claims/{claim_id}/approve``: what a line allows is its stored state, so a valid approval (every phase's
  valid data) decides line 1 of the bound claim pending review once, at 0.00 or rejected; invalid data is sent
  as generated.
- ``PUT /claims/{claim_id}``: a draft keeps the claim it replaces (stored state); the bound draft replaces none, so
  a valid change names none.
- ``POST /orders/{order_id}/result``: the result's shape follows the order's kind (the document's ``oneOf``); a
  request naming one of the world's orders names one of the kind its result is for.
- ``POST /patients`` and ``PUT /patients/{patient_id}``: a national id is one patient's at a hospital (stored
  state), and the run's two workers create and change patients in an order that varies with their speed, so a
  valid request gives a national id no patient has yet; a generated one may already be another's by then.
"""

from __future__ import annotations

import json
import os
import uuid
import zlib
from pathlib import Path

import schemathesis

from medcover.api import PLATFORM_ADMIN

#: the world's records the hooks pair with the data (written by test_schemathesis.py)
WORLD = json.loads(Path(os.environ["CONTRACT_WORLD"]).read_text()) if os.environ.get("CONTRACT_WORLD") else {}
RESULT = "POST /orders/{order_id}/result"
APPROVE = "POST /claims/{claim_id}/approve"
CHANGE_DRAFT = "PUT /claims/{claim_id}"
PATIENT_WRITES = ("POST /patients", "PUT /patients/{patient_id}")


@schemathesis.hook
def before_load_schema(context, raw_schema: dict) -> None:
    for schema in raw_schema.get("components", {}).get("schemas", {}).values():
        if PLATFORM_ADMIN in schema:
            schema.setdefault("allOf", []).append(schema[PLATFORM_ADMIN])


@schemathesis.hook
def before_add_examples(context, examples: list) -> None:
    for case in examples:
        if case.operation.label in WORLD.get("bound_examples", ()):
            _bind(case, examples=True)


def _bind(case, *, examples: bool) -> None:
    """The examples phase: the first bound value (path too); the stateful phase: one drawn from the case."""
    for key, values in WORLD.get("bound", {}).get(case.operation.label, {}).items():
        value = values[0] if examples else values[zlib.crc32(repr((key, case.body)).encode()) % len(values)]
        where, _, field = key.partition(".")
        if where == "path" and examples and field in case.path_parameters:
            case.path_parameters[field] = value
        elif where == "body" and isinstance(case.body, dict):
            _put(case.body, field, value)


def _put(body: dict, field: str, value) -> None:
    """Set ``field`` (``items[*].service_code`` at most one list deep) where the example has it."""
    outer, _, inner = field.partition("[*].")
    if inner and isinstance(body.get(outer), list):
        for item in body[outer]:
            if isinstance(item, dict) and inner in item:
                item[inner] = value
    elif not inner and field in body:
        body[field] = value


def _one_override_within_the_line(case) -> None:
    """A valid approval overrides a line of the claim once, at no more than the line allows (its state): the
    bound claims are pending review and their line 1 allows at least 0.00, so a valid request's overrides become
    one decision on line 1, an approval of 0.00 or the rejection it chose, with its note."""
    overrides = case.body.get("overrides") if isinstance(case.body, dict) else None
    if not isinstance(overrides, list) or not overrides or not isinstance(overrides[0], dict):
        return
    first = dict(overrides[0], line_no=1)
    if first.get("reject") is not True:
        first["approved"] = "0.00"
    case.body["overrides"] = [first]


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    positive = meta is not None and meta.generation.mode == "positive"
    if positive and meta.phase.name == "stateful":
        _bind(case, examples=False)
    if case.operation.label == APPROVE and positive:
        _one_override_within_the_line(case)
    if case.operation.label == CHANGE_DRAFT and positive and isinstance(case.body, dict) and "replaces" in case.body:
        case.body["replaces"] = None
    body = case.body if isinstance(case.body, dict) else {}
    if case.operation.label in PATIENT_WRITES and positive and body.get("national_id"):
        body["national_id"] = f"NID{uuid.uuid4().hex[:16].upper()}"
    orders = WORLD.get("orders_by_kind")
    if not orders or case.operation.label != RESULT:
        return case
    named = case.path_parameters.get("order_id")
    result = case.body.get("result") if isinstance(case.body, dict) else None
    if named in orders["lab"] + orders["radiology"] and isinstance(result, dict):
        kind = "radiology" if "report" in result else "lab"
        if named not in orders[kind]:
            case.path_parameters["order_id"] = orders[kind][
                orders["lab" if kind == "radiology" else "radiology"].index(named)
            ]
    return case
