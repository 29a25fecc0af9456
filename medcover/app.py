"""The application factory: wires extensions, platform hooks, domain blueprints, the API and the CLI."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import Flask, Response, abort, current_app, g, render_template, request
from flask.cli import with_appcontext
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from config import BASE_DIR, ProductionConfig, config_for
from medcover import api, audit, clock, html_output, jobs, logs, outage, read_first, requested_work, security, urls
from medcover.context import Origin, new_request_id, reset_origin, set_origin
from medcover.errors import DomainError, Forbidden, Hidden
from medcover.extensions import csrf, db, htmx, init_limiter, limiter, login_manager, migrate
from medcover.integrity import domain_error_for
from medcover.labels import day, label
from medcover.money import format_money
from medcover.navigation import address, has_panels, nav_for, panels_for
from medcover.rbac import access_of
from medcover.tenants import tenant_label

log = logging.getLogger("medcover.request")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record):
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")


jobs.install()


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    config = config_for(config_name)
    if config is ProductionConfig:
        ProductionConfig.check()
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_object(config)
    app.config.update(overrides or {})
    try:
        clock.set_zone(app.config["MEDCOVER_TIMEZONE"])
    except ValueError as exc:
        raise RuntimeError(f"MEDCOVER_TIMEZONE: {exc}") from None
    urls.install(app)
    if app.config.get("TRUSTED_PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        proxies = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logs.configure(app.config["LOG_LEVEL"], app.config["LOG_JSON"])

    outage.init_app(app)  # before the engine is made: its time-outs
    db.init_app(app)
    with app.app_context():
        outage.ping_when_idle(db.engine)
        read_first.install(db.engine)
    app.wsgi_app = read_first.middleware(app.wsgi_app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    if app.config["CORS_ORIGINS"]:
        from flask_cors import CORS

        CORS(
            app,
            resources={rf"{api.PREFIX}/*": {"origins": app.config["CORS_ORIGINS"]}},
            expose_headers=["X-Request-ID", "Retry-After"],
            supports_credentials=False,
        )

    _install_request_hooks(app)
    init_limiter(app)  # after the request hooks: a 429 still gets its request id and log line
    security.init_app(app)
    _install_error_handlers(app)
    _install_template_helpers(app)
    from medcover import errortracking, metrics, tracing  # operating it: README "Operating MedCover"

    metrics.init_app(app)
    tracing.init_app(app)
    errortracking.init_app(app)
    _register_domains(app)
    _register_cli(app)
    return app


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _begin():
        given = request.headers.get("X-Request-ID", "")
        # fullmatch: with match, "$" lets a trailing newline through, which the response header then refuses.
        g.request_id = given if _REQUEST_ID.fullmatch(given) else new_request_id()
        g.started = time.perf_counter()
        channel = "api" if _is_api() else "web"
        agent = (request.user_agent.string or "")[:200]
        g.origin_token = set_origin(Origin(g.request_id, request.remote_addr, agent, channel, _route()))
        audit.forget_reads()

    @app.before_request
    def _require_declared_access():
        # Fail closed: an endpoint that does not say who may call it answers 403 to everyone.
        if request.endpoint in (None, "static"):
            return None
        view = app.view_functions.get(request.endpoint)
        if view is None or access_of(view) is None:
            abort(403)
        return None

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        user_id = current_user.get_id() if current_user and current_user.is_authenticated else None
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={"status": response.status_code, "ms": round(elapsed, 1), "user_id": user_id},
        )
        return response

    @app.after_request
    def _commit_read_audits(response):
        # A page or download that only reads leaves its read entry (written by the service that read).
        if request.method in ("GET", "HEAD") and response.status_code < 400 and audit.reads_to_commit():
            # The page is rendered: what it loaded (the user, the session row) stays loaded, not read again.
            session = db.session()
            expiring, session.expire_on_commit = session.expire_on_commit, False
            try:
                session.commit()
            except Exception:
                session.rollback()
                log.error("a read's audit entry could not be saved", exc_info=True)
            finally:
                session.expire_on_commit = expiring
        return response

    @app.teardown_request
    def _after_response(exc):
        # Inline jobs (no Redis) run once the request's work is committed, under the request's origin, in
        # transactions of their own from their first statement.
        read_first.stop_reading()
        if exc is None:
            jobs.run_ready()
        token = g.pop("origin_token", None)
        if token is not None:
            reset_origin(token)

    @app.teardown_appcontext
    def _run_inline_jobs(exc):
        # For work outside a request (scripts, shells). Registered after Flask-SQLAlchemy's teardown,
        # so it runs first, while the session still exists.
        if exc is None:
            jobs.run_ready()


def _route() -> str:
    """``GET /hospital/patients/12``; a route carrying a token in its path is named by its rule instead."""
    tokens = any(isinstance(value, str) and len(value) > 24 for value in (request.view_args or {}).values())
    path = request.url_rule.rule if tokens and request.url_rule is not None else request.path
    return f"{request.method} {path}"[:200]


def _asked_for(record: str) -> tuple[str, str | None]:
    """What a refused request asked for: the error's own record, else the route's first id."""
    if record:
        kind, _, ident = record.rpartition(" ")
        return (kind, ident) if kind else (record, None)
    for name, value in (request.view_args or {}).items():
        if name.endswith("_id"):
            return name.removesuffix("_id").replace("_", " "), str(value)
    return "route", None


def _record_refusal(status: int, why: str, record: str = "") -> None:
    """One audit entry for a refused request on a protected resource: who, the route, what, why. It is
    committed on its own (the request's work is undone first) and never turns the refusal into a 500."""
    if g.get("database_unavailable") or not current_user or not current_user.is_authenticated:
        return
    kind, ident = _asked_for(record)
    try:
        db.session.rollback()
        audit.record_denied(current_user._get_current_object(), status=status, why=why, kind=kind, ident=ident)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("a refused request could not be audited", exc_info=True)


#: JSON interfaces answering errors as problem+json (the FHIR gateway rewrites its own into OperationOutcomes)
_API_PREFIXES = (api.PREFIX, "/fhir/")


def _is_api() -> bool:
    return request.path.startswith(_API_PREFIXES) or request.path == "/fhir"


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        db.session.rollback()
        if isinstance(exc, Hidden):
            _record_refusal(404, "another organisation's record (answered as not found)", exc.record)
        elif isinstance(exc, Forbidden):
            _record_refusal(403, exc.detail)
        if _is_api():
            return api.problem(exc.status, exc.title, exc.detail, exc.errors or None, extra=exc.extra)
        return render_template("errors/error.html", status=exc.status, title=exc.title, detail=exc.detail), exc.status

    @app.errorhandler(IntegrityError)
    def _integrity_error(exc: IntegrityError):
        # A constraint held where a service's own check was raced past (or missing): say which field, not 500.
        error = domain_error_for(exc)
        log.warning("integrity error answered %s on %s", error.status, ", ".join(error.errors) or "the request")
        return _domain_error(error)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 403 and current_user and current_user.is_authenticated:
            _record_refusal(403, f"not open to the role {current_user.role.label.lower()}")
        if _is_api():
            headers = {}
            if exc.code == 429:
                headers["Retry-After"] = str(_retry_after(exc))
            if exc.code == 405 and exc.valid_methods:
                headers["Allow"] = ", ".join(exc.valid_methods)
            detail = exc.description if exc.code not in (500,) else ""
            return api.problem(exc.code or 500, exc.name, detail or exc.name, headers=headers)
        if request.path.startswith(f"{app.static_url_path}/"):
            # A missing asset: no page (its layout needs a session that static requests do not open).
            return Response(exc.name, status=exc.code, mimetype="text/plain")
        if exc.code == 413:
            return _too_large_page(), 413
        if exc.code in (400, 401, 403, 404, 405, 429):
            response = render_template(
                "errors/error.html", status=exc.code, title=exc.name, detail=_page_detail(exc.code)
            )
            return response, exc.code
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        if _is_api():
            return api.problem(500, "Internal Server Error", "Something went wrong; quote the request id.")
        return render_template(
            "errors/error.html", status=500, title="Something went wrong", detail=_page_detail(500)
        ), 500


def _too_large_page() -> str:
    """A form or upload over the limits: say so kindly, and send the person back to what they typed."""
    from medcover.pages import safe_next

    referrer = urlsplit(request.referrer or "")
    back = None
    if referrer.netloc == request.host and referrer.path:
        back = safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""), "") or None
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    detail = (
        "What you sent is larger than MedCover accepts"
        + (f" (files up to {limit // (1024 * 1024)} MB, and much less for a form's text)" if limit else "")
        + ". Nothing was saved. Go back: what you typed is still in the form in your browser. "
        "Attach a smaller file, or shorten the text, and send it again."
    )
    return render_template("errors/error.html", status=413, title="Too large to accept", detail=detail, back=back)


