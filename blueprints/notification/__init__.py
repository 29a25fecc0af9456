"""Notification domain: templates, email/SMS/in-app notifications, delivery tracking, and the jobs page.

Owns ``notification_templates``, ``notifications``, ``notification_logs``, ``delivery_status`` and
``notification_preferences``. Other domains reach people by publishing events (see subscribers.py)
or by calling ``services.send``.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("notification", __name__)
api_bp = api_blueprint("api_notification", __name__)


def init_app(app) -> None:
    from blueprints.notification import api, subscribers, views  # noqa: F401 - registers routes and handlers
    from medcover import jobs
    from medcover.navigation import add_nav
    from medcover.rbac import Role

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    jobs.every(60, "blueprints.notification.jobs:sweep", queue="notifications")
    add_nav("Deliveries", "notification.deliveries", {Role.ADMIN}, order=920)
    add_nav("Templates", "notification.templates", {Role.ADMIN}, order=930)
    add_nav("Jobs", "notification.jobs_page", {Role.ADMIN}, order=940)
