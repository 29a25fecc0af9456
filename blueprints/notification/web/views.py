"""Notification pages: the bell and inbox, preferences, delivery tracking, templates, the jobs page."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.notification import bp, services
from blueprints.notification.models import Channel, Status
from blueprints.notification.web.forms import TemplateForm
from medcover.errors import DomainError, Invalid
from medcover.extensions import db
from medcover.pages import actor, page_of, render, submit, tenant
from medcover.rbac import STAFF, Role, allow

# --- inbox -------------------------------------------------------------------------------------


@bp.get("/notifications/bell")
@allow(STAFF)
def bell():
    g.passive_request = True  # polling must not keep an idle session alive
    return render_template("notification/_bell.html", unread=services.unread_count(current_user.id))


@bp.get("/notifications")
@allow(STAFF)
def inbox():
    unread_only = request.args.get("unread") == "1"
    rows, paging = page_of(services.inbox_query(current_user.id, unread_only))
    return render(
        "notification/inbox.html", "notification/_inbox_rows.html", rows=rows, paging=paging, unread_only=unread_only
    )


@bp.post("/notifications/<id:notification_id>/read")
@allow(STAFF)
def mark_read(notification_id: int):
    services.mark_read(user_id=current_user.id, notification_id=notification_id)
    db.session.commit()
    if request.headers.get("HX-Request"):
        row = services.get_inbox_item(current_user.id, notification_id)
        response = render("notification/inbox.html", "notification/_inbox_item.html", row=row)
        response.headers["HX-Trigger"] = "notificationsChanged"
        return response
    return redirect(url_for("notification.inbox"), 303)


@bp.post("/notifications/read-all")
@allow(STAFF)
def mark_all_read():
    count = services.mark_read(user_id=current_user.id)
    db.session.commit()
    flash(f"{count} notification(s) marked read.", "success")
    return redirect(url_for("notification.inbox"), 303)


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@allow(STAFF)
def preferences():
    catalogue = [t for t in services.catalogue() if t.code in services.CODES and t.code not in services.ADMIN_ALERTS]
    if request.method == "POST":
        try:
            for template in catalogue:
                key = f"{template.code}|{template.channel.value}"
                wanted = request.form.get(key) == "on" or template.mandatory
                current = services.preferences(current_user.id).get((template.code, template.channel), True)
                if wanted != current:
                    services.set_preference(
                        actor=actor(), template_code=template.code, channel=template.channel, enabled=wanted
                    )
        except DomainError as exc:
            db.session.rollback()
            flash(exc.detail, "error")
            return redirect(url_for("notification.preferences"), 303)
        db.session.commit()
        flash("Your notification choices are saved.", "success")
        return redirect(url_for("notification.preferences"), 303)
    return render_template(
        "notification/preferences.html", catalogue=catalogue, chosen=services.preferences(current_user.id)
    )


# --- delivery tracking (admins) ---------------------------------------------------------------


@bp.get("/admin/notifications")
@allow(Role.ADMIN)
def deliveries():
    status, channel, code = (
        request.args.get("status", ""),
        request.args.get("channel", ""),
        request.args.get("code", ""),
    )
    stmt = services.delivery_query(tenant(), status, channel, code[:80])
    rows, paging = page_of(stmt)
    return render(
        "notification/deliveries.html",
        "notification/_delivery_rows.html",
        rows=rows,
        paging=paging,
        statuses=list(Status),
        channels=list(Channel),
        status_filter=status,
        channel=channel,
        code=code,
        codes=services.CODES,
    )


@bp.get("/admin/notifications/<id:notification_id>")
@allow(Role.ADMIN)
def delivery(notification_id: int):
    row = services.get_notification(notification_id, tenant())
    return render_template(
        "notification/delivery.html", row=row, log=services.history(row.id), receipts=services.receipts(row.id)
    )


def _delivery_action(notification_id: int, action, done: str):
    """Send again or mark sent: one service call, then back to the delivery page with what happened."""
    try:
        action(actor=actor(), notification_id=notification_id, tenant=tenant())
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        flash(exc.detail, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("notification.delivery", notification_id=notification_id), 303)


@bp.post("/admin/notifications/<id:notification_id>/resend")
@allow(Role.ADMIN)
def resend(notification_id: int):
    return _delivery_action(notification_id, services.resend, "Queued for sending again.")


@bp.post("/admin/notifications/<id:notification_id>/mark-sent")
@allow(Role.ADMIN)
def mark_sent(notification_id: int):
    return _delivery_action(notification_id, services.mark_sent, "Recorded as sent.")


# --- templates (admins) -------------------------------------------------------------------------


def _template_key(values) -> tuple[str, Channel]:
    """The (code, channel) a template page is about; email when the channel is missing or unknown."""
    try:
        channel = Channel(values.get("channel", "email"))
    except ValueError:
        channel = Channel.EMAIL
    return values.get("code", "")[:80], channel


@bp.get("/admin/notification-templates")
@allow(Role.ADMIN)
def templates():
    return render_template("notification/templates.html", catalogue=services.catalogue())


@bp.route("/admin/notification-templates/edit", methods=["GET", "POST"])
@allow(Role.ADMIN)
def template_edit():
    code, channel = _template_key(request.values)
    current = services.active_template(code, channel) if code else None
    form = TemplateForm()
    status = 200
    if request.method == "GET":
        form.code.data, form.channel.data = code, channel.value
        if current:
            form.subject.data, form.body.data = current.subject, current.body
    else:
        done = submit(
            form,
            lambda: services.save_template(
                actor=actor(),
                code=form.code.data,
                channel=form.channel.data,
                subject=form.subject.data or "",
                body=form.body.data,
                description=form.description.data or "",
            ),
        )
        if done.ok:
            flash("Saved as a new version; it is used from now on.", "success")
            return redirect(url_for("notification.templates"), 303)
        status = done.status
    variables = current.variables if current else {}
    versions = services.template_versions(code, channel) if code else []
    return render_template(
        "notification/template_form.html", form=form, variables=variables, versions=versions, current=current
    ), status


@bp.post("/admin/notification-templates/preview")
@allow(Role.ADMIN)
def template_preview():
    """HTMX live preview with sample values for each documented variable."""
    code, channel = _template_key(request.form)
    current = services.active_template(code, channel)
    variables = current.variables if current else {}
    try:
        subject, body = services.preview(
            request.form.get("subject", "")[:200], request.form.get("body", "")[:10_000], variables
        )
        error = None
    except Invalid as exc:
        subject, body = "", ""
        error = "; ".join(m for messages in exc.errors.values() for m in messages) or exc.detail
    return render_template("notification/_preview.html", subject=subject, body=body, error=error)


# --- background jobs (admins) -----------------------------------------------------------------


@bp.get("/admin/jobs")
@allow(Role.ADMIN)
def jobs_page():
    return render("notification/jobs.html", "notification/_jobs_panel.html", overview=services.jobs_overview())


@bp.post("/admin/jobs/<queue>/<job_id>/retry")
@allow(Role.ADMIN)
def job_retry(queue: str, job_id: str):
    try:
        services.retry_failed_job(queue, job_id, actor=actor())
    except DomainError as exc:
        flash(exc.detail, "error")
    else:
        db.session.commit()
        flash("The job is queued again.", "success")
    return redirect(url_for("notification.jobs_page"), 303)