def _retry_after(exc) -> int:
    try:
        breached = limiter.current_limit  # the limit this request broke, with its window
        if breached is not None:
            return max(1, int(breached.reset_at - time.time()))
    except Exception:  # the header is advice; never fail the 429 over it
        log.debug("no window for Retry-After", exc_info=True)
    return 60


def _page_detail(code: int) -> str:
    return {
        400: "The request could not be understood. Reload the page and try again.",
        401: "Please sign in.",
        403: "You do not have access to this page.",
        404: "There is nothing here. Check the address or go back.",
        405: "That action is not available here.",
        429: "Too many requests. Wait a moment and try again.",
        500: "Something went wrong on our side. The error has been logged with its request id.",
    }.get(code, "")


def _install_template_helpers(app: Flask) -> None:
    html_output.install(app)
    app.jinja_env.filters["money"] = format_money
    # Stored instants are UTC; pages show them on the site's wall clock, never labelled UTC.
    app.jinja_env.filters["local_datetime"] = clock.format_datetime
    app.jinja_env.filters["local_time"] = clock.format_time
    app.jinja_env.filters["local_date"] = clock.format_date
    app.jinja_env.filters["local_day"] = clock.local_date
    app.jinja_env.filters["local_input"] = clock.format_input
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["day"] = day
    app.jinja_env.globals.update(
        address=address, nav_for=nav_for, panels_for=panels_for, has_panels=has_panels, tenant_label=tenant_label
    )

    @app.context_processor
    def _request_id():
        return {"request_id": g.get("request_id", "")}


