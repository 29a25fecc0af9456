"""What the claims consumed, for insurance's cover checks: approved amounts per benefit of a member's finalised
claims in a benefit period (registered with insurance as its usage provider)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from blueprints.claims.models import FINALISED, Claim, ClaimItem
from blueprints.insurance import services as insurance
from medcover.extensions import db
from medcover.money import money


def usage_for(member_id: int, period_start: date, period_end: date) -> dict[int, Decimal]:
    """Approved amounts per benefit id of a member's finalised claims in a period."""
    rows = db.session.execute(
        select(ClaimItem.benefit_code, func.sum(ClaimItem.approved))
        .join(Claim, Claim.id == ClaimItem.claim_id)
        .where(
            Claim.member_id == member_id,
            Claim.status.in_(FINALISED),
            Claim.service_date.between(period_start, period_end),
            ClaimItem.decision.in_(("approved", "adjusted")),
        )
        .group_by(ClaimItem.benefit_code)
    ).all()
    ids = insurance.benefit_ids_by_code({code for code, _ in rows if code})
    return {ids[code]: money(str(total)) for code, total in rows if code in ids}


def register() -> None:
    from blueprints.claims.services import estimates

    insurance.register_usage_provider(usage_for)
    estimates.register()
