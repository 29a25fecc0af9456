"""Claims domain: claim intake, the adjudication engine (``engine``, a pure function of ADJUDICATION.md),
the adjudicators' work queue, claim letters, disputes, reconciliation and the insurers' dashboard.

Owns ``claims``, ``claim_items``, ``claim_statuses``, ``claim_audit_trails``, ``claim_payments``,
``disputes``, ``dispute_attachments`` and ``reconciliation_records``. Publishes ``claim.decided``,
``dispute.opened`` and ``dispute.resolved``; listens to ``payment.recorded`` and ``refund.recorded``.

``services`` is its public face (the only thing other domains import), ``web`` its pages and JSON API,
``engine`` the adjudication rules, ``cli`` its part of the demo data.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("claims", __name__)
api_bp = api_blueprint("api_claims", __name__)


def init_app(app) -> None:
    from blueprints.claims import services
    from blueprints.claims.web import (  # noqa: F401 - importing the route modules registers their routes
        claim_api,
        claim_views,
        dashboard_views,
        decision_api,
        dispute_api,
        dispute_views,
        intake_views,
        letter_views,
        lookups,
        reconciliation_api,
        reconciliation_views,
        review_views,
    )
    from medcover.events import subscribe
    from medcover.navigation import INSURER, add_lookup, add_nav, add_panel

    services.register()
    subscribe("payment.recorded")(services.record_payment_event)
    subscribe("refund.recorded")(services.record_refund_event)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    add_nav("Claims", "claims.claims", claim_views.READERS, group="Claims", order=400)
    add_nav("Work queue", "claims.queue", claim_views.DECIDERS, group="Claims", side=INSURER, order=410)
    dashboard = "claims.claims_dashboard"
    add_nav("Claims dashboard", dashboard, claim_views.INSURER_STAFF, group="Claims", side=INSURER, order=420)
    add_nav("Disputes", "claims.disputes_list", dispute_views.PAGE_READERS, group="Claims", order=450)
    readers = reconciliation_views.RECONCILIATION_READERS
    add_nav("Reconciliation", "claims.reconciliation_start", readers, group="Finance", order=560)
    add_panel("billing.invoice", "claims.invoice_claim", claim_views.READERS, label="Insurance claim")
    add_lookup(lookups.claims_numbered, endpoint="claims.claim")
    from blueprints.claims import cli
    from medcover.demo import add_seed

    app.cli.add_command(cli.claims_cli)
    add_seed("claims", cli.seed_step, order=50)
