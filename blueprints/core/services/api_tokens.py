"""API tokens: short-lived JWT access tokens and rotating, hashed, revocable refresh tokens.

Signing out everywhere revokes a user's refresh tokens too (sessions.revoke_refresh_tokens)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from flask import current_app
from sqlalchemy import select, update

from blueprints.core.models import RefreshToken, User
from blueprints.core.services.audit import record_audit
from blueprints.core.services.secret_tokens import new_token, token_hash
from blueprints.core.services.sign_in import LoginRefused, authenticate
from medcover import clock
from medcover.errors import Unauthorized
from medcover.extensions import db

ALGORITHM = "HS256"
AUDIENCE = "medcover-api"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret


def _key() -> str:
    return current_app.config.get("JWT_SECRET_KEY") or current_app.config["SECRET_KEY"]


def _password_stamp(user: User) -> int:
    # Microseconds: whole seconds let a token issued just before a password change (in the same
    # second as the previous change) outlive it.
    return (user.password_changed_at - _EPOCH) // timedelta(microseconds=1)


def access_token_for(user: User) -> tuple[str, int]:
    lifetime = current_app.config["JWT_ACCESS_MINUTES"] * 60
    now = clock.now()
    claims = {
        "sub": str(user.id),
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + lifetime,
        "jti": secrets.token_hex(8),
        "pwd": _password_stamp(user),  # a password change retires every earlier access token
    }
    return jwt.encode(claims, _key(), algorithm=ALGORITHM), lifetime


def user_for_access_token(token: str) -> User | None:
    """The active user an access token stands for, or None for a bad, expired or retired token."""
    try:
        claims = jwt.decode(
            token,
            _key(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "sub", "iat"]},
            leeway=0,
        )
        if claims["exp"] <= clock.now().timestamp():
            return None
        user = db.session.get(User, int(claims["sub"]))
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None
    if user is None or not user.active or claims.get("pwd") != _password_stamp(user):
        return None
    return user


def _issue(user: User, family: str) -> TokenPair:
    refresh = "rt_" + new_token()
    lifetime = timedelta(days=current_app.config["JWT_REFRESH_DAYS"])
    db.session.add(
        RefreshToken(
            user_id=user.id,
            family=family,
            token_hash=token_hash(refresh),
            issued_at=clock.now(),
            expires_at=clock.now() + lifetime,
        )
    )
    db.session.flush()
    access, expires_in = access_token_for(user)
    return TokenPair(access, refresh, expires_in)


def login(email: str, password: str, ip_address: str | None) -> TokenPair:
    try:
        user = authenticate(email, password, ip_address)
    except LoginRefused as refused:
        raise Unauthorized(refused.message) from None
    return _issue(user, secrets.token_hex(16))


def refresh(token: str) -> TokenPair:
    """Rotate: the presented token is spent and a new pair issued. A spent token presented again
    means it was stolen or replayed: the whole family is revoked."""
    row = db.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash(token or "")))
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        raise Unauthorized("The refresh token is not valid.")
    user = db.session.get(User, row.user_id)
    if row.used_at is not None or user is None or not user.active:
        _revoke_family(row.family)
        if row.used_at is not None:
            record_audit(
                user,
                "token_reuse",
                "api_refresh_token",
                row.id,
                summary="refresh token reused; family revoked",
                institution_id=user.institution_id if user else None,
                company_id=user.company_id if user else None,
            )
        raise Unauthorized("The refresh token is not valid.")
    # Atomic: of two racing refreshes with one token, exactly one spends it.
    spent = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
    if spent.rowcount != 1:
        _revoke_family(row.family)
        raise Unauthorized("The refresh token is not valid.")
    return _issue(user, row.family)


def _revoke_family(family: str) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now()),
        execution_options={"synchronize_session": False},
    )


def logout(token: str, user: User) -> None:
    """Revoke ``user``'s refresh token and its family; another user's token is refused like an unknown
    one (else one caller could sign others out, and the audit entry would name the wrong actor)."""
    row = db.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash(token or "")))
    if row is None or row.user_id != user.id:
        raise Unauthorized("The refresh token is not valid.")
    _revoke_family(row.family)
    user = db.session.get(User, row.user_id)
    if user is not None:
        record_audit(
            user,
            "logout",
            "user",
            user.id,
            summary="API sign-out",
            institution_id=user.institution_id,
            company_id=user.company_id,
        )
