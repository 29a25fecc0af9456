"""Staff accounts: who they are, which role, which organisation; created, changed, (de)activated, listed."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, or_, select

from blueprints.core.models import User
from blueprints.core.passwords import hash_password, password_problems
from blueprints.core.services.audit import contains_pattern, record_audit
from blueprints.core.services.sessions import end_user_sessions
from medcover.audit import changes, snapshot
from medcover.bulk import among
from medcover.errors import Conflict, Forbidden, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import HOSPITAL_ONLY, INSURER_ONLY, Role, Tenant, scope, tenant_of

USER_FIELDS = ("email", "full_name", "role", "institution_id", "company_id", "active")


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def check_email(email: str) -> str:
    email = normalize_email(email)
    if not email:
        raise Invalid.field("email", "Enter an email address.")
    if len(email) > 254:
        raise Invalid.field("email", "Use at most 254 characters.")
    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise Invalid.field("email", "Enter a valid email address.") from None


def _check_full_name(full_name: str) -> str:
    full_name = " ".join((full_name or "").split())
    if not full_name:
        raise Invalid.field("full_name", "Enter the person's name.")
    if any(unicodedata.category(char) == "Cc" for char in full_name):
        # NUL, escape sequences and the like: PostgreSQL refuses NUL, terminals and CSV readers act on the rest.
        raise Invalid.field("full_name", "Use letters, spaces and punctuation only.")
    if len(full_name) > 120:
        raise Invalid.field("full_name", "Use at most 120 characters.")
    return full_name


def check_tenant(role: Role, institution_id: int | None, company_id: int | None) -> None:
    """Hospital roles need an institution, insurer roles a company; nobody has both."""
    if institution_id is not None and company_id is not None:
        raise Invalid.field("company_id", "A user belongs to an institution or a company, not both.")
    if role in HOSPITAL_ONLY and institution_id is None:
        raise Invalid.field("institution_id", "This role works for an institution: choose one.")
    if role in INSURER_ONLY and company_id is None:
        raise Invalid.field("company_id", "This role works for an insurance company: choose one.")
    if role is Role.INTEGRATION and institution_id is None and company_id is None:
        raise Invalid.field("institution_id", "An integration is bound to one institution or company.")


def check_may_manage(actor: User | None, institution_id, company_id, role: Role) -> None:
    """A tenant admin manages only its own tenant and cannot create platform admins."""
    if actor is None:
        return
    if actor.role is not Role.ADMIN:
        raise Forbidden("Only administrators manage users.")
    tenant = tenant_of(actor)
    if not tenant.is_global and not tenant.owns(institution_id, company_id):
        raise Forbidden("You can manage users of your own organisation only.")
    if not tenant.is_global and institution_id is None and company_id is None:
        raise Forbidden("You can manage users of your own organisation only.")


def parse_role(role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise Invalid.field("role", "Choose one of the listed roles.") from None


def create_user(
    *,
    actor: User | None,
    email: str,
    full_name: str,
    role: Role | str,
    password: str,
    institution_id: int | None = None,
    company_id: int | None = None,
) -> User:
    role = parse_role(role)
    email = check_email(email)
    full_name = _check_full_name(full_name)
    check_tenant(role, institution_id, company_id)
    check_may_manage(actor, institution_id, company_id, role)
    problems = password_problems(password or "", current_app.config["PASSWORD_MIN_LENGTH"], email)
    if problems:
        raise Invalid("The password is too weak.", {"password": problems})
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("A user with this email already exists.", {"email": ["This email is already in use."]})
    user = User(
        email=email,
        full_name=full_name,
        role=role,
        institution_id=institution_id,
        company_id=company_id,
        password_hash=hash_password(password),
        active=True,
    )
    db.session.add(user)
    db.session.flush()
    record_audit(
        actor,
        "create",
        "user",
        user.id,
        after=snapshot(user, USER_FIELDS),
        institution_id=institution_id,
        company_id=company_id,
    )
    return user


def update_user(
    *,
    actor: User,
    user_id: int,
    full_name: str,
    role: Role | str,
    institution_id: int | None,
    company_id: int | None,
    active: bool,
) -> User:
    user = get_user(actor, user_id)
    role = parse_role(role)
    full_name = _check_full_name(full_name)
    check_tenant(role, institution_id, company_id)
    check_may_manage(actor, institution_id, company_id, role)
    if user.id == actor.id and (role is not actor.role or not active):
        raise Conflict("You cannot change your own role or deactivate yourself.")
    before = snapshot(user, USER_FIELDS)
    user.full_name, user.role, user.active = full_name, role, active
    user.institution_id, user.company_id = institution_id, company_id
    db.session.flush()
    after = snapshot(user, USER_FIELDS)
    if before == after:
        return user
    old, new = changes(before, after)
    action = "role_change" if "role" in new else "update"
    record_audit(
        actor,
        action,
        "user",
        user.id,
        before=old,
        after=new,
        institution_id=user.institution_id,
        company_id=user.company_id,
    )
    if not active and before["active"]:
        end_user_sessions(user.id, reason="deactivated")
    return user


def set_active(*, actor: User, user_id: int, active: bool) -> User:
    user = get_user(actor, user_id)
    return update_user(
        actor=actor,
        user_id=user.id,
        full_name=user.full_name,
        role=user.role,
        institution_id=user.institution_id,
        company_id=user.company_id,
        active=active,
    )


def get_user(viewer: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if not tenant_of(viewer).owns(user.institution_id, user.company_id):
        raise Hidden("No such user.", record=f"user {user.id}")
    if not tenant_of(viewer).is_global and user.institution_id is None and user.company_id is None:
        raise NotFound("No such user.")
    return user


def user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def users_query(viewer: User, search: str = "", role: str = "", active: bool | None = None):
    """Users the viewer may see, by name or email, for a page of the user list."""
    stmt = scope(select(User), User, tenant_of(viewer)).order_by(User.full_name, User.id)
    if search:
        pattern = contains_pattern(search.strip().lower())
        stmt = stmt.where(
            or_(func.lower(User.full_name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    if role:
        stmt = stmt.where(User.role == parse_role(role))
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    return stmt


@dataclass(frozen=True)
class UserSummary:
    id: int
    email: str
    full_name: str
    role: str


def users_by_id(ids) -> dict[int, UserSummary]:
    """Batch form for other domains: names of many users in one query."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.email, User.full_name, User.role).where(User.id.in_(ids)))
    return {r.id: UserSummary(r.id, r.email, r.full_name, r.role.value) for r in rows}


def user_ids_with_role(role: Role, tenant: Tenant | None = None) -> list[int]:
    stmt = select(User.id).where(User.role == role, User.active.is_(True))
    if tenant is not None:
        stmt = scope(stmt, User, tenant)
    return list(db.session.scalars(stmt))


def user_ids_by_institution(role: Role, institution_ids) -> dict[int, list[int]]:
    """``user_ids_with_role`` for many hospitals at once, in one query: each one's active users of ``role``, by
    id (an empty list for a hospital with none)."""
    found: dict[int, list[int]] = {int(i): [] for i in institution_ids}
    if found:
        rows = db.session.execute(
            select(User.id, User.institution_id)
            .where(User.role == role, User.active.is_(True), among(User.institution_id, found))
            .order_by(User.id)
        )
        for user_id, institution_id in rows:
            found[institution_id].append(user_id)
    return found
