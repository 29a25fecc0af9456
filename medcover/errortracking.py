"""Error tracking with Sentry, on when ``SENTRY_DSN`` is set, and nothing about a patient ever leaves.

Events are rebuilt from an allowlist before sending (``scrub``): the exception's type and stack (file, function,
line and source; no local variables, no message, which may quote what a person typed), the route rule, the
request method and request id, and the release and environment. Request bodies, headers, cookies, query strings,
users, log messages' arguments, breadcrumbs and extra data never leave. Errors are reported from the log:
an unhandled request error and a failed job are logged with their exception, and that record becomes the event.
"""

from __future__ import annotations

import logging

from flask import Flask, g, request

log = logging.getLogger(__name__)

#: what a stack frame keeps: where it is, and the line of code (never its variables)
FRAME_KEYS = ("filename", "abs_path", "module", "function", "lineno", "colno", "in_app", "context_line")
#: tags that say which request or job failed without saying anything about whom it concerned
TAG_KEYS = ("request_id", "route", "job")
EVENT_KEYS = ("event_id", "timestamp", "level", "platform", "logger", "release", "environment", "sdk", "server_name")


def _frames(stacktrace: dict | None) -> dict | None:
    if not stacktrace:
        return None
    frames = [{k: frame[k] for k in FRAME_KEYS if k in frame} for frame in stacktrace.get("frames") or ()]
    return {"frames": frames}


def scrub(event: dict, _hint: dict | None = None) -> dict:
    """The event as it may leave: rebuilt from the allowlisted parts of what Sentry collected."""
    clean = {key: event[key] for key in EVENT_KEYS if key in event}
    values = []
    for exception in (event.get("exception") or {}).get("values") or ():
        value = {k: exception[k] for k in ("type", "module") if k in exception}
        if exception.get("mechanism"):
            value["mechanism"] = {
                k: exception["mechanism"][k] for k in ("type", "handled") if k in exception["mechanism"]
            }
        stack = _frames(exception.get("stacktrace"))
        if stack:
            value["stacktrace"] = stack
        values.append(value)
    if values:
        clean["exception"] = {"values": values}
    tags = event.get("tags") or {}
    clean["tags"] = {key: str(tags[key])[:200] for key in TAG_KEYS if key in tags}
    route = tags.get("route")
    if route:
        clean["transaction"] = str(route)[:200]
    method = (event.get("request") or {}).get("method")
    if method:
        clean["request"] = {"method": method}
    logentry = event.get("logentry") or {}
    if logentry.get("message"):  # the template only ("unhandled error"), never its arguments
        clean["logentry"] = {"message": str(logentry["message"])[:200]}
    trace_context = (event.get("contexts") or {}).get("trace")
    if trace_context:
        clean["contexts"] = {"trace": {k: trace_context[k] for k in ("trace_id", "span_id") if k in trace_context}}
    return clean


def init_app(app: Flask) -> None:
    """Report errors to Sentry when ``SENTRY_DSN`` is set (``SENTRY_TRANSPORT``: a test's stand-in for the network)."""
    dsn = app.config.get("SENTRY_DSN")
    transport = app.config.get("SENTRY_TRANSPORT")
    if not dsn:
        return
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    options = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        environment=app.config.get("SENTRY_ENVIRONMENT"),
        traces_sample_rate=app.config.get("SENTRY_TRACES_SAMPLE_RATE") or 0.0,
        include_local_variables=False,
        include_source_context=True,
        max_request_body_size="never",
        max_breadcrumbs=0,
        before_send=scrub,
        before_send_transaction=scrub,
        default_integrations=True,
        integrations=[
            FlaskIntegration(transaction_style="url"),
            LoggingIntegration(level=None, event_level=logging.ERROR),
            RqIntegration(),
        ],
        **options,
    )

    @app.before_request
    def _tag_the_request():
        scope = sentry_sdk.get_isolation_scope()
        scope.set_tag("request_id", g.get("request_id", ""))
        scope.set_tag("route", f"{request.method} {request.url_rule.rule if request.url_rule else 'unmatched'}")
