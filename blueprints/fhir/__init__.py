"""The FHIR R4 interface under /fhir (FHIR.md): a skin over the domains' public services, like /api/v1.

Owns one table, the providers' Claim identifiers (``claim_ids``). ``gateway`` holds the blueprint, auth, errors,
parsing and answering; each route module in ``web`` builds its resources with fhir.resources' R4B models and
registers them in the CapabilityStatement.
"""

from blueprints.fhir.gateway import bp


def init_app(app) -> None:
    import importlib
    import pkgutil

    from blueprints.fhir import gateway, web

    # Importing the route modules (every module of ``web``) registers their routes on the blueprint.
    for module in sorted(pkgutil.iter_modules(web.__path__), key=lambda found: found.name):
        importlib.import_module(f"{web.__name__}.{module.name}")
    gateway.init_app(app)
    app.register_blueprint(bp)


__all__ = ["bp", "init_app"]
