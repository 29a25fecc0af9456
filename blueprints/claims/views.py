"""Claims pages: the adjudicators' work queue, claim pages, disputes, reconciliation, dashboard."""

from blueprints.claims import bp  # noqa: F401
