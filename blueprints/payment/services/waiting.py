"""Payment's part of the home page: refunds waiting for a finance officer's approval, in one query."""

from __future__ import annotations

from blueprints.payment.models import RefundStatus
from blueprints.payment.services.refunds import refunds_query
from medcover.rbac import Tenant
from medcover.work import counted, read_together

_LISTS = {
    "refunds_to_approve": lambda tenant: refunds_query(tenant, status=RefundStatus.PENDING_APPROVAL.value),
}


def work_waiting(tenant: Tenant, keys) -> dict[str, int]:
    return read_together({key: counted(_LISTS[key](tenant)) for key in _LISTS if key in keys})
