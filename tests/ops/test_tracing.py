"""Tracing: an in-memory span exporter sees one trace from a request through its SQL to the job it queued, inline
and on a worker (the job carries ``traceparent``); the request id is on the request's span; off by default."""

from __future__ import annotations

import pytest
from flask import jsonify
from flask_migrate import upgrade
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from medcover import jobs, tracing
from medcover.app import create_app
from medcover.extensions import db
from medcover.rbac import public

EXPORTER = InMemorySpanExporter()
PROBE_JOB = "tests.ops.test_tracing:count_rows"


def count_rows(marker: int) -> int:
    return db.session.execute(text("SELECT :marker"), {"marker": marker}).scalar_one()


@public
def probe():
    """A request that reads, then queues a job that reads (the shape of every request that asks for work)."""
    db.session.execute(text("SELECT 1")).scalar_one()
    jobs.enqueue(PROBE_JOB, 41)
    db.session.commit()
    return jsonify(carrier=tracing.carrier())


@pytest.fixture(scope="module")
def app():
    """This module's own app, traced into memory (one per process: the SQL and Redis patches are process-wide)."""
    traced = create_app("test", overrides={"OTEL_SPAN_EXPORTER": EXPORTER})
    traced.add_url_rule("/probe/<int:item_id>", "trace_probe", probe_view := lambda item_id: probe())
    probe_view.access = probe.access
    with traced.app_context():
        upgrade()  # an in-memory SQLite of its own; on PostgreSQL the schema is there already
    return traced


@pytest.fixture
def spans():
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


def test_one_trace_runs_from_the_request_through_its_sql_to_the_job_it_queued(client, spans):
    response = client.get("/probe/12")
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind is SpanKind.SERVER]
    assert server.name == "GET /probe/<int:item_id>"  # the rule, never the raw path
    assert server.attributes["medcover.request_id"] == response.headers["X-Request-ID"]
    trace_id = server.context.trace_id

    (job,) = [s for s in finished if s.name == f"job {PROBE_JOB}"]
    assert job.context.trace_id == trace_id
    assert job.parent is not None and job.parent.span_id == server.context.span_id

    sql = [s for s in finished if s.attributes.get("db.statement") or s.attributes.get("db.query.text")]
    request_sql = [s for s in sql if s.parent is not None and s.parent.span_id == server.context.span_id]
    job_sql = [s for s in sql if s.parent is not None and s.parent.span_id == job.context.span_id]
    assert request_sql and job_sql
    assert {s.context.trace_id for s in request_sql + job_sql} == {trace_id}


def test_a_job_on_a_worker_continues_the_trace_it_was_queued_in(app, client, spans, monkeypatch):
    carrier = client.get("/probe/13").get_json()["carrier"]
    assert carrier["traceparent"].startswith("00-")
    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    spans.clear()

    sent = []

    class Queue:
        def __init__(self, name, connection):
            self.name = name

        def enqueue(self, fn, *args, **kwargs):
            sent.append(args)

    monkeypatch.setattr("rq.Queue", Queue)
    monkeypatch.setattr(jobs, "redis_connection", lambda: None)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://queue.invalid:6379/0")
    client.get("/probe/14")
    (path, args, kwargs, trace) = sent[-1]
    assert (path, args) == (PROBE_JOB, (41,)) and trace["traceparent"].startswith("00-")

    spans.clear()
    assert jobs.execute(PROBE_JOB, (42,), {}, carrier) == 42  # as the RQ worker calls it
    (job,) = [s for s in spans.get_finished_spans() if s.name == f"job {PROBE_JOB}"]
    assert job.context.trace_id == server.context.trace_id
    assert job.parent.span_id == server.context.span_id


def test_without_an_endpoint_nothing_is_traced_and_jobs_carry_nothing():
    plain = create_app("test")
    assert tracing.EXTENSION not in plain.extensions
    with plain.test_request_context("/"):
        assert tracing.carrier() == {}
