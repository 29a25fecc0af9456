"""The claims domain's web edge, the only modules that read the request: pages (claims list, work queue, claim
page, intake, dashboard, disputes, reconciliation, letters) and the JSON API (claims, decisions, disputes,
reconciliation). ``blueprints.claims.init_app`` imports the route modules, which registers their routes."""
