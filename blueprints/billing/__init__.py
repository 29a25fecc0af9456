"""Billing domain: tariffs and their history, billing items, invoices and credit notes, accounts
receivable per payer, printable PDF invoices, billing settings.

Owns ``service_tariffs``, ``billing_items``, ``invoices``, ``invoice_lines``, ``invoice_sequences``,
``accounts_receivable``, ``payment_transactions`` and ``billing_settings``. Listens to ``charge.created``
(hospital orders), ``payment.recorded`` and ``refund.recorded``; publishes ``invoice.issued``.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("billing", __name__)
api_bp = api_blueprint("api_billing", __name__)


def init_app(app) -> None:
    from blueprints.billing import api, ledger_views, print_views, services, views  # noqa: F401 - registers routes

    _subscribe(services)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    from medcover.navigation import add_nav, add_panel

    add_nav("Invoices", "billing.invoices", views.READERS, order=300)
    add_panel("hospital.patient", "billing.patient_billing", views.READERS, label="Charges and invoices")
    add_nav("Tariffs", "billing.tariffs", ledger_views.READERS, order=320)
    add_nav("Receivables", "billing.receivables", ledger_views.READERS, order=330)
    add_nav("Billing settings", "billing.settings", ledger_views.WRITERS, order=390)


def _subscribe(services) -> None:
    from medcover.events import subscribe

    subscribe("charge.created")(services.record_charge)
    subscribe("payment.recorded")(services.record_payment_event)
    subscribe("refund.recorded")(services.record_refund_event)
