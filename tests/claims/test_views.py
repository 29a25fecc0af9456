"""Claims pages: the work queue (filters, sort, bounded queries, bulk approval), the claim page (reasons in
words, deciding with overrides, races answered 409), drafts and intake, tenants and roles, escaping."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import services
from blueprints.claims.engine import REASONS
from blueprints.claims.models import Claim, ClaimStatus
from blueprints.claims.services import submission
from medcover import jobs
from medcover.extensions import db
from medcover.rbac import Role
from tests.core.conftest import RequestScopedClient
from tests.factories import PASSWORD, make_coverage, make_member, make_user

D = Decimal
HTMX = {"HX-Request": "true"}


def _draft(cw, items, member="ACM-001", days_ago=1, actor=None, **extra):
    return services.create_claim(
        actor=actor or cw.clerk,
        values=services.ClaimInput(
            member_number=member,
            institution_id=(extra.pop("institution", None) or cw.hospital).id,
            service_date=cw.today - timedelta(days=days_ago),
            items=[services.ItemInput(*item) for item in items],
            **extra,
        ),
    )


def _submitted(cw, items, **kw):
    claim = _draft(cw, items, **kw)
    return services.submit_claim(actor=kw.get("actor") or cw.clerk, claim_id=claim.id)


def _pending(cw, amount="80000.00", days_ago=1, member="ACM-001", institution=None):
    """A claim reaching the 50,000.00 review threshold: it waits for an adjudicator."""
    actor = cw.other_clerk if institution is cw.other_hospital else cw.clerk
    claim = _submitted(
        cw, [("SURGERY", 1, amount)], days_ago=days_ago, member=member, institution=institution, actor=actor
    )
    assert claim.status is ClaimStatus.PENDING_REVIEW
    return claim


def _html(response) -> str:
    return response.get_data(as_text=True)


def _row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="queue-(\d+)"', html)]


def _browser(app, user):
    """Another browser, signed in as ``user``."""
    browser = RequestScopedClient(app, app.response_class, use_cookies=True)
    assert browser.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 303
    return browser


def _commit():
    db.session.commit()  # the test's outer transaction still rolls it back at the end


# --- the work queue ------------------------------------------------------------------------------


def test_queue_lists_claims_waiting_for_review_with_filters_and_sort(cw, client, login):
    small = _pending(cw, "60000.00", days_ago=3)
    large = _pending(cw, "90000.00", days_ago=2)
    _submitted(cw, [("CONSULT", 1, "2500.00")])  # approved at once: not in the queue
    other_hospital = _pending(cw, "70000.00", days_ago=1, institution=cw.other_hospital)
    _commit()
    login(cw.adjudicator)

    page = client.get("/claims/queue")
    assert page.status_code == 200 and "<html" in _html(page) and "Approve selected" in _html(page)
    assert _row_ids(_html(page)) == [small.id, large.id, other_hospital.id]  # oldest first
    assert "Wanjiru Kamau" in _html(page) and "Hospital B" in _html(page) and "GOLD · Gold" in _html(page)

    partial = client.get("/claims/queue?sort=-amount", headers=HTMX)
    assert "<html" not in _html(partial) and _html(partial).lstrip().startswith('<div id="queue-results">')
    assert "HX-Request" in partial.headers["Vary"]
    assert _row_ids(_html(partial)) == [large.id, other_hospital.id, small.id]

    filtered = client.get(f"/claims/queue?min_amount=65000&institution_id={cw.hospital.id}", headers=HTMX)
    assert _row_ids(_html(filtered)) == [large.id]
    by_scheme = client.get(f"/claims/queue?scheme_id={cw.scheme.id}&max_amount=65000", headers=HTMX)
    assert _row_ids(_html(by_scheme)) == [small.id]
    # Nothing was submitted a day or more ago in this test's clock: "waiting at least 1 day" shows none.
    waiting = client.get("/claims/queue?older_than=1", headers=HTMX)
    assert _row_ids(_html(waiting)) == []
    # A bad value is the field's message and is not applied; an unknown sort falls back to oldest first.
    bad = client.get("/claims/queue?min_amount=lots&sort=drop+table", headers=HTMX)
    assert _row_ids(_html(bad)) == [small.id, large.id, other_hospital.id]


def test_the_queue_reads_as_often_for_30_claims_as_for_3(cw, client, login, count_queries):
    def queue_reads(n: int) -> int:
        for k in range(n):
            _pending(cw, f"{60000 + k}.00", days_ago=1 + k % 25)
        _commit()
        client.get("/claims/queue?per_page=50", headers=HTMX)  # a warm process: it keeps the providers' names
        with count_queries() as counted:
            response = client.get("/claims/queue?per_page=50", headers=HTMX)
        assert response.status_code == 200
        return counted.count

    login(cw.adjudicator)
    few = queue_reads(3)
    many = queue_reads(27)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 30
    assert few == many


def test_bulk_approve_says_what_was_approved_and_what_was_refused(cw, client, login):
    first, second = _pending(cw, days_ago=2), _pending(cw, "85000.00", days_ago=1)
    done = _submitted(cw, [("CONSULT", 1, "2500.00")], days_ago=3)
    _commit()
    login(cw.adjudicator)
    response = client.post(
        "/claims/queue/approve", data={"claim_ids": [first.id, second.id, done.id], "confirmed": "yes"}, headers=HTMX
    )
    html = _html(response)
    assert response.status_code == 200
    assert f"{first.claim_number}, {second.claim_number}" in html
    assert done.claim_number in html and "only claims pending review are approved" in html
    assert "Approved 2; 1 refused." in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(Claim, first.id).status is ClaimStatus.APPROVED
    assert db.session.get(Claim, first.id).total_approved == D("72000.00")
    assert _row_ids(html) == []

    nothing = client.post("/claims/queue/approve", data={}, headers=HTMX)
    assert nothing.status_code == 422 and "Tick the claims" in _html(nothing)


# --- the claim page ------------------------------------------------------------------------------


def test_the_claim_page_gives_each_reason_code_in_words(cw, client, login):
    claim = _submitted(cw, [("CONSULT", 1, "2500.00"), ("LAB-FBC", 3, "1300.00"), ("MRI-HEAD", 1, "30000.00")])
    _commit()
    login(cw.clerk)
    html = _html(client.get(f"/claims/{claim.id}"))
    assert claim.claim_number in html and "Partially approved" in html
    for code in ("A01", "A03", "R12"):
        assert code in html and REASONS[code].replace("'", "&#39;") in html
    # the lines' amounts, the member's usage this period and the engine on the timeline
    assert "3,600.00" in html and "3,000.00" in html and "5,250.00" in html
    assert "Laboratory" in html and "Engine" in html
    assert "approve-form" not in html  # a provider decides nothing


def test_an_adjudicator_approves_with_an_override_to_the_cent(cw, client, login):
    claim = _pending(cw)
    _commit()
    login(cw.adjudicator)
    page = _html(client.get(f"/claims/{claim.id}"))
    assert 'id="approve-form"' in page and f'name="version" value="{claim.version}"' in page
    response = client.post(
        f"/claims/{claim.id}/approve",
        data={
            "version": claim.version,
            "confirmed": "yes",
            "overrides-0-line_no": "1",
            "overrides-0-amount": "61234.56",
            "overrides-0-note": "Agreed package price",
        },
        headers=HTMX,
    )
    assert response.status_code == 200, _html(response)[:2000]
    html = _html(response)
    assert html.lstrip().startswith('<div id="claim-panel"') and "Approved" in html
    assert "61,234.56" in html and "M01" in html and "Agreed package price" in html
    db.session.expire_all()
    stored = services.items_of(claim.id)[0]
    assert (stored.decision, stored.approved, stored.note) == ("adjusted", D("61234.56"), "Agreed package price")
    assert db.session.get(Claim, claim.id).total_approved == D("61234.56")


def test_an_override_above_allowed_comes_back_inline_with_422(cw, client, login):
    claim = _pending(cw)
    _commit()
    login(cw.adjudicator)
    response = client.post(
        f"/claims/{claim.id}/approve",
        data={
            "version": claim.version,
            "confirmed": "yes",
            "overrides-0-line_no": "1",
            "overrides-0-amount": "80000.01",
            "overrides-0-note": "x",
        },
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "at most the allowed 80,000.00" in _html(response) and 'id="approve-form"' in _html(response)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.PENDING_REVIEW


def test_rejecting_needs_a_reason(cw, client, login):
    claim = _pending(cw)
    _commit()
    login(cw.adjudicator)
    refused = client.post(
        f"/claims/{claim.id}/reject", data={"version": claim.version, "reason": " ", "confirmed": "yes"}, headers=HTMX
    )
    assert refused.status_code == 422 and "Enter the reason for rejecting" in _html(refused)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.PENDING_REVIEW
    done = client.post(
        f"/claims/{claim.id}/reject",
        data={"version": claim.version, "reason": "Not medically necessary", "confirmed": "yes"},
    )
    assert done.status_code == 303
    html = _html(client.get(done.headers["Location"]))
    assert "Rejected" in html and "Not medically necessary" in html and "80,000.00" in html


def test_a_stale_version_gets_409_and_says_the_claim_changed(cw, client, login):
    claim = _pending(cw)
    opened = claim.version
    services.process_claim(actor=cw.adjudicator, claim_id=claim.id)  # re-run: the proposal moved on
    _commit()
    login(cw.adjudicator)
    response = client.post(f"/claims/{claim.id}/approve", data={"version": opened, "confirmed": "yes"}, headers=HTMX)
    assert response.status_code == 409
    assert "changed since you opened it" in _html(response)
    assert _html(response).lstrip().startswith('<div id="claim-panel" class="claim-panel" data-swap-conflict')
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.PENDING_REVIEW


def test_a_second_adjudicator_approving_a_decided_claim_gets_the_409_message(cw, client, login, app):
    claim = _pending(cw)
    opened = claim.version
    second = make_user(Role.ADJUDICATOR, company_id=cw.company.id)
    _commit()
    login(cw.adjudicator)
    assert (
        client.post(
            f"/claims/{claim.id}/approve", data={"version": opened, "confirmed": "yes"}, headers=HTMX
        ).status_code
        == 200
    )
    other = _browser(app, second)
    late = other.post(f"/claims/{claim.id}/approve", data={"version": opened, "confirmed": "yes"})
    assert late.status_code == 409
    assert f"Claim {claim.claim_number} changed since you opened it: it is now approved." in _html(late)


def test_after_deciding_the_panel_offers_the_next_claim(cw, client, login):
    first, second = _pending(cw, days_ago=2), _pending(cw, days_ago=1)
    _commit()
    login(cw.adjudicator)
    page = _html(client.get(f"/claims/{first.id}"))
    assert "js/claims.js" in page and "<kbd>n</kbd>" in page and 'accesskey="a"' in page
    response = client.post(
        f"/claims/{first.id}/approve", data={"version": first.version, "confirmed": "yes"}, headers=HTMX
    )
    html = _html(response)
    assert f'href="/claims/{second.id}" data-next-claim accesskey="n" autofocus' in html


# --- drafts and intake ---------------------------------------------------------------------------


def _intake(cw, **values):
    data = {
        "member_number": "ACM-001",
        "service_date": (cw.today - timedelta(days=1)).isoformat(),
        "diagnosis_codes": "J06.9, A09",
        "lines-0-service_code": "CONSULT",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "2500.00",
    }
    return {**data, **values}


def test_intake_errors_come_back_on_their_fields_and_write_nothing(cw, client, login):
    login(cw.clerk)
    before = db.session.scalar(select(func.count()).select_from(Claim))
    bad_line = client.post(
        "/claims/new",
        data=_intake(
            cw,
            **{"lines-1-service_code": "", "lines-1-quantity": "", "lines-1-unit_price": ""},
            **{"lines-2-service_code": "LAB-FBC", "lines-2-quantity": "0", "lines-2-unit_price": "1"},
        ),
    )
    assert bad_line.status_code == 422
    html = _html(bad_line)
    assert "Check the lines marked below." in html and 'value="LAB-FBC"' in html
    assert re.search(r'name="lines-2-quantity"[^>]*>\s*<ul class="errors">', html)
    bad_code = client.post("/claims/new", data=_intake(cw, diagnosis_codes="nope"))
    assert bad_code.status_code == 422 and "is not an ICD-10 code" in _html(bad_code)
    no_lines = client.post(
        "/claims/new",
        data=_intake(cw, **{"lines-0-service_code": "", "lines-0-quantity": "", "lines-0-unit_price": ""}),
    )
    assert no_lines.status_code == 422 and "Add at least one line." in _html(no_lines)
    future = client.post("/claims/new", data=_intake(cw, service_date=(cw.today + timedelta(days=2)).isoformat()))
    assert future.status_code == 422 and "cannot be in the future" in _html(future)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == before


def test_intake_saves_a_draft_that_is_edited_then_submitted(cw, client, login):
    login(cw.clerk)
    created = client.post("/claims/new", data=_intake(cw))
    assert created.status_code == 303
    claim_id = int(created.headers["Location"].rsplit("/", 1)[1])
    page = _html(client.get(f"/claims/{claim_id}"))
    assert "Draft" in page and 'id="draft-form"' in page and "J06.9" in page

    edited = client.post(
        f"/claims/{claim_id}/edit",
        data=_intake(cw, **{"lines-1-service_code": "LAB-FBC", "lines-1-quantity": "2", "lines-1-unit_price": "1200"}),
        headers=HTMX,
    )
    assert edited.status_code == 200 and "4,900.00" in _html(edited)
    submitted = client.post(f"/claims/{claim_id}/submit", headers=HTMX)
    assert submitted.status_code == 200
    assert "approved" in submitted.headers["HX-Trigger"] and 'id="draft-form"' not in _html(submitted)
    db.session.expire_all()
    claim = db.session.get(Claim, claim_id)
    assert claim.status is ClaimStatus.APPROVED and claim.total_approved == D("4650.00")
    edit_again = client.post(f"/claims/{claim_id}/edit", data=_intake(cw), headers=HTMX)
    assert edit_again.status_code == 409 and "only drafts change" in _html(edit_again)
    # ADJUDICATION.md: still voidable by its provider while no payment stands against it
    voided = client.post(f"/claims/{claim_id}/void", data={"reason": "wrong patient", "confirmed": "yes"})
    assert voided.status_code == 303
    db.session.expire_all()
    assert db.session.get(Claim, claim_id).status is ClaimStatus.VOID


def test_a_draft_is_voided_with_a_reason(cw, client, login):
    claim = _draft(cw, [("CONSULT", 1, "2500.00")])
    _commit()
    login(cw.clerk)
    response = client.post(f"/claims/{claim.id}/void", data={"reason": "entered twice", "confirmed": "yes"})
    assert response.status_code == 303
    html = _html(client.get(f"/claims/{claim.id}"))
    assert "Void" in html and "entered twice" in html


def test_a_claim_decided_on_a_worker_shows_waiting_to_be_decided_and_polls_until_decided(
    cw, client, login, monkeypatch
):
    claim = _draft(cw, [("CONSULT", 1, "2500.00")])
    monkeypatch.setattr(submission, "decides_in_background", lambda: True)
    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: None)  # the worker has not run yet
    _commit()
    login(cw.clerk)
    response = client.post(f"/claims/{claim.id}/submit", headers=HTMX)
    html = _html(response)
    assert "Waiting to be decided since" in html and 'hx-trigger="every 2s"' in html
    db.session.expire_all()
    services.decide_claims([claim.id])  # the worker
    _commit()
    polled = client.get(f"/claims/{claim.id}", headers=HTMX)
    assert (
        "Waiting to be decided" not in _html(polled) and "every 2s" not in _html(polled) and "Approved" in _html(polled)
    )


def test_the_insurers_part_of_an_invoice_is_claimed_in_one_click(cw, client, login):
    invoice = billing.create_invoice(
        actor=cw.clerk,
        institution_id=cw.hospital.id,
        patient_id=cw.patient.id,
        lines=[billing.LineInput("CONSULT", 1), billing.LineInput("LAB-FBC", 2)],
    )
    billing.issue_invoice(actor=cw.clerk, invoice_id=invoice.id)
    _commit()
    login(cw.clerk)
    panel = _html(client.get(f"/claims/invoices/{invoice.id}", headers=HTMX))
    assert "Claim the insurer's part (4,650.00)" in panel
    response = client.post(f"/claims/from-invoice/{invoice.id}")
    assert response.status_code == 303
    claim = db.session.scalar(select(Claim).where(Claim.invoice_id == invoice.id))
    assert response.headers["Location"].endswith(f"/claims/{claim.id}")
    assert claim.status is ClaimStatus.DRAFT and claim.total_billed == D("4900.00")
    twice = client.post(f"/claims/from-invoice/{invoice.id}", data={"next": f"/billing/invoices/{invoice.id}"})
    assert twice.status_code == 303 and twice.headers["Location"].endswith(f"/billing/invoices/{invoice.id}")
    assert claim.claim_number in _html(client.get(f"/claims/invoices/{invoice.id}", headers=HTMX))


# --- who sees what -------------------------------------------------------------------------------


def test_another_insurers_adjudicator_and_another_hospital_get_404(cw, client, login, app):
    claim = _pending(cw)
    _commit()
    login(cw.other_adjudicator)
    assert client.get(f"/claims/{claim.id}").status_code == 404
    assert client.post(f"/claims/{claim.id}/approve", data={"version": claim.version}).status_code == 404
    assert _row_ids(_html(client.get("/claims/queue"))) == []
    clerk = _browser(app, cw.other_clerk)
    assert clerk.get(f"/claims/{claim.id}").status_code == 404
    assert claim.claim_number not in _html(clerk.get("/claims"))


def test_providers_list_their_own_claims_and_insurers_their_members(cw, client, login):
    mine = _submitted(cw, [("CONSULT", 1, "2500.00")])
    theirs = _submitted(cw, [("CONSULT", 1, "2500.00")], actor=cw.other_clerk, institution=cw.other_hospital)
    _commit()
    login(cw.clerk)
    html = _html(client.get("/claims"))
    assert mine.claim_number in html and theirs.claim_number not in html
    approved = _html(client.get("/claims?status=rejected", headers=HTMX))
    assert mine.claim_number not in approved


def test_a_receptionist_gets_403_everywhere(cw, client, login_as):
    claim = _pending(cw)
    _commit()
    login_as(Role.RECEPTIONIST, institution_id=cw.hospital.id)
    for url in ("/claims", "/claims/queue", f"/claims/{claim.id}", "/claims/new", "/claims/dashboard"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/claims/{claim.id}/approve", data={"version": 1}).status_code == 403
    assert client.post("/claims/new", data={}).status_code == 403


def test_a_billing_clerk_cannot_decide_and_an_adjudicator_cannot_file(cw, client, login, app):
    claim = _pending(cw)
    _commit()
    login(cw.clerk)
    assert client.post(f"/claims/{claim.id}/approve", data={"version": claim.version}).status_code == 403
    adjudicator = _browser(app, cw.adjudicator)
    assert adjudicator.get("/claims/new").status_code == 403


@pytest.mark.parametrize("name", ['<script>alert("x")</script>', "<img src=x onerror=alert(1)>"])
def test_html_in_a_member_or_patient_name_is_escaped(cw, client, login, name):
    member = make_member(cw.company, member_number="ACM-666", first_name=name, last_name="Kamau")
    make_coverage(member, cw.scheme, cw.today - timedelta(days=60), cw.today + timedelta(days=300))
    claim = _pending(cw, member="ACM-666")
    _commit()
    login(cw.adjudicator)
    for url in (f"/claims/{claim.id}", "/claims/queue", "/claims"):
        html = _html(client.get(url))
        assert name not in html, url
        assert name.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;") in html, url


def test_a_claim_submitted_while_the_queue_was_down_waits_and_the_sweep_has_it_decided_once(
    app, cw, client, login, monkeypatch
):
    from medcover import clock, requested_work

    claim = _draft(cw, [("CONSULT", 1, "2500.00")])
    monkeypatch.setattr(submission, "decides_in_background", lambda: True)
    _commit()
    login(cw.clerk)
    with monkeypatch.context() as redis_down:
        redis_down.setattr(jobs, "enqueue", lambda *a, **k: None)  # the decide job goes nowhere
        assert client.post(f"/claims/{claim.id}/submit").status_code == 303
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.SUBMITTED
    page = _html(client.get(f"/claims/{claim.id}"))
    assert "Waiting to be decided since" in page and "interrupted" not in page
    assert requested_work.sweep() == 0  # not waiting long enough yet
    jobs.run_ready()
    with clock.travel(timedelta(seconds=app.config["REQUESTED_WORK_RESEND_AFTER"] + 1)):
        assert requested_work.sweep() == 1
        jobs.run_ready()
        assert requested_work.sweep() == 0
    db.session.expire_all()
    decided = db.session.get(Claim, claim.id)
    assert decided.status is ClaimStatus.APPROVED
    assert [h.to_status for h in services.history_of(claim.id)] == ["draft", "submitted", "approved"]
    assert "Waiting to be decided" not in _html(client.get(f"/claims/{claim.id}"))


def test_a_late_decide_job_leaves_a_claim_waiting_for_review_as_the_adjudicator_will_find_it(cw):
    claim = _pending(cw)
    history = [h.to_status for h in services.history_of(claim.id)]
    decisions = len(services.decisions_of(claim.id))
    assert services.decide_submitted([claim.id]) == 0  # the job re-sent after an outage arrives late
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.PENDING_REVIEW
    assert [h.to_status for h in services.history_of(claim.id)] == history
    assert len(services.decisions_of(claim.id)) == decisions


def test_approving_and_rejecting_ask_first_with_the_claim_and_amount(cw, client, login):
    claim = _pending(cw)
    _commit()
    login(cw.adjudicator)
    page = _html(client.get(f"/claims/{claim.id}"))
    assert f'data-confirm="Approve claim {claim.claim_number} for KES {claim.total_approved:,.2f}?"' in page
    assert 'class="reject-form danger-zone"' in page and 'data-confirm-kind="danger"' in page
    asked = client.post(f"/claims/{claim.id}/approve", data={"version": claim.version})
    text = _html(asked)
    assert asked.status_code == 200 and f"Approve claim {claim.claim_number} for KES" in text
    assert 'name="confirmed" value="yes"' in text and f'name="version" value="{claim.version}"' in text
    rejecting = _html(client.post(f"/claims/{claim.id}/reject", data={"version": claim.version, "reason": "Too late"}))
    assert f"Reject claim {claim.claim_number}" in rejecting and "Too late" in rejecting
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.PENDING_REVIEW


def test_bulk_approval_asks_with_the_count_and_the_total(cw, client, login):
    first, second = _pending(cw), _pending(cw)
    _commit()
    login(cw.adjudicator)
    queue = _html(client.get("/claims/queue"))
    assert 'data-confirm="Approve {count} as proposed, KES {total} in all?"' in queue
    assert f'data-amount="{first.total_approved}"' in queue
    asked = _html(client.post("/claims/queue/approve", data={"claim_ids": [first.id, second.id]}))
    total = first.total_approved + second.total_approved
    assert f"Approve 2 claims as proposed, KES {total:,.2f} in all?" in asked
    assert first.claim_number in asked and second.claim_number in asked and 'id="confirm-rows"' in asked
    db.session.expire_all()
    assert db.session.get(Claim, first.id).status is ClaimStatus.PENDING_REVIEW


def test_the_audit_log_names_the_engine_and_the_claim_in_words(cw, client, login):
    from blueprints.core.models import AuditLog

    claim = _pending(cw)
    _commit()
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "adjudicate")).all()
    assert (entry.actor_id, entry.actor_label, entry.entity_id) == (None, "Adjudication engine", str(claim.id))
    assert entry.after["status"] == "pending_review" and entry.after["total_approved"] == f"{claim.total_approved:.2f}"
    login(make_user(Role.AUDITOR))
    page = _html(client.get("/admin/audit?action=adjudicate", headers=HTMX))
    assert "Adjudication engine" in page and f'<a href="/claims/{claim.id}">Claim {claim.claim_number}</a>' in page
    assert "Status: — → Pending review" in page and f"#{claim.id}" not in page
    assert "&#34;total_approved&#34;" in page or '"total_approved"' in page  # the entry as stored, JSON
    exported = client.get("/admin/audit.csv?action=adjudicate").get_data(as_text=True)
    assert f"Claim {claim.claim_number}" in exported and '""status"": ""pending_review""' in exported
