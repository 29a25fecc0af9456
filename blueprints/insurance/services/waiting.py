"""Insurance's part of the home page: pre-authorisations waiting for the insurer's decision, in one query."""

from __future__ import annotations

from blueprints.insurance.models import PreauthStatus
from blueprints.insurance.services.preauthorizations import preauthorizations_query
from medcover.rbac import Tenant
from medcover.work import counted, read_together

#: the same rows seen from both sides: the hospital that asked waits, the insurer decides
_LISTS = {
    "preauths_waiting": lambda tenant: preauthorizations_query(tenant, PreauthStatus.REQUESTED.value),
    "preauths_to_decide": lambda tenant: preauthorizations_query(tenant, PreauthStatus.REQUESTED.value),
}


def work_waiting(tenant: Tenant, keys) -> dict[str, int]:
    return read_together({key: counted(_LISTS[key](tenant)) for key in _LISTS if key in keys})
