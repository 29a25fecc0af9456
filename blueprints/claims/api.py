"""Claims JSON API: /claims, /disputes, /reconciliation."""

from blueprints.claims import api_bp  # noqa: F401
