"""Insurance pages."""

from blueprints.insurance import bp  # noqa: F401
