"""Signing in by email and password, with failures counted per account and per address (the throttle)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from blueprints.core.models import LoginThrottle, User
from blueprints.core.passwords import hash_password, needs_rehash, verify_password
from blueprints.core.services.audit import record_audit
from blueprints.core.services.secret_tokens import token_hash
from blueprints.core.services.users import normalize_email
from medcover import clock
from medcover.extensions import db


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


def signed_in_user(user_id: str) -> User | None:
    """The user a session names, while the account is active (Flask-Login's user loader)."""
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    return user if user is not None and user.active else None
