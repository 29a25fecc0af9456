"""The hospital's pages and JSON endpoints: the only hospital modules that read the request. The domain's
``init_app`` imports the route modules (``*_views`` pages, ``*_api`` endpoints), which registers them."""
