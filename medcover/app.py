"""The application factory: wires extensions, platform hooks, domain blueprints, the API and the CLI."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from pathlib import Path

import click
from flask import Flask, Response, abort, g, render_template, request
from flask.cli import with_appcontext
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from config import BASE_DIR, ProductionConfig, config_for
from medcover import api, jobs, logs, outage, security, urls
from medcover.context import Origin, new_request_id, reset_origin, set_origin
from medcover.errors import DomainError
from medcover.extensions import csrf, db, htmx, init_limiter, limiter, login_manager, migrate
from medcover.integrity import domain_error_for
from medcover.labels import day, label
from medcover.money import format_money
from medcover.navigation import has_panels, nav_for, panels_for
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
    urls.install(app)
    if app.config.get("TRUSTED_PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        proxies = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logs.configure(app.config["LOG_LEVEL"], app.config["LOG_JSON"])

    outage.init_app(app)  # before the engine is made: its time-outs
    db.init_app(app)
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
        channel = "api" if request.path.startswith(api.PREFIX) else "web"
        agent = (request.user_agent.string or "")[:200]
        g.origin_token = set_origin(Origin(g.request_id, request.remote_addr, agent, channel))

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

    @app.teardown_request
    def _after_response(exc):
        # Inline jobs (no Redis) run once the request's work is committed, under the request's origin.
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


def _is_api() -> bool:
    return request.path.startswith(api.PREFIX)


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        db.session.rollback()
        if _is_api():
            return api.problem(exc.status, exc.title, exc.detail, exc.errors or None)
        return render_template("errors/error.html", status=exc.status, title=exc.title, detail=exc.detail), exc.status

    @app.errorhandler(IntegrityError)
    def _integrity_error(exc: IntegrityError):
        # A constraint held where a service's own check was raced past (or missing): say which field, not 500.
        error = domain_error_for(exc)
        log.warning("integrity error answered %s on %s", error.status, ", ".join(error.errors) or "the request")
        return _domain_error(error)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
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
        if exc.code in (400, 401, 403, 404, 405, 413, 429):
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
        413: "The upload is too large.",
        429: "Too many requests. Wait a moment and try again.",
        500: "Something went wrong on our side. The error has been logged with its request id.",
    }.get(code, "")


def _install_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["day"] = day
    app.jinja_env.globals.update(
        nav_for=nav_for, panels_for=panels_for, has_panels=has_panels, tenant_label=tenant_label
    )

    @app.context_processor
    def _request_id():
        return {"request_id": g.get("request_id", "")}


def _register_domains(app: Flask) -> None:
    from blueprints import billing, claims, core, hospital, insurance, notification, payment
    from medcover import health, openapi

    app.register_blueprint(health.bp)
    core.init_app(app)
    notification.init_app(app)
    insurance.init_app(app)
    hospital.init_app(app)
    billing.init_app(app)
    claims.init_app(app)
    payment.init_app(app)
    jobs.every(30, "medcover.events:dispatch_pending")
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
