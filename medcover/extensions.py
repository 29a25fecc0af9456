"""The Flask extensions, created unbound and attached to the app in the factory."""

from flask import current_app
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

from medcover.ratelimit import client_key

# Named constraints so that Alembic can alter them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
limiter = Limiter(key_func=client_key, headers_enabled=True, retry_after="delta-seconds")


def init_limiter(app) -> None:
    """Bind the limiter to ``app``; the app's RATELIMIT_ENABLED decides for the app's own requests.

    Flask-Limiter keeps that switch on the limiter, one object per process, so the app set up last
    would turn limits on or off for every app (the tests build several). The switch stays on and the
    request filter below asks each request's own app.
    """
    limiter.init_app(app)  # for a disabled app: registers nothing, but turns the shared switch off
    limiter.enabled = True


@limiter.request_filter
def _limits_off_for_this_app() -> bool:
    return not current_app.config.get("RATELIMIT_ENABLED", True)
