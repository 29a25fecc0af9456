"""Records named in words (UI.md: "No internal ids ... use business numbers and linked names"): each domain tells,
for its own kinds of record, the business number and the page of records given their ids; pages that list records
of any kind (the audit log) ask here, never another domain's models.

    add_namer("invoice", lambda ids: {id: Named("Invoice INV-HA-000061", "/billing/invoices/61"), ...})
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from medcover.labels import label

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Named:
    """A record in words: "Invoice INV-HA-000061", and its page when the reader may open it."""

    text: str
    url: str | None = None


#: entity type -> a function from a set of ids (as stored: strings) to their names
_namers: dict[str, Callable[[set[str]], dict[str, Named]]] = {}


def add_namer(entity_type: str, namer: Callable[[set[str]], dict[str, Named]]) -> None:
    _namers[entity_type] = namer


def names_for(pairs: Iterable[tuple[str, str | None]]) -> dict[tuple[str, str], Named]:
    """Names for (entity type, id) pairs, one call per kind of record. A record without a namer, or one its namer
    no longer finds, is named by its kind alone ("Billing item"), never by its id."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for entity_type, entity_id in pairs:
        if entity_id:
            wanted[entity_type].add(str(entity_id))
    found: dict[tuple[str, str], Named] = {}
    for entity_type, ids in wanted.items():
        namer = _namers.get(entity_type)
        try:
            named = namer(ids) if namer is not None else {}
        except Exception:  # a page that names records never fails over a name: the kind alone will do
            log.exception("naming %s records failed", entity_type)
            named = {}
        for entity_id in ids:
            found[(entity_type, entity_id)] = named.get(entity_id) or Named(label(entity_type))
    return found


def whole_ids(ids: Iterable[str]) -> set[int]:
    """The ids that are whole numbers (audit entries store them as text)."""
    return {int(i) for i in ids if str(i).isdigit() and 0 < int(i) < 2**31}
