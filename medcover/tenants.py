"""Tenants are institutions (hospital domain) and companies (insurance domain). Those domains sit above
core, so they register here how to name a tenant and how to find one by its code."""

from __future__ import annotations

from collections.abc import Callable

from medcover.memo import per_request

KINDS = ("institution", "company")
#: kind -> a function returning {id: name} for every tenant of that kind (a short list: insurers, hospitals)
_directories: dict[str, Callable[[], dict[int, str]]] = {}
_resolvers: dict[str, Callable[[str], int | None]] = {}


def register(kind: str, *, names: Callable[[], dict[int, str]], resolver: Callable[[str], int | None]) -> None:
    if kind not in KINDS:
        raise ValueError(kind)
    _directories[kind], _resolvers[kind] = names, resolver


@per_request
def _names(kind: str) -> dict[int, str]:
    """All names of a kind, read once per request however many rows a page labels."""
    directory = _directories.get(kind)
    return directory() if directory is not None else {}


def tenant_label(institution_id: int | None, company_id: int | None) -> str:
    for kind, ident in (("institution", institution_id), ("company", company_id)):
        if ident is not None:
            return _names(kind).get(ident) or f"{kind.capitalize()} #{ident}"
    return "All organisations"


def id_for_code(kind: str, code: str) -> int | None:
    """The id of the institution or company with this code; None when unknown.

    Before the owning domain exists, a numeric code is taken as the id itself.
    """
    resolver = _resolvers.get(kind)
    if resolver is not None:
        return resolver(code)
    return int(code) if code.isdigit() else None


def exists(institution_id: int | None, company_id: int | None) -> bool:
    """Whether the institution or company named exists (before its domain is wired in, any id is taken)."""
    for kind, ident in (("institution", institution_id), ("company", company_id)):
        if ident is not None:
            return kind not in _directories or ident in _names(kind)
    return False


def choices() -> list[tuple[str, str]]:
    """Every hospital and insurer as a pick list: ("institution:3", "Riverside Hospital (hospital)") ..."""
    found = []
    for kind, word in (("institution", "hospital"), ("company", "insurer")):
        for ident, name in sorted(_names(kind).items(), key=lambda item: item[1].lower()):
            found.append((f"{kind}:{ident}", f"{name} ({word})"))
    return found


def from_choice(value: str | None) -> tuple[int | None, int | None]:
    """A pick list's value as (institution_id, company_id); (None, None) for anything else."""
    kind, _, ident = (value or "").partition(":")
    if kind not in KINDS or not ident.isdigit() or not 0 < int(ident) < 2**31:
        return None, None
    return (int(ident), None) if kind == "institution" else (None, int(ident))
