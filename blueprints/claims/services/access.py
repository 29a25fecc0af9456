"""Who acts on claims: the provider's billing staff file them, the insurer's adjudicators decide them."""

from __future__ import annotations

from sqlalchemy import select

from blueprints.claims.models import Claim, ClaimStatus, ClaimStatusChange
from blueprints.claims.services.reading import claim_row
from blueprints.hospital import services as hospital
from medcover.errors import Forbidden
from medcover.extensions import db
from medcover.rbac import Role, tenant_of

#: provider roles that file claims; insurer roles that decide them
PROVIDER_WRITERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.INTEGRATION})
DECIDERS = frozenset({Role.ADMIN, Role.ADJUDICATOR})


def provider_check(actor, institution_id: int) -> None:
    tenant = tenant_of(actor)
    hospital.get_institution(tenant, institution_id)  # 404 for another tenant's
    if actor.role not in PROVIDER_WRITERS or not (tenant.is_global or tenant.institution_id == institution_id):
        raise Forbidden("Claims are filed by the provider's billing staff.")


def for_decider(actor, claim_id: int) -> Claim:
    claim = claim_row(tenant_of(actor), claim_id)
    tenant = tenant_of(actor)
    if actor.role not in DECIDERS or tenant.institution_id is not None:
        raise Forbidden("Claims are decided by the insurer's adjudicators.")
    refuse_own(actor, claim)
    return claim


def refuse_own(actor, claim: Claim) -> None:
    """Segregation of duties (ADJUDICATION.md): nobody decides a claim they created or submitted, whatever their
    role, a platform administrator included."""
    submitted_by = db.session.scalar(
        select(ClaimStatusChange.by_id)
        .where(ClaimStatusChange.claim_id == claim.id, ClaimStatusChange.to_status == ClaimStatus.SUBMITTED.value)
        .order_by(ClaimStatusChange.id.desc())
        .limit(1)
    )
    if actor.id in (claim.created_by_id, submitted_by):
        raise Forbidden(f"You created or submitted claim {claim.claim_number}; another adjudicator decides it.")
