"""Health endpoints for load balancers: /healthz (the process is up) and /readyz (its dependencies)."""

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from medcover.extensions import db
from medcover.rbac import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz():
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unavailable"
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
