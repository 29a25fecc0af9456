"""Core domain: staff users and roles, server-side sessions, sign-in, API tokens and the audit log.

Owns ``users``, ``user_sessions``, ``login_throttles``, ``password_resets``, ``user_invitations``,
``api_refresh_tokens``, ``oauth_clients``, ``oauth_access_tokens`` and ``audit_logs``.
"""

from flask import Blueprint

from medcover import audit
from medcover.api import api_blueprint

bp = Blueprint("core", __name__)
api_bp = api_blueprint("api_core", __name__)


def init_app(app) -> None:
    from blueprints.core import services
    from blueprints.core.web import (  # noqa: F401 - registers routes
        admin_api,
        admin_views,
        auth_api,
        auth_views,
        oauth_api,
        oauth_views,
        search_views,
    )
    from blueprints.core.web.sessions import ServerSessionInterface, expired_message, sign_in_first
    from medcover import api as gateway
    from medcover.extensions import login_manager
    from medcover.navigation import add_nav
    from medcover.rbac import STAFF, Role

    app.session_interface = ServerSessionInterface()
    login_manager.login_view = "core.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.localize_callback = expired_message
    login_manager.unauthorized_handler(sign_in_first)
    login_manager.session_protection = "basic"
    login_manager.user_loader(services.signed_in_user)
    gateway.register_token_authenticator(services.oauth_clients.principal_for_bearer)
    audit.on_denied(services.record_denial)
    from blueprints.core.web import oauth_server
    from medcover import labels
    from medcover.naming import add_namer

    oauth_server.init_app(app)
    add_namer("oauth_client", oauth_views.oauth_client_names)
    labels.register(
        {
            "oauth_client": "OAuth client",
            "token_issued": "Token issued",
            "rotate_secret": "Secret replaced",
            "revoke": "Revoked",
        }
    )
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    add_nav("Home", "core.dashboard", STAFF, order=0)
    add_nav("Users", "core.users", {Role.ADMIN}, group="Administration", order=900)
    add_nav("OAuth clients", "core.oauth_clients", {Role.ADMIN}, group="Administration", order=905)
    add_nav("Audit log", "core.audit_log", {Role.ADMIN, Role.AUDITOR}, group="Administration", order=910)
    from blueprints.core import cli
    from medcover.demo import add_seed

    app.cli.add_command(cli.users_cli)
    add_seed("core", cli.seed_step, order=30)
