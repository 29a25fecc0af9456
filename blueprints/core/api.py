"""Core JSON endpoints: token login/refresh/logout, profile, users, the audit log."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app, request
from flask_login import current_user
from pydantic import Field

from blueprints.core import api_bp, services, tokens
from medcover.api import Id, Out, Schema, documented, jsonify_model, paginate, parse
from medcover.errors import Unauthorized
from medcover.extensions import db, limiter
from medcover.rbac import ALL_ROLES, Role, allow, public

TAG = "Auth and users"


class LoginIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=128)


class RefreshIn(Schema):
    refresh_token: str = Field(max_length=200)


class TokenOut(Out):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


class UserOut(Out):
    id: int
    email: str
    full_name: str
    role: Role
    institution_id: int | None
    company_id: int | None
    active: bool = True


class ProfileOut(Out):
    id: int
    email: str
    full_name: str
    role: Role
    institution_id: int | None
    company_id: int | None


class UserIn(Schema):
    email: str = Field(max_length=254)
    full_name: str = Field(max_length=120)
    role: Role
    password: str = Field(max_length=128)
    institution_id: Id | None = None
    company_id: Id | None = None


class UserPage(Out):
    items: list[UserOut]
    page: int
    per_page: int
    total: int


class AuditOut(Out):
    id: int
    occurred_at: datetime
    actor_id: int | None
    actor_label: str | None
    action: str
    entity_type: str
    entity_id: str | None
    ip_address: str | None
    request_id: str | None
    before: dict | None
    after: dict | None
    summary: str | None


class AuditPage(Out):
    items: list[AuditOut]
    page: int
    per_page: int
    total: int


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _tokens(pair: tokens.TokenPair):
    return jsonify_model(TokenOut.model_validate(pair), headers={"Cache-Control": "no-store"})


@api_bp.post("/auth/login")
@public
@limiter.limit(_login_limit)
@documented(
    "Exchange email and password for an access and a refresh token",
    tag=TAG,
    body=LoginIn,
    responses={200: TokenOut, 401: None},
)
def login():
    data = parse(LoginIn)
    try:
        pair = tokens.login(data.email, data.password, request.remote_addr)
    except Unauthorized:
        db.session.commit()  # failure counts for lockout persist
        raise
    db.session.commit()
    return _tokens(pair)


@api_bp.post("/auth/refresh")
@public
@limiter.limit(_login_limit)
@documented(
    "Rotate a refresh token: a new pair; a reused token revokes its family",
    tag=TAG,
    body=RefreshIn,
    responses={200: TokenOut, 401: None},
)
def refresh():
    data = parse(RefreshIn)
    try:
        pair = tokens.refresh(data.refresh_token)
    except Unauthorized:
        db.session.commit()  # a detected reuse keeps its family revoked
        raise
    db.session.commit()
    return _tokens(pair)


@api_bp.post("/auth/logout")
@allow(ALL_ROLES)
@documented("Revoke a refresh token (and its family)", tag=TAG, body=RefreshIn, responses={204: None})
def logout():
    data = parse(RefreshIn)
    tokens.logout(data.refresh_token, current_user._get_current_object())
    db.session.commit()
    return "", 204


@api_bp.get("/auth/profile")
@allow(ALL_ROLES)
@documented("The signed-in user", tag=TAG, responses={200: ProfileOut})
def profile():
    return jsonify_model(ProfileOut.model_validate(current_user))


@api_bp.post("/users")
@allow(Role.ADMIN)
@documented("Create a staff user (admins only)", tag=TAG, body=UserIn, responses={201: UserOut, 409: None})
def create_user():
    data = parse(UserIn)
    user = services.create_user(actor=current_user._get_current_object(), **data.model_dump())
    db.session.commit()
    return jsonify_model(UserOut.model_validate(user), status=201)


@api_bp.get("/users")
@allow(Role.ADMIN)
@documented(
    "Users of the caller's organisation",
    tag=TAG,
    responses={200: UserPage},
    query={"q": "name or email contains", "role": "one role", "page": "page number", "per_page": "at most 200"},
)
def list_users():
    stmt = services.users_query(current_user, request.args.get("q", "")[:100], _role_arg())
    return jsonify_model(UserPage.model_validate(paginate(stmt, UserOut.model_validate)))


@api_bp.get("/users/<id:user_id>")
@allow(Role.ADMIN)
@documented("One user", tag=TAG, responses={200: UserOut, 404: None})
def get_user(user_id: int):
    return jsonify_model(UserOut.model_validate(services.get_user(current_user, user_id)))


@api_bp.get("/audit-logs")
@allow(Role.ADMIN, Role.AUDITOR)
@documented(
    "Audit entries, newest first",
    tag="Audit",
    responses={200: AuditPage},
    query={
        "user": "actor email contains",
        "entity_type": "e.g. user",
        "action": "e.g. login",
        "date_from": "YYYY-MM-DD",
        "date_to": "YYYY-MM-DD",
    },
)
def list_audit():
    filters = services.AuditFilter(
        user=request.args.get("user", "")[:254],
        entity_type=request.args.get("entity_type", "")[:60],
        action=request.args.get("action", "")[:40],
        date_from=_date_arg("date_from"),
        date_to=_date_arg("date_to"),
    )
    stmt = services.audit_query(current_user, filters)
    return jsonify_model(AuditPage.model_validate(paginate(stmt, AuditOut.model_validate)))


def _role_arg() -> str:
    from medcover.errors import Invalid

    role = request.args.get("role", "")
    if role and role not in {r.value for r in Role}:
        raise Invalid.field("role", "Unknown role.")
    return role


def _date_arg(name: str) -> date | None:
    from medcover.errors import Invalid

    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid.field(name, "Use YYYY-MM-DD.") from None
