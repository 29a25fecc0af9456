"""The Flask extensions, created unbound and attached to the app in the factory."""

from functools import partial

from flask import Blueprint, current_app, request
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
    if not any(app.config.get(name) for name in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")):
        _only_where_limited(app)


#: the blueprints a limit was put on with ``rate_limit`` (views carry a mark of their own)
_LIMITED_BLUEPRINTS: set[str] = set()
_LIMITED_VIEW = "medcover_rate_limited"


def rate_limit(limit_value, **options):
    """Flask-Limiter's ``limit``, for a view or a blueprint, noted where it was put: the limiter's hooks run for
    the requests of those only. Elsewhere (every page but sign-in) they found no limit, at about a twentieth of a
    list page's time. Limits are put on with this, never with ``limiter.limit`` itself."""
    decorate = limiter.limit(limit_value, **options)

    def put_on(target):
        limited = decorate(target)
        if isinstance(target, Blueprint):
            _LIMITED_BLUEPRINTS.add(target.name)
            return target
        setattr(limited, _LIMITED_VIEW, True)
        return limited

    return put_on


def _may_be_limited() -> bool:
    """Whether a limit was put on this request's view or one of its blueprints."""
    if not _LIMITED_BLUEPRINTS.isdisjoint(request.blueprints):
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, _LIMITED_VIEW, False)


def _only_where_limited(app) -> None:
    """The limiter's request hooks, run only where ``_may_be_limited``. With default or application-wide limits
    configured, every request may be limited, and the hooks are left as they are."""

    def gated(hook, answers: bool):
        if answers:
            return lambda response: hook(response) if _may_be_limited() else response
        return lambda *args: hook(*args) if _may_be_limited() else None

    for hooks, answers in (
        (app.before_request_funcs, False),
        (app.after_request_funcs, True),
        (app.teardown_request_funcs, False),
    ):
        funcs = hooks.get(None, [])
        for i, hook in enumerate(funcs):
            if _of_limiter(hook):
                funcs[i] = gated(hook, answers)


def _of_limiter(hook) -> bool:
    """A hook Flask-Limiter's ``init_app`` registered: a method of the limiter or a partial bound to it."""
    return getattr(hook, "__self__", None) is limiter or (isinstance(hook, partial) and limiter in hook.args)


@limiter.request_filter
def _limits_off_for_this_app() -> bool:
    return not current_app.config.get("RATELIMIT_ENABLED", True)
