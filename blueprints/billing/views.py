"""Billing pages: tariffs, invoices, accounts receivable, settings."""

from blueprints.billing import bp  # noqa: F401
