"""OAuth 2.0 clients (client credentials): registration, secrets shown once, rotation, revocation, and the
access tokens they get. Each scope is a role a token acts as; a token carries one."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from blueprints.core.models import OAuthAccessToken, OAuthClient, User
from blueprints.core.passwords import hash_password
from blueprints.core.services.audit import record_audit
from blueprints.core.services.secret_tokens import token_hash
from medcover import clock, tenants
from medcover.errors import Conflict, Forbidden, Invalid
from medcover.extensions import db
from medcover.rbac import HOSPITAL_ONLY, INSURER_ONLY, Role, Tenant, ensure_owned, scope, tenant_of

CLIENT_PREFIX = "mcc_"
#: roles a client may act as: everything but platform administration, on its own side
HOSPITAL_SCOPES = tuple(r.value for r in Role if r is not Role.ADMIN and r not in INSURER_ONLY)
INSURER_SCOPES = tuple(r.value for r in Role if r is not Role.ADMIN and r not in HOSPITAL_ONLY)
CLIENT_FIELDS = ("client_id", "name", "scopes", "institution_id", "company_id", "revoked_at")


@dataclass(frozen=True)
class Registered:
    """A client and its secret, which exists only in this answer."""

    client: OAuthClient
    client_secret: str


class ClientPrincipal:
    """What an OAuth access token signs in as: the client's service account, acting in the token's role, named
    after the client (audit entries say "OAuth client Lab gateway")."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: User, client: OAuthClient, role: Role):
        self._user = user
        self.role = role
        self.oauth_client_id = client.id
        self.client_id = client.client_id
        self.institution_id = client.institution_id
        self.company_id = client.company_id
        self.email = f"OAuth client {client.name}"
        self.full_name = self.email

    def get_id(self) -> str:
        return str(self._user.id)

    def __getattr__(self, name):
        if name.startswith("__") or name == "_user":
            raise AttributeError(name)
        return getattr(self._user, name)

    def __eq__(self, other) -> bool:
        return getattr(other, "id", None) == self._user.id

    def __hash__(self) -> int:
        return hash(self._user.id)


def allowed_scopes(institution_id: int | None, company_id: int | None) -> tuple[str, ...]:
    return HOSPITAL_SCOPES if institution_id is not None else INSURER_SCOPES if company_id is not None else ()


def _check_scopes(scopes: list[str], institution_id, company_id) -> str:
    wanted = [s.strip() for s in scopes if s and s.strip()]
    if not wanted:
        raise Invalid.field("scopes", "Choose at least one scope.")
    allowed = allowed_scopes(institution_id, company_id)
    wrong = [s for s in wanted if s not in allowed]
    if wrong:
        raise Invalid.field("scopes", f"Not a scope for this organisation: {', '.join(sorted(set(wrong)))}.")
    return " ".join(dict.fromkeys(wanted))


def _check_owner(actor, institution_id: int | None, company_id: int | None) -> None:
    if (institution_id is None) == (company_id is None):
        raise Invalid.field("institution_id", "A client belongs to one hospital or one insurer: choose one.")
    if not tenants.exists(institution_id, company_id):
        field = "institution_id" if institution_id is not None else "company_id"
        raise Invalid.field(field, "No such organisation.")
    if actor.role is not Role.ADMIN:
        raise Forbidden("Only administrators manage OAuth clients.")
    if not tenant_of(actor).owns(institution_id, company_id):
        raise Forbidden("You can manage clients of your own organisation only.")


def _new_secret() -> str:
    return "mcs_" + secrets.token_urlsafe(32)


