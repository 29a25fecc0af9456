"""Hospital pages."""

from blueprints.hospital import bp  # noqa: F401
