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
