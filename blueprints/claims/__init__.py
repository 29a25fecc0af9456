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
    from blueprints.claims import api, services, views  # noqa: F401 - registers the routes
    from medcover.events import subscribe

    services.register()
    subscribe("payment.recorded")(services.record_payment_event)
    subscribe("refund.recorded")(services.record_refund_event)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
