"""What the payment pages share: who may open them, a day read from the query string, the end of a flow
and links into other domains' pages.

Each tenant sees its own: a hospital the money it received, an insurer the money it paid or took. A page a
role may open but its organisation cannot use (a hospital's finance officer on the agents page) explains that
instead of answering 403."""

from __future__ import annotations

from datetime import date

from flask import Response, current_app, flash, redirect, url_for
from flask_login import current_user

from blueprints.payment import services
from medcover.pages import wants_partial
from medcover.rbac import Role, access_of

#: who reads payments, refunds, settlements and payment methods (each its own tenant's)
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR})
#: who moves money on the pages (integration accounts record payments through the API only)
CASHIERS = services.CASHIERS - {Role.INTEGRATION}
#: who approves refunds, settles claims, pays commissions and sets up payment methods
APPROVERS = services.APPROVERS
#: agents and commissions are an insurer's business
AGENT_READERS = frozenset({Role.ADMIN, Role.FINANCE_OFFICER, Role.AUDITOR})


def day(value) -> date | None:
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def refusal(form) -> str:
    """The first thing a refused form says (for a toast or a flash)."""
    return (list(form.form_errors) + [m for f in form for m in f.errors] or ["That did not work."])[0]


def link(endpoint: str, **values) -> str | None:
    """A link to another domain's page, for those it lets in (read from its declaration: no import of its views)."""
    view = current_app.view_functions.get(endpoint)
    access = access_of(view) if view is not None else None
    if access is None or current_user.role not in access.roles:
        return None
    return url_for(endpoint, **values)


def finished(message: str, target: str):
    """A flow done: a flash and 303 to where it leads (htmx: 204 and HX-Redirect, so the page is not nested)."""
    flash(message, "success")
    if wants_partial():
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)
