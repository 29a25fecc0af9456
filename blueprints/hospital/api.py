"""Hospital JSON endpoints."""

from blueprints.hospital import api_bp  # noqa: F401
