"""A person's signed-in sessions: the list of them, ending one, ending all (API refresh tokens with them)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select, update

from blueprints.core.models import RefreshToken, User, UserSession
from blueprints.core.services.audit import record_audit
from medcover import clock
from medcover.errors import NotFound
from medcover.extensions import db


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


def revoke_refresh_tokens(user_id: int) -> None:
    """The API's sessions end with the pages' ones (the tokens themselves: api_tokens.py)."""
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=clock.now()),
        execution_options={"synchronize_session": False},
    )
