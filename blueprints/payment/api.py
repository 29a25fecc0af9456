"""Payment JSON API: /payments, /refunds, /payment-methods, /commissions, /settlements."""

from blueprints.payment import api_bp  # noqa: F401
