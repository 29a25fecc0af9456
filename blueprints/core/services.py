"""The core domain's public face: users, sign-in, sessions, password resets, invitations, the audit log.

Services take the acting user as an argument, flush, and leave the commit to the edge.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, or_, select, update

from blueprints.core.models import (
    AuditLog,
    Invitation,
    LoginThrottle,
    PasswordReset,
    RefreshToken,
    User,
    UserSession,
)
from blueprints.core.passwords import hash_password, needs_rehash, password_problems, verify_password
from medcover import clock
from medcover.audit import changes, snapshot
from medcover.context import current_origin
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import publish
from medcover.extensions import db
from medcover.rbac import HOSPITAL_ONLY, INSURER_ONLY, Role, Tenant, scope, tenant_of

USER_FIELDS = ("email", "full_name", "role", "institution_id", "company_id", "active")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


# --- audit -------------------------------------------------------------------------------------


def record_audit(
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id=None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    summary: str | None = None,
    institution_id: int | None = None,
    company_id: int | None = None,
) -> AuditLog:
    """Write one audit entry in the current transaction, with where the request came from."""
    origin = current_origin()
    entry = AuditLog(
        occurred_at=clock.now(),
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else None,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        institution_id=institution_id,
        company_id=company_id,
        ip_address=origin.ip_address,
        request_id=origin.request_id,
        channel=origin.channel,
        before=before,
        after=after,
        summary=summary,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    user: str = ""
    entity_type: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_query(viewer: User, filters: AuditFilter):
    """Audit entries the viewer may read, newest first, filtered; a select to page or export."""
    stmt = select(AuditLog).order_by(AuditLog.occurred_at.desc(), AuditLog.id.desc())
    stmt = scope(stmt, AuditLog, tenant_of(viewer))
    if filters.user:
        stmt = stmt.where(AuditLog.actor_label.ilike(f"%{_like(filters.user)}%", escape="\\"))
    if filters.entity_type:
        stmt = stmt.where(AuditLog.entity_type == filters.entity_type)
    if filters.action:
        stmt = stmt.where(AuditLog.action == filters.action)
    if filters.date_from:
        # Dates are UTC days, as the page shows them; the column takes aware datetimes only.
        stmt = stmt.where(AuditLog.occurred_at >= datetime.combine(filters.date_from, time.min, UTC))
    if filters.date_to and filters.date_to < date.max:  # the last day there is needs no upper bound
        stmt = stmt.where(AuditLog.occurred_at < datetime.combine(filters.date_to + timedelta(days=1), time.min, UTC))
    return stmt


def audit_entity_types() -> list[str]:
    return list(db.session.scalars(select(AuditLog.entity_type).distinct().order_by(AuditLog.entity_type)))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- users -------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _check_email(email: str) -> str:
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


def _check_tenant(role: Role, institution_id: int | None, company_id: int | None) -> None:
    """Hospital roles need an institution, insurer roles a company; nobody has both."""
    if institution_id is not None and company_id is not None:
        raise Invalid.field("company_id", "A user belongs to an institution or a company, not both.")
    if role in HOSPITAL_ONLY and institution_id is None:
        raise Invalid.field("institution_id", "This role works for an institution: choose one.")
    if role in INSURER_ONLY and company_id is None:
        raise Invalid.field("company_id", "This role works for an insurance company: choose one.")
    if role is Role.INTEGRATION and institution_id is None and company_id is None:
        raise Invalid.field("institution_id", "An integration is bound to one institution or company.")


def _check_actor_may_manage(actor: User | None, institution_id, company_id, role: Role) -> None:
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


def _parse_role(role) -> Role:
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
    role = _parse_role(role)
    email = _check_email(email)
    full_name = _check_full_name(full_name)
    _check_tenant(role, institution_id, company_id)
    _check_actor_may_manage(actor, institution_id, company_id, role)
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
    role = _parse_role(role)
    full_name = _check_full_name(full_name)
    _check_tenant(role, institution_id, company_id)
    _check_actor_may_manage(actor, institution_id, company_id, role)
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
    if user is None or not tenant_of(viewer).owns(user.institution_id, user.company_id):
        raise NotFound("No such user.")
    if not tenant_of(viewer).is_global and user.institution_id is None and user.company_id is None:
        raise NotFound("No such user.")
    return user


def user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def users_query(viewer: User, search: str = "", role: str = "", active: bool | None = None):
    """Users the viewer may see, by name or email, for a page of the user list."""
    stmt = scope(select(User), User, tenant_of(viewer)).order_by(User.full_name, User.id)
    if search:
        pattern = f"%{_like(search.strip().lower())}%"
        stmt = stmt.where(
            or_(func.lower(User.full_name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    if role:
        stmt = stmt.where(User.role == _parse_role(role))
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


# --- signing in ---------------------------------------------------------------------------------


class LoginRefused(Exception):
    """Sign-in refused; the message never says whether the account exists."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


BAD_CREDENTIALS = "Email or password is incorrect."


def _throttle(key: str) -> LoginThrottle:
    row = db.session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0)
        db.session.add(row)
    return row


