"""Factory functions: each test builds exactly the world it needs in a line or two."""

from __future__ import annotations

import itertools

from blueprints.core.models import User
from blueprints.core.passwords import hash_password
from medcover.extensions import db
from medcover.rbac import HOSPITAL_ONLY, INSURER_ONLY, Role

PASSWORD = "Correct-horse-9"  # noqa: S105
_seq = itertools.count(1)


def default_tenant(role: Role) -> dict:
    if role in HOSPITAL_ONLY or role is Role.INTEGRATION:
        return {"institution_id": 1, "company_id": None}
    if role in INSURER_ONLY or role is Role.FINANCE_OFFICER:
        return {"institution_id": None, "company_id": 1}
    return {"institution_id": None, "company_id": None}


def make_user(
    role: Role | str = Role.ADMIN,
    *,
    email: str | None = None,
    full_name: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
    **tenant,
) -> User:
    """A user of that role; hospital roles at institution 1 and insurer roles at company 1 unless told."""
    role = Role(role)
    n = next(_seq)
    fields = default_tenant(role) | tenant
    user = User(
        email=(email or f"{role.value}{n}@example.com").lower(),
        full_name=full_name or f"{role.label} {n}",
        role=role,
        password_hash=hash_password(password),
        active=active,
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user
