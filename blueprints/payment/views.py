"""Payment pages."""

from blueprints.payment import bp  # noqa: F401
