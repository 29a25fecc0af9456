"""What every movement of money in this domain shares: who may move it, the day it is dated, its audit line."""

from __future__ import annotations

from datetime import date

from blueprints.core import services as core
from medcover import clock, fields
from medcover.errors import Invalid
from medcover.rbac import Role

#: roles that record and refund money
CASHIERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.INTEGRATION})
APPROVERS = frozenset({Role.ADMIN, Role.FINANCE_OFFICER})


def paid_day(value) -> date:
    """The day money moved: today when left out, never in the future."""
    day = fields.day(value, "paid_on") if value else clock.today()
    if day > clock.today():
        raise Invalid.field("paid_on", "A payment cannot be dated in the future.")
    return day


def audit(actor, action: str, entity: str, row, *, before=None, after=None) -> None:
    core.record_audit(
        actor,
        action,
        entity,
        getattr(row, "id", None) or getattr(row, "coverage_id", None),
        before=before,
        after=after,
        institution_id=getattr(row, "institution_id", None),
        company_id=getattr(row, "company_id", None),
    )
