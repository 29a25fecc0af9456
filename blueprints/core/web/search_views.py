"""The global search in the identity bar: a patient, member, claim or invoice number, asked of every domain that
registered a look-up (``medcover.navigation.add_lookup``). One match opens it; several are listed; none says so,
with the number kept in the box."""

from __future__ import annotations

from flask import redirect, render_template, request

from blueprints.core import bp
from medcover.navigation import look_up
from medcover.pages import actor
from medcover.rbac import STAFF, allow

#: what the box keeps of a query (numbers are at most 40 characters; the rest is shown back, not searched)
MAX_QUERY = 100


@bp.get("/search")
@allow(STAFF)
def search():
    query = (request.args.get("q") or "").replace("\x00", "")[:MAX_QUERY]
    matches = look_up(actor(), query)
    if len(matches) == 1:
        return redirect(matches[0].url, 303)
    # What was typed goes back into the box as it was; the page talks about what was searched.
    return render_template("core/search.html", search_typed=query, query=query.strip(), matches=matches)
