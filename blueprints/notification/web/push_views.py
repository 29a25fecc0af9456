"""Web push pages: the service worker (served from our own origin, under the CSP), and a staff member's switch to
turn push on or off for the browser they are using (the profile page's toggle calls these)."""

from __future__ import annotations

from flask import current_app, jsonify, request, send_from_directory
from flask_login import current_user

from blueprints.notification import bp, services
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.pages import actor
from medcover.rbac import STAFF, allow, public


@bp.get("/service-worker.js")
@public
def service_worker():
    """At the site's root so that it may show notifications for the whole site; a script like any other of ours."""
    response = send_from_directory(current_app.static_folder, "js/service-worker.js", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # a new version reaches browsers on their next visit
    return response


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid.field("endpoint", "Send the browser's push subscription as JSON.")
    return data


@bp.post("/notifications/push")
@allow(STAFF)
def push_on():
    data = _json_body()
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    services.subscribe(
        actor=actor(),
        endpoint=data.get("endpoint"),
        p256dh=keys.get("p256dh"),
        auth=keys.get("auth"),
        browser=request.user_agent.string or "",
    )
    db.session.commit()
    return jsonify(subscribed=True, browsers=services.subscription_count(current_user.id)), 201


@bp.post("/notifications/push/off")
@allow(STAFF)
def push_off():
    endpoint = _json_body().get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise Invalid.field("endpoint", "Say which browser to turn off.")
    services.unsubscribe(actor=actor(), endpoint=endpoint)
    db.session.commit()
    return jsonify(subscribed=False, browsers=services.subscription_count(current_user.id))
