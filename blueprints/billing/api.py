"""Billing JSON API: /tariffs, /invoices, /accounts-receivable."""

from blueprints.billing import api_bp  # noqa: F401
