"""OpenAPI links: from each operation that creates a record to the reads, changes and actions that take its id.

They are read from the paths themselves. A create answers 201 at a collection (``POST /members``, or
``POST /schemes/{scheme_id}/benefits``) or at an action beside it (``POST /claims/from-invoice``,
``POST /coverages/{coverage_id}/renew``); every operation under that collection's ``/{param}`` takes the new
record: the parameter is the body's field of the same name when the answer has one (``line_no``,
``patient_id``), else its ``id`` (for an ``..._id``, or the one right under the collection such as
``client_pk``); the parameters of the collection's own path are passed on as the create had them.

A create whose record is read elsewhere says where (``documented(read_at=...)``: an attachment added to a dispute
is read at ``/disputes/attachments/{attachment_id}``, a payment's reversal at ``/payments/{payment_id}``): its
links lead to the operations under that read's collection instead.
"""

from __future__ import annotations

import re

_PARAMS = re.compile(r"{([^}]+)}")


def _schema_name(response: dict | None) -> str:
    return (response or {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")


def _collection_of(path: str, paths: dict, created: dict) -> str | None:
    """The collection a create at ``path`` adds to: the path itself, or the nearest parent whose records are
    what the create answers (an attachment added under a dispute is not a dispute)."""
    parts = path.split("/")
    while len(parts) > 1:
        base = "/".join(parts)
        children = [other for other in paths if other.startswith(base + "/{")]
        if children:
            if base == path:
                return base
            reads = [paths[c]["get"]["responses"].get("200") for c in children if "get" in paths[c]]
            same = [r for r in reads if _schema_name(r) == _schema_name(created)]
            return base if same or not reads else None
        parts.pop()
    return None


def _properties(response: dict, components: dict | None) -> set[str]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if components is not None and ref:
        schema = components.get(ref.rsplit("/", 1)[-1], {})
    return set(schema.get("properties", {}))


def add_links(paths: dict, components: dict | None = None) -> None:
    """Give each 201 of ``paths`` the links to the operations that take the record it created."""
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        read_at = created and created.pop("x-read-at", None)
        base = read_at.rsplit("/", 1)[0] if read_at else created and _collection_of(path, paths, created)
        if not base:
            continue
        fields = _properties(created, components)
        own = set(_PARAMS.findall(base)) & set(_PARAMS.findall(path))  # the collection's own parents, passed on
        links = {}
        for target, target_ops in sorted(paths.items()):
            if not target.startswith(base + "/{"):
                continue
            params = {}
            for name in _PARAMS.findall(target):
                if name in own:
                    params[name] = f"$request.path.{name}"
                elif name in fields:
                    params[name] = f"$response.body#/{name}"
                elif (
                    (name.endswith("id") or target.startswith(f"{base}/{{{name}}}"))  # the new record's key
                    and "id" in fields
                    and not any(v.endswith("#/id") for v in params.values())
                ):
                    params[name] = "$response.body#/id"
            if len(params) != len(_PARAMS.findall(target)):
                continue
            for operation in target_ops.values():
                links[operation["operationId"]] = {"operationId": operation["operationId"], "parameters": params}
        if links:
            created["links"] = links
