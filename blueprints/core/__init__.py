"""Core domain: staff users and roles, server-side sessions, sign-in, API tokens and the audit log.

Owns ``users``, ``user_sessions``, ``login_throttles``, ``password_resets``, ``user_invitations``,
``api_refresh_tokens`` and ``audit_logs``.
"""

from flask import Blueprint, g

from medcover.api import api_blueprint

bp = Blueprint("core", __name__)
api_bp = api_blueprint("api_core", __name__)


def init_app(app) -> None:
    from blueprints.core import admin, views  # noqa: F401 - registers the page routes
    from blueprints.core import api as api_routes  # noqa: F401 - registers the JSON routes
    from blueprints.core.models import User
    from blueprints.core.sessions import ServerSessionInterface
    from blueprints.core.tokens import user_for_access_token
    from medcover import api as gateway
    from medcover.extensions import db, login_manager
    from medcover.navigation import add_nav
    from medcover.rbac import STAFF, Role

    app.session_interface = ServerSessionInterface()
    login_manager.login_view = "core.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    # The request that finds its session expired is the one redirected to the sign-in page, so the
    # page itself cannot tell; the flash it carries says why instead of the generic message.
    login_manager.localize_callback = lambda message: (
        "Your session has expired. Sign in again." if g.get("session_expired") else message
    )
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            user = db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and user.active else None

    gateway.register_token_authenticator(user_for_access_token)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    add_nav("Home", "core.dashboard", STAFF, order=0)
    add_nav("Users", "core.users", {Role.ADMIN}, order=900)
    add_nav("Audit log", "core.audit_log", {Role.ADMIN, Role.AUDITOR}, order=910)
