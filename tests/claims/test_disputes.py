"""Disputes: who may open one and on which claims, what upholding (the claim decided again, with today's facts
and the adjudicator's overrides) and dismissing (the decision stands) do, tenants, hostile attachments, the
pages and the JSON API."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.claims import services
from blueprints.claims.models import ClaimAuditTrail, Dispute, DisputeAttachment
from blueprints.claims.services import disputes
from blueprints.core.models import AuditLog
from blueprints.insurance import services as insurance
from medcover.api import PREFIX
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import OutboxEvent
from medcover.extensions import db
from medcover.rbac import Role, tenant_of
from tests.api.problem import assert_problem
from tests.factories import make_user

D = Decimal
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48


@pytest.fixture
def uploads(app, tmp_path):
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = previous


def _submitted(cw, items, member="ACM-001", days_ago=1):
    claim = services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            member_number=member,
            institution_id=cw.hospital.id,
            service_date=cw.today - timedelta(days=days_ago),
            items=[services.ItemInput(*item) for item in items],
        ),
    )
    return services.submit_claim(actor=cw.clerk, claim_id=claim.id)


def _partly(cw, preauth_code=None):
    """CONSULT approved (2250.00 after the 10% copay), MRI rejected R12: partially approved."""
    claim = _submitted(cw, [("CONSULT", 1, "2500.00"), ("MRI-HEAD", 1, "30000.00", preauth_code)])
    assert claim.status.value == "partially_approved"
    return claim


def _lines(claim):
    return [(i.line_no, i.decision, i.approved, tuple(i.reason_codes)) for i in services.items_of(claim.id)]


def _events(name):
    return [e.payload for e in db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == name))]


def _open(cw, claim, **kw):
    return disputes.open_dispute(
        actor=kw.pop("actor", cw.clerk), claim_id=claim.id, reason=kw.pop("reason", "The MRI was pre-authorised."), **kw
    )


# --- opening -------------------------------------------------------------------------------------


def test_a_provider_disputes_a_rejected_line_and_the_insurers_adjudicators_are_told(cw):
    claim = _partly(cw)
    dispute = _open(cw, claim, line_nos=[2])
    assert (dispute.status.value, dispute.raised_by_kind, dispute.line_nos) == ("open", "provider", [2])
    assert dispute.claim_status_before == "partially_approved"
    assert claim.status.value == "disputed"
    [event] = _events("dispute.opened")
    assert event["recipients"] == [{"user_id": cw.adjudicator.id}]
    assert event["company_id"] == cw.company.id and event["institution_id"] == cw.hospital.id
    assert event["context"]["claim_number"] == claim.claim_number
    assert event["context"]["dispute_id"] == dispute.id and event["context"]["status"] == "open"
    audit = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "dispute")).all()
    assert [(a.action, a.entity_id) for a in audit] == [("open", str(dispute.id))]
    assert [h.to_status for h in services.history_of(claim.id)][-1] == "disputed"


def test_the_insurers_staff_dispute_on_the_members_behalf(cw):
    claim = _partly(cw)
    dispute = _open(cw, claim, actor=cw.adjudicator)
    assert dispute.raised_by_kind == "member" and dispute.line_nos == []


def test_an_approved_claim_cannot_be_disputed(cw):
    claim = _submitted(cw, [("CONSULT", 1, "2500.00")])
    assert claim.status.value == "approved"
    with pytest.raises(Conflict):
        _open(cw, claim)
    assert claim.status.value == "approved" and _events("dispute.opened") == []


def test_a_second_open_dispute_is_a_conflict(cw):
    claim = _partly(cw)
    _open(cw, claim)
    with pytest.raises(Conflict):
        _open(cw, claim, reason="Again")
    assert db.session.scalar(select(func.count()).where(Dispute.claim_id == claim.id)) == 1


def test_disputed_lines_must_exist_and_be_rejected_or_adjusted_and_a_reason_is_required(cw):
    claim = _partly(cw)
    for line_nos in ([1], [9], ["x"]):
        with pytest.raises(Invalid) as caught:
            _open(cw, claim, line_nos=line_nos)
        assert "line_nos" in caught.value.errors
    with pytest.raises(Invalid) as caught:
        _open(cw, claim, reason="  ")
    assert "reason" in caught.value.errors
    assert claim.status.value == "partially_approved"


def test_others_cannot_open_a_dispute(cw):
    claim = _partly(cw)
    with pytest.raises(NotFound):
        _open(cw, claim, actor=cw.other_clerk)
    with pytest.raises(NotFound):
        _open(cw, claim, actor=cw.other_adjudicator)
    with pytest.raises(Forbidden):
        _open(cw, claim, actor=make_user(Role.AUDITOR))


# --- resolving -----------------------------------------------------------------------------------


def test_upheld_decides_the_claim_again_with_the_preauthorisation_approved_since(cw):
    preauth = insurance.request_preauthorization(
        actor=cw.adjudicator,
        member_number="ACM-001",
        benefit_code="MRI",
        valid_from=cw.today - timedelta(days=30),
        valid_to=cw.today + timedelta(days=30),
    )
    claim = _partly(cw, preauth_code=preauth.code)  # the pre-authorisation was only requested: R12
    assert _lines(claim)[1] == (2, "rejected", D("0.00"), ("R12",))
    dispute = _open(cw, claim, line_nos=[2])
    insurance.decide_preauthorization(actor=cw.adjudicator, preauthorization_id=preauth.id, approve=True)

    disputes.resolve_dispute(
        actor=cw.adjudicator, dispute_id=dispute.id, status="upheld", resolution="Pre-authorised on the day."
    )
    assert (dispute.status.value, dispute.resolved_by_id) == ("upheld", cw.adjudicator.id)
    assert dispute.resolved_at is not None and dispute.resolution == "Pre-authorised on the day."
    assert claim.status.value == "approved"
    assert _lines(claim) == [(1, "approved", D("2250.00"), ()), (2, "approved", D("30000.00"), ())]
    assert claim.total_approved == D("32250.00")
    trail = db.session.scalars(select(ClaimAuditTrail).where(ClaimAuditTrail.claim_id == claim.id)).all()
    assert [(t.source, t.status, t.by_id) for t in trail] == [
        ("engine", "partially_approved", None),
        ("dispute", "approved", cw.adjudicator.id),
    ]
    [resolved] = _events("dispute.resolved")
    assert {"user_id": cw.clerk.id} in resolved["recipients"]
    assert resolved["context"]["status"] == "upheld"
    assert resolved["context"]["resolution"] == "Pre-authorised on the day."
    assert _events("claim.decided")[-1]["status"] == "approved"


def test_upheld_with_an_override_on_a_claim_at_the_review_threshold_never_stays_pending(cw):
    claim = _submitted(cw, [("SURGERY", 1, "80000.00")])
    services.reject_claim(actor=cw.adjudicator, claim_id=claim.id, reason="Not medically necessary")
    dispute = _open(cw, claim, reason="It was.")
    disputes.resolve_dispute(
        actor=cw.adjudicator,
        dispute_id=dispute.id,
        status="upheld",
        resolution="Agreed on the package price.",
        overrides={1: ("60000.00", "Agreed package price")},
    )
    assert claim.status.value == "approved"
    assert _lines(claim) == [(1, "adjusted", D("60000.00"), ("M01",))]
    assert claim.total_approved == D("60000.00")


def test_an_override_above_allowed_is_refused_and_nothing_changes(cw):
    claim = _partly(cw)
    dispute = _open(cw, claim)
    with pytest.raises(Invalid) as caught:
        disputes.resolve_dispute(
            actor=cw.adjudicator,
            dispute_id=dispute.id,
            status="upheld",
            resolution="x",
            overrides={1: ("2500.01", "too much")},
        )
    assert "overrides" in caught.value.errors
    assert dispute.status.value == "open" and claim.status.value == "disputed"


def test_dismissed_restores_the_status_the_claim_had(cw):
    claim = _partly(cw)
    before = _lines(claim)
    dispute = _open(cw, claim)
    disputes.resolve_dispute(
        actor=cw.adjudicator, dispute_id=dispute.id, status="dismissed", resolution="No pre-authorisation exists."
    )
    assert dispute.status.value == "dismissed" and claim.status.value == "partially_approved"
    assert _lines(claim) == before and claim.total_approved == D("2250.00")
    assert _events("dispute.resolved")[0]["context"]["status"] == "dismissed"
    with pytest.raises(Conflict):
        disputes.resolve_dispute(actor=cw.adjudicator, dispute_id=dispute.id, status="upheld", resolution="x")
    # A new dispute may be opened once the first is closed.
    assert _open(cw, claim, reason="New evidence").status.value == "open"


def test_a_resolution_and_a_known_status_are_required(cw):
    claim = _partly(cw)
    dispute = _open(cw, claim)
    for status, resolution, field in (("dismissed", " ", "resolution"), ("maybe", "x", "status")):
        with pytest.raises(Invalid) as caught:
            disputes.resolve_dispute(actor=cw.adjudicator, dispute_id=dispute.id, status=status, resolution=resolution)
        assert field in caught.value.errors
    assert dispute.status.value == "open" and claim.status.value == "disputed"


def test_another_insurers_adjudicator_finds_nothing_and_the_provider_cannot_resolve(cw):
    claim = _partly(cw)
    dispute = _open(cw, claim)
    with pytest.raises(NotFound):
        disputes.resolve_dispute(actor=cw.other_adjudicator, dispute_id=dispute.id, status="upheld", resolution="x")
    with pytest.raises(NotFound):
        disputes.get_dispute(tenant_of(cw.other_clerk), dispute.id)
    with pytest.raises(Forbidden):
        disputes.resolve_dispute(actor=cw.clerk, dispute_id=dispute.id, status="upheld", resolution="x")
    assert db.session.scalars(disputes.disputes_query(tenant_of(cw.other_adjudicator))).all() == []
    assert [d.id for d in db.session.scalars(disputes.disputes_query(tenant_of(cw.clerk), status="open"))] == [
        dispute.id
    ]
    assert dispute.status.value == "open"


# --- attachments ---------------------------------------------------------------------------------


def _files(root):
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_evidence_is_checked_by_content_and_stored_under_a_generated_name(cw, app, uploads):
    dispute = _open(cw, _partly(cw))
    for data, name in ((EXE, "report.pdf"), (b"", "empty.pdf"), (b"<html>hi</html>", "page.html")):
        with pytest.raises(Invalid) as caught:
            disputes.add_attachment(actor=cw.clerk, dispute_id=dispute.id, filename=name, stream=io.BytesIO(data))
        assert "file" in caught.value.errors
    app.config["ATTACHMENT_MAX_BYTES"] = 1024
    try:
        with pytest.raises(Invalid):
            big = io.BytesIO(PDF + b"0" * 2000)
            disputes.add_attachment(actor=cw.clerk, dispute_id=dispute.id, filename="big.pdf", stream=big)
    finally:
        app.config.pop("ATTACHMENT_MAX_BYTES")
    assert _files(uploads) == [] and db.session.scalar(select(func.count()).select_from(DisputeAttachment)) == 0

    row = disputes.add_attachment(
        actor=cw.clerk, dispute_id=dispute.id, filename="../../etc/passwd.pdf", stream=io.BytesIO(PDF)
    )
    assert (row.filename, row.content_type) == ("passwd.pdf", "application/pdf")
    [stored] = _files(uploads)
    assert stored.parent == uploads / "disputes" and stored.name == row.stored_name
    path, _row = disputes.open_attachment(actor=cw.adjudicator, attachment_id=row.id)
    assert path.read_bytes() == PDF
    with pytest.raises(NotFound):
        disputes.open_attachment(actor=cw.other_adjudicator, attachment_id=row.id)
    with pytest.raises(Forbidden):
        disputes.add_attachment(
            actor=make_user(Role.AUDITOR), dispute_id=dispute.id, filename="x.pdf", stream=io.BytesIO(PDF)
        )


# --- pages ---------------------------------------------------------------------------------------


def test_the_dispute_form_opens_a_dispute_with_evidence_and_shows_it_escaped(cw, client, login, uploads):
    claim = _partly(cw)
    login(cw.clerk)
    form = client.get(f"/claims/{claim.id}/disputes/new")
    assert form.status_code == 200 and 'name="line_nos" value="2"' in form.get_data(as_text=True)
    name = "<img src=x onerror=alert(1)>.pdf"
    response = client.post(
        f"/claims/{claim.id}/disputes/new",
        data={"reason": "Pre-authorised", "line_nos": "2", "file": (io.BytesIO(PDF), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    dispute = db.session.scalar(select(Dispute).where(Dispute.claim_id == claim.id))
    assert response.headers["Location"].endswith(f"/disputes/{dispute.id}")
    page = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.pdf" in page
    assert 'id="resolve"' not in page  # the provider sees no resolve form
    [attachment] = db.session.scalars(select(DisputeAttachment)).all()
    download = client.get(f"/disputes/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    listing = client.get("/disputes").get_data(as_text=True)
    assert f"/disputes/{dispute.id}" in listing and claim.claim_number in listing


def test_a_wrong_file_on_the_form_opens_nothing(cw, client, login, uploads):
    claim = _partly(cw)
    login(cw.clerk)
    response = client.post(
        f"/claims/{claim.id}/disputes/new",
        data={"reason": "See the scan", "file": (io.BytesIO(EXE), "scan.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "Only PDF, PNG or JPEG" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Dispute)) == 0 and _files(uploads) == []
    assert services.claim_row(tenant_of(cw.clerk), claim.id).status.value == "partially_approved"


def test_the_adjudicator_resolves_on_the_page(cw, client, login):
    claim = _partly(cw)
    dispute = _open(cw, claim)
    db.session.commit()
    login(cw.adjudicator)
    page = client.get(f"/disputes/{dispute.id}").get_data(as_text=True)
    assert 'id="resolve"' in page and 'name="approved-1"' in page
    missing = client.post(f"/disputes/{dispute.id}/resolve", data={"status": "upheld", "resolution": ""})
    assert missing.status_code == 422
    refused = client.post(
        f"/disputes/{dispute.id}/resolve",
        data={"status": "upheld", "resolution": "Cut", "approved-1": "9999.00", "note-1": "too much"},
    )
    assert refused.status_code == 422 and "at most the allowed" in refused.get_data(as_text=True)
    done = client.post(
        f"/disputes/{dispute.id}/resolve",
        data={"status": "upheld", "resolution": "Partly agreed", "approved-1": "2000.00", "note-1": "Agreed fee"},
    )
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).status.value == "upheld"
    assert _lines(claim)[0] == (1, "adjusted", D("2000.00"), ("M01",))


def test_a_provider_cannot_post_the_resolve_form(cw, client, login):
    dispute = _open(cw, _partly(cw))
    db.session.commit()
    login(cw.clerk)
    assert (
        client.post(f"/disputes/{dispute.id}/resolve", data={"status": "dismissed", "resolution": "x"}).status_code
        == 403
    )
    client.post("/auth/logout")
    login(cw.other_adjudicator)
    assert client.get(f"/disputes/{dispute.id}").status_code == 404


# --- API -----------------------------------------------------------------------------------------


def _call(client, headers, method, path, **kwargs):
    return client.open(PREFIX + path, method=method, headers=headers, **kwargs)


def test_the_api_opens_lists_and_resolves_disputes(cw, client, api_token, uploads):
    claim = _partly(cw)
    approved = _submitted(cw, [("LAB-FBC", 1, "1200.00")])
    db.session.commit()
    clerk, adjudicator = api_token(cw.clerk), api_token(cw.adjudicator)
    made = _call(
        client, clerk, "POST", "/disputes", json={"claim_id": claim.id, "reason": "Pre-authorised", "line_nos": [2]}
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert (body["status"], body["claim_status"], body["line_nos"]) == ("open", "disputed", [2])
    assert body["claim_number"] == claim.claim_number
    assert_problem(_call(client, clerk, "POST", "/disputes", json={"claim_id": claim.id, "reason": "again"}), 409)
    assert_problem(_call(client, clerk, "POST", "/disputes", json={"claim_id": approved.id, "reason": "x"}), 409)
    assert (
        "surprise"
        in assert_problem(
            _call(client, clerk, "POST", "/disputes", json={"claim_id": claim.id, "reason": "x", "surprise": 1}), 422
        )["errors"]
    )

    upload = _call(
        client,
        clerk,
        "POST",
        f"/disputes/{body['id']}/attachments",
        data={"file": (io.BytesIO(PDF), "/home/clerk/scans/letter.pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201 and upload.get_json()["filename"] == "letter.pdf"
    listed = _call(client, adjudicator, "GET", "/disputes?status=open").get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]
    assert _call(client, api_token(cw.other_adjudicator), "GET", "/disputes").get_json()["total"] == 0
    assert_problem(_call(client, api_token(cw.other_adjudicator), "GET", f"/disputes/{body['id']}"), 404)
    got = _call(client, adjudicator, "GET", f"/disputes/{body['id']}").get_json()
    assert [a["filename"] for a in got["attachments"]] == ["letter.pdf"]

    resolve = {"status": "dismissed", "resolution": "No pre-authorisation."}
    assert_problem(_call(client, clerk, "PUT", f"/disputes/{body['id']}", json=resolve), 403)
    assert (
        "resolution"
        in assert_problem(
            _call(client, adjudicator, "PUT", f"/disputes/{body['id']}", json={"status": "dismissed"}), 422
        )["errors"]
    )
    done = _call(client, adjudicator, "PUT", f"/disputes/{body['id']}", json=resolve)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert (done.get_json()["status"], done.get_json()["claim_status"]) == ("dismissed", "partially_approved")
    assert_problem(_call(client, adjudicator, "PUT", f"/disputes/{body['id']}", json=resolve), 409)


def test_the_api_upholds_with_overrides(cw, client, api_token):
    claim = _submitted(cw, [("SURGERY", 1, "80000.00")])
    services.reject_claim(actor=cw.adjudicator, claim_id=claim.id, reason="No")
    dispute = _open(cw, claim)
    db.session.commit()
    body = {
        "status": "upheld",
        "resolution": "Package price",
        "overrides": [{"line_no": 1, "approved": "65000.00", "note": "Package"}],
    }
    done = _call(client, api_token(cw.adjudicator), "PUT", f"/disputes/{dispute.id}", json=body)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["claim_status"] == "approved"
    db.session.expire_all()
    assert services.claim_row(tenant_of(cw.adjudicator), claim.id).total_approved == D("65000.00")


def test_the_claim_page_offers_the_dispute_and_then_links_to_it(cw, client, login):
    from blueprints.claims import services as claims_services
    from medcover.extensions import db as _db

    claim = claims_services.create_claim(
        actor=cw.clerk,
        values=claims_services.ClaimInput(
            "ACM-001", cw.hospital.id, cw.today, [claims_services.ItemInput("MRI-HEAD", 1, "30000.00")]
        ),
    )
    claims_services.submit_claim(actor=cw.clerk, claim_id=claim.id)
    _db.session.commit()
    login(cw.clerk)
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert f'href="/claims/{claim.id}/disputes/new"' in page and "Dispute this claim" in page
