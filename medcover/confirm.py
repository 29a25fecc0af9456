"""Confirm before money moves (UI.md, "Forms and feedback"): one pattern for every irreversible or money-moving
action (issue, void, credit, approve, reject, bulk approve, settle, refund, reverse).

The page's button is a form from ``_confirm_macros.html``'s ``confirm_form``: with script, app.js asks in a dialog
(the question written into the page) and sends the form with ``confirmed=yes``; without script the form arrives
without it, and the view answers with the confirmation page (``ask``), which repeats what was typed in hidden
fields and sends it again, confirmed. Either way nothing moves until the person has read what will happen::

    if not confirm.confirmed():
        if form.validate_on_submit():
            return confirm.ask(confirm.Ask(...))
        return page_with_errors(...)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import make_response, render_template, request

from medcover.pages import wants_partial

#: the field a confirmed form carries, and its value
CONFIRMED = "confirmed"
YES = "yes"
#: fields never repeated on the confirmation page (it has its own token)
NOT_REPEATED = frozenset({"csrf_token", CONFIRMED})


@dataclass(frozen=True)
class Ask:
    """What a confirmation says: the record, the amount and the consequence (UI.md's example: "Issue invoice
    INV-RGH-000061 for KES 5,800.00? Issued invoices can't be edited; they can be voided or credited.")."""

    #: the question, naming the record and the amount
    question: str
    #: what happens then, and what can't be undone
    consequence: str
    #: the confirming button's words ("Issue invoice")
    button: str
    #: where "Cancel" goes back to
    cancel_url: str
    #: a destructive action (void, reject, reverse): the button looks like it
    danger: bool = False
    #: label, value facts shown under the question
    facts: tuple[tuple[str, str], ...] = ()
    #: an optional table of the records it acts on: (headings, rows of cells); numbers right-aligned by the
    #: headings listed in ``numeric``
    headings: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = ()
    numeric: frozenset[str] = field(default_factory=frozenset)
    #: fields to send instead of what the form sent (the settlement's total of the claims kept)
    replace: dict[str, str] = field(default_factory=dict)


def confirmed() -> bool:
    """The person confirmed: the dialog or the confirmation page sent ``confirmed=yes``."""
    return request.form.get(CONFIRMED) == YES


def repeated_fields(replace: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """What the form sent, to send again from the confirmation page (every value of a repeated field)."""
    replace = replace or {}
    kept = [
        (name, value)
        for name, values in request.form.lists()
        if name not in NOT_REPEATED and name not in replace
        for value in values
    ]
    return kept + list(replace.items())


def ask(question: Ask, status: int = 200):
    """The confirmation page for the action this request was about to take; it posts back to the same URL."""
    response = make_response(
        render_template(
            "confirm.html", ask=question, action=request.full_path.rstrip("?"), keep=repeated_fields(question.replace)
        ),
        status,
    )
    if wants_partial():
        # An htmx form reached here without the dialog (script half-loaded): show the page whole, not nested.
        response.headers["HX-Retarget"] = "body"
        response.headers["HX-Reswap"] = "innerHTML"
    return response
