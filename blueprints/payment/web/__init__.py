"""Payment's web edge: the staff pages (``*_views``), the JSON endpoints (``*_api``) and the forms, the only
modules of the domain that read the request. ``blueprints.payment.init_app`` imports the route modules."""
