"""OAuth 2.0 over the API: the token endpoint (client credentials) and administrators' client registry."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from blueprints.core import api_bp, services
from blueprints.core.web.oauth_server import server
from medcover.api import Id, Out, Schema, actor, created, documented, jsonify_model, page_response, parse, saved, tenant
from medcover.extensions import db
from medcover.rbac import Role, allow, public

TAG = "OAuth clients"
#: a role a client's token may act as (which ones, the client's organisation says)
Scope = Literal[tuple(dict.fromkeys(services.oauth_clients.HOSPITAL_SCOPES + services.oauth_clients.INSURER_SCOPES))]


class ClientIn(Schema):
    """A client belongs to one hospital or one insurer, and each scope is a role that kind of organisation has."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": [owner],
                    "properties": {owner: {"type": "integer"}, "scopes": {"items": {"enum": list(scopes)}}},
                }
                for owner, scopes in (
                    ("institution_id", services.oauth_clients.HOSPITAL_SCOPES),
                    ("company_id", services.oauth_clients.INSURER_SCOPES),
                )
            ]
        }
    )

    name: str = Field(min_length=1, max_length=120)
    scopes: list[Scope] = Field(min_length=1, max_length=10)
    institution_id: Id | None = None
    company_id: Id | None = None


class ClientOut(Out):
    id: int
    client_id: str
    name: str
    scopes: list[str]
    institution_id: int | None
    company_id: int | None
    created_at: datetime
    revoked_at: datetime | None


class ClientWithSecretOut(ClientOut):
    #: shown in this answer only; MedCover keeps its hash
    client_secret: str


class ClientPage(Out):
    items: list[ClientOut]
    page: int
    per_page: int
    total: int


class OAuthTokenOut(Out):
    access_token: str
    token_type: str
    expires_in: int
    #: the one scope granted: the role the token acts as
    scope: str


class TokenForm(BaseModel):
    """RFC 6749 section 4.4's form (read by Authlib, which ignores parameters it does not know, as section 3.2
    says). ``client_id`` and ``client_secret`` here (``client_secret_post``, as the schema states it), or HTTP
    Basic instead (``client_secret_basic``, in the description)."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"required": ["grant_type", "client_id", "client_secret"]}
    )

    grant_type: Literal["client_credentials"]
    #: one of the client's scopes (a role); left out, its first
    # a form has no null: a field is sent or left out
    scope: Scope = Field(default=None)
    client_id: str = Field(default=None, min_length=1)
    client_secret: str = Field(default=None, min_length=1)


class OAuthErrorOut(Out):
    """RFC 6749 section 5.2's error answer (not problem+json: OAuth clients read this shape)."""

    error: str
    error_description: str | None = None


def client_out(row, secret: str | None = None) -> Out:
    values = {
        "id": row.id,
        "client_id": row.client_id,
        "name": row.name,
        "scopes": row.scopes.split(),
        "institution_id": row.institution_id,
        "company_id": row.company_id,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }
    return ClientWithSecretOut(**values, client_secret=secret) if secret else ClientOut(**values)


@api_bp.post("/oauth/token")
@public
@documented(
    "Get an access token with OAuth 2.0 client credentials",
    tag=TAG,
    form=TokenForm,
    responses={200: OAuthTokenOut, 400: OAuthErrorOut, 401: OAuthErrorOut},
    description=(
        "RFC 6749 section 4.4: a form body with `grant_type=client_credentials` and an optional `scope` (one of "
        "the client's scopes; each is a role the token acts as). The client authenticates with HTTP Basic "
        "(`client_secret_basic`) or `client_id` and `client_secret` form fields (`client_secret_post`). Errors are "
        "RFC 6749's: `invalid_client` 401, `invalid_scope`, `invalid_request`, `unsupported_grant_type` 400."
    ),
)
def oauth_token():
    response = server.create_token_response()
    # Issued tokens and their audit entries are kept; a refusal writes nothing.
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
    response.headers["Cache-Control"] = "no-store"
    return response


@api_bp.get("/oauth/clients")
@allow(Role.ADMIN)
@documented("OAuth clients (administrators)", tag=TAG, responses={200: ClientPage})
def oauth_clients_list():
    return page_response(
        services.oauth_clients.clients_query(actor()),
        ClientOut,
        ClientPage,
        batch=lambda rows: [client_out(row) for row in rows],
    )


@api_bp.post("/oauth/clients")
@allow(Role.ADMIN)
@documented(
    "Register an OAuth client for a hospital or an insurer; the secret is in this answer only",
    tag=TAG,
    body=ClientIn,
    responses={201: ClientWithSecretOut, 409: None, 422: None},
)
def oauth_client_create():
    data = parse(ClientIn)
    done = services.oauth_clients.register_client(
        actor=actor(),
        name=data.name,
        scopes=data.scopes,
        institution_id=data.institution_id,
        company_id=data.company_id,
    )
    return created(client_out(done.client, done.client_secret), headers={"Cache-Control": "no-store"})


@api_bp.get("/oauth/clients/<id:client_pk>")
@allow(Role.ADMIN)
@documented("One OAuth client", tag=TAG, responses={200: ClientOut, 404: None})
def oauth_client_get(client_pk: int):
    return jsonify_model(client_out(services.oauth_clients.get_client(tenant(), client_pk)))


@api_bp.post("/oauth/clients/<id:client_pk>/rotate-secret")
@allow(Role.ADMIN)
@documented(
    "Replace a client's secret; the new one is in this answer only",
    tag=TAG,
    responses={200: ClientWithSecretOut, 404: None, 409: None},
)
def oauth_client_rotate(client_pk: int):
    done = services.oauth_clients.rotate_secret(actor=actor(), client_pk=client_pk)
    response = saved(client_out(done.client, done.client_secret))
    response.headers["Cache-Control"] = "no-store"
    return response


@api_bp.post("/oauth/clients/<id:client_pk>/revoke")
@allow(Role.ADMIN)
@documented(
    "Revoke a client: no more tokens, and its tokens are refused from now on",
    tag=TAG,
    responses={200: ClientOut, 404: None, 409: None},
)
def oauth_client_revoke(client_pk: int):
    return saved(client_out(services.oauth_clients.revoke_client(actor=actor(), client_pk=client_pk)))
