"""What the base layout offers a person: the side navigation, the global search's look-ups and the panels one
domain adds to another's page. The domains fill these registries at start-up (core imports none of them), and
every entry is read through the permission table that guards its route, so a link never leads to a 403."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import current_app, has_request_context, request, url_for

from medcover.rbac import Role, access_of, tenant_of

#: the areas of work, in the order the side navigation shows them
GROUPS = ("Front desk", "Clinical", "Billing", "Claims", "Insurance", "Finance", "Administration")
#: the two sides of the business; a user bound to neither works for the platform and sees both
HOSPITAL, INSURER, PLATFORM = "hospital", "insurer", "platform"


def side_of(user) -> str:
    tenant = tenant_of(user)
    if tenant.institution_id is not None:
        return HOSPITAL
    if tenant.company_id is not None:
        return INSURER
    return PLATFORM


def route_roles(endpoint: str) -> frozenset[Role]:
    """The roles the endpoint's ``@allow`` lets in, read once per app from its view function."""
    app = current_app._get_current_object()
    known = app.extensions.setdefault("medcover.route_roles", {})
    if endpoint not in known:
        view = app.view_functions.get(endpoint)
        access = access_of(view) if view is not None else None
        if access is None:
            raise LookupError(f"{endpoint} is not a route that declares who may call it")
        known[endpoint] = access.roles
    return known[endpoint]


def may_open(user, endpoint: str, side: str | None = None) -> bool:
    """Whether the route lets the user's role in and the page is for the user's side (a platform user: both)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if side is not None and side_of(user) not in (side, PLATFORM):
        return False
    return user.role in route_roles(endpoint)


# --- the side navigation -----------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    #: who the domain means the entry for; the route's own roles narrow it further
    roles: frozenset[Role]
    #: one of GROUPS; None for the entries above the groups (Home)
    group: str | None = None
    #: HOSPITAL or INSURER for a page of one side only; None when both use it
    side: str | None = None
    order: int = 100
    #: a further test of the user (one query at most, made once per request), e.g. clinical staff only
    when: Callable[[object], bool] | None = None


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    #: "page" on the entry's own page, "true" below it (an invoice under Invoices), else None
    current: str | None


@dataclass(frozen=True)
class NavGroup:
    name: str | None
    links: tuple[NavLink, ...]


_items: list[NavItem] = []


def add_nav(
    label: str,
    endpoint: str,
    roles: Iterable[Role],
    *,
    group: str | None = None,
    side: str | None = None,
    order: int = 100,
    when: Callable[[object], bool] | None = None,
) -> None:
    if group is not None and group not in GROUPS:
        raise ValueError(f"{label}: unknown navigation group {group!r}")
    if side not in (None, HOSPITAL, INSURER):
        raise ValueError(f"{label}: unknown side {side!r}")
    item = NavItem(label, endpoint, frozenset(roles), group, side, order, when)
    if item not in _items:
        _items.append(item)
        _items.sort(key=lambda entry: entry.order)


def _open_to(user) -> list[NavItem]:
    """The entries the user's role, its routes and its side let in (the entries' own tests left to ask), worked out
    once per app, role and side: the same for every request of everyone who shares them."""
    app = current_app._get_current_object()
    known = app.extensions.setdefault("medcover.nav_open_to", {})
    key = (user.role, side_of(user), len(_items))
    if key not in known:
        known[key] = [item for item in _items if user.role in item.roles and may_open(user, item.endpoint, item.side)]
    return known[key]


def nav_items(user) -> list[NavItem]:
    """The entries the user may open, in order: role, route, side and the entry's own test."""
    if not getattr(user, "is_authenticated", False):
        return []
    tests: dict[Callable, bool] = {}
    shown = []
    for item in _open_to(user):
        if item.when is not None:
            if item.when not in tests:
                tests[item.when] = bool(item.when(user))
            if not tests[item.when]:
                continue
        shown.append(item)
    return shown


def _current(links: list[tuple[NavItem, str]]) -> dict[str, str]:
    """The entry of this page ("page"), or the one whose address the page's lies under ("true")."""
    if not has_request_context():
        return {}
    for item, _url in links:
        if request.endpoint == item.endpoint:
            return {item.endpoint: "page"}
    below = [(item, url) for item, url in links if url != "/" and request.path.startswith(url.rstrip("/") + "/")]
    if not below:
        return {}
    item, _url = max(below, key=lambda pair: len(pair[1]))
    return {item.endpoint: "true"}


def address(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)`` for an address that is the same for every request under one script root (a
    route without arguments, a static file): worked out once per process. Every page's shell links a dozen such."""
    known = current_app.extensions.setdefault("medcover.nav_addresses", {})
    key = (endpoint, tuple(sorted(values.items())), request.script_root if has_request_context() else None)
    if key not in known:
        known[key] = url_for(endpoint, **values)
    return known[key]


def nav_for(user) -> list[NavGroup]:
    """The side navigation, grouped by area of work; worked out once per request."""
    # Kept with the request itself (its WSGI environ), not on ``g``, which tests share between requests.
    cache = request.environ.setdefault("medcover.navigation", {}) if has_request_context() else {}
    key = getattr(user, "id", None)
    if key not in cache:
        items = nav_items(user)
        links = [(item, address(item.endpoint)) for item in items]
        current = _current(links)
        groups = []
        for name in (None, *GROUPS):
            members = tuple(
                NavLink(item.label, url, current.get(item.endpoint)) for item, url in links if item.group == name
            )
            if members:
                groups.append(NavGroup(name, members))
        cache[key] = groups
    return cache[key]


# --- the global search -------------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    #: fn(user, text) -> the records with exactly that number, as (label, url) pairs, or None
    find: Callable[[object, str], Iterable[tuple[str, str]] | None]
    #: the page the matches open: a user it does not let in is not asked
    endpoint: str
    side: str | None = None


@dataclass(frozen=True)
class Match:
    label: str
    url: str


_lookups: list[Lookup] = []


def add_lookup(find: Callable, *, endpoint: str, side: str | None = None) -> None:
    lookup = Lookup(find, endpoint, side)
    if lookup not in _lookups:
        _lookups.append(lookup)


def look_up(user, text: str) -> list[Match]:
    """Every record the user may open whose number is ``text``, asking only the look-ups whose page lets them in."""
    text = (text or "").strip()
    if not text:
        return []
    found: list[Match] = []
    for lookup in _lookups:
        if may_open(user, lookup.endpoint, lookup.side):
            found.extend(Match(label, url) for label, url in (lookup.find(user, text) or ()))
    return found


# --- panels ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    """A block a higher domain adds to a lower domain's page, loaded by its own URL (``hx-get``), so the
    page's domain never imports the panel's."""

    page: str
    endpoint: str
    roles: frozenset[Role]
    #: the heading shown while the panel loads
    label: str = ""


_panels: list[Panel] = []


def add_panel(page: str, endpoint: str, roles, label: str = "") -> None:
    panel = Panel(page, endpoint, frozenset(roles), label)
    if panel not in _panels:
        _panels.append(panel)


def has_panels(page: str) -> bool:
    """Whether any domain registered a panel for the page (whoever may see it)."""
    return any(panel.page == page for panel in _panels)


def panels_for(page: str, user) -> list[Panel]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [panel for panel in _panels if panel.page == page and user.role in panel.roles]