def _throttle_keys(email: str, ip_address: str | None) -> tuple[str, str]:
    return f"account:{token_hash(email)[:40]}", f"address:{ip_address or 'unknown'}"


def _blocked_seconds(rows: list[LoginThrottle]) -> int:
    now = clock.now()
    waits = [(r.blocked_until - now).total_seconds() for r in rows if r.blocked_until]
    wait = max(waits, default=0)
    return int(wait) + 1 if wait > 0 else 0


def _note_failure(row: LoginThrottle, lock_after: int, *, slow_down: bool = True) -> None:
    config = current_app.config
    now = clock.now()
    window = timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
    if row.last_failed_at and now - row.last_failed_at > window:
        row.failures = 0  # an old run of failures is forgiven
    row.failures = (row.failures or 0) + 1
    row.last_failed_at = now
    if row.failures >= lock_after:
        row.blocked_until = now + window
    elif slow_down and row.failures >= config["LOGIN_SLOWDOWN_AFTER"]:
        row.blocked_until = now + timedelta(seconds=2 ** (row.failures - config["LOGIN_SLOWDOWN_AFTER"]))


def authenticate(email: str, password: str, ip_address: str | None) -> User:
    """The user for these credentials, or LoginRefused. Failures are counted per account and address."""
    config = current_app.config
    email = normalize_email(email)[:254]
    account_key, address_key = _throttle_keys(email, ip_address)
    account, address = _throttle(account_key), _throttle(address_key)
    wait = _blocked_seconds([account, address])
    if wait:
        record_audit(None, "login_blocked", "user", None, summary=f"throttled sign-in for {email}"[:300])
        db.session.flush()
        minutes = (wait + 59) // 60
        raise LoginRefused(
            f"Too many failed sign-ins. Try again in {wait} seconds."
            if wait < 60
            else f"Too many failed sign-ins. Try again in {minutes} minutes.",
            retry_after=wait,
        )
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    valid = verify_password(user.password_hash if user else None, password or "")
    if not valid or user is None or not user.active:
        _note_failure(account, config["LOGIN_LOCK_AFTER"])
        # No growing delay per address: a hospital's staff share one, and a delay doubling with every
        # colleague's typo would lock them all out long before LOGIN_ADDRESS_LOCK_AFTER is reached.
        _note_failure(address, config["LOGIN_ADDRESS_LOCK_AFTER"], slow_down=False)
        record_audit(
            user if user else None,
            "login_failed",
            "user",
            user.id if user else None,
            summary="wrong password" if user else "unknown account",
            institution_id=user.institution_id if user else None,
            company_id=user.company_id if user else None,
        )
        db.session.flush()
        raise LoginRefused(BAD_CREDENTIALS)
    account.failures, account.blocked_until = 0, None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    record_audit(user, "login", "user", user.id, institution_id=user.institution_id, company_id=user.company_id)
    return user


def record_logout(user: User) -> None:
    record_audit(user, "logout", "user", user.id, institution_id=user.institution_id, company_id=user.company_id)


# --- sessions ----------------------------------------------------------------------------------


def active_sessions(user_id: int) -> list[UserSession]:
    now = clock.now()
    idle = current_app.config["SESSION_IDLE_TIMEOUT"]
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > now)
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    return [row for row in rows if now - row.last_seen_at <= idle]


def revoke_session(*, actor: User, session_id: int) -> None:
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != actor.id or row.revoked_at is not None:
        raise NotFound("No such session.")
    row.revoked_at, row.revoked_reason = clock.now(), "revoked"
    record_audit(
        actor,
        "session_revoke",
        "user_session",
        row.id,
        institution_id=actor.institution_id,
        company_id=actor.company_id,
    )
    db.session.flush()


