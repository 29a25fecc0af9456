"""Who a request counts against for rate limits: its API token when it has one, else its address."""

import base64
import hashlib
from urllib.parse import unquote

from flask import request


def client_address() -> str:
    return request.remote_addr or "unknown"


#: OAuth client ids (and the access tokens that start with them) begin so; see core's oauth_clients
OAUTH_CLIENT_PREFIX = "mcc_"


def client_key() -> str:
    auth = request.headers.get("Authorization", "")
    client = _oauth_client(auth)
    if client:
        return "client:" + client  # every token of one client counts against one budget
    if auth.startswith("Bearer ") and len(auth) > 7:
        # The hash keeps the token itself out of the limiter's storage.
        return "token:" + hashlib.sha256(auth[7:].encode()).hexdigest()[:32]
    return "addr:" + client_address()


def _oauth_client(auth: str) -> str:
    """The OAuth client a request speaks for: its access token's leading client id, or the token request's
    client (HTTP Basic or the form's ``client_id``)."""
    if auth.startswith("Bearer ") and auth[7:].startswith(OAUTH_CLIENT_PREFIX):
        return auth[7:].split(".", 1)[0][:40]
    if auth.startswith("Basic "):
        try:
            user = base64.b64decode(auth[6:], validate=True).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return ""
        return unquote(user)[:40] if user.startswith(OAUTH_CLIENT_PREFIX) else ""
    if request.mimetype == "application/x-www-form-urlencoded":
        client = request.form.get("client_id", "")
        return client[:40] if client.startswith(OAUTH_CLIENT_PREFIX) else ""
    return ""
