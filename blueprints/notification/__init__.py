"""Notification domain: templates, email/SMS/in-app notifications, delivery tracking, signed webhooks, the jobs page.

Owns ``notification_templates``, ``notifications``, ``notification_logs``, ``delivery_status``,
``notification_preferences``, ``webhook_subscriptions`` and ``webhook_deliveries``. Other domains reach people
(and integrators' webhooks) by publishing events (see subscribers.py) or by calling ``services.send``.
``services/`` is the public face; ``web/`` holds the pages and the JSON endpoints; ``jobs.py`` delivers through
``channels.py``; ``cli.py`` is ``flask notifications``.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("notification", __name__)
api_bp = api_blueprint("api_notification", __name__)


def init_app(app) -> None:
    from blueprints.notification import subscribers  # noqa: F401 - subscribes to domain events
    from blueprints.notification.web import api, push_views, views, webhook_api, webhook_views  # noqa: F401 - registers routes
    from medcover import jobs
    from medcover.navigation import add_nav
    from medcover.rbac import Role

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    app.jinja_env.globals["push_settings"] = _push_settings
    jobs.every(60, "blueprints.notification.jobs:sweep", queue="notifications", setting="SWEEP_SECONDS")
    jobs.every(
        60, "blueprints.notification.services.webhook_delivery:sweep", queue="notifications", setting="SWEEP_SECONDS"
    )
    _add_work()
    from medcover import labels
    from medcover.naming import add_namer

    add_namer("webhook_subscription", webhook_views.webhook_names)
    add_namer("webhook_delivery", webhook_views.webhook_delivery_names)
    labels.register(
        {
            "webhook_subscription": "Webhook",
            "webhook_delivery": "Webhook delivery",
            "resend": "Sent again",
            "disable": "Stopped",
        }
    )
    add_nav("Deliveries", "notification.deliveries", {Role.ADMIN}, group="Administration", order=920)
    add_nav("Webhooks", "notification.webhooks_page", {Role.ADMIN}, group="Administration", order=925)
    add_nav("Templates", "notification.templates", {Role.ADMIN}, group="Administration", order=930)
    add_nav("Jobs", "notification.jobs_page", {Role.ADMIN}, group="Administration", order=940)
    from blueprints.notification.cli import notifications_cli

    app.cli.add_command(notifications_cli)


def _add_work() -> None:
    """The home page's counts for administrators: what the background work could not finish."""
    from blueprints.notification import services
    from medcover.rbac import Role
    from medcover.work import add_work, add_work_counts

    add_work_counts("notification", services.work_waiting)
    add_work(
        "notification",
        "failed_jobs",
        "Failed jobs",
        hint="Background jobs that stopped with an error; retry them from the jobs page",
        roles={Role.ADMIN},
        endpoint="notification.jobs_page",
        order=900,
    )
    add_work(
        "notification",
        "undelivered_notifications",
        "Notifications not delivered",
        hint="Out of attempts; check the address and send them again",
        roles={Role.ADMIN},
        endpoint="notification.deliveries",
        params={"status": "dead"},
        order=910,
    )
    add_work(
        "notification",
        "unsure_notifications",
        "Messages that may have been sent",
        hint="Their sending was cut off midway; check with the recipient, then mark them sent or send them again",
        roles={Role.ADMIN},
        endpoint="notification.deliveries",
        params={"status": "unsure"},
        order=915,
    )


def _push_settings(user_id: int) -> dict:
    """For the profile page's push toggle: whether push is on for the site, its key, the person's browsers."""
    from blueprints.notification import services

    key = services.public_key()
    return {"key": key, "browsers": services.subscription_count(user_id) if key else 0}
