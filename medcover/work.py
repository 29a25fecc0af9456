"""The home page's work waiting: counts the domains register at start-up, each linking to the list it counted.

A domain registers one count read (``add_work_counts``) and the items it answers for (``add_work``). The home
page asks each domain once, with the keys the person's role and side need, so it makes one query per domain
however many rows there are. The chassis imports no domain: the reads arrive as functions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date

from flask import current_app, url_for
from sqlalchemy import func, select

from medcover.extensions import db
from medcover.rbac import Role, Tenant, access_of, tenant_of

#: which side of the platform a person works on: a hospital's staff, an insurer's, or the platform's own
HOSPITAL, INSURER, PLATFORM = "hospital", "insurer", "platform"
EVERY_SIDE = frozenset({HOSPITAL, INSURER, PLATFORM})


@dataclass(frozen=True)
class Waiting:
    """What a count read says about one item: how many wait, and since when the oldest of them waits."""

    count: int
    oldest: date | None = None
    #: a plain sentence when the count cannot tell the whole story ("The job queue cannot be reached.")
    note: str = ""


#: ``count_fn(tenant, keys)`` -> {key: count or Waiting} for the wanted keys, in one query
CountRead = Callable[[Tenant, frozenset[str]], Mapping[str, "int | Waiting"]]


@dataclass(frozen=True)
class WorkItem:
    source: str
    key: str
    #: what waits, as a heading: "Overdue invoices"
    label: str
    #: what the count holds, in a line: "Issued, with a balance past the due date"
    hint: str
    roles: frozenset[Role]
    sides: frozenset[str]
    #: the list page showing exactly what was counted
    endpoint: str
    params: tuple[tuple[str, str], ...]
    order: int

    def url(self) -> str:
        return url_for(self.endpoint, **dict(self.params))


@dataclass(frozen=True)
class WorkCard:
    item: WorkItem
    waiting: Waiting
    url: str


_sources: dict[str, CountRead] = {}
_items: list[WorkItem] = []


def add_work_counts(source: str, count_fn: CountRead) -> None:
    """The domain's count read: one call answers every item of ``source`` the page wants."""
    _sources[source] = count_fn


def add_work(
    source: str,
    key: str,
    label: str,
    *,
    roles: Collection[Role],
    endpoint: str,
    params: Mapping[str, str] | None = None,
    sides: Collection[str] = EVERY_SIDE,
    hint: str = "",
    order: int = 100,
) -> None:
    unknown = set(sides) - EVERY_SIDE
    if unknown:
        raise ValueError(f"unknown sides {sorted(unknown)}")
    item = WorkItem(
        source,
        key,
        label,
        hint,
        frozenset(roles),
        frozenset(sides),
        endpoint,
        tuple(sorted((params or {}).items())),
        order,
    )
    if item not in _items:
        _items.append(item)
        _items.sort(key=lambda entry: (entry.order, entry.label))


def side_of(tenant: Tenant) -> str:
    if tenant.institution_id is not None:
        return HOSPITAL
    if tenant.company_id is not None:
        return INSURER
    return PLATFORM


def _may_open(endpoint: str, role: Role) -> bool:
    """The same declaration that guards the list page: a card never leads to a 403."""
    view = current_app.view_functions.get(endpoint)
    access = access_of(view) if view is not None else None
    return access is not None and (access.public or role in access.roles)


def work_for(user) -> list[WorkItem]:
    """The items a person's role acts on, on their side, whose list they may open."""
    if not getattr(user, "is_authenticated", False):
        return []
    side = side_of(tenant_of(user))
    return [
        item
        for item in _items
        if user.role in item.roles
        and side in item.sides
        and item.source in _sources
        and _may_open(item.endpoint, user.role)
    ]


def waiting_for(user) -> list[WorkCard]:
    """The person's cards with their counts: one read per domain, whatever the number of rows."""
    items = work_for(user)
    tenant = tenant_of(user)
    wanted: dict[str, set[str]] = {}
    for item in items:
        wanted.setdefault(item.source, set()).add(item.key)
    counts: dict[tuple[str, str], Waiting] = {}
    for source, keys in wanted.items():
        answered = _sources[source](tenant, frozenset(keys))
        for key in keys:
            value = answered.get(key, 0)
            counts[source, key] = value if isinstance(value, Waiting) else Waiting(int(value or 0))
    return [WorkCard(item, counts[item.source, item.key], item.url()) for item in items]


# --- for the domains' count reads ----------------------------------------------------------------


def counted(stmt):
    """A scalar subquery counting the rows of a list page's select, so the card and the list agree by construction."""
    return select(func.count()).select_from(stmt.order_by(None).subquery()).scalar_subquery()


def read_together(columns: Mapping[str, object]) -> dict[str, object]:
    """Several scalar subqueries read in one statement: {name: value}."""
    if not columns:
        return {}
    names = list(columns)
    row = db.session.execute(select(*(columns[name].label(name) for name in names))).one()
    return dict(zip(names, row, strict=True))


def platform_waiting() -> dict[tuple[str, str], int]:
    """Every registered count, platform wide ({(source, key): count}), for the metrics scrape: one read per domain."""
    everyone = Tenant(None, None)
    wanted: dict[str, set[str]] = {}
    for item in _items:
        if item.source in _sources:
            wanted.setdefault(item.source, set()).add(item.key)
    counts: dict[tuple[str, str], int] = {}
    for source, keys in wanted.items():
        for key, value in _sources[source](everyone, frozenset(keys)).items():
            counts[source, key] = value.count if isinstance(value, Waiting) else int(value or 0)
    return counts
