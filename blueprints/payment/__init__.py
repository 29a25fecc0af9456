"""Payment domain: payments of invoices, claims and premiums (append-only, reversals for corrections),
refunds with approval above a threshold, settlements of approved claims, payment methods behind gateway
adapters, agents and their commissions.

Owns ``payments``, ``refunds``, ``payment_methods``, ``financial_settlements``, ``commission_agents``,
``commission_rates``, ``agent_assignments``, ``commissions`` and ``commission_payments``. Publishes
``payment.recorded``, ``refund.recorded`` and ``payment.received``.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("payment", __name__)
api_bp = api_blueprint("api_payment", __name__)


def init_app(app) -> None:
    from blueprints.payment import api, services, views  # noqa: F401 - registers the routes
    from medcover import idempotency, jobs  # noqa: F401 - idempotency: its table is the API's

    jobs.every(3600, "medcover.idempotency:purge")
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    from medcover.navigation import add_nav, add_panel

    add_nav("Payments", "payment.payments", views.READERS, order=500)
    add_nav("Refunds", "payment.refunds", views.READERS, order=510)
    add_nav("Settlements", "payment.settlements", views.READERS, order=520)
    add_nav("Agents", "payment.agents", views.AGENT_READERS, order=530)
    add_nav("Payment methods", "payment.methods", views.READERS, order=540)
    add_panel("billing.invoice", "payment.invoice_payments", views.READERS, label="Payments")
