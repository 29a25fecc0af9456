"""/metrics: parsed with prometheus-client's own parser after requests and jobs; counts per route rule (never a raw
path), business counters from domain events, notification outcomes, and the guard (token or allowlisted network)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from medcover.api import PREFIX
from medcover.rbac import Role
from tests.factories import make_user

TOKEN = "scrape-token-of-the-test"  # noqa: S105


@pytest.fixture(autouse=True)
def guarded(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "METRICS_ALLOW", ["10.20.0.0/16"])


def scrape(client, **kwargs) -> dict[tuple, float]:
    headers = kwargs.pop("headers", {"Authorization": f"Bearer {TOKEN}"})
    response = client.get("/metrics", headers=headers, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def grew(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_requests_are_counted_and_timed_per_route_rule_never_per_raw_path(client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    for claim_id in (987654, 987655):
        assert client.get(f"{PREFIX}/claims/{claim_id}", headers=headers).status_code == 404
    after = scrape(client)

    health = {"method": "GET", "rule": "/healthz", "endpoint": "health.healthz"}
    assert grew(before, after, "medcover_http_requests_total", status="200", **health) == 3
    assert grew(before, after, "medcover_http_request_duration_seconds_count", **health) == 3
    claim_rules = {
        labels["rule"]
        for (name, pairs) in after
        if name == "medcover_http_requests_total"
        for labels in [dict(pairs)]
        if labels["endpoint"] == "api_claims.get_claim"
    }
    assert len(claim_rules) == 1 and "<" in next(iter(claim_rules))  # /api/v1/claims/<...:claim_id>
    claim = {"method": "GET", "rule": next(iter(claim_rules)), "endpoint": "api_claims.get_claim"}
    assert grew(before, after, "medcover_http_requests_total", status="404", **claim) == 2
    labels = {v for (_name, pairs) in after for _k, v in pairs}
    assert not any("987654" in v or "987655" in v for v in labels)


def test_server_errors_are_counted_per_route_rule(app, client, monkeypatch):
    from medcover import health

    monkeypatch.setattr(health, "jsonify", lambda **_: 1 / 0)
    before = scrape(client)
    assert client.get("/healthz").status_code == 500
    after = scrape(client)
    health_rule = {"method": "GET", "rule": "/healthz", "endpoint": "health.healthz"}
    assert grew(before, after, "medcover_http_request_errors_total", **health_rule) == 1
    assert grew(before, after, "medcover_http_requests_total", status="500", **health_rule) == 1


def test_decided_claims_issued_invoices_jobs_and_notifications_are_counted(client, api_token, cw):
    clerk = api_token(cw.clerk)
    before = scrape(client)

    def claim(items) -> dict:
        body = {
            "member_number": "ACM-001",
            "institution_id": cw.hospital.id,
            "service_date": (cw.today - timedelta(days=1)).isoformat(),
            "items": [{"service_code": c, "quantity": q, "unit_price": p} for c, q, p in items],
        }
        made = client.post(f"{PREFIX}/claims", json=body, headers=clerk)
        assert made.status_code == 201, made.get_data(as_text=True)
        decided = client.post(f"{PREFIX}/claims/{made.get_json()['id']}/submit", headers=clerk)
        assert decided.status_code == 200, decided.get_data(as_text=True)
        return decided.get_json()

    assert claim([("CONSULT", 1, "2500.00")])["status"] == "approved"
    assert claim([("LAB-FBC", 3, "1300.00")])["status"] == "approved"  # cut to the tariff (A01) and lab limit (A03)
    assert claim([("MRI-HEAD", 1, "30000.00")])["status"] == "rejected"  # no pre-authorisation

    invoice = client.post(
        f"{PREFIX}/invoices",
        json={
            "patient_id": cw.patient.id,
            "institution_id": cw.hospital.id,
            "lines": [{"service_code": "CONSULT", "quantity": 1}],
        },
        headers=clerk,
    )
    assert invoice.status_code == 201, invoice.get_data(as_text=True)
    issued = client.post(f"{PREFIX}/invoices/{invoice.get_json()['id']}/issue", headers=clerk)
    assert issued.status_code == 200 and issued.get_json()["status"] == "issued"
    after = scrape(client)

    assert grew(before, after, "medcover_claims_decided_total", outcome="approved") == 2
    assert grew(before, after, "medcover_claims_decided_total", outcome="rejected") == 1
    assert grew(before, after, "medcover_claim_decision_reasons_total", outcome="approved", reason_code="A01") == 1
    assert grew(before, after, "medcover_claim_decision_reasons_total", outcome="approved", reason_code="A03") == 1
    assert grew(before, after, "medcover_invoices_issued_total") == 1
    # the clerk is told in-app of each decided claim: stored is delivered
    assert grew(before, after, "medcover_notification_outcomes_total", channel="in_app", outcome="sent") == 3
    # the outbox was dispatched by inline jobs after each request, and nothing waits now
    assert grew(before, after, "medcover_jobs_total", job="medcover.events:dispatch_pending", outcome="done") >= 4
    assert value(after, "medcover_outbox_pending_events") == 0
    assert value(after, "medcover_outbox_lag_seconds") == 0


def test_refunds_awaiting_approval_and_work_waiting_are_read_at_scrape_time(client):
    samples = scrape(client)
    assert ("medcover_refunds_awaiting_approval", ()) in samples
    assert any(name == "medcover_work_waiting" for name, _ in samples)
    # jobs run inline here: there is no queue to measure, and no made-up zero either
    assert not any(name.startswith("medcover_rq_") for name, _ in samples)


def test_metrics_are_refused_without_the_token_or_outside_the_allowlist(client):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.21.0.5"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.3.4"}).status_code == 200
    assert scrape(client)  # the token


def test_with_nothing_configured_nobody_may_scrape(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", None)
    monkeypatch.setitem(app.config, "METRICS_ALLOW", [])
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403


def test_metrics_are_not_in_the_api_documentation(client):
    document = client.get(f"{PREFIX}/openapi.json").get_json()
    assert not any("metrics" in path for path in document["paths"])


def test_the_grafana_dashboard_reads_only_metrics_medcover_exports():
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    dashboard = json.loads((root / "docs" / "grafana-medcover.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {re.sub(r"_(total|bucket|count|sum)$", "", n) for e in exprs for n in re.findall(r"medcover_[a-z_]+", e)}
    source = (root / "medcover" / "metrics.py").read_text()
    assert len(used) >= 15
    assert {name for name in used if f'"{name}"' not in source} == set()


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs Redis: set TEST_REDIS_URL")
def test_rq_queue_depth_and_failed_jobs_are_read_per_queue_at_scrape_time(app, client, monkeypatch):
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    connection = Redis.from_url(os.environ["TEST_REDIS_URL"])
    monkeypatch.setitem(app.config, "REDIS_URL", os.environ["TEST_REDIS_URL"])
    pdf, notifications = Queue("pdf", connection=connection), Queue("notifications", connection=connection)
    for queue in (pdf, notifications):
        queue.empty()
        FailedJobRegistry(queue=queue).cleanup(0)
    try:
        for _ in range(2):
            pdf.enqueue("medcover.events:dispatch_pending")
        failed = Job.create("medcover.events:dispatch_pending", connection=connection, origin="notifications")
        failed.save()
        FailedJobRegistry(queue=notifications).add(failed, ttl=60, exc_string="boom")
        samples = scrape(client)
        assert value(samples, "medcover_rq_queue_jobs", queue="pdf") == 2
        assert value(samples, "medcover_rq_queue_jobs", queue="notifications") == 0
        assert value(samples, "medcover_rq_failed_jobs", queue="notifications") == 1
        assert value(samples, "medcover_rq_failed_jobs", queue="pdf") == 0
    finally:
        for queue in (pdf, notifications):
            queue.empty()
            for job_id in FailedJobRegistry(queue=queue).get_job_ids():
                FailedJobRegistry(queue=queue).remove(job_id, delete_job=True)


def test_the_database_pool_is_read_at_scrape_time_where_there_is_one(app, client):
    from medcover.extensions import db

    samples = scrape(client)
    if not hasattr(db.engine.pool, "checkedout"):  # SQLite's single-connection pool: nothing to tell
        assert not any(name.startswith("medcover_db_pool") for name, _ in samples)
        return
    assert value(samples, "medcover_db_pool_size") == db.engine.pool.size()
    assert value(samples, "medcover_db_pool_connections", state="checked_out") >= 1  # the test's own connection