def _register_domains(app: Flask) -> None:
    from blueprints import billing, claims, core, fhir, hospital, insurance, notification, payment
    from medcover import health, openapi

    app.register_blueprint(health.bp)
    core.init_app(app)
    notification.init_app(app)
    insurance.init_app(app)
    hospital.init_app(app)
    billing.init_app(app)
    claims.init_app(app)
    payment.init_app(app)
    fhir.init_app(app)
    jobs.every(30, "medcover.events:dispatch_pending", setting="SWEEP_SECONDS")
    jobs.every(60, "medcover.requested_work:sweep", setting="SWEEP_SECONDS")
    openapi.init_app(app)


def _register_cli(app: Flask) -> None:
    """The platform's commands; each domain adds its own group and its demo seed step in its init_app."""
    from medcover.demo import seed_demo_command
    from medcover.worker import scheduler_command, worker_command

    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(seed_demo_command)

    @app.cli.group("outbox")
    def outbox_cli():
        """Domain events waiting in the outbox."""

    @outbox_cli.command("dispatch")
    @with_appcontext
    def dispatch_command():
        """Deliver pending events now (the sweeper does this on a schedule)."""
        from medcover.events import dispatch_pending

        done = dispatch_pending()
        db.session.commit()
        jobs.run_ready()
        click.echo(f"dispatched {done} event(s)")

    @app.cli.command("requested-work-sweep")
    @with_appcontext
    def requested_work_sweep_command():
        """Send again the requested work that waits too long or lost its worker (the scheduler does this)."""
        sent = requested_work.sweep()
        jobs.run_ready()
        click.echo(f"sent {sent} request(s) again")
