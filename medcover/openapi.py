"""The OpenAPI 3.1 document, built from the URL map and each endpoint's ``@documented`` metadata."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify, render_template
from pydantic import BaseModel

from medcover.api import PREFIX, Doc, documented
from medcover.rbac import access_of, public

bp = Blueprint("api_docs", __name__, url_prefix=PREFIX)
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["type", "title", "status", "detail"],
}


def _schema_ref(model: type[BaseModel], components: dict, mode: str) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_spec(app) -> dict:
    components: dict = {"Problem": PROBLEM_SCHEMA}
    paths: dict = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX):
            continue
        view = app.view_functions[rule.endpoint]
        # Every endpoint is listed (the contract says so); one without @documented gets a bare entry.
        doc = getattr(view, "doc", None) or Doc(rule.endpoint, rule.endpoint.partition(".")[0])
        path = _PARAM.sub(r"{\1}", rule.rule[len(PREFIX) :]) or "/"
        access = access_of(view)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict = {
                "summary": doc.summary,
                "tags": [doc.tag],
                "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
                "responses": {},
            }
            if doc.description:
                operation["description"] = doc.description
            params = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(rule.rule)
            ]
            params += [
                {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
                for name, text in doc.query.items()
            ]
            if params:
                operation["parameters"] = params
            if doc.body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _schema_ref(doc.body, components, "validation")}},
                }
            for status, model in (doc.responses or {200: None}).items():
                entry: dict = {"description": "OK" if status < 300 else "Error"}
                if model is not None:
                    entry["content"] = {"application/json": {"schema": _schema_ref(model, components, "serialization")}}
                operation["responses"][str(status)] = entry
            problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
            for status, text in (
                ("401", "Missing or bad token"),
                ("403", "Role not allowed"),
                ("422", "Invalid input"),
                ("429", "Rate limited"),
            ):
                if access and access.public and status in ("401", "403"):
                    continue
                operation["responses"].setdefault(status, {"description": text, "content": problem})
            if access and not access.public:
                operation["security"] = [{"bearerAuth": []}]
                operation["x-roles"] = sorted(role.value for role in access.roles)
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "MedCover API",
            "version": "1.0.0",
            "description": "Medical coverage: insurance, hospital, billing, claims and payments.",
        },
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


@bp.get("/openapi.json")
@public
@documented("This document: the API in OpenAPI 3.1", tag="Reference")
def openapi_json():
    return jsonify(build_spec(current_app))


@bp.get("/docs")
@public
@documented("The API reference as a web page", tag="Reference")
def docs():
    return render_template("api_docs.html", spec=build_spec(current_app))


def init_app(app) -> None:
    app.register_blueprint(bp)
