"""Prometheus metrics: request latency and errors per route rule, jobs, notification outcomes, business counters
from domain events, and what is read at scrape time (database pool, RQ queues, outbox lag, work waiting).

Under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` (an empty folder shared by the web and worker processes of one
host): every process writes its samples there and a scrape adds them up (gunicorn.conf.py marks dead workers).
Without it the process's own registry is served. ``/metrics`` answers only a bearer ``METRICS_TOKEN`` or an
address inside ``METRICS_ALLOW`` (CIDRs); everyone else gets 403. Labels are route rules and endpoint names,
never raw paths or ids.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from medcover.events import MAX_ATTEMPTS, OutboxEvent, subscribe
from medcover.rbac import public

log = logging.getLogger(__name__)
disable_created_metrics()  # the *_created series only double what a dashboard reads
bp = Blueprint("metrics", __name__)
#: set by ``flask worker`` to its own pid: the work horses it forks (one per job) count under it
WORKER_PID = "MEDCOVER_METRICS_PID"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _process_identifier() -> int:
    """RQ runs every job in a work horse forked from the worker; counted under the worker's pid, the horses share
    its file instead of each leaving one behind for every scrape to read."""
    return int(os.environ.get(WORKER_PID) or os.getpid())


def count_forks_as_this_process() -> None:
    """Called by the worker before it forks work horses."""
    os.environ[WORKER_PID] = str(os.getpid())


if multiprocess_dir():  # before the first metric below is made
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_identifier)

REQUESTS = Counter("medcover_http_requests", "HTTP requests answered", ["method", "rule", "endpoint", "status"])
ERRORS = Counter(
    "medcover_http_request_errors", "HTTP requests answered with a server error (5xx)", ["method", "rule", "endpoint"]
)
LATENCY = Histogram(
    "medcover_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "rule", "endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
JOBS = Counter("medcover_jobs", "Background jobs run (RQ or inline), by outcome", ["job", "outcome"])
JOB_SECONDS = Histogram("medcover_job_duration_seconds", "Time a background job ran", ["job"])
NOTIFICATIONS = Counter(
    "medcover_notification_outcomes", "Notification delivery outcomes, per channel", ["channel", "outcome"]
)
CLAIMS_DECIDED = Counter("medcover_claims_decided", "Claims decided, by outcome", ["outcome"])
CLAIM_REASONS = Counter(
    "medcover_claim_decision_reasons", "Reason codes on decided claims, by outcome", ["outcome", "reason_code"]
)
INVOICES_ISSUED = Counter("medcover_invoices_issued", "Invoices issued")
PAYMENTS_RECORDED = Counter("medcover_payments_recorded", "Payments recorded", ["kind", "method"])
REFUNDS_RECORDED = Counter("medcover_refunds_recorded", "Refunds paid out (approved or below the threshold)")

#: the outcomes of a notification worth counting (its intermediate steps are not)
OUTCOMES = frozenset({"sent", "delivered", "failed", "dead", "skipped", "unsure"})


# --- hooks the domains and the chassis call -------------------------------------------------------------------


def notification_outcome(channel: str, status: str) -> None:
    if status in OUTCOMES:
        NOTIFICATIONS.labels(channel=channel, outcome=status).inc()


def job_ran(path: str, outcome: str, seconds: float) -> None:
    JOBS.labels(job=path, outcome=outcome).inc()
    JOB_SECONDS.labels(job=path).observe(seconds)


@subscribe("claim.decided")
def _claim_decided(_event_id: int, payload: dict) -> None:
    outcome = str(payload.get("status") or "unknown")
    CLAIMS_DECIDED.labels(outcome=outcome).inc()
    for code in payload.get("reason_codes") or ():
        CLAIM_REASONS.labels(outcome=outcome, reason_code=str(code)[:10]).inc()


@subscribe("invoice.issued")
def _invoice_issued(_event_id: int, _payload: dict) -> None:
    INVOICES_ISSUED.inc()


@subscribe("payment.recorded")
def _payment_recorded(_event_id: int, payload: dict) -> None:
    PAYMENTS_RECORDED.labels(kind=str(payload.get("kind") or ""), method=str(payload.get("method") or "")).inc()


@subscribe("refund.recorded")
def _refund_recorded(_event_id: int, _payload: dict) -> None:
    REFUNDS_RECORDED.inc()


# --- requests -------------------------------------------------------------------------------------------------


def _route_labels() -> dict[str, str]:
    rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
    return {"method": request.method, "rule": rule, "endpoint": request.endpoint or "none"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.after_request
    def _observe(response: Response) -> Response:
        labels = _route_labels()
        started = g.get("started")
        if started is not None:
            LATENCY.labels(**labels).observe(time.perf_counter() - started)
        REQUESTS.labels(status=str(response.status_code), **labels).inc()
        if response.status_code >= 500:
            ERRORS.labels(**labels).inc()
        return response


# --- read at scrape time --------------------------------------------------------------------------------------


class LiveReadings:
    """Gauges read when Prometheus scrapes, in the scraping process: each read is cheap and none fails the scrape."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        for read in (self._pool, self._queues, self._outbox, self._work):
            try:
                yield from read()
            except Exception:  # a reading that cannot be taken is left out, never a failed scrape
                log.warning("metrics: %s could not be read", read.__name__, exc_info=True)
                from medcover.extensions import db

                db.session.rollback()  # PostgreSQL refuses the next read in a failed transaction

    def _pool(self):
        from medcover.extensions import db

        pool = db.engine.pool
        if not hasattr(pool, "checkedout") or not hasattr(pool, "size"):
            return  # SQLite's single-connection pools have nothing to tell
        in_use = GaugeMetricFamily("medcover_db_pool_connections", "Database connections by state", labels=["state"])
        in_use.add_metric(["checked_out"], pool.checkedout())
        in_use.add_metric(["idle"], pool.checkedin())
        in_use.add_metric(["overflow"], max(pool.overflow(), 0))
        yield in_use
        yield GaugeMetricFamily("medcover_db_pool_size", "Configured database pool size", value=pool.size())

    def _queues(self):
        if not self.app.config.get("REDIS_URL"):
            return  # jobs run inline: there is no queue to measure
        from rq import Queue
        from rq.registry import FailedJobRegistry

        from medcover.jobs import QUEUES, redis_connection

        connection = redis_connection()
        waiting = GaugeMetricFamily("medcover_rq_queue_jobs", "Jobs waiting on each RQ queue", labels=["queue"])
        failed = GaugeMetricFamily("medcover_rq_failed_jobs", "Failed jobs kept by each RQ queue", labels=["queue"])
        for name in QUEUES:
            queue = Queue(name, connection=connection)
            waiting.add_metric([name], queue.count)
            failed.add_metric([name], FailedJobRegistry(queue=queue).count)
        yield waiting
        yield failed

    def _outbox(self):
        from medcover import clock
        from medcover.extensions import db

        pending = OutboxEvent.dispatched_at.is_(None)
        count, oldest = db.session.execute(
            select(func.count(), func.min(OutboxEvent.created_at)).where(pending, OutboxEvent.attempts < MAX_ATTEMPTS)
        ).one()
        stuck = db.session.scalar(select(func.count()).where(pending, OutboxEvent.attempts >= MAX_ATTEMPTS))
        lag = (clock.now() - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("medcover_outbox_pending_events", "Domain events waiting to be dispatched", count)
        yield GaugeMetricFamily("medcover_outbox_lag_seconds", "Age of the oldest undispatched event", max(lag, 0.0))
        yield GaugeMetricFamily("medcover_outbox_stuck_events", "Events that ran out of dispatch attempts", stuck)

    def _work(self):
        from medcover.work import platform_waiting

        counts = platform_waiting()
        waiting = GaugeMetricFamily(
            "medcover_work_waiting", "The home page's work-waiting counts, platform wide", labels=["source", "item"]
        )
        for (source, key), value in sorted(counts.items()):
            waiting.add_metric([source, key], value)
        yield waiting
        if ("payment", "refunds_to_approve") in counts:
            yield GaugeMetricFamily(
                "medcover_refunds_awaiting_approval",
                "Refunds waiting for a finance officer's approval",
                counts["payment", "refunds_to_approve"],
            )


class _ThisProcess:
    def collect(self):
        yield from REGISTRY.collect()


def exposition(app: Flask) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(LiveReadings(app))
    return generate_latest(registry)


# --- the guarded endpoint -------------------------------------------------------------------------------------


def _allowed() -> bool:
    config = current_app.config
    token = config.get("METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for network in config.get("METRICS_ALLOW") or ():
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            log.warning("METRICS_ALLOW: %r is not a network", network)
    return False


@bp.get("/metrics")
@public  # guarded below: a token or an allowlisted network, nothing to do with a person's role
def metrics():
    if not _allowed():
        abort(403)
    return Response(exposition(current_app._get_current_object()), content_type=CONTENT_TYPE_LATEST)
