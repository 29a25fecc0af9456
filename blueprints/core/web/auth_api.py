"""Core JSON endpoints for signing in: token login, refresh and logout, and the caller's profile."""

from __future__ import annotations

from flask import current_app, request
from pydantic import Field

from blueprints.core import api_bp
from blueprints.core.services import api_tokens
from medcover.api import Out, Schema, actor, documented, jsonify_model, parse
from medcover.errors import Unauthorized
from medcover.extensions import db, rate_limit
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


class ProfileOut(Out):
    id: int
    email: str
    full_name: str
    role: Role
    institution_id: int | None
    company_id: int | None


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _tokens(issue):
    """A new token pair, committed; a refusal commits too: failure counts for lockout persist, and a detected
    reuse keeps its family revoked."""
    try:
        pair = issue()
    except Unauthorized:
        db.session.commit()
        raise
    db.session.commit()
    return jsonify_model(TokenOut.model_validate(pair), headers={"Cache-Control": "no-store"})


@api_bp.post("/auth/login")
@public
@rate_limit(_login_limit)
@documented(
    "Exchange email and password for an access and a refresh token",
    tag=TAG,
    body=LoginIn,
    responses={200: TokenOut, 401: None},
)
def login():
    data = parse(LoginIn)
    return _tokens(lambda: api_tokens.login(data.email, data.password, request.remote_addr))


@api_bp.post("/auth/refresh")
@public
@rate_limit(_login_limit)
@documented(
    "Rotate a refresh token: a new pair; a reused token revokes its family",
    tag=TAG,
    body=RefreshIn,
    responses={200: TokenOut, 401: None},
)
def refresh():
    data = parse(RefreshIn)
    return _tokens(lambda: api_tokens.refresh(data.refresh_token))


@api_bp.post("/auth/logout")
@allow(ALL_ROLES)
@documented("Revoke a refresh token (and its family)", tag=TAG, body=RefreshIn, responses={204: None})
def logout():
    data = parse(RefreshIn)
    api_tokens.logout(data.refresh_token, actor())
    db.session.commit()
    return "", 204


@api_bp.get("/auth/profile")
@allow(ALL_ROLES)
@documented("The signed-in user", tag=TAG, responses={200: ProfileOut})
def profile():
    return jsonify_model(ProfileOut.model_validate(actor()))
