"""Rendering for server pages: the partial for an HTMX swap, the whole page otherwise."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from medcover.errors import Invalid
from medcover.extensions import htmx
from medcover.forms import field_message
from medcover.paging import fetch_page
from medcover.rbac import Tenant, tenant_of
from medcover.uploads import file_part


def wants_partial() -> bool:
    """A plain HTMX swap; boosted navigation and history restores need the whole page."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, partial: str | None = None, status: int = 200, **context):
    """``page`` includes ``partial``; HTMX swaps get just the partial. Always ``Vary: HX-Request``."""
    template = partial if partial and wants_partial() else page
    response = make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    return response


MAX_PAGE = 1_000_000


def page_args(max_per_page: int = 200) -> tuple[int, int]:
    """``page`` and ``per_page`` from the query string, clamped to sane values."""
    page = request.args.get("page", type=int) or 1
    per_page = request.args.get("per_page", type=int) or 50
    # A huge page number would overflow the database's OFFSET integer.
    return min(max(page, 1), MAX_PAGE), min(max(per_page, 1), max_per_page)


def show_errors(form, exc) -> None:
    """Put a domain error's field messages on the form's fields; the rest become form-level errors."""
    form.form_errors = list(getattr(form, "form_errors", []))
    for name, messages in (exc.errors or {}).items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [field_message(field, m) if isinstance(m, str) else m for m in messages]
        else:
            form.form_errors.extend(messages)
    if not exc.errors:
        form.form_errors.append(exc.detail)


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site paths: never an absolute URL or a scheme-relative one (open redirect)."""
    # Browsers drop tabs and newlines inside a URL, so "/\t/evil.com" would land on //evil.com.
    if target and any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return fallback
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def page_of(stmt) -> tuple[list, dict]:
    """One page of a select for a list page: the rows, and the numbers the pager macro shows."""
    page, per_page = page_args()
    rows, total = fetch_page(stmt, page, per_page)
    pages = max(1, (total + per_page - 1) // per_page)
    return rows, {"page": page, "per_page": per_page, "total": total, "pages": pages}


def public_url(endpoint: str, **values) -> str:
    """An absolute link for an email. PUBLIC_BASE_URL when set, so that a forged Host header cannot point
    a password-reset link at someone else's site; the request's own host otherwise (development)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def form_failed(form, exc) -> int:
    """A service refused the form: undo the request's writes, put the messages on the form, and give the
    status to answer with. Another tenant's record (403/404 with no field messages) is an error page, not
    a form message. htmx swaps only 422 (base.html's config), so htmx requests always get 422."""
    from medcover.extensions import db

    db.session.rollback()
    if exc.status in (403, 404) and not exc.errors:
        raise exc
    show_errors(form, exc)
    return 422 if wants_partial() else exc.status


@dataclass
class Submitted:
    ok: bool
    status: int
    result: object = None


def submit(form, action) -> Submitted:
    """The usual form flow: validate, call the one service, commit once; or say how to answer the errors."""
    from medcover.errors import DomainError
    from medcover.extensions import db

    if not form.validate_on_submit():
        return Submitted(False, 422 if request.method == "POST" else 200)
    try:
        result = action()
    except DomainError as exc:
        return Submitted(False, form_failed(form, exc))
    db.session.commit()
    return Submitted(True, 303, result)


def actor():
    """The signed-in user (the real object, not Flask-Login's proxy), for the services."""
    return current_user._get_current_object()


def tenant() -> Tenant:
    """The rows the signed-in user may see."""
    return tenant_of(current_user)


def toast(response, message: str):
    """An inline save's confirmation: base.html shows the ``toast`` event as a short message."""
    response.headers["HX-Trigger"] = json.dumps({"toast": message})
    return response


def attach_upload(form, back: str, add):
    """A page's file upload: ``add(filename, stream)`` registers the request's ``file`` part through its
    service; the outcome is flashed and the person is sent ``back``. A refused file undoes the request."""
    from medcover.extensions import db

    if not form.validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(back, 303)
    filename, stream = file_part(request.files)
    try:
        row = add(filename, stream)
    except Invalid as exc:
        db.session.rollback()
        messages = [m for field_messages in (exc.errors or {}).values() for m in field_messages]
        flash("The file was not attached: " + (" ".join(messages) or exc.detail), "error")
        return redirect(back, 303)
    db.session.commit()
    flash(f"{row.filename} attached.", "success")
    return redirect(back, 303)
