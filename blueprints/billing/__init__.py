"""Billing domain: tariffs and their history, billing items, invoices and credit notes, accounts
receivable per payer, printable PDF invoices, billing settings.

Owns ``service_tariffs``, ``billing_items``, ``invoices``, ``invoice_lines``, ``invoice_sequences``,
``accounts_receivable``, ``payment_transactions`` and ``billing_settings``. Listens to ``charge.created``
(hospital orders), ``payment.recorded``, ``refund.recorded`` and ``claim.changed`` (the payer split follows
the claim); publishes ``invoice.issued``.
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
        charge_views,
        invoice_api,
        invoice_views,
        issuing_api,
        item_api,
        patient_views,
        pick_views,
        print_views,
        receivable_api,
        receivable_views,
        settings_api,
        settings_views,
        tariff_api,
        tariff_views,
    )

    _subscribe(services)
    _add_work(services)
    app.add_template_filter(invoice_views.status_badge, "invoice_badge")
    app.add_template_filter(invoice_views.invoice_number, "invoice_number")
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    from blueprints.billing.web import lookups
    from medcover.navigation import HOSPITAL, add_lookup, add_nav, add_panel

    # The hospital's side of billing: an insurer reads the invoices billed to it from its claims and payments.
    billing = {"group": "Billing", "side": HOSPITAL}
    add_nav("Invoices", "billing.invoices", access.READERS, order=300, **billing)
    add_nav("Charges", "billing.charges", charge_views.READERS, order=305, **billing)
    add_nav("Tariffs", "billing.tariffs", access.READERS, order=320, **billing)
    add_nav("Receivables", "billing.receivables", access.READERS, order=330, **billing)
    add_nav("Billing settings", "billing.settings", services.WRITERS, order=390, **billing)
    add_panel("hospital.patient", "billing.patient_billing", access.READERS, label="Charges and invoices")
    add_lookup(lookups.invoices_numbered, endpoint="billing.invoice")
    from medcover.naming import add_namer

    add_namer("invoice", lookups.invoice_names)
    from blueprints.billing import cli
    from medcover.demo import add_seed

    app.cli.add_command(cli.billing_cli)
    add_seed("billing", cli.seed_step, order=40)


def _subscribe(services) -> None:
    from medcover.events import subscribe

    subscribe("charge.created")(services.record_charge)
    subscribe("payment.recorded")(services.record_payment_event)
    subscribe("refund.recorded")(services.record_refund_event)
    subscribe("claim.changed")(services.refresh_split)


def _add_work(services) -> None:
    """The home page's counts: charges to bill and invoices to issue or chase, at the person's hospital."""
    from medcover.rbac import Role
    from medcover.work import HOSPITAL, add_work, add_work_counts

    add_work_counts("billing", services.work_waiting)
    clerks = {Role.BILLING_CLERK}
    add_work(
        "billing",
        "unbilled_charges",
        "Charges not yet billed",
        hint="Services done for patients, waiting for an invoice",
        roles=clerks,
        sides={HOSPITAL},
        endpoint="billing.charges",
        params={"status": "unbilled"},
        order=300,
    )
    add_work(
        "billing",
        "draft_invoices",
        "Draft invoices",
        hint="Not yet issued to the patient or insurer",
        roles=clerks,
        sides={HOSPITAL},
        endpoint="billing.invoices",
        params={"status": "draft"},
        order=310,
    )
    add_work(
        "billing",
        "overdue_invoices",
        "Overdue invoices",
        hint="Issued, with a balance still owed after the due date",
        roles=clerks | {Role.FINANCE_OFFICER},
        sides={HOSPITAL},
        endpoint="billing.invoices",
        params={"status": "overdue"},
        order=320,
    )
