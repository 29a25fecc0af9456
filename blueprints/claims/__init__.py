"""Claims domain: claim intake, the adjudication engine (``engine``, a pure function of ADJUDICATION.md),
the adjudicators' work queue, claim letters, disputes, reconciliation and the insurers' dashboard.

Owns ``claims``, ``claim_items``, ``claim_statuses``, ``claim_audit_trails``, ``claim_payments``,
``disputes``, ``dispute_attachments`` and ``reconciliation_records``. Publishes ``claim.decided``,
``dispute.opened`` and ``dispute.resolved``; listens to ``payment.recorded`` and ``refund.recorded``.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("claims", __name__)
api_bp = api_blueprint("api_claims", __name__)


def init_app(app) -> None:
    from blueprints.claims import api, dispute_api, dispute_views, letter_views, services, views  # noqa: F401 - registers the routes  # noqa: F401 - disputes and reconciliation
    from medcover.events import subscribe

    services.register()
    subscribe("payment.recorded")(services.record_payment_event)
    subscribe("refund.recorded")(services.record_refund_event)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    from medcover.navigation import add_nav, add_panel

    add_nav("Claims", "claims.claims", views.READERS, order=400)
    add_nav("Work queue", "claims.queue", views.DECIDERS, order=410)
    add_nav("Claims dashboard", "claims.claims_dashboard", views.INSURER_STAFF, order=420)
    add_panel("billing.invoice", "claims.invoice_claim", views.READERS, label="Insurance claim")
    add_nav("Disputes", "claims.disputes_list", dispute_views.PAGE_READERS, order=450)
    add_nav("Reconciliation", "claims.reconciliation_start", dispute_views.RECONCILIATION_READERS, order=460)
