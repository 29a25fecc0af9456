"""Who a request counts against for rate limits: its API token when it has one, else its address."""

import hashlib

from flask import request


def client_address() -> str:
    return request.remote_addr or "unknown"


def client_key() -> str:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer ") and len(auth) > 7:
        # The hash keeps the token itself out of the limiter's storage.
        return "token:" + hashlib.sha256(auth[7:].encode()).hexdigest()[:32]
    return "addr:" + client_address()