def register_client(
    *, actor, name: str, scopes: list[str], institution_id: int | None = None, company_id: int | None = None
) -> Registered:
    """A new client for a hospital or an insurer; its secret is in the answer and nowhere else."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Invalid.field("name", "Give the client a name of at most 120 characters.")
    _check_owner(actor, institution_id, company_id)
    scope_text = _check_scopes(scopes, institution_id, company_id)
    if db.session.scalar(
        select(OAuthClient.id).where(
            OAuthClient.name == name,
            OAuthClient.institution_id.is_(None)
            if institution_id is None
            else OAuthClient.institution_id == institution_id,
            OAuthClient.company_id.is_(None) if company_id is None else OAuthClient.company_id == company_id,
            OAuthClient.revoked_at.is_(None),
        )
    ):
        raise Conflict("A client with this name exists.", {"name": ["This organisation has a client of that name."]})
    client_id = CLIENT_PREFIX + secrets.token_hex(8)
    service = User(
        email=f"{client_id}@oauth-clients.invalid",
        full_name=f"OAuth client {name}",
        role=Role.INTEGRATION,
        institution_id=institution_id,
        company_id=company_id,
        password_hash=hash_password(secrets.token_urlsafe(32)),  # nobody signs in with a password as a client
        active=True,
    )
    db.session.add(service)
    db.session.flush()
    secret = _new_secret()
    client = OAuthClient(
        client_id=client_id,
        name=name,
        secret_hash=token_hash(secret),
        scopes=scope_text,
        institution_id=institution_id,
        company_id=company_id,
        user_id=service.id,
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    db.session.add(client)
    db.session.flush()
    _audit(actor, "create", client, after={"name": name, "scopes": scope_text})
    return Registered(client, secret)


def _audit(actor, action: str, client: OAuthClient, *, before=None, after=None, summary=None) -> None:
    record_audit(
        actor,
        action,
        "oauth_client",
        client.id,
        before=before,
        after=after,
        summary=summary or f"OAuth client {client.name}",
        institution_id=client.institution_id,
        company_id=client.company_id,
    )


def clients_query(actor):
    """The clients the administrator may see, newest first."""
    return scope(select(OAuthClient), OAuthClient, tenant_of(actor)).order_by(OAuthClient.id.desc())


def client_names(ids: set[int]) -> dict[int, str]:
    return dict(db.session.execute(select(OAuthClient.id, OAuthClient.name).where(OAuthClient.id.in_(ids))).all())


def get_client(tenant: Tenant, client_pk: int) -> OAuthClient:
    client = db.session.get(OAuthClient, client_pk)
    ensure_owned(tenant, client)
    return client


def rotate_secret(*, actor, client_pk: int) -> Registered:
    """A new secret replaces the old one at once; tokens already issued run until they expire."""
    client = get_client(tenant_of(actor), client_pk)
    _check_owner(actor, client.institution_id, client.company_id)
    if client.revoked_at is not None:
        raise Conflict("The client is revoked.")
    secret = _new_secret()
    client.secret_hash = token_hash(secret)
    client.secret_rotated_at = clock.now()
    db.session.flush()
    _audit(actor, "rotate_secret", client)
    return Registered(client, secret)


def revoke_client(*, actor, client_pk: int) -> OAuthClient:
    """The client gets no more tokens and every token it has stops working."""
    client = get_client(tenant_of(actor), client_pk)
    _check_owner(actor, client.institution_id, client.company_id)
    if client.revoked_at is not None:
        raise Conflict("The client is already revoked.")
    client.revoked_at = clock.now()
    service = db.session.get(User, client.user_id)
    if service is not None:
        service.active = False
    db.session.flush()
    _audit(actor, "revoke", client, before={"revoked": False}, after={"revoked": True})
    return client


# --- the token endpoint's side -------------------------------------------------------------------


def client_by_client_id(client_id: str) -> OAuthClient | None:
    if not client_id or not client_id.startswith(CLIENT_PREFIX) or len(client_id) > 40:
        return None
    return db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))


def secret_matches(client: OAuthClient, secret: str) -> bool:
    return client.revoked_at is None and hmac.compare_digest(client.secret_hash, token_hash(secret or ""))


def issue_token(client: OAuthClient, role: str) -> tuple[str, int]:
    """A new access token for ``client`` acting as ``role``; the token (once) and its lifetime in seconds."""
    lifetime = current_app.config["OAUTH_TOKEN_MINUTES"] * 60
    # The client id leads the token so the rate limiter can count per client without a database read.
    token = f"{client.client_id}.{secrets.token_urlsafe(32)}"
    now = clock.now()
    # The client's expired tokens go as it gets a new one: the table holds live tokens, not a history.
    db.session.execute(
        delete(OAuthAccessToken).where(OAuthAccessToken.client_id == client.id, OAuthAccessToken.expires_at <= now),
        execution_options={"synchronize_session": False},
    )
    db.session.add(
        OAuthAccessToken(
            client_id=client.id,
            token_hash=token_hash(token),
            scope=role,
            issued_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    db.session.flush()
    record_audit(
        None,
        "token_issued",
        "oauth_client",
        client.id,
        summary=f"access token for scope {role}",
        institution_id=client.institution_id,
        company_id=client.company_id,
        actor_label=f"OAuth client {client.name}",
    )
    return token, lifetime


def principal_for_token(token: str) -> ClientPrincipal | None:
    """Whom an OAuth access token stands for: None when unknown, expired, or its client revoked."""
    if not token.startswith(CLIENT_PREFIX) or len(token) > 200:
        return None
    row = db.session.scalar(select(OAuthAccessToken).where(OAuthAccessToken.token_hash == token_hash(token)))
    if row is None or row.expires_at <= clock.now():
        return None
    client = db.session.get(OAuthClient, row.client_id)
    if client is None or client.revoked_at is not None:
        return None
    user = db.session.get(User, client.user_id)
    if user is None or not user.active:
        return None
    try:
        role = Role(row.scope)
    except ValueError:
        return None
    return ClientPrincipal(user, client, role)


def principal_for_bearer(token: str):
    """The API's token authenticator: an OAuth client's access token, or a user's signed access token."""
    if token.startswith(CLIENT_PREFIX):
        return principal_for_token(token)
    from blueprints.core.services.api_tokens import user_for_access_token

    return user_for_access_token(token)
