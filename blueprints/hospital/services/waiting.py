"""The hospital's part of the home page: today's appointments, and those still to arrive, in one query."""

from __future__ import annotations

from blueprints.hospital.models import AppointmentStatus
from blueprints.hospital.services.appointments import appointments_query
from medcover import clock
from medcover.rbac import Tenant
from medcover.work import counted, read_together

#: key -> the day view's own query for the site's business day, so a count is that page's total
_LISTS = {
    "appointments_today": lambda tenant, day: appointments_query(tenant, day=day),
    "still_to_arrive": lambda tenant, day: appointments_query(tenant, day=day, status=AppointmentStatus.BOOKED.value),
}


def work_waiting(tenant: Tenant, keys) -> dict[str, int]:
    today = clock.today()
    return read_together({key: counted(_LISTS[key](tenant, today)) for key in _LISTS if key in keys})
