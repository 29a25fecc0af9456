"""Payment domain: payments of invoices, claims and premiums (append-only, reversals for corrections),
refunds with approval above a threshold, settlements of approved claims, payment methods behind gateway
adapters, agents and their commissions.

Owns ``payments``, ``refunds``, ``payment_methods``, ``financial_settlements``, ``commission_agents``,
``commission_rates``, ``agent_assignments``, ``commissions`` and ``commission_payments``. Publishes
``payment.recorded``, ``refund.recorded`` and ``payment.received``. Other domains call ``services``; the pages
and JSON endpoints are in ``web``.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("payment", __name__)
api_bp = api_blueprint("api_payment", __name__)


def init_app(app) -> None:
    from blueprints.payment.web import (  # noqa: F401 - registers the routes
        commission_api,
        commission_views,
        method_api,
        method_views,
        payment_api,
        payment_views,
        record_views,
        refund_api,
        refund_views,
        settlement_api,
        settlement_views,
    )
    from blueprints.payment.web.page_base import AGENT_READERS, READERS
    from medcover import idempotency, jobs  # noqa: F401 - idempotency: its table is the API's

    jobs.every(3600, "medcover.idempotency:purge")
    _add_work()
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    from medcover.navigation import INSURER, add_nav, add_panel

    # Both sides: a hospital's money received and an insurer's money paid; agents are an insurer's business.
    add_nav("Payments", "payment.payments", READERS, group="Finance", order=500)
    add_nav("Refunds", "payment.refunds", READERS, group="Finance", order=510)
    add_nav("Settlements", "payment.settlements", READERS, group="Finance", order=520)
    add_nav("Agents", "payment.agents", AGENT_READERS, group="Finance", side=INSURER, order=530)
    add_nav("Payment methods", "payment.methods", READERS, group="Finance", order=540)
    add_panel("billing.invoice", "payment.invoice_payments", READERS, label="Receipts")
    from blueprints.payment.web import names
    from medcover.naming import add_namer

    add_namer("payment", names.payment_names)
    add_namer("settlement", names.settlement_names)
    add_namer("refund", names.refund_names)


def _add_work() -> None:
    """The home page's count: refunds above the threshold wait for a second finance officer."""
    from blueprints.payment import services
    from medcover.rbac import Role
    from medcover.work import add_work, add_work_counts

    add_work_counts("payment", services.work_waiting)
    add_work(
        "payment",
        "refunds_to_approve",
        "Refunds to approve",
        hint="Asked for above the approval threshold; another finance officer approves or rejects",
        roles={Role.FINANCE_OFFICER},
        endpoint="payment.refunds",
        params={"status": "pending_approval"},
        order=510,
    )
