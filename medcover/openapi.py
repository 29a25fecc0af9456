"""The OpenAPI 3.1 document, built from the URL map and each endpoint's ``@documented`` metadata."""

from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, jsonify, render_template
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from medcover.api import PREFIX, text_pattern
from medcover.api_docs import Doc, documented
from medcover.openapi_links import add_links
from medcover.openapi_query import ID_SCHEMA, query_parameters, takes_a_file, takes_no_body
from medcover.rbac import access_of, public

bp = Blueprint("api_docs", __name__, url_prefix=PREFIX)
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_TYPED_PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
#: request text holds no control characters but tabs and line breaks (``medcover.api.CONTROL``), and is trimmed,
#: so a required one needs a character that is not blank
TEXT = text_pattern(filled=False)
NOT_BLANK = text_pattern(filled=True)
#: the answers every operation may give besides its own (public ones leave out 401 and 403)
_ERRORS = {
    "400": "The body is not JSON the API reads (nested too deeply)",
    "401": "Missing or bad token",
    "403": "Role not allowed",
    "404": "No such record, or not yours to see",
    "409": "The current state does not allow it, or a unique value is taken",
    "422": "Invalid input: the errors name the fields",
    "429": "Rate limited: see Retry-After",
}

#: an upload: one ``file`` part whose content (not its name or declared type) must be a PDF, PNG or JPEG; the
#: pattern states the PDF signature, the one a JSON schema can spell
UPLOAD = {
    "type": "object",
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "pattern": "^%PDF-",
            "description": "a PDF (%PDF-), PNG or JPEG file, at most the upload limit",
        }
    },
    "required": ["file"],
}
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


class _RequestSchema(GenerateJsonSchema):
    """Request bodies as the API validates them: text without control characters, and a required one with
    something besides blanks."""

    def str_schema(self, schema):
        out = super().str_schema(schema)
        if "pattern" not in out:
            out["pattern"] = NOT_BLANK if out.get("minLength", 0) >= 1 else TEXT
        return out


def _no_null_defaults(schema: dict) -> dict:
    """A field that may be left out but not sent as null defaults to "not sent", which is no JSON value."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and "anyOf" not in prop and prop.get("type") != "null":
            del prop["default"]
    return schema


def _schema_ref(model: type[BaseModel], components: dict, mode: str, owner: str = "") -> dict:
    generator = _RequestSchema if mode == "validation" else GenerateJsonSchema
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode, schema_generator=generator)
    found = {name: _no_null_defaults(definition) for name, definition in schema.pop("$defs", {}).items()}
    found[model.__name__] = _no_null_defaults(schema)
    # Two models of one name (a premium rate's RateIn, a commission rate's RateIn) must not share an entry: the
    # later one takes its blueprint's name as a prefix (``owner``), and the references to it follow.
    renamed = {
        name: _qualified(name, owner)
        for name, definition in found.items()
        if name in components and components[name] != _renamed(definition, {})
    }
    for name, definition in found.items():
        components[renamed.get(name, name)] = _renamed(definition, renamed)
    return {"$ref": f"#/components/schemas/{renamed.get(model.__name__, model.__name__)}"}


def _qualified(name: str, owner: str) -> str:
    return "".join(part.title() for part in owner.removeprefix("api_").removesuffix("_api").split("_")) + name


def _renamed(definition: dict, renamed: dict[str, str]) -> dict:
    if not renamed:
        return definition
    text = json.dumps(definition)
    for old, new in renamed.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    return json.loads(text)


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
                {"name": name, "in": "path", "required": True, "schema": _path_schema(converter)}
                for converter, name in _TYPED_PARAM.findall(rule.rule)
            ]
            params += query_parameters(view, doc.query)
            if params:
                operation["parameters"] = params
            if takes_a_file(view):
                operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": UPLOAD}}}
            if doc.form is not None:
                owner = rule.endpoint.partition(".")[0]
                schema = _schema_ref(doc.form, components, "validation", owner)
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": schema}},
                }
            if doc.body is not None:
                operation["requestBody"] = {
                    "required": not takes_no_body(view),
                    "content": {
                        "application/json": {
                            "schema": _schema_ref(doc.body, components, "validation", rule.endpoint.partition(".")[0])
                        }
                    },
                }
            for status, model in (doc.responses or {200: None}).items():
                entry: dict = {"description": "OK" if status < 300 else "Error"}
                if model is not None:
                    entry["content"] = {
                        "application/json": {
                            "schema": _schema_ref(model, components, "serialization", rule.endpoint.partition(".")[0])
                        }
                    }
                operation["responses"][str(status)] = entry
            if doc.read_at and "201" in operation["responses"]:
                operation["responses"]["201"]["x-read-at"] = doc.read_at  # add_links takes it away
            _add_errors(operation, method, access, has_path_params="{" in path)
            if access and not access.public:
                operation["security"] = [{"bearerAuth": []}]
                operation["x-roles"] = sorted(role.value for role in access.roles)
            paths.setdefault(path, {})[method.lower()] = operation
    add_links(paths, components)
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


def _path_schema(converter: str) -> dict:
    # <id:...> takes a database id (medcover.urls); any other is a piece of text such as a member number
    return dict(ID_SCHEMA) if converter == "id" else {"type": "string", "minLength": 1}


def _add_errors(operation: dict, method: str, access, *, has_path_params: bool) -> None:
    """The problem+json answers an operation can give: 401/403 unless public, 404 where the path names a record,
    409 on a change (a state that does not allow it, a unique value taken), 400/422 on bad input, 429 always."""
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses = operation["responses"]
    for status, text in _ERRORS.items():
        if status in ("401", "403") and access and access.public:
            continue
        if status == "404" and not has_path_params and status not in responses:
            continue
        if status == "409" and method == "GET" and status not in responses:
            continue
        if status == "400" and "requestBody" not in operation:
            continue
        entry = responses.setdefault(status, {"description": text})
        if entry.get("description") == "Error":
            entry["description"] = text
        entry.setdefault("content", problem)


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
