"""schemathesis hooks for the contract run (``SCHEMATHESIS_HOOKS``): what the document states for one kind of
caller, and records paired with the data that needs them.

- A body's ``x-platform-admin`` (``medcover.api.PLATFORM_ADMIN``) is the JSON Schema it must also meet when a
  platform administrator sends it: the run is an admin's, so it holds for every request of the run.
- ``POST /orders/{order_id}/result``: the result's shape follows the order's kind (the document's ``oneOf``); a
  request naming one of the world's orders names one of the kind its result is for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import schemathesis

from medcover.api import PLATFORM_ADMIN

#: the world's records the hooks pair with the data (written by test_schemathesis.py)
WORLD = json.loads(Path(os.environ["CONTRACT_WORLD"]).read_text()) if os.environ.get("CONTRACT_WORLD") else {}
RESULT = "POST /orders/{order_id}/result"


@schemathesis.hook
def before_load_schema(context, raw_schema: dict) -> None:
    for schema in raw_schema.get("components", {}).get("schemas", {}).values():
        if PLATFORM_ADMIN in schema:
            schema.setdefault("allOf", []).append(schema[PLATFORM_ADMIN])


@schemathesis.hook
def map_case(context, case):
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
