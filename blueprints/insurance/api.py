"""Insurance JSON endpoints."""

from blueprints.insurance import api_bp  # noqa: F401
