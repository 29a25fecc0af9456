"""The hospital pages' common ground: who may open them, and the small readings of a form or the query
string they share. The pages are in ``patients_views`` (intake and the patient page), ``appointments_views``,
``staff_views`` (staff and their hours), ``records_views`` (encounters and attachments), ``orders_views``
(the work queues and orders) and ``stock_views`` (pharmacy stock)."""

from __future__ import annotations

from datetime import datetime

from flask_login import current_user

from blueprints.hospital import services
from blueprints.hospital.web.forms import choices
from medcover import clock
from medcover.errors import Invalid
from medcover.pages import tenant
from medcover.rbac import Role

#: the hospital's own staff accounts; services keep each to its institution (platform admins see all)
HOSPITAL_STAFF = frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.BILLING_CLERK})
STAFF_ADMINS = frozenset({Role.ADMIN})


def typed(value: str | None, limit: int) -> str:
    """Raw form text for look-ups that do not validate (the duplicate check): bounded, no NUL."""
    return (value or "").replace("\x00", "")[:limit]


def utc(moment: datetime | None) -> datetime | None:
    """A date-time typed on a page (the site's wall clock, as the day view shows it) as the UTC instant."""
    return clock.from_local(moment) if moment is not None else None


def institutions() -> list[services.InstitutionSummary]:
    return services.institutions_of(tenant())


def institution_choices() -> list:
    """The hospital chooser of a platform admin's forms (hospital staff work at their own)."""
    return choices([(0, "Choose a hospital…")] + [(i.id, i.name) for i in institutions()])


def chosen_institution(form) -> int:
    """The hospital a form is for: the signed-in user's own, or the one a platform admin chose on it."""
    institution_id = current_user.institution_id or form.institution_id.data or 0
    if not institution_id:
        raise Invalid.field("institution_id", "Choose a hospital.")
    return institution_id
