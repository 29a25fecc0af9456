"""MedCover: the chassis every domain stands on.

``create_app`` lives in :mod:`medcover.app`; it is imported lazily here so that importing a
platform module (``medcover.money``) never drags every domain in with it.
"""


def create_app(config_name: str | None = None, overrides: dict | None = None):
    from medcover.app import create_app as build

    return build(config_name, overrides)
