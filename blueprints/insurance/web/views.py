"""What the insurance pages share: who may see and change what, and the choices their forms offer. The pages
themselves sit in a module per concept (``schemes_views``, ``catalogue_views``, ``premiums_views``,
``members_views``, ``preauthorizations_views``, ``verification_views``)."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from blueprints.insurance import services
from blueprints.insurance.web.forms import choices
from medcover.errors import DomainError
from medcover.extensions import db
from medcover.pages import form_failed, tenant
from medcover.rbac import Role

#: who reads insurer records; who changes them (company admins included: the services check the tenant)
READERS = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR})
WRITERS = frozenset({Role.ADMIN})
#: pre-authorisations are decided by the insurer's adjudicators as well as its admins
DECIDERS = frozenset({Role.ADMIN, Role.ADJUDICATOR})
#: hospitals ask for pre-authorisations and follow their own requests (the services scope the rows)
PREAUTH_READERS = READERS | {Role.RECEPTIONIST, Role.BILLING_CLERK}
PREAUTH_REQUESTERS = DECIDERS | {Role.RECEPTIONIST, Role.BILLING_CLERK}


def is_htmx() -> bool:
    """Any htmx request, boosted ones included (an inline row answers them with the row, not a page)."""
    return request.headers.get("HX-Request") == "true"


def visible_companies() -> list:
    return list(db.session.scalars(services.companies_query(tenant())))


def visible_company_names() -> dict[int, str]:
    return {c.id: c.name for c in visible_companies()}


def visible_schemes(**filters) -> list:
    return list(db.session.scalars(services.schemes_query(tenant(), **filters)))


def catalogue_benefits() -> list:
    return list(db.session.scalars(services.benefits_query()))


def choose_company(form) -> None:
    """Platform admins choose the insurer; company staff work for their own, so there is nothing to choose."""
    form.company_id.choices = choices([(c.id, c.name) for c in visible_companies()])
    if request.method == "GET" and current_user.company_id:
        form.company_id.data = current_user.company_id


def chosen_company_id(form) -> int:
    return current_user.company_id or form.company_id.data or 0


def choose_scheme(form, blank: str = "Choose a scheme…") -> None:
    form.scheme_id.choices = choices([(0, blank)] + [(s.id, f"{s.code} · {s.name}") for s in visible_schemes()])


def refused(form, exc: DomainError) -> int:
    """Undo the request's writes, put the messages on the form, and give the status to answer with."""
    form_failed(form, exc)
    # 422 for every form sent back with messages (a taken code too): htmx is configured to swap 422 only.
    return 422
