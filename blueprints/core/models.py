"""Core tables: staff users, their server-side sessions, login throttles, tokens and the audit log."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from medcover.dbtypes import UtcDateTime, enum_column, utcnow
from medcover.extensions import db
from medcover.rbac import Role

ROLE_ENUM = enum_column(Role, "user_role", validate_strings=True, length=32)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("institution_id IS NULL OR company_id IS NULL", name="one_tenant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: stored lower-case; the login name
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    #: argon2id hash
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(ROLE_ENUM, index=True)
    #: hospital staff: the institution they work for (hospital domain's id; no cross-domain FK)
    institution_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: insurer staff: the insurance company they work for (insurance domain's id)
    company_id: Mapped[int | None] = mapped_column(Integer, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)


class UserSession(db.Model):
    """A staff browser session. The cookie carries only a random id; its hash finds the row."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: sha256 of the cookie value
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: null until someone signs in on it (an anonymous session holds only the CSRF token)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the Flask session's contents (CSRF token, flashes, Flask-Login's keys)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: absolute end, whatever the activity
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: why it ended early: logout, revoked, password_changed, signed_out_everywhere, deactivated
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class LoginThrottle(db.Model):
    """Failed sign-ins per account (hashed email) and per address, for slow-down and lockout."""

    __tablename__ = "login_throttles"

    #: ``account:<sha256 of email>`` or ``address:<ip>``
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: no attempt is checked before this time
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PasswordReset(db.Model):
    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Invitation(db.Model):
    """An admin's invitation to join: the invitee picks a name and password at /auth/register."""

    __tablename__ = "user_invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[Role] = mapped_column(ROLE_ENUM)
    institution_id: Mapped[int | None] = mapped_column(Integer)
    company_id: Mapped[int | None] = mapped_column(Integer)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RefreshToken(db.Model):
    """API refresh tokens, stored hashed, rotated on every use; a reused one revokes its family."""

    __tablename__ = "api_refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: every token descended from one login shares the family
    family: Mapped[str] = mapped_column(String(32), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditLog(db.Model):
    """Who changed or looked at what, when, from where; written in the same transaction as the change."""

    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    #: null for the system (jobs, CLI without a user) and for failed logins of unknown accounts
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: the actor's email at the time, so the entry reads the same after the user is renamed
    actor_label: Mapped[str | None] = mapped_column(String(254))
    #: create, update, delete, login, logout, login_failed, role_change, export, read ...
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    #: the tenant the entity belongs to, so tenant auditors see their own entries only
    institution_id: Mapped[int | None] = mapped_column(Integer, index=True)
    company_id: Mapped[int | None] = mapped_column(Integer, index=True)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(10))
    #: the request's method and path (``GET /hospital/patients/12``): what a read or a refusal was of
    route: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    summary: Mapped[str | None] = mapped_column(Text)


class OAuthClient(db.Model):
    """An external system (a hospital's or an insurer's) that gets API tokens with OAuth 2.0 client credentials."""

    __tablename__ = "oauth_clients"
    __table_args__ = (CheckConstraint("(institution_id IS NULL) <> (company_id IS NULL)", name="one_tenant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the public identifier the integrator sends (``mcc_`` and 16 hex digits)
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: SHA-256 of the secret, which is shown once and never stored
    secret_hash: Mapped[str] = mapped_column(String(64))
    #: space-separated scopes it may ask for; each scope is a role its tokens act as
    scopes: Mapped[str] = mapped_column(String(200))
    institution_id: Mapped[int | None] = mapped_column(Integer, index=True)
    company_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: the service account its tokens act through (audit entries and records name the client)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: set when revoked: its tokens stop working at once
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OAuthAccessToken(db.Model):
    """An access token issued to a client; only its hash is kept."""

    __tablename__ = "oauth_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the one scope granted: the role the token acts as
    scope: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
