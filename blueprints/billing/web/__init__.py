"""Billing's pages, JSON endpoints and forms: the only billing modules that read the request. Each module
registers its routes on billing's blueprints when ``blueprints.billing.init_app`` imports it."""
