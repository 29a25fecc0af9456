"""Answers kept for the rest of one request: the short directories every page of a request reads (hospital and
insurer names for the identity bar, a list's provider column and its filters) are read once, however many
templates and views ask. A commit forgets them, so a page rendered after a write shows what was written."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "_per_request"


def per_request(fn: Callable) -> Callable:
    """``fn(*args)`` once per request and arguments (outside a request: every time). The answer is shared:
    callers read it and never change it."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @wraps(fn)
    def remembered(*args):
        if not has_request_context():
            return fn(*args)
        memo = g.setdefault(_KEY, {})
        key = (name, args)
        if key not in memo:
            memo[key] = fn(*args)
        return memo[key]

    return remembered


@event.listens_for(Session, "after_commit")
def _forget(_session) -> None:
    if has_app_context():
        g.pop(_KEY, None)
