"""Core pages: sign-in and out, invitations, password reset and change, profile, my sessions, the home page."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from blueprints.core import bp, services
from blueprints.core.web.forms import ChangePasswordForm, LoginForm, NewPasswordForm, RegisterForm, ResetRequestForm
from medcover import clock, work
from medcover.extensions import db, rate_limit
from medcover.pages import actor, public_url, safe_next, submit
from medcover.rbac import STAFF, Role, allow, public


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


@bp.route("/auth/login", methods=["GET", "POST"])
@public
@rate_limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.dashboard"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, request.remote_addr)
            if user.role is Role.INTEGRATION:
                db.session.rollback()  # not signed in: keep no "login" entry and no last sign-in time
                raise services.LoginRefused("Integration accounts sign in through the API, not this page.")
        except services.LoginRefused as refused:
            db.session.commit()  # the failure counts and its audit entry must stay
            form.form_errors = [refused.message]
            status = 429 if refused.retry_after else 401
        else:
            login_user(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next"), url_for("core.dashboard")), 303)
    elif request.method == "POST":
        status = 422
    expired = g.get("session_expired", False)
    return render_template("core/login.html", form=form, expired=expired), status


@bp.route("/auth/logout", methods=["GET", "POST"])
@allow(STAFF)
def logout():
    if request.method == "GET":
        return render_template("core/logout.html")
    user = actor()
    row_id = getattr(session, "row_id", None)
    services.record_logout(user)
    if row_id:
        services.end_session(row_id, reason="logout")
    logout_user()
    db.session.commit()
    flash("You are signed out.", "info")
    return redirect(url_for("core.login"), 303)


@bp.post("/auth/refresh")
@allow(STAFF)
def refresh():
    """Keep the session alive ("stay signed in"): touching it resets the idle timer."""
    session.modified = True
    return "", 204


@bp.route("/auth/register", methods=["GET", "POST"])
@public
def register():
    token = request.args.get("token", "")
    invitation = services.invitation_for(token)
    if invitation is None:
        return render_template("core/register.html", form=None, invitation=None), 404
    form = RegisterForm()
    done = submit(
        form, lambda: services.accept_invitation(token, full_name=form.full_name.data, password=form.password.data)
    )
    if done.ok:
        flash(f"Welcome, {done.result.full_name}. Sign in with your new password.", "success")
        return redirect(url_for("core.login"), 303)
    return render_template("core/register.html", form=form, invitation=invitation), done.status


@bp.route("/auth/reset-password", methods=["GET", "POST"])
@public
@rate_limit(_login_limit, methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data, lambda token: public_url("core.reset_password", token=token))
        db.session.commit()
        # The same answer whether or not the account exists.
        flash("If that email belongs to an account, a reset link is on its way.", "info")
        return redirect(url_for("core.login"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("core/reset_request.html", form=form), status


@bp.route("/auth/reset-password/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    if not services.reset_token_valid(token):
        return render_template("core/reset_password.html", form=None), 404
    form = NewPasswordForm()
    done = submit(form, lambda: services.reset_password(token, form.new_password.data))
    if done.ok:
        flash("Your password is changed. Sign in with the new one.", "success")
        return redirect(url_for("core.login"), 303)
    return render_template("core/reset_password.html", form=form), done.status


@bp.get("/auth/profile")
@allow(STAFF)
def profile():
    return render_template("core/profile.html", user=current_user)


@bp.route("/auth/change-password", methods=["GET", "POST"])
@allow(STAFF)
def change_password():
    form = ChangePasswordForm()
    done = submit(
        form,
        lambda: services.change_password(
            actor=actor(),
            current_password=form.current_password.data,
            new_password=form.new_password.data,
        ),
    )
    if done.ok:
        logout_user()
        flash("Your password is changed and every session has ended. Sign in again.", "success")
        return redirect(url_for("core.login"), 303)
    return render_template("core/change_password.html", form=form), done.status


@bp.get("/auth/sessions")
@allow(STAFF)
def my_sessions():
    rows = services.active_sessions(current_user.id)
    return render_template("core/sessions.html", rows=rows, current_id=getattr(session, "row_id", None))


@bp.post("/auth/sessions/<id:session_id>/revoke")
@allow(STAFF)
def revoke_session(session_id: int):
    services.revoke_session(actor=actor(), session_id=session_id)
    db.session.commit()
    if session_id == getattr(session, "row_id", None):
        logout_user()
        return redirect(url_for("core.login"), 303)
    flash("The session is ended.", "success")
    return redirect(url_for("core.my_sessions"), 303)


@bp.post("/auth/sessions/revoke-all")
@allow(STAFF)
def sign_out_everywhere():
    services.sign_out_everywhere(actor=actor())
    logout_user()
    db.session.commit()
    flash("You are signed out on every device.", "info")
    return redirect(url_for("core.login"), 303)


@bp.get("/")
@allow(STAFF)
def dashboard():
    """Home: the work waiting for the person's role, each count a link to the list it counted."""
    return render_template("core/dashboard.html", cards=work.waiting_for(current_user), today=clock.today())
