"""The base layout's navigation, filled by the domains at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from medcover.rbac import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: frozenset[Role]
    order: int = 100


_items: list[NavItem] = []


def add_nav(label: str, endpoint: str, roles, order: int = 100) -> None:
    item = NavItem(label, endpoint, frozenset(roles), order)
    if item not in _items:
        _items.append(item)
        _items.sort(key=lambda entry: entry.order)


def nav_for(user) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [item for item in _items if user.role in item.roles]


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
