"""Health endpoints for load balancers: /healthz (the process is up) and /readyz (its dependencies, or
"draining" once the server has been told to stop: see gunicorn.conf.py)."""

import os
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from medcover.extensions import db
from medcover.rbac import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    return jsonify(status="ok")


#: /readyz answers within this, whatever the database does (a load balancer's probe has a short time-out)
DATABASE_CHECK_SECONDS = 1.5
_probe = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz")


def _select_one(app) -> None:
    with app.app_context(), db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _database_check(app) -> str:
    """A fresh connection and ``SELECT 1`` on a thread, so that a database that accepts and never answers
    makes this check say so in time instead of holding the probe (the connect time-out ends the thread)."""
    if db.engine.dialect.name == "sqlite":  # a local file: nothing to wait for, and no second connection
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:
            return f"unavailable ({type(exc).__name__})"
        return "ok"
    future = _probe.submit(_select_one, app)
    try:
        future.result(timeout=DATABASE_CHECK_SECONDS)
    except FutureTimeout:
        return f"unavailable (no answer within {DATABASE_CHECK_SECONDS:g} s)"
    except Exception as exc:
        return f"unavailable ({type(exc).__name__})"
    return "ok"


def draining() -> bool:
    """gunicorn.conf.py writes this marker when the master gets SIGTERM; every worker sees it at once."""
    marker = os.environ.get("MEDCOVER_DRAIN_FILE")
    return bool(marker) and os.path.exists(marker)


@bp.get("/readyz")
@public
def readyz():
    if draining():  # answered before any check: the point is to be taken out of rotation quickly
        return jsonify(status="draining", checks={"web": "draining: finishing requests before stopping"}), 503
    checks: dict[str, str] = {"database": _database_check(current_app._get_current_object())}
    if current_app.config.get("REDIS_URL"):
        try:
            from rq import Queue

            from medcover.jobs import redis_connection

            connection = redis_connection()
            connection.ping()
            checks["redis"] = "ok"
            checks["queue"] = f"ok ({len(Queue('default', connection=connection))} waiting)"
        except Exception:
            checks["redis"] = checks["queue"] = "unavailable"
    else:
        checks["queue"] = "inline"
    ready = all(value.startswith(("ok", "inline")) for value in checks.values())
    return jsonify(status="ready" if ready else "unavailable", checks=checks), 200 if ready else 503
