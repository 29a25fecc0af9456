"""Who reads the billing pages, and the hospitals a person may choose on them (a platform user chooses any;
everyone else is held to their own by the services)."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from blueprints.billing.services import WRITERS
from blueprints.billing.web.forms import choices
from blueprints.hospital import services as hospital
from medcover.errors import Invalid
from medcover.pages import tenant
from medcover.rbac import Role

#: who reads invoices, prices and receivables (insurer staff: those billing their company); WRITERS change them
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR})


def text(value: str | None, limit: int) -> str:
    """A query-string or path value cut to ``limit`` characters, without NUL bytes."""
    return (value or "").replace("\x00", "")[:limit]


def institutions() -> list:
    return hospital.institutions_of(tenant())


def institution_choices(form) -> None:
    form.institution_id.choices = choices([(0, "Choose a hospital…")] + [(i.id, i.name) for i in institutions()])


def institution_filter() -> int | None:
    """A platform user may narrow a page to one hospital; everyone else is held to their own by the services."""
    return (request.args.get("institution_id", type=int) or None) if tenant().is_global else None


def institution_names() -> dict[int, str]:
    """For a platform user's hospital filter; others see only their own, so there is nothing to choose."""
    return {i.id: i.name for i in institutions()} if tenant().is_global else {}


def may_write() -> bool:
    """Writers of a hospital or the platform; insurer staff never price a hospital's services."""
    scope = tenant()
    return current_user.role in WRITERS and (scope.is_global or scope.institution_id is not None)


def chosen_institution(form_value: int | None) -> int:
    """The user's own hospital, or the one a platform user chose on the form."""
    institution_id = current_user.institution_id or form_value or 0
    if not institution_id:
        raise Invalid.field("institution_id", "Choose a hospital.")
    return institution_id