def end_session(session_id: int, *, reason: str) -> None:
    row = db.session.get(UserSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at, row.revoked_reason = clock.now(), reason
        db.session.flush()


def end_user_sessions(user_id: int, *, reason: str, keep_session_id: int | None = None) -> int:
    """End every live session of a user (sign out everywhere, password change, deactivation)."""
    stmt = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if keep_session_id is not None:
        stmt = stmt.where(UserSession.id != keep_session_id)
    result = db.session.execute(
        stmt.values(revoked_at=clock.now(), revoked_reason=reason), execution_options={"synchronize_session": "fetch"}
    )
    revoke_refresh_tokens(user_id)
    return result.rowcount or 0


def sign_out_everywhere(*, actor: User) -> int:
    count = end_user_sessions(actor.id, reason="signed_out_everywhere")
    record_audit(
        actor,
        "sign_out_everywhere",
        "user",
        actor.id,
        summary=f"{count} session(s) ended",
        institution_id=actor.institution_id,
        company_id=actor.company_id,
    )
    return count


# --- passwords ---------------------------------------------------------------------------------


def change_password(*, actor: User, current_password: str, new_password: str) -> None:
    if not verify_password(actor.password_hash, current_password or ""):
        raise Invalid.field("current_password", "Your current password is not correct.")
    _set_password(actor, new_password, reason="password_changed")
    record_audit(
        actor, "password_change", "user", actor.id, institution_id=actor.institution_id, company_id=actor.company_id
    )


def _set_password(user: User, new_password: str, *, reason: str) -> None:
    problems = password_problems(new_password or "", current_app.config["PASSWORD_MIN_LENGTH"], user.email)
    if problems:
        raise Invalid("The new password is too weak.", {"new_password": problems})
    if verify_password(user.password_hash, new_password):
        raise Invalid.field("new_password", "Choose a password different from the current one.")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = clock.now()
    db.session.flush()
    end_user_sessions(user.id, reason=reason)
    publish(
        "user.password_changed",
        {"user_id": user.id, "institution_id": user.institution_id, "company_id": user.company_id},
    )


def request_password_reset(email: str, reset_url) -> None:
    """Email a single-use link when the account exists; the caller says the same either way."""
    email = normalize_email(email)
    user = db.session.scalar(select(User).where(User.email == email, User.active.is_(True))) if email else None
    if user is None:
        record_audit(None, "password_reset_request", "user", None, summary="unknown account")
        return
    token = new_token()
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    db.session.add(
        PasswordReset(
            user_id=user.id, token_hash=token_hash(token), expires_at=clock.now() + timedelta(minutes=minutes)
        )
    )
    record_audit(
        user, "password_reset_request", "user", user.id, institution_id=user.institution_id, company_id=user.company_id
    )
    from medcover import jobs, mail

    body = (
        f"Hello {user.full_name},\n\nSomeone (we hope you) asked to reset your MedCover password.\n"
        f"Open this link within {minutes} minutes to choose a new one:\n\n{reset_url(token)}\n\n"
        "The link works once. If you did not ask for it, ignore this email: your password stays as it is.\n"
    )
    # The link exists only in this email: if Redis is down, send it from here rather than lose it.
    jobs.enqueue(
        mail.send_email,
        to=user.email,
        subject="Reset your MedCover password",
        body=body,
        queue="notifications",
        inline_fallback=True,
    )
    publish("user.password_reset_requested", {"user_id": user.id})


def _live_reset(token: str) -> PasswordReset | None:
    row = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == token_hash(token or "")))
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        return None
    return row


def reset_token_valid(token: str) -> bool:
    return _live_reset(token) is not None


def reset_password(token: str, new_password: str) -> User:
    row = _live_reset(token)
    if row is None:
        raise Invalid.field("token", "This reset link has expired or was already used. Ask for a new one.")
    user = db.session.get(User, row.user_id)
    # Single use even under a double submit: only the request that flips used_at goes on.
    claimed = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None))
        .values(used_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
    if claimed.rowcount != 1:
        raise Invalid.field("token", "This reset link has expired or was already used. Ask for a new one.")
    _set_password(user, new_password, reason="password_reset")
    record_audit(
        user, "password_reset", "user", user.id, institution_id=user.institution_id, company_id=user.company_id
    )
    return user


# --- invitations -------------------------------------------------------------------------------


def invite_user(
    *, actor: User, email: str, role: Role | str, institution_id: int | None, company_id: int | None, register_url
) -> Invitation:
    role = _parse_role(role)
    email = _check_email(email)
    _check_tenant(role, institution_id, company_id)
    _check_actor_may_manage(actor, institution_id, company_id, role)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("A user with this email already exists.", {"email": ["This email is already in use."]})
    token = new_token()
    invitation = Invitation(
        email=email,
        role=role,
        institution_id=institution_id,
        company_id=company_id,
        token_hash=token_hash(token),
        invited_by_id=actor.id,
        expires_at=clock.now() + timedelta(days=7),
    )
    db.session.add(invitation)
    db.session.flush()
    record_audit(
        actor,
        "invite",
        "user_invitation",
        invitation.id,
        after={"email": email, "role": role.value},
        institution_id=institution_id,
        company_id=company_id,
    )
    from medcover import jobs, mail

    body = (
        f"{actor.full_name} invited you to MedCover as {role.label}.\n\n"
        f"Open this link within 7 days to choose your name and password:\n\n{register_url(token)}\n"
    )
    jobs.enqueue(
        mail.send_email,
        to=email,
        subject="Your MedCover invitation",
        body=body,
        queue="notifications",
        inline_fallback=True,
    )
    return invitation


def invitation_for(token: str) -> Invitation | None:
    row = db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token or "")))
    if row is None or row.accepted_at is not None or row.expires_at <= clock.now():
        return None
    return row


def accept_invitation(token: str, *, full_name: str, password: str) -> User:
    invitation = invitation_for(token)
    if invitation is None:
        raise Invalid.field("token", "This invitation has expired or was already used.")
    user = create_user(
        actor=None,
        email=invitation.email,
        full_name=full_name,
        role=invitation.role,
        password=password,
        institution_id=invitation.institution_id,
        company_id=invitation.company_id,
    )
    invitation.accepted_at = clock.now()
    db.session.flush()
    return user


# --- API refresh tokens (see tokens.py for the JWTs) -------------------------------------------


def revoke_refresh_tokens(user_id: int) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
