"""``GET /fhir/metadata``: the CapabilityStatement (open to anyone, like the API's OpenAPI document)."""

from __future__ import annotations

from flask import request

from blueprints.fhir.capability import capability_statement
from blueprints.fhir.gateway import PREFIX, bp, respond
from medcover.rbac import public


@bp.get("/metadata")
@public
def metadata():
    return respond(capability_statement(request.url_root.rstrip("/") + PREFIX))
