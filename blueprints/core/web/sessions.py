"""Server-side staff sessions: the cookie holds a random id, the row in ``user_sessions`` holds the rest.

Idle and absolute timeouts are checked on every request; a revoked row is dead at once on every web
process, because every process reads the same table.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask, Request, Response, flash, g, redirect, request, url_for
from flask.sessions import SessionInterface, SessionMixin
from flask_login import login_url
from sqlalchemy import bindparam, select
from werkzeug.datastructures import CallbackDict

from blueprints.core.models import User, UserSession
from blueprints.core.services import token_hash
from medcover import clock, outage, read_first
from medcover.api import PREFIX
from medcover.context import current_origin
from medcover.extensions import db, login_manager

TOUCH_EVERY = timedelta(seconds=60)
#: the row and its user in one query (Flask-Login's user loader then finds the user in the identity map); made
#: once, as SQLAlchemy works out a statement's cache key again for every new statement object
_ROW_AND_USER = (
    select(UserSession, User)
    .outerjoin(User, User.id == UserSession.user_id)
    .where(UserSession.token_hash == bindparam("token_hash"))
)


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, data=None, row: UserSession | None = None, token: str | None = None, user: User | None = None):
        def on_update(session):
            session.modified = True

        super().__init__(data or {}, on_update)
        # Held for the request: the database session's identity map keeps rows only while something refers to
        # them, and these are asked for again (the user by Flask-Login's loader, the row when the session is saved).
        self.row, self.user = row, user
        self.row_id = row.id if row is not None else None
        self.token = token
        self.modified = False
        self.rotate = False  # issue a new cookie value for the same row (after sign-in)

    @property
    def new(self) -> bool:  # noqa: D401 - Flask's SessionMixin API
        return self.row_id is None


class ServerSessionInterface(SessionInterface):
    def _skip(self, request: Request) -> bool:
        # The API (and the FHIR interface) authenticates by bearer token only; static files need no session.
        return request.path.startswith((PREFIX, "/fhir/", "/static/"))

    def open_session(self, app: Flask, request: Request):
        if self._skip(request):
            return self.null_session_class()
        token = request.cookies.get(self.get_cookie_name(app))
        if not token or len(token) > 100:
            return ServerSession()
        try:
            found = db.session.execute(_ROW_AND_USER, {"token_hash": token_hash(token)}).first()
        except outage.OUTAGES as exc:
            outage.mark_unavailable(exc)
            return ServerSession()  # a visitor's, never saved: there is nowhere to save it
        if found is None:
            return ServerSession()
        row, user = found
        if not self._alive(app, row):
            g.session_expired = row.user_id is not None and row.revoked_at is None
            return ServerSession()
        return ServerSession(dict(row.data or {}), row=row, token=token, user=user)

    def _alive(self, app: Flask, row: UserSession) -> bool:
        now = clock.now()
        if row.revoked_at is not None or row.expires_at <= now:
            return False
        return now - row.last_seen_at <= app.config["SESSION_IDLE_TIMEOUT"]

    def save_session(self, app: Flask, session, response: Response) -> None:
        if not isinstance(session, ServerSession) or g.get("database_unavailable"):
            return
        now = clock.now()
        row = session.row
        if row is not None and row not in db.session:  # the request ended its database session
            row = db.session.get(UserSession, session.row_id)
        if row is not None and row.revoked_at is not None:
            # Ended during this request (sign-out, password change): keep only what is not sign-in.
            row = None
            session = ServerSession(
                {k: v for k, v in session.items() if not k.startswith("_user") and k not in ("_fresh", "_id")}
            )
            session.modified = bool(session)
        if row is None:
            if not session.modified or not session:
                return
            origin = current_origin()
            row = UserSession(
                token_hash="",
                data={},
                created_at=now,
                last_seen_at=now,
                expires_at=now + app.config["SESSION_ABSOLUTE_TIMEOUT"],
                ip_address=origin.ip_address,
                user_agent=origin.user_agent,
            )
            db.session.add(row)
            session.rotate = True
        user_id = session.get("_user_id")
        if session.modified:
            row.data = dict(session)
            new_user = int(user_id) if user_id else None
            if new_user != row.user_id:
                # Signing in (or out) on a session starts its absolute lifetime again, on a new id.
                row.user_id = new_user
                row.created_at = now
                row.expires_at = now + app.config["SESSION_ABSOLUTE_TIMEOUT"]
                session.rotate = True
        passive = g.get("passive_request", False)  # background polling is not activity
        if session.modified or (not passive and now - row.last_seen_at >= TOUCH_EVERY):
            row.last_seen_at = now
        token = session.token
        if session.rotate or token is None:
            token = secrets.token_urlsafe(32)
            row.token_hash = token_hash(token)
        if not read_first.nothing_to_commit(db.session()):  # a page that only read: nothing to send
            db.session.commit()
        if token != session.token:
            response.set_cookie(
                self.get_cookie_name(app),
                token,
                httponly=True,
                secure=self.get_cookie_secure(app),
                samesite=self.get_cookie_samesite(app),
                path=self.get_cookie_path(app),
                domain=self.get_cookie_domain(app),
            )
        response.vary.add("Cookie")

    @staticmethod
    def current_row_id(session) -> int | None:
        return getattr(session, "row_id", None)


def expired_message(message: str) -> str:
    """Flask-Login's sign-in prompt. The request that finds its session expired is the one redirected to the
    sign-in page, so the page itself cannot tell; the flash it carries says why instead of the generic message."""
    return "Your session has expired. Sign in again." if g.get("session_expired") else message


def sign_in_first():
    """Flask-Login's answer to a signed-out visitor: the sign-in page. A deep link gets the prompt and comes
    back after signing in; the start page is simply where one signs in, so the first visit gets no prompt
    (unless the session has just expired there)."""
    if request.endpoint == "core.dashboard" and not g.get("session_expired"):
        return redirect(url_for(login_manager.login_view))
    flash(expired_message(login_manager.login_message), login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))
