"""Billing domain: tariffs and their history, billing items, invoices and credit notes, accounts
receivable per payer, printable PDF invoices, billing settings.

Owns ``service_tariffs``, ``billing_items``, ``invoices``, ``invoice_lines``, ``invoice_sequences``,
``accounts_receivable``, ``payment_transactions`` and ``billing_settings``. Listens to ``charge.created``
(hospital orders), ``payment.recorded`` and ``refund.recorded``; publishes ``invoice.issued``.
Other domains call ``blueprints.billing.services``; ``web`` holds the pages and the JSON endpoints.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("billing", __name__)
api_bp = api_blueprint("api_billing", __name__)


def init_app(app) -> None:
    from blueprints.billing import services
    from blueprints.billing.web import (  # noqa: F401 - registers routes
        access,
        invoice_api,
        invoice_views,
        issuing_api,
        item_api,
        patient_views,
        print_views,
        receivable_api,
        receivable_views,
        settings_api,
        settings_views,
        tariff_api,
        tariff_views,
    )

    _subscribe(services)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    from blueprints.billing.web import lookups
    from medcover.navigation import HOSPITAL, add_lookup, add_nav, add_panel

    # The hospital's side of billing: an insurer reads the invoices billed to it from its claims and payments.
    billing = {"group": "Billing", "side": HOSPITAL}
    add_nav("Invoices", "billing.invoices", access.READERS, order=300, **billing)
    add_nav("Tariffs", "billing.tariffs", access.READERS, order=320, **billing)
    add_nav("Receivables", "billing.receivables", access.READERS, order=330, **billing)
    add_nav("Billing settings", "billing.settings", services.WRITERS, order=390, **billing)
    add_panel("hospital.patient", "billing.patient_billing", access.READERS, label="Charges and invoices")
    add_lookup(lookups.invoices_numbered, endpoint="billing.invoice")
    from blueprints.billing import cli
    from medcover.demo import add_seed

    app.cli.add_command(cli.billing_cli)
    add_seed("billing", cli.seed_step, order=40)


def _subscribe(services) -> None:
    from medcover.events import subscribe

    subscribe("charge.created")(services.record_charge)
    subscribe("payment.recorded")(services.record_payment_event)
    subscribe("refund.recorded")(services.record_refund_event)
