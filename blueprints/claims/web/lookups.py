"""The global search's look-up of claims by number (registered with ``medcover.navigation.add_lookup``)."""

from __future__ import annotations

from flask import url_for

from blueprints.claims.services import reading
from blueprints.claims.web.claim_views import status_label
from medcover.rbac import tenant_of


def claims_numbered(user, text: str) -> list[tuple[str, str]]:
    return [
        (
            f"Claim {claim.claim_number}, member {claim.member_number}, {status_label(claim.status)}",
            url_for("claims.claim", claim_id=claim.id),
        )
        for claim in reading.claims_numbered(tenant_of(user), text)
    ]
