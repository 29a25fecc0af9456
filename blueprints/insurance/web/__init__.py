"""The insurance domain's request edge: pages (``*_views``), JSON endpoints (``*_api``) and forms, a module per
concept; ``views`` and ``api`` hold what the pages and the endpoints share. Importing a route module registers
its routes (``blueprints.insurance.init_app`` does)."""
