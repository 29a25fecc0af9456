"""The CapabilityStatement: each FHIR route module registers its resource here, ``/fhir/metadata`` reads it."""

from __future__ import annotations

from dataclasses import dataclass, field

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from medcover import clock

FHIR_VERSION = "4.0.1"


@dataclass
class ResourceCapability:
    interactions: tuple[str, ...]
    #: search parameter name -> FHIR search type (token, string, date, reference)
    search_params: dict[str, str] = field(default_factory=dict)
    #: (name, canonical definition) of operations, e.g. a POST that answers another resource
    operations: tuple[tuple[str, str], ...] = ()


_registry: dict[str, ResourceCapability] = {}


def register_capability(resource_type: str, *, interactions, search_params=None, operations=()) -> None:
    """Say what the server does with ``resource_type``: ``interactions`` of read, search-type, create...;
    ``search_params`` as {name: type} (or names, typed token); ``operations`` as (name, definition) pairs."""
    if not isinstance(search_params, dict):
        search_params = dict.fromkeys(search_params or (), "token")
    _registry[resource_type] = ResourceCapability(tuple(interactions), dict(search_params), tuple(operations))


def capability_statement(base_url: str) -> CapabilityStatement:
    resources = []
    for name in sorted(_registry):
        cap = _registry[name]
        entry = {"type": name, "interaction": [{"code": code} for code in cap.interactions]}
        if cap.search_params:
            entry["searchParam"] = [{"name": n, "type": t} for n, t in sorted(cap.search_params.items())]
        if cap.operations:
            entry["operation"] = [{"name": n, "definition": d} for n, d in cap.operations]
        resources.append(entry)
    return CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": clock.now().isoformat(timespec="seconds"),
            "publisher": "MedCover",
            "kind": "instance",
            "software": {"name": "MedCover"},
            "implementation": {"description": "MedCover FHIR R4 interface", "url": base_url},
            "fhirVersion": FHIR_VERSION,
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "description": "Bearer token from POST /api/v1/auth/login; roles and tenancy as /api/v1."
                    },
                    "resource": resources,
                }
            ],
        }
    )
