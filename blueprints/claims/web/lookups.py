"""The global search's look-up of claims by number (registered with ``medcover.navigation.add_lookup``)."""

from __future__ import annotations

from flask import url_for

from blueprints.claims.services import reading
from blueprints.claims.web.claim_views import status_label
from medcover.errors import DomainError
from medcover.rbac import tenant_of


def claims_numbered(user, text: str) -> list[tuple[str, str]]:
    return [
        (
            f"Claim {claim.claim_number}, member {claim.member_number}, {status_label(claim.status)}",
            url_for("claims.claim", claim_id=claim.id),
        )
        for claim in reading.claims_numbered(tenant_of(user), text)
    ]


def claim_names(ids: set[str]):
    """Claims named by number (``medcover.naming``), those the reader's organisation may see."""
    from flask_login import current_user

    from blueprints.claims.services import summaries
    from medcover.naming import Named, whole_ids

    found = summaries.claim_summaries(tenant_of(current_user), whole_ids(ids))
    return {
        str(claim_id): Named(f"Claim {c.claim_number}", url_for("claims.claim", claim_id=claim_id))
        for claim_id, c in found.items()
    }


def dispute_names(ids: set[str]):
    """A dispute named by its claim (disputes have no number of their own): "Dispute of claim CL-2026-000061"."""
    from flask_login import current_user

    from blueprints.claims.services import disputes
    from medcover.naming import Named, whole_ids

    found = {}
    for dispute_id in whole_ids(ids):
        try:
            dispute = disputes.get_dispute(tenant_of(current_user), dispute_id)
        except DomainError:  # another tenant's, or gone: named by its kind alone
            continue
        claim = reading.claim_row(tenant_of(current_user), dispute.claim_id)
        found[str(dispute_id)] = Named(
            f"Dispute of claim {claim.claim_number}", url_for("claims.dispute", dispute_id=dispute_id)
        )
    return found
