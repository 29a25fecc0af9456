"""Who may call what: roles, the per-route access declaration, and tenant scoping of rows.

Every route declares its access with ``@allow(...)`` or ``@public``; the app refuses any endpoint
that declares nothing, and a test walks the URL map against the declarations.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import abort, request
from flask_login import current_user

from medcover.errors import Hidden, NotFound


class Role(enum.StrEnum):
    ADMIN = "admin"
    RECEPTIONIST = "receptionist"
    BILLING_CLERK = "billing_clerk"
    ADJUDICATOR = "adjudicator"
    FINANCE_OFFICER = "finance_officer"
    AUDITOR = "auditor"
    INTEGRATION = "integration"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


ALL_ROLES = frozenset(Role)
STAFF = frozenset(Role) - {Role.INTEGRATION}
#: roles that only exist on the hospital side or only on the insurer side
HOSPITAL_ONLY = frozenset({Role.RECEPTIONIST, Role.BILLING_CLERK})
INSURER_ONLY = frozenset({Role.ADJUDICATOR})
#: roles that change nothing
READ_ONLY = frozenset({Role.AUDITOR})


@dataclass(frozen=True)
class Access:
    public: bool
    roles: frozenset[Role]


def _is_api_request() -> bool:
    return request.blueprint is not None and request.blueprint.startswith("api")


def allow(*roles: Role | frozenset[Role]):
    """Only signed-in users with one of these roles; others get 401 (API) / login page, or 403."""
    allowed: set[Role] = set()
    for role in roles:
        allowed |= set(role) if isinstance(role, frozenset | set) else {role}
    access = Access(public=False, roles=frozenset(allowed))

    def decorate(view: Callable):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                if _is_api_request():
                    abort(401)
                from medcover.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in access.roles:
                abort(403)
            return view(*args, **kwargs)

        guarded.access = access
        return guarded

    return decorate


def public(view: Callable) -> Callable:
    view.access = Access(public=True, roles=ALL_ROLES)
    return view


def access_of(view: Callable) -> Access | None:
    return getattr(view, "access", None)


@dataclass(frozen=True)
class Tenant:
    """The rows a user may see: everything (a platform admin or auditor), one institution, or one company."""

    institution_id: int | None
    company_id: int | None

    @property
    def is_global(self) -> bool:
        return self.institution_id is None and self.company_id is None

    def owns(self, institution_id: int | None, company_id: int | None) -> bool:
        if self.is_global:
            return True
        if self.institution_id is not None:
            return institution_id == self.institution_id
        return company_id == self.company_id


def tenant_of(user) -> Tenant:
    return Tenant(institution_id=user.institution_id, company_id=user.company_id)


def scope(stmt, model, tenant: Tenant):
    """Limit a select to the tenant's rows; the model has ``institution_id`` and/or ``company_id``."""
    if tenant.is_global:
        return stmt
    if tenant.institution_id is not None and hasattr(model, "institution_id"):
        return stmt.where(model.institution_id == tenant.institution_id)
    if tenant.company_id is not None and hasattr(model, "company_id"):
        return stmt.where(model.company_id == tenant.company_id)
    # A tenant-bound user and rows that belong to no tenant of its kind: nothing to see.
    return stmt.where(False)


def ensure_owned(tenant: Tenant, row) -> None:
    """Rows of another tenant are reported as missing, so their existence is not disclosed."""
    if row is None:
        raise NotFound("No such record.")
    if not tenant.owns(getattr(row, "institution_id", None), getattr(row, "company_id", None)):
        raise Hidden(record=f"{record_kind(row)} {getattr(row, 'id', '')}".strip())


def record_kind(row) -> str:
    """A row's kind in words for an audit entry: ``claim``, ``medical record`` (its table's name, singular)."""
    table = getattr(row, "__tablename__", type(row).__name__.lower())
    return table.removesuffix("s").replace("_", " ")
