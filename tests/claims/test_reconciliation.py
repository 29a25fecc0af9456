"""Reconciliation: a provider's claims of a period against the payments seen on them and its insured invoices
(matched, underpaid, overpaid, unpaid, unclaimed) with exact totals; the job, the API, the pages and the CSV;
tenants; a run reads a fixed number of times however many claims."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from blueprints.billing import services as billing
from blueprints.claims import services
from blueprints.claims.models import ReconciliationRecord
from blueprints.claims.services import reconciliation
from medcover import jobs
from medcover.api import PREFIX
from medcover.errors import Forbidden, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Role, tenant_of
from tests.api.problem import assert_problem
from tests.factories import make_user

D = Decimal
_payments = iter(range(1, 10_000))


def _invoice(cw, days_ago: int, code="CONSULT"):
    invoice = billing.create_invoice(
        actor=cw.clerk,
        institution_id=cw.hospital.id,
        patient_id=cw.patient.id,
        lines=[billing.LineInput(code, 1, service_date=cw.today - timedelta(days=days_ago))],
    )
    return billing.issue_invoice(actor=cw.clerk, invoice_id=invoice.id)


def _claimed(cw, days_ago: int):
    """An issued invoice for a consultation (insurer part 2250.00), claimed and decided: approved 2250.00."""
    invoice = _invoice(cw, days_ago)
    claim = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    claim = services.submit_claim(actor=cw.clerk, claim_id=claim.id)
    assert claim.status.value == "approved" and claim.total_approved == D("2250.00")
    return claim


def _pay(claim, amount: str):
    n = next(_payments)
    services.record_payment_event(n, {"kind": "claim", "claim_id": claim.id, "amount": amount, "payment_id": n})


@pytest.fixture
def finance(cw):
    return make_user(Role.FINANCE_OFFICER, institution_id=cw.hospital.id, company_id=None)


@pytest.fixture
def book(cw):
    """One matched, one underpaid, one overpaid and one unpaid claim, and one insured invoice nobody claimed."""
    matched, underpaid, overpaid, unpaid = (_claimed(cw, d) for d in (2, 3, 4, 5))
    _pay(matched, "2250.00")
    _pay(underpaid, "1000.00")
    _pay(overpaid, "2250.00")
    _pay(overpaid, "100.00")
    unclaimed = _invoice(cw, 6)
    return {"matched": matched, "underpaid": underpaid, "overpaid": overpaid, "unpaid": unpaid, "unclaimed": unclaimed}


def _period(cw):
    return {"period_start": cw.today - timedelta(days=30), "period_end": cw.today}


def _run(cw, actor, **extra):
    return reconciliation.run_reconciliation(actor=actor, institution_id=cw.hospital.id, **_period(cw), **extra)


def _totals(report):
    return {s: (t.count, t.invoiced, t.approved, t.paid, t.difference) for s, t in report.totals.items()}


EXPECTED = {
    "matched": (1, D("2250.00"), D("2250.00"), D("2250.00"), D("0.00")),
    "underpaid": (1, D("2250.00"), D("2250.00"), D("1000.00"), D("-1250.00")),
    "overpaid": (1, D("2250.00"), D("2250.00"), D("2350.00"), D("100.00")),
    "unpaid": (1, D("2250.00"), D("2250.00"), D("0.00"), D("-2250.00")),
    "unclaimed": (1, D("2250.00"), D("0.00"), D("0.00"), D("-2250.00")),
}


def test_each_claim_and_unclaimed_invoice_gets_its_status_with_exact_totals(cw, book, finance):
    run_id = _run(cw, finance)
    report = reconciliation.report(tenant_of(finance), run_id)
    assert _totals(report) == EXPECTED
    assert (report.overall.count, report.overall.paid, report.overall.difference) == (
        5,
        D("5600.00"),
        D("-5650.00"),
    )
    assert (report.institution_id, report.period_start) == (cw.hospital.id, cw.today - timedelta(days=30))
    rows = db.session.scalars(report.query).all()
    by_status = {r.status.value: r for r in rows}
    assert {s: by_status[s].claim_id for s in ("matched", "underpaid", "overpaid", "unpaid")} == {
        s: book[s].id for s in ("matched", "underpaid", "overpaid", "unpaid")
    }
    assert by_status["unclaimed"].invoice_number == book["unclaimed"].number and by_status["unclaimed"].claim_id is None
    assert by_status["matched"].invoice_number is not None
    only_unpaid = db.session.scalars(reconciliation.report(tenant_of(finance), run_id, status="unpaid").query).all()
    assert [r.claim_id for r in only_unpaid] == [book["unpaid"].id]


def test_a_run_is_idempotent_and_drafts_and_void_claims_are_left_out(cw, book, finance):
    draft = services.claim_from_invoice(actor=cw.clerk, invoice_id=book["unclaimed"].id)  # a draft: still unclaimed
    run_id = _run(cw, finance)
    again = _run(cw, finance, run_id=run_id)
    assert again == run_id
    rows = db.session.scalars(select(ReconciliationRecord).where(ReconciliationRecord.run_id == run_id)).all()
    assert len(rows) == 5 and draft.id not in {r.claim_id for r in rows}


def test_who_may_run_and_with_what(cw, finance):
    with pytest.raises(Forbidden):
        _run(cw, cw.clerk)
    with pytest.raises(Invalid) as caught:
        reconciliation.run_reconciliation(
            actor=finance, institution_id=cw.other_hospital.id, period_start="2026-02-01", period_end="2026-01-01"
        )
    assert {"institution_id", "period_end"} <= set(caught.value.errors)
    with pytest.raises(Invalid) as caught:
        reconciliation.run_reconciliation(
            actor=finance, institution_id=cw.hospital.id, period_start="2024-01-01", period_end="2026-01-01"
        )
    assert "period_end" in caught.value.errors
    insurer = make_user(Role.FINANCE_OFFICER, company_id=cw.company.id)
    with pytest.raises(Invalid) as caught:
        _run(cw, insurer, company_id=cw.other_company.id)
    assert "company_id" in caught.value.errors


def test_tenants_see_only_their_own_lines(cw, book, finance):
    other = services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            "ZEN-001", cw.hospital.id, cw.today - timedelta(days=2), [services.ItemInput("CONSULT", 1, "2500.00")]
        ),
    )
    services.submit_claim(actor=cw.clerk, claim_id=other.id)
    run_id = _run(cw, make_user(Role.ADMIN))
    assert reconciliation.report(tenant_of(finance), run_id).overall.count == 6
    acme = reconciliation.report(tenant_of(cw.adjudicator), run_id)
    assert _totals(acme) == EXPECTED
    zen = reconciliation.report(tenant_of(cw.other_adjudicator), run_id)
    assert zen.overall.count == 1 and zen.totals["unpaid"].approved == D("2500.00")
    with pytest.raises(NotFound):
        reconciliation.report(tenant_of(cw.other_clerk), run_id)
    # An insurer's own run holds its company's lines only.
    insurer_run = _run(cw, make_user(Role.FINANCE_OFFICER, company_id=cw.other_company.id))
    assert reconciliation.report(tenant_of(finance), insurer_run).overall.count == 1


def test_a_run_reads_a_fixed_number_of_times_whatever_the_number_of_claims(cw, finance, count_queries):
    def run(n_more, start):
        for k in range(n_more):
            claim = _claimed(cw, start + k)
            if k % 2:
                _pay(claim, "1000.00")
            _invoice(cw, start + k + 40)  # outside the period's claims, unclaimed, in a long period
        db.session.flush()
        db.session.expire_all()
        with count_queries() as counted:
            reconciliation.run_reconciliation(
                actor=finance,
                institution_id=cw.hospital.id,
                period_start=cw.today - timedelta(days=200),
                period_end=cw.today,
            )
        return [q for q in counted.statements if q.lstrip().upper().startswith("SELECT")]

    small = run(2, 1)
    large = run(12, 3)
    assert len(small) == len(large), "\n".join(q[:100].replace("\n", " ") for q in large)


# --- the job, the API, the pages -----------------------------------------------------------------


def test_starting_enqueues_the_run_after_commit(cw, book, finance):
    run_id = reconciliation.start_reconciliation(actor=finance, institution_id=cw.hospital.id, **_period(cw))
    with pytest.raises(NotFound):
        reconciliation.report(tenant_of(finance), run_id)  # not before commit
    db.session.commit()
    jobs.run_ready()
    assert _totals(reconciliation.report(tenant_of(finance), run_id)) == EXPECTED


def _call(client, headers, method, path, **kwargs):
    return client.open(PREFIX + path, method=method, headers=headers, **kwargs)


def test_the_api_processes_and_reports(cw, book, finance, client, api_token):
    db.session.commit()
    headers = api_token(finance)
    body = {
        "institution_id": cw.hospital.id,
        "period_start": (cw.today - timedelta(days=30)).isoformat(),
        "period_end": cw.today.isoformat(),
    }
    started = _call(client, headers, "POST", "/reconciliation/process", json=body)
    assert started.status_code == 202, started.get_data(as_text=True)
    run_id = started.get_json()["run_id"]
    assert started.get_json()["status"] == "queued"
    answer = _call(client, headers, "GET", f"/reconciliation/report?run_id={run_id}&per_page=2")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    report = answer.get_json()
    assert (report["run_id"], report["institution_id"], report["total"], len(report["items"])) == (
        run_id,
        cw.hospital.id,
        5,
        2,
    )
    assert report["totals"]["overpaid"] == {
        "count": 1,
        "invoiced": "2250.00",
        "approved": "2250.00",
        "paid": "2350.00",
        "difference": "100.00",
    }
    assert report["period_start"] == body["period_start"]
    unpaid = _call(client, headers, "GET", f"/reconciliation/report?run_id={run_id}&status=unpaid").get_json()
    assert [i["claim_id"] for i in unpaid["items"]] == [book["unpaid"].id]
    assert_problem(_call(client, api_token(cw.clerk), "POST", "/reconciliation/process", json=body), 403)
    assert (
        "period_end"
        in assert_problem(
            _call(client, headers, "POST", "/reconciliation/process", json={**body, "period_end": "nope"}), 422
        )["errors"]
    )
    assert_problem(_call(client, headers, "GET", "/reconciliation/report"), 422)
    assert_problem(_call(client, api_token(cw.other_clerk), "GET", f"/reconciliation/report?run_id={run_id}"), 404)


def test_the_pages_start_a_run_show_it_filtered_and_export_csv_with_formulas_defused(cw, book, finance, client, login):
    cw.company.name = '=HYPERLINK("http://evil.example","Acme")'
    db.session.commit()
    login(finance)
    assert client.get("/reconciliation").status_code == 200
    started = client.post(
        "/reconciliation",
        data={
            "institution_id": str(cw.hospital.id),
            "period_start": (cw.today - timedelta(days=30)).isoformat(),
            "period_end": cw.today.isoformat(),
            "company_id": "0",
        },
    )
    assert started.status_code == 303, started.get_data(as_text=True)[:800]
    url = started.headers["Location"]
    page = client.get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert book["unpaid"].claim_number in text and 'id="total-overpaid"' in text
    filtered = client.get(url + "?status=matched", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert filtered.lstrip().startswith('<div id="reconciliation-rows"')
    assert book["matched"].claim_number in filtered and book["unpaid"].claim_number not in filtered
    exported = client.get(url + ".csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0][:3] == ["status", "claim_number", "invoice_number"] and len(rows) == 6
    assert {r[3] for r in rows[1:]} == {"'" + cw.company.name}
    assert ["unpaid", book["unpaid"].claim_number] == rows[[r[1] for r in rows].index(book["unpaid"].claim_number)][:2]
    bad = client.post("/reconciliation", data={"institution_id": "0", "period_start": "", "period_end": ""})
    assert bad.status_code == 422
    assert client.get("/reconciliation/00000000-0000-4000-8000-000000000000").status_code == 404


def test_a_run_requested_while_the_queue_was_down_shows_waiting_until_the_sweep_runs_it(
    app, cw, book, finance, client, login, monkeypatch
):
    from medcover import clock, requested_work

    db.session.commit()
    login(finance)
    with monkeypatch.context() as redis_down:
        redis_down.setattr(jobs, "enqueue", lambda *a, **k: None)  # the run's job goes nowhere
        started = client.post(
            "/reconciliation",
            data={
                "institution_id": str(cw.hospital.id),
                "period_start": (cw.today - timedelta(days=30)).isoformat(),
                "period_end": cw.today.isoformat(),
                "company_id": "0",
            },
        )
    assert started.status_code == 303
    url = started.headers["Location"]
    waiting = client.get(url)
    assert waiting.status_code == 200
    text = waiting.get_data(as_text=True)
    assert "Waiting to run: requested at" in text and 'hx-trigger="every 2s"' in text
    run_id = url.rsplit("/", 1)[-1]
    outsider = make_user(Role.FINANCE_OFFICER, institution_id=cw.other_hospital.id, company_id=None)
    assert reconciliation.waiting_run(tenant_of(outsider), run_id) is None  # another hospital's: a 404
    with clock.travel(timedelta(seconds=app.config["REQUESTED_WORK_RESEND_AFTER"] + 1)):
        assert requested_work.sweep() == 1
        jobs.run_ready()
    poll = client.get(url, headers={"HX-Request": "true", "HX-Target": "reconciliation-waiting"})
    assert poll.headers.get("HX-Refresh") == "true"
    report = client.get(url).get_data(as_text=True)
    assert "Waiting to run" not in report and 'id="reconciliation-totals"' in report
    assert _totals(reconciliation.report(tenant_of(finance), run_id)) == EXPECTED
