"""Distributed tracing with OpenTelemetry: Flask, SQLAlchemy and Redis spans sent to an OTLP/HTTP collector.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is configured (nothing is imported or patched then). Each request's
span carries its request id; a job queued by ``medcover.jobs`` carries the trace context (W3C ``traceparent``) and
runs in a span of that same trace, on a worker or inline. Span names are route rules, never raw paths.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from flask import Flask, current_app, g, has_app_context
from opentelemetry import propagate, trace

log = logging.getLogger(__name__)
EXTENSION = "medcover_tracing"


def init_app(app: Flask) -> None:
    """Trace this app when an OTLP endpoint is configured (or ``OTEL_SPAN_EXPORTER``: a test's in-memory one)."""
    endpoint = app.config.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    exporter = app.config.get("OTEL_SPAN_EXPORTER")
    if exporter is None and not endpoint:
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    from medcover.extensions import db

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces"))
    else:
        processor = SimpleSpanProcessor(exporter)
    provider = TracerProvider(resource=Resource.create({"service.name": app.config.get("OTEL_SERVICE_NAME")}))
    provider.add_span_processor(processor)
    app.extensions[EXTENSION] = provider

    FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
    with app.app_context():
        engine = db.engine
    # Both patch libraries process-wide: once per process (a second app in the same process shares them).
    sqlalchemy = SQLAlchemyInstrumentor()
    if not sqlalchemy.is_instrumented_by_opentelemetry:
        # The instrumentation declares SQLAlchemy < 2.1; 2.1 keeps the engine events it listens to.
        sqlalchemy.instrument(engine=engine, tracer_provider=provider, enable_commenter=False, skip_dep_check=True)
    redis = RedisInstrumentor()
    if not redis.is_instrumented_by_opentelemetry:
        redis.instrument(tracer_provider=provider)

    @app.before_request
    def _request_id_in_the_trace():
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("medcover.request_id", g.get("request_id", ""))


def _provider():
    return current_app.extensions.get(EXTENSION) if has_app_context() else None


def carrier() -> dict[str, str]:
    """The current trace context as headers (``traceparent``), for a job to continue; empty when not tracing."""
    headers: dict[str, str] = {}
    if _provider() is not None:
        propagate.inject(headers)
    return headers


@contextmanager
def job_span(path: str, headers: dict | None, request_id: str = ""):
    """Run a job inside a span continuing the trace its ``headers`` carry (a new trace without them)."""
    provider = _provider()
    if provider is None:
        yield
        return
    tracer = provider.get_tracer("medcover.jobs")
    parent = propagate.extract(headers or {})
    attributes = {"medcover.job": path, "medcover.request_id": request_id}
    with tracer.start_as_current_span(
        f"job {path}", context=parent, kind=trace.SpanKind.CONSUMER, attributes=attributes
    ):
        yield
