"""A new password: chosen by its owner, or through a single-use link emailed to someone who forgot theirs.
Either way every session of the account ends."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from blueprints.core.models import PasswordReset, User
from blueprints.core.passwords import hash_password, password_problems, verify_password
from blueprints.core.services.audit import record_audit
from blueprints.core.services.secret_tokens import new_token, token_hash
from blueprints.core.services.sessions import end_user_sessions
from blueprints.core.services.users import normalize_email
from medcover import clock
from medcover.errors import Invalid
from medcover.events import publish
from medcover.extensions import db


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
