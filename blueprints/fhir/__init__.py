"""The FHIR R4 interface under /fhir (FHIR.md): a skin over the domains' public services, like /api/v1.

Owns no table. ``gateway`` holds the blueprint, auth, errors, parsing and answering; each route module in
``web`` builds its resources with fhir.resources' R4B models and registers them in the CapabilityStatement.
"""

from blueprints.fhir.gateway import bp


def init_app(app) -> None:
    from blueprints.fhir import gateway

    # Importing the route modules registers their routes on the blueprint.
    from blueprints.fhir.web import claims, metadata, settlements  # noqa: F401

    gateway.init_app(app)
    app.register_blueprint(bp)


__all__ = ["bp", "init_app"]
