"""The OAuth 2.0 token endpoint's machinery: Authlib's authorization server with the client credentials grant
(RFC 6749 section 4.4), clients authenticated by HTTP Basic or form fields, and RFC 6749's error answers."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidScopeError, grants
from authlib.oauth2.rfc6749.util import scope_to_list

from blueprints.core.services import oauth_clients


class Client(ClientMixin):
    """Authlib's view of a stored client."""

    def __init__(self, row):
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.row.scopes.split())
        return " ".join(s for s in scope_to_list(scope) or [] if s in allowed)

    def check_redirect_uri(self, redirect_uri) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return oauth_clients.secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in ClientCredentials.TOKEN_ENDPOINT_AUTH_METHODS

    def check_response_type(self, response_type) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == ClientCredentials.GRANT_TYPE


class ClientCredentials(grants.ClientCredentialsGrant):
    """Each scope is a role; a token acts in one. No scope asked: the client's first."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def _requested(self) -> list[str]:
        return scope_to_list(self.request.payload.scope) or []

    def validate_requested_scope(self):
        requested = self._requested()
        allowed = self.client.row.scopes.split()
        if any(s not in allowed for s in requested):
            raise InvalidScopeError(description=f"This client may ask for: {' '.join(allowed)}.")
        if len(requested) > 1:
            raise InvalidScopeError(description="Ask for one scope per token: each scope is a role the token acts as.")

    def create_token_response(self):
        role = (self._requested() or self.client.row.scopes.split())[0]
        token, lifetime = oauth_clients.issue_token(self.client.row, role)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": role}
        return 200, body, self.TOKEN_RESPONSE_HEADER


def _query_client(client_id: str):
    row = oauth_clients.client_by_client_id(client_id)
    return Client(row) if row is not None else None


def _save_token(token, request) -> None:
    """Tokens are stored by ``issue_token`` itself (hashed), never as Authlib hands them over."""


server = AuthorizationServer()


def init_app(app) -> None:
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    if ClientCredentials not in [grant for grant, _ in server._token_grants]:
        server.register_grant(ClientCredentials)
