"""Claims domain: claim intake, the adjudication engine (``engine``, a pure function of ADJUDICATION.md),
the adjudicators' work queue, claim letters, disputes, reconciliation and the insurers' dashboard.

Owns ``claims``, ``claim_items``, ``claim_statuses``, ``claim_audit_trails``, ``claim_payments``,
``disputes``, ``dispute_attachments`` and ``reconciliation_records``. Publishes ``claim.decided``,
``claim.changed`` (a claim of an invoice moved: billing's payer split follows), ``dispute.opened`` and
``dispute.resolved``; answers billing's payer split (``services.estimates``); listens to ``payment.recorded``
and ``refund.recorded``.

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
        suspect_views,
        void_views,
    )
    from medcover.events import subscribe
    from medcover.navigation import INSURER, add_lookup, add_nav, add_panel

    services.register()
    app.add_template_filter(claim_views.status_badge, "claim_badge")
    _add_work(services)
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
    from medcover.naming import add_namer

    add_namer("claim", lookups.claim_names)
    add_namer("dispute", lookups.dispute_names)
    from blueprints.claims import cli
    from medcover.demo import add_seed

    app.cli.add_command(cli.claims_cli)
    add_seed("claims", cli.seed_step, order=50)


def _add_work(services) -> None:
    """The home page's counts: the insurer's claims to review, disputes to resolve and claims to pay; the
    provider's drafts not yet sent and its disputes still open."""
    from medcover.rbac import Role
    from medcover.work import HOSPITAL, INSURER, add_work, add_work_counts

    add_work_counts("claims", services.work_waiting)
    add_work(
        "claims",
        "claims_to_review",
        "Claims waiting for review",
        hint="Sent to a person by the scheme's rules; the oldest comes first in the work queue",
        roles={Role.ADJUDICATOR},
        sides={INSURER},
        endpoint="claims.queue",
        params={"sort": "age"},
        order=400,
    )
    add_work(
        "claims",
        "disputes_to_resolve",
        "Disputes to resolve",
        hint="Raised against decisions on your members' claims, waiting to be upheld or dismissed",
        roles={Role.ADJUDICATOR},
        sides={INSURER},
        endpoint="claims.disputes_list",
        params={"status": "open"},
        order=410,
    )
    add_work(
        "claims",
        "claims_to_pay",
        "Approved claims to pay",
        hint="Approved in full or in part, not yet paid",
        roles={Role.FINANCE_OFFICER},
        sides={INSURER},
        endpoint="claims.claims",
        params={"status": services.TO_PAY},
        order=500,
    )
    add_work(
        "claims",
        "draft_claims",
        "Draft claims",
        hint="Started and not yet sent to the insurer",
        roles={Role.BILLING_CLERK},
        sides={HOSPITAL},
        endpoint="claims.claims",
        params={"status": "draft"},
        order=330,
    )
    add_work(
        "claims",
        "disputes_open",
        "Open disputes",
        hint="Your hospital's disputes waiting for the insurer's answer",
        roles={Role.BILLING_CLERK},
        sides={HOSPITAL},
        endpoint="claims.disputes_list",
        params={"status": "open"},
        order=340,
    )
