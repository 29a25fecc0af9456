"""The notification domain's web edge: the pages (views), the JSON endpoints (api) and the template form.

Only these modules read the request. ``init_app`` imports ``views`` and ``api``, which registers their routes.
"""
