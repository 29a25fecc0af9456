"""Admin pages: the user list (HTMX search as you type), create, invite, edit, deactivate; the audit log."""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for

from blueprints.core import bp, services
from blueprints.core.web.forms import AuditFilterForm, InviteForm, UserCreateForm, UserEditForm
from medcover.errors import DomainError
from medcover.exports import csv_response
from medcover.extensions import db
from medcover.labels import label
from medcover.naming import names_for
from medcover.pages import actor, page_of, public_url, render, submit, toast
from medcover.rbac import Role, allow

EXPORT_LIMIT = 50_000


def as_json(value) -> str:
    """An audit entry's before or after as JSON (the CSV's cell; empty when there is none)."""
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


AUDIT_COLUMNS = (
    "When",
    "Who",
    "Action",
    "Kind of record",
    "Record",
    "From address",
    "Request",
    "Before (JSON)",
    "After (JSON)",
    "Summary",
    "Route",
)


@bp.get("/admin/users")
@allow(Role.ADMIN)
def users():
    q = request.args.get("q", "")[:100].replace("\x00", "")  # PostgreSQL cannot compare text with NUL
    role = request.args.get("role", "")
    if role not in {r.value for r in Role}:
        role = ""
    rows, paging = page_of(services.users_query(actor(), q, role))
    return render("core/users.html", "core/_user_rows.html", rows=rows, paging=paging, q=q, role=role, roles=list(Role))


@bp.route("/admin/users/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def user_new():
    form = UserCreateForm()
    _preset_tenant(form)
    done = submit(
        form,
        lambda: services.create_user(
            actor=actor(),
            email=form.email.data,
            full_name=form.full_name.data,
            role=form.role.data,
            password=form.password.data,
            institution_id=form.institution_id.data,
            company_id=form.company_id.data,
        ),
    )
    if done.ok:
        flash(f"{done.result.full_name} can now sign in.", "success")
        return redirect(url_for("core.users"), 303)
    return render_template("core/user_form.html", form=form, user=None), done.status


@bp.route("/admin/users/invite", methods=["GET", "POST"])
@allow(Role.ADMIN)
def user_invite():
    form = InviteForm()
    _preset_tenant(form)
    done = submit(
        form,
        lambda: services.invite_user(
            actor=actor(),
            email=form.email.data,
            role=form.role.data,
            institution_id=form.institution_id.data,
            company_id=form.company_id.data,
            register_url=lambda t: public_url("core.register", token=t),
        ),
    )
    if done.ok:
        flash(f"Invitation sent to {form.email.data}.", "success")
        return redirect(url_for("core.users"), 303)
    return render_template("core/invite_form.html", form=form), done.status


@bp.route("/admin/users/<id:user_id>/edit", methods=["GET", "POST"])
@allow(Role.ADMIN)
def user_edit(user_id: int):
    user = services.get_user(actor(), user_id)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = user.role.value
    done = submit(
        form,
        lambda: services.update_user(
            actor=actor(),
            user_id=user.id,
            full_name=form.full_name.data,
            role=form.role.data,
            institution_id=form.institution_id.data,
            company_id=form.company_id.data,
            active=form.active.data,
        ),
    )
    if done.ok:
        flash("Saved.", "success")
        return redirect(url_for("core.users"), 303)
    # After a refusal the rollback expired ``user``: the page shows it as stored.
    return render_template("core/user_form.html", form=form, user=user), done.status


@bp.post("/admin/users/<id:user_id>/active")
@allow(Role.ADMIN)
def user_set_active(user_id: int):
    """Deactivate or reactivate from the list; HTMX swaps the row in place."""
    active = request.form.get("active") == "1"
    try:
        user = services.set_active(actor=actor(), user_id=user_id, active=active)
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        flash(exc.detail, "error")
        return redirect(url_for("core.users"), 303)
    db.session.commit()
    response = render(
        "core/users.html", "core/_user_row.html", user=user, rows=[user], paging=None, q="", role="", roles=list(Role)
    )
    return toast(response, "Reactivated." if active else "Deactivated.")


def _preset_tenant(form) -> None:
    """A tenant admin's new users belong to the admin's own tenant."""
    admin = actor()
    if request.method == "GET":
        form.institution_id.data = admin.institution_id
        form.company_id.data = admin.company_id


def _audit_filters():
    form = AuditFilterForm(request.args)
    form.validate()
    filters = services.AuditFilter(
        user=(form.user.data or "").strip() if not form.user.errors else "",
        entity_type=(form.entity_type.data or "").strip() if not form.entity_type.errors else "",
        action=(form.action.data or "").strip() if not form.action.errors else "",
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
    )
    return form, filters


@bp.get("/admin/audit")
@allow(Role.ADMIN, Role.AUDITOR)
def audit_log():
    form, filters = _audit_filters()
    rows, paging = page_of(services.audit_query(actor(), filters))
    return render(
        "core/audit.html",
        "core/_audit_rows.html",
        form=form,
        rows=rows,
        paging=paging,
        names=names_for((row.entity_type, row.entity_id) for row in rows),
        entity_types=services.audit_entity_types(),
    )


@bp.get("/admin/audit.csv")
@allow(Role.ADMIN, Role.AUDITOR)
def audit_export():
    _form, filters = _audit_filters()
    viewer = actor()
    rows = db.session.scalars(services.audit_query(viewer, filters).limit(EXPORT_LIMIT)).all()
    names = names_for((row.entity_type, row.entity_id) for row in rows)
    response = csv_response(
        AUDIT_COLUMNS,
        (
            (
                row.occurred_at.isoformat(),
                row.actor_label or "System",
                label(row.action),
                label(row.entity_type),
                names[(row.entity_type, row.entity_id)].text if row.entity_id else "",
                row.ip_address,
                row.request_id,
                as_json(row.before),
                as_json(row.after),
                row.summary,
                row.route,
            )
            for row in rows
        ),
        "audit-log.csv",
    )
    services.record_audit(
        viewer,
        "export",
        "audit_log",
        None,
        summary=f"{len(rows)} rows",
        institution_id=viewer.institution_id,
        company_id=viewer.company_id,
    )
    db.session.commit()
    return response
