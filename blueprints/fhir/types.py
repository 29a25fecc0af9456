"""Small FHIR datatypes built the same way everywhere: money, identifiers and logical references."""

from __future__ import annotations

from decimal import Decimal

from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.money import Money
from fhir.resources.R4B.reference import Reference


def money(amount: Decimal, currency: str) -> Money:
    """``{"value": amount, "currency": currency}``: the amount as the services computed it, never re-rounded."""
    return Money(value=Decimal(amount), currency=currency)


def identifier(system: str, value: str) -> Identifier:
    return Identifier(system=system, value=value)


def logical_ref(system: str, value: str, display: str | None = None) -> Reference:
    """A reference by business identifier: ``{"identifier": {"system": ..., "value": ...}}``."""
    return Reference(identifier=identifier(system, value), display=display)


def literal_ref(resource_type: str, resource_id: int | str, display: str | None = None) -> Reference:
    """A reference to a resource of this server: ``{"reference": "Claim/12"}``."""
    return Reference(reference=f"{resource_type}/{resource_id}", display=display)


def identifier_value(identifiers, system: str) -> str | None:
    """The value of the first identifier of ``system`` in a list of Identifiers (None when there is none)."""
    for ident in identifiers or ():
        if ident.system == system and ident.value:
            return ident.value.strip()
    return None


def reference_identifier(reference: Reference | None, system: str) -> str | None:
    """The value of ``reference.identifier`` when it is of ``system`` (None otherwise)."""
    if reference is None or reference.identifier is None:
        return None
    return identifier_value([reference.identifier], system)


def reference_id(reference: Reference | None, resource_type: str) -> str | None:
    """The id of a literal reference ``"<resource_type>/<id>"`` (None when it is not one)."""
    if reference is None or not reference.reference:
        return None
    kind, _, ident = reference.reference.rpartition("/")
    return ident if kind.rsplit("/", 1)[-1] == resource_type and ident else None
