"""Random tokens handed out once (reset links, invitations, refresh tokens, session cookies) and the hash
stored in their place, so a copy of the database signs nobody in."""

from __future__ import annotations

import hashlib
import secrets


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)
