"""Tenants are institutions (hospital domain) and companies (insurance domain). Those domains sit above
core, so they register here how to name a tenant and how to find one by its code."""

from __future__ import annotations

from collections.abc import Callable

KINDS = ("institution", "company")
_namers: dict[str, Callable[[int], str | None]] = {}
_resolvers: dict[str, Callable[[str], int | None]] = {}


def register(kind: str, *, namer: Callable[[int], str | None], resolver: Callable[[str], int | None]) -> None:
    if kind not in KINDS:
        raise ValueError(kind)
    _namers[kind], _resolvers[kind] = namer, resolver


def tenant_label(institution_id: int | None, company_id: int | None) -> str:
    for kind, ident in (("institution", institution_id), ("company", company_id)):
        if ident is not None:
            namer = _namers.get(kind)
            name = namer(ident) if namer else None
            return name or f"{kind.capitalize()} #{ident}"
    return "All organisations"


def id_for_code(kind: str, code: str) -> int | None:
    """The id of the institution or company with this code; None when unknown.

    Before the owning domain exists, a numeric code is taken as the id itself.
    """
    resolver = _resolvers.get(kind)
    if resolver is not None:
        return resolver(code)
    return int(code) if code.isdigit() else None
