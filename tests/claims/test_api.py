"""Claims JSON API: API.md's shapes with exact amounts, the engine's results through the API equal to the
engine's results in-process, adjudicators' decisions (overrides, stale reads, the batch), drafts, claims from
invoices, history, tenant isolation, and bad input that answers 401/403/404/409/422 and leaves nothing behind."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import engine, services
from blueprints.claims.models import Claim, ClaimAuditTrail, ClaimItem, ClaimStatusChange
from blueprints.claims.services import submission
from blueprints.claims.services.facts import claim_in, gather
from blueprints.core.models import AuditLog
from medcover import clock
from medcover.api import PREFIX
from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_user

CLAIM_KEYS = {
    "id",
    "claim_number",
    "status",
    "member_number",
    "institution_id",
    "service_date",
    "total_billed",
    "total_approved",
    "items",
}
ITEM_KEYS = {
    "line_no",
    "service_code",
    "benefit_code",
    "quantity",
    "unit_price",
    "billed",
    "allowed",
    "deductible",
    "copay",
    "approved",
    "member_responsibility",
    "decision",
    "reason_codes",
}
PAGE_KEYS = {"items", "page", "per_page", "total"}
TABLES = (Claim, ClaimItem, ClaimStatusChange, ClaimAuditTrail, AuditLog)
LINE_FIELDS = (
    "line_no",
    "service_code",
    "benefit_code",
    "quantity",
    "unit_price",
    "billed",
    "allowed",
    "deductible",
    "copay",
    "approved",
    "member_responsibility",
    "decision",
    "reason_codes",
)


class Api:
    """A caller of the API with one user's token."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def __call__(self, method: str, path: str, body=None, status: int | None = None, **kwargs):
        response = self.client.open(PREFIX + path, method=method, json=body, headers=self.headers, **kwargs)
        if status is not None:
            assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
        return response

    def get(self, path: str, status: int = 200):
        return self("GET", path, status=status).get_json()

    def post(self, path: str, body=None, status: int = 200):
        return self("POST", path, body, status=status).get_json()

    def put(self, path: str, body=None, status: int = 200):
        return self("PUT", path, body, status=status).get_json()


@pytest.fixture
def api(client, api_token):
    """``api(user)`` -> a caller with that user's token."""
    return lambda user: Api(client, api_token(user))


@pytest.fixture
def clerk(api, cw):
    return api(cw.clerk)


@pytest.fixture
def adjudicator(api, cw):
    return api(cw.adjudicator)


def counts() -> dict[str, int]:
    db.session.expire_all()
    # Reads and refusals leave audit entries of their own; only changes count here.
    changes = AuditLog.action.not_in(("read", "denied"))
    return {
        model.__name__: db.session.scalar(
            select(func.count()).select_from(model).where(changes if model is AuditLog else True)
        )
        for model in TABLES
    }


def body(cw, items, member="ACM-001", days_ago=1, **extra) -> dict:
    return {
        "member_number": member,
        "institution_id": cw.hospital.id,
        "service_date": (cw.today - timedelta(days=days_ago)).isoformat(),
        "items": [{"service_code": code, "quantity": quantity, "unit_price": price} for code, quantity, price in items],
    } | extra


def draft(clerk, cw, items, **kw) -> dict:
    return clerk.post("/claims", body(cw, items, **kw), status=201)


def submitted(clerk, cw, items, **kw) -> dict:
    return clerk.post(f"/claims/{draft(clerk, cw, items, **kw)['id']}/submit")


def lines(claim: dict) -> list[tuple]:
    return [
        (
            i["line_no"],
            i["decision"],
            i["allowed"],
            i["copay"],
            i["approved"],
            i["member_responsibility"],
            i["reason_codes"],
        )
        for i in claim["items"]
    ]


# --- the contract's shapes and amounts ----------------------------------------------------------------


def test_a_clerk_files_a_draft_with_api_md_fields(clerk, cw):
    made = draft(
        clerk,
        cw,
        [("CONSULT", 1, "2500.00"), ("LAB-FBC", 2, "1300.00")],
        diagnosis_codes=["j06.9"],
    )
    assert set(made) >= CLAIM_KEYS
    assert made["claim_number"] == f"CL-{cw.today.year}-{made['id']:06d}"
    assert (made["status"], made["member_number"], made["institution_id"]) == ("draft", "ACM-001", cw.hospital.id)
    assert made["service_date"] == (cw.today - timedelta(days=1)).isoformat()
    assert (made["total_billed"], made["total_approved"]) == ("5100.00", "0.00")
    assert made["diagnosis_codes"] == ["J06.9"] and made["company_id"] == cw.company.id and made["version"] == 1
    assert [set(i) >= ITEM_KEYS for i in made["items"]] == [True, True]
    first = made["items"][0]
    assert {k: first[k] for k in ITEM_KEYS} == {
        "line_no": 1,
        "service_code": "CONSULT",
        "benefit_code": None,
        "quantity": 1,
        "unit_price": "2500.00",
        "billed": "2500.00",
        "allowed": "0.00",
        "deductible": "0.00",
        "copay": "0.00",
        "approved": "0.00",
        "member_responsibility": "0.00",
        "decision": None,
        "reason_codes": [],
    }
    assert clerk.get(f"/claims/{made['id']}") == made


def test_submitting_answers_the_claim_as_decided_with_exact_amounts(clerk, cw):
    claim = submitted(clerk, cw, [("CONSULT", 1, "2500.00"), ("LAB-FBC", 3, "1300.00")])
    # CONSULT: 2500.00 less the 10% copay; LAB-FBC: min(1300, 1200) x 3 = 3600.00 (A01), cut to the 3000.00
    # lab limit (A03)
    assert claim["status"] == "approved"
    assert lines(claim) == [
        (1, "approved", "2500.00", "250.00", "2250.00", "250.00", []),
        (2, "adjusted", "3600.00", "0.00", "3000.00", "600.00", ["A01", "A03"]),
    ]
    assert [i["benefit_code"] for i in claim["items"]] == ["OUTPATIENT", "LAB"]
    assert claim["items"][1]["billed"] == "3900.00"
    assert claim["items"][1]["reasons"] == [engine.REASONS["A01"], engine.REASONS["A03"]]
    assert (claim["total_billed"], claim["total_approved"]) == ("6400.00", "5250.00")
    assert claim["scheme_id"] == cw.scheme.id and claim["submitted_at"] and claim["decided_at"]
    assert clerk.get(f"/claims/{claim['id']}") == claim


def test_where_a_worker_decides_submit_answers_submitted_and_get_shows_the_decision(clerk, cw, monkeypatch):
    monkeypatch.setattr(submission, "decides_in_background", lambda: True)
    made = draft(clerk, cw, [("CONSULT", 1, "2500.00")])
    answer = clerk.post(f"/claims/{made['id']}/submit")
    assert answer["status"] == "submitted" and answer["total_approved"] == "0.00"
    # Without Redis the job runs once the request has committed, as a worker would after it.
    later = clerk.get(f"/claims/{made['id']}")
    assert later["status"] == "approved" and later["total_approved"] == "2250.00"


# --- the engine through the API equals the engine in-process --------------------------------------------

TABLE = [
    # (items, member, days ago, expected status)
    ([("CONSULT", 1, "2500.00")], "ACM-001", 10, "approved"),
    ([("LAB-FBC", 3, "1300.00")], "ACM-001", 9, "approved"),  # adjusted A01, A03
    ([("LAB-FBC", 1, "1200.00")], "ACM-001", 8, "rejected"),  # R14: the lab limit is used up
    ([("CONSULT", 1, "2000.00"), ("XRAY-CHEST", 1, "900.00")], "ACM-001", 7, "partially_approved"),  # R07
    ([("MRI-HEAD", 1, "30000.00")], "ACM-001", 6, "rejected"),  # R12
    ([("CONSULT", 1, "2500.00")], "ACM-001", 10, "rejected"),  # R04: the first claim's consultation again
    ([("SURGERY", 1, "80000.00")], "ACM-001", 5, "pending_review"),
    ([("CONSULT", 1, "2500.00")], "NOBODY-9", 3, "rejected"),  # R01
]


def _in_process(claim_id: int) -> engine.Decision:
    """The engine's decision of the draft as it is about to be submitted, with facts read by ``gather``."""
    db.session.expire_all()
    row = db.session.get(Claim, claim_id)
    items = services.items_of(claim_id)
    now = clock.now()
    # The claim as submission will make it (submitted now, today), without touching the stored row.
    about_to_submit = SimpleNamespace(
        id=row.id,
        claim_number=row.claim_number,
        diagnosis_codes=row.diagnosis_codes,
        member_number=row.member_number,
        institution_id=row.institution_id,
        service_date=row.service_date,
        submitted_at=now,
        submitted_on=now.date(),
    )
    facts = gather([about_to_submit], {row.id: items}).facts_for(about_to_submit, items)
    return engine.decide(replace(claim_in(about_to_submit, items), submitted_on=now.date()), facts)


def _as_api(line: engine.LineDecision) -> dict:
    return {
        "line_no": line.line_no,
        "service_code": line.service_code,
        "benefit_code": line.benefit_code,
        "quantity": line.quantity,
        "unit_price": f"{line.unit_price:.2f}",
        "billed": f"{line.billed:.2f}",
        "allowed": f"{line.allowed:.2f}",
        "deductible": f"{line.deductible:.2f}",
        "copay": f"{line.copay:.2f}",
        "approved": f"{line.approved:.2f}",
        "member_responsibility": f"{line.member_responsibility:.2f}",
        "decision": line.decision.value,
        "reason_codes": list(line.reason_codes),
    }


def test_the_engines_results_through_the_api_equal_the_engines_results_in_process(clerk, cw):
    seen_codes, seen_decisions = set(), set()
    for items, member, days_ago, status in TABLE:
        made = draft(clerk, cw, items, member=member, days_ago=days_ago)
        expected = _in_process(made["id"])
        decided = clerk.post(f"/claims/{made['id']}/submit")
        assert (decided["status"], expected.status.value) == (status, status), items
        assert [{k: i[k] for k in LINE_FIELDS} for i in decided["items"]] == [_as_api(ln) for ln in expected.lines]
        assert decided["total_approved"] == f"{expected.total_approved:.2f}"
        assert decided["reason_codes"] == list(expected.reason_codes)
        assert decided["review"] is expected.review
        seen_codes |= {code for ln in expected.lines for code in ln.reason_codes}
        seen_decisions |= {ln.decision.value for ln in expected.lines}
    assert {"A01", "A03", "R01", "R04", "R07", "R12", "R14"} <= seen_codes
    assert seen_decisions == {"approved", "adjusted", "rejected"}


# --- adjudicators -------------------------------------------------------------------------------------


def test_an_adjudicator_approves_a_pending_claim_with_an_override(clerk, adjudicator, cw):
    pending = submitted(clerk, cw, [("SURGERY", 1, "80000.00"), ("CONSULT", 1, "2500.00")])
    assert pending["status"] == "pending_review" and pending["review"] is True
    assert [i["approved"] for i in pending["items"]] == ["72000.00", "2250.00"]
    listed = adjudicator.get("/claims?status=pending_review")
    assert [c["id"] for c in listed["items"]] == [pending["id"]]
    approved = adjudicator.post(
        f"/claims/{pending['id']}/approve",
        {
            "overrides": [{"line_no": 1, "approved": "60000.00", "note": "Agreed package price"}],
            "version": pending["version"],
        },
    )
    assert approved["status"] == "approved" and approved["total_approved"] == "62250.00"
    first, second = approved["items"]
    assert (first["decision"], first["approved"], first["note"]) == ("adjusted", "60000.00", "Agreed package price")
    assert "M01" in first["reason_codes"] and engine.REASONS["M01"] in first["reasons"]
    assert (second["decision"], second["approved"]) == ("approved", "2250.00")


def test_an_adjudicator_rejects_a_pending_claim_with_a_reason(clerk, adjudicator, cw):
    pending = submitted(clerk, cw, [("SURGERY", 1, "80000.00")])
    rejected = adjudicator.post(f"/claims/{pending['id']}/reject", {"reason": "Not medically necessary"})
    assert rejected["status"] == "rejected" and rejected["total_approved"] == "0.00"
    assert rejected["items"][0]["member_responsibility"] == "80000.00"
    assert rejected["items"][0]["note"] == "Not medically necessary"


def test_a_stale_version_or_a_decided_claim_is_a_conflict_and_one_decision_is_kept(clerk, adjudicator, cw):
    pending = submitted(clerk, cw, [("SURGERY", 1, "80000.00")])
    opened = pending["version"]
    adjudicator.post(f"/claims/{pending['id']}/approve", {"version": opened})
    before = counts()
    assert_problem(adjudicator("POST", f"/claims/{pending['id']}/approve", {"version": opened}), 409)
    assert_problem(adjudicator("POST", f"/claims/{pending['id']}/approve", {}), 409)
    assert_problem(adjudicator("POST", f"/claims/{pending['id']}/reject", {"reason": "late"}), 409)
    assert counts() == before
    history = adjudicator.get(f"/claims/{pending['id']}/history")
    assert [d["source"] for d in history["decisions"]] == ["engine", "adjudicator"]


def test_a_stale_version_on_reject_is_a_conflict(clerk, adjudicator, cw):
    pending = submitted(clerk, cw, [("SURGERY", 1, "80000.00")])
    clerk.post(f"/claims/{pending['id']}/process")  # the proposal is refreshed: the version moves on
    assert_problem(
        adjudicator("POST", f"/claims/{pending['id']}/reject", {"reason": "x", "version": pending["version"]}), 409
    )
    assert adjudicator.get(f"/claims/{pending['id']}")["status"] == "pending_review"


def test_process_re_runs_the_engine_on_a_pending_claim_only(clerk, adjudicator, cw):
    pending = submitted(clerk, cw, [("SURGERY", 1, "80000.00")])
    again = adjudicator.post(f"/claims/{pending['id']}/process")
    assert again["status"] == "pending_review" and again["version"] > pending["version"]
    assert again["items"][0]["approved"] == "72000.00"
    decided = submitted(clerk, cw, [("CONSULT", 1, "2500.00")])
    assert_problem(clerk("POST", f"/claims/{decided['id']}/process"), 409)
    a_draft = draft(clerk, cw, [("CONSULT", 1, "2500.00")], days_ago=2)
    assert_problem(clerk("POST", f"/claims/{a_draft['id']}/process"), 409)


def test_batch_approve_answers_approved_numbers_and_refusals_with_reasons(clerk, adjudicator, cw):
    first = submitted(clerk, cw, [("SURGERY", 1, "80000.00")], days_ago=3)
    second = submitted(clerk, cw, [("SURGERY", 1, "90000.00")], days_ago=2)
    decided = submitted(clerk, cw, [("CONSULT", 1, "2500.00")])
    answer = adjudicator.post(
        "/claims/batch-approve", {"claim_ids": [first["id"], second["id"], decided["id"], 999_999]}
    )
    assert sorted(answer["approved"]) == sorted([first["claim_number"], second["claim_number"]])
    refused = {r["claim_id"]: r["reason"] for r in answer["refused"]}
    assert set(refused) == {decided["id"], 999_999}
    assert "approved" in refused[decided["id"]] and refused[999_999] == "No such record."
    assert adjudicator.get(f"/claims/{first['id']}")["status"] == "approved"
    assert adjudicator.get(f"/claims/{second['id']}")["status"] == "approved"


def test_history_shows_who_or_what_changed_the_claim_when_and_with_which_codes(clerk, adjudicator, cw):
    pending = submitted(clerk, cw, [("SURGERY", 1, "80000.00")])
    adjudicator.post(f"/claims/{pending['id']}/reject", {"reason": "Not medically necessary"})
    history = clerk.get(f"/claims/{pending['id']}/history")
    assert (history["claim_id"], history["claim_number"], history["status"]) == (
        pending["id"],
        pending["claim_number"],
        "rejected",
    )
    assert [(c["from_status"], c["to_status"], c["by_id"]) for c in history["status_changes"]] == [
        (None, "draft", cw.clerk.id),
        ("draft", "submitted", cw.clerk.id),
        ("submitted", "pending_review", None),
        ("pending_review", "rejected", cw.adjudicator.id),
    ]
    assert history["status_changes"][0]["by_name"] == cw.clerk.full_name
    assert all(c["at"] for c in history["status_changes"])
    engine_run, manual = history["decisions"]
    assert (engine_run["source"], engine_run["by_id"], engine_run["status"]) == ("engine", None, "pending_review")
    assert engine_run["total_approved"] == "72000.00" and engine_run["lines"][0]["approved"] == "72000.00"
    assert (manual["source"], manual["by_name"], manual["status"]) == (
        "adjudicator",
        cw.adjudicator.full_name,
        "rejected",
    )
    assert manual["note"] == "Not medically necessary" and manual["lines"][0]["reason_codes"] == ["M03"]
    assert manual["lines"][0]["reasons"] == [engine.REASONS["M03"]]


# --- drafts and invoices --------------------------------------------------------------------------------


def test_a_draft_changes_and_a_submitted_claim_does_not_but_may_still_be_voided(clerk, cw):
    made = draft(clerk, cw, [("CONSULT", 1, "2500.00")])
    changed = clerk.put(f"/claims/{made['id']}", body(cw, [("LAB-FBC", 2, "1200.00")], days_ago=2))
    assert changed["total_billed"] == "2400.00" and changed["version"] == 2
    assert [(i["service_code"], i["quantity"]) for i in changed["items"]] == [("LAB-FBC", 2)]
    clerk.post(f"/claims/{made['id']}/submit")
    before = counts()
    assert_problem(clerk("PUT", f"/claims/{made['id']}", body(cw, [("CONSULT", 1, "2500.00")])), 409)
    assert_problem(clerk("POST", f"/claims/{made['id']}/submit"), 409)
    assert counts() == before
    # ADJUDICATION.md: a provider voids its claim, submitted or decided, while no payment stands against it
    assert clerk.post(f"/claims/{made['id']}/void", {"reason": "wrong patient"})["status"] == "void"
    other = draft(clerk, cw, [("CONSULT", 1, "2500.00")], days_ago=3)
    voided = clerk.post(f"/claims/{other['id']}/void", {"reason": "entered twice"})
    assert voided["status"] == "void"
    assert_problem(clerk("POST", f"/claims/{other['id']}/submit"), 409)


def test_a_draft_keeps_the_claim_it_replaces_and_a_change_naming_another_is_refused(clerk, cw):
    original = submitted(clerk, cw, [("CONSULT", 1, "2500.00")])
    other = submitted(clerk, cw, [("CONSULT", 1, "2500.00")], days_ago=3)
    replacement = draft(clerk, cw, [("CONSULT", 1, "2000.00")], replaces=original["claim_number"])
    assert replacement["replaces"] == original["id"]
    # the whole claim again, naming the same original (by id or number) or none: changed, still its replacement
    for replaces in ({"replaces": original["id"]}, {"replaces": original["claim_number"]}, {}):
        changed = clerk.put(f"/claims/{replacement['id']}", body(cw, [("CONSULT", 1, "1800.00")], **replaces))
        assert changed["replaces"] == original["id"] and changed["total_billed"] == "1800.00"
    plain = draft(clerk, cw, [("CONSULT", 1, "2500.00")], days_ago=4)
    before = counts()
    refused = assert_problem(
        clerk("PUT", f"/claims/{replacement['id']}", body(cw, [("LAB-FBC", 1, "900.00")], replaces=other["id"])), 422
    )
    said = f"This draft replaces {original['claim_number']}; it can't replace another claim."
    assert refused["errors"]["replaces"] == [said]
    refused = assert_problem(
        clerk("PUT", f"/claims/{plain['id']}", body(cw, [("CONSULT", 1, "2500.00")], replaces=other["id"])), 422
    )
    assert refused["errors"]["replaces"] == [
        "A draft can't start replacing a claim: file the replacement as a new claim."
    ]
    assert counts() == before
    kept = clerk.get(f"/claims/{replacement['id']}")
    assert kept["replaces"] == original["id"] and kept["total_billed"] == "1800.00"
    assert clerk.get(f"/claims/{plain['id']}")["replaces"] is None


def test_a_claim_from_an_issued_invoice_takes_its_insured_lines(clerk, cw):
    invoice = billing.create_invoice(
        actor=cw.clerk,
        institution_id=cw.hospital.id,
        patient_id=cw.patient.id,
        lines=[billing.LineInput("CONSULT", 1), billing.LineInput("LAB-FBC", 2)],
    )
    db.session.commit()
    assert_problem(clerk("POST", "/claims/from-invoice", {"invoice_id": invoice.id}), 409)  # still a draft
    billing.issue_invoice(actor=cw.clerk, invoice_id=invoice.id)
    db.session.commit()
    claim = clerk.post("/claims/from-invoice", {"invoice_id": invoice.id}, status=201)
    assert (claim["status"], claim["invoice_id"], claim["member_number"]) == ("draft", invoice.id, "ACM-001")
    assert [(i["service_code"], i["quantity"], i["unit_price"]) for i in claim["items"]] == [
        ("CONSULT", 1, "2500.00"),
        ("LAB-FBC", 2, "1200.00"),
    ]
    assert_problem(clerk("POST", "/claims/from-invoice", {"invoice_id": invoice.id}), 409)  # claimed already
    assert_problem(
        clerk("PUT", f"/claims/{claim['id']}", body(cw, [("CONSULT", 1, "1.00")], invoice_id=invoice.id + 1)), 422
    )


# --- listing ----------------------------------------------------------------------------------------------


def test_the_list_filters_sorts_and_pages(clerk, adjudicator, cw):
    small = submitted(clerk, cw, [("CONSULT", 1, "2500.00")], days_ago=4)
    large = submitted(clerk, cw, [("SURGERY", 1, "80000.00")], days_ago=3)
    made = draft(clerk, cw, [("LAB-FBC", 1, "1200.00")], days_ago=2)
    listed = clerk.get("/claims?sort=amount")
    assert set(listed) == PAGE_KEYS and listed["total"] == 3
    assert [c["id"] for c in listed["items"]] == [made["id"], small["id"], large["id"]]
    assert "items" not in listed["items"][0] and CLAIM_KEYS - {"items"} <= set(listed["items"][0])
    assert [c["id"] for c in clerk.get("/claims?status=draft")["items"]] == [made["id"]]
    assert [c["id"] for c in clerk.get("/claims?min_amount=2000.00&max_amount=2500.00")["items"]] == [small["id"]]
    assert clerk.get("/claims?member_number=acm-001")["total"] == 3
    assert clerk.get(f"/claims?institution_id={cw.other_hospital.id}")["total"] == 0
    assert [c["id"] for c in adjudicator.get(f"/claims?scheme_id={cw.scheme.id}&sort=-amount")["items"]] == [
        large["id"],
        small["id"],
    ]
    page = clerk.get("/claims?sort=amount&per_page=2&page=2")
    assert (page["page"], page["per_page"], page["total"], [c["id"] for c in page["items"]]) == (
        2,
        2,
        3,
        [large["id"]],
    )
    for query, field in [
        ("status=lost", "status"),
        ("sort=total_billed", "sort"),
        ("min_amount=12.345", "min_amount"),
        ("institution_id=x", "institution_id"),
        ("submitted_before=tomorrow", "submitted_before"),
    ]:
        assert field in assert_problem(clerk("GET", f"/claims?{query}"), 422)["errors"], query
    assert_problem(clerk("GET", "/claims?per_page=201"), 422)


# --- refusals ---------------------------------------------------------------------------------------------


def test_without_a_token_everything_is_401(client, cw):
    for method, path in [("GET", "/claims"), ("GET", "/claims/1"), ("POST", "/claims"), ("POST", "/claims/1/approve")]:
        assert_problem(client.open(PREFIX + path, method=method, json={} if method == "POST" else None), 401)


def test_a_wrong_role_is_403_and_changes_nothing(api, clerk, adjudicator, cw):
    pending = submitted(clerk, cw, [("SURGERY", 1, "80000.00")])
    a_draft = draft(clerk, cw, [("CONSULT", 1, "2500.00")])
    auditor = api(make_user(Role.AUDITOR))
    receptionist = api(make_user(Role.RECEPTIONIST, institution_id=cw.hospital.id))
    hospital_admin = api(make_user(Role.ADMIN, institution_id=cw.hospital.id))
    before = counts()
    assert_problem(adjudicator("POST", "/claims", body(cw, [("CONSULT", 1, "2500.00")])), 403)
    assert_problem(adjudicator("POST", f"/claims/{a_draft['id']}/submit"), 403)
    assert_problem(clerk("POST", f"/claims/{pending['id']}/approve", {}), 403)
    assert_problem(clerk("POST", f"/claims/{pending['id']}/reject", {"reason": "no"}), 403)
    assert_problem(clerk("POST", "/claims/batch-approve", {"claim_ids": [pending["id"]]}), 403)
    assert_problem(auditor("POST", f"/claims/{a_draft['id']}/void"), 403)
    assert_problem(receptionist("GET", "/claims"), 403)
    # A hospital's own administrator files claims but does not decide them (the insurer does).
    assert_problem(hospital_admin("POST", f"/claims/{pending['id']}/approve", {}), 403)
    assert counts() == before
    assert auditor.get(f"/claims/{pending['id']}")["status"] == "pending_review"


def test_other_tenants_get_404_and_empty_lists(api, clerk, cw):
    pending = submitted(clerk, cw, [("SURGERY", 1, "80000.00")])
    a_draft = draft(clerk, cw, [("CONSULT", 1, "2500.00")])
    other_insurer = api(cw.other_adjudicator)
    other_provider = api(cw.other_clerk)
    before = counts()
    for caller in (other_insurer, other_provider):
        assert caller.get("/claims") == {"items": [], "page": 1, "per_page": 50, "total": 0}
        assert_problem(caller("GET", f"/claims/{pending['id']}"), 404)
        assert_problem(caller("GET", f"/claims/{pending['id']}/history"), 404)
    assert_problem(other_insurer("POST", f"/claims/{pending['id']}/approve", {}), 404)
    assert_problem(other_insurer("POST", f"/claims/{pending['id']}/reject", {"reason": "no"}), 404)
    assert_problem(other_insurer("POST", f"/claims/{pending['id']}/process"), 404)
    assert other_insurer.post("/claims/batch-approve", {"claim_ids": [pending["id"]]})["approved"] == []
    assert_problem(other_provider("POST", f"/claims/{a_draft['id']}/submit"), 404)
    assert_problem(other_provider("PUT", f"/claims/{a_draft['id']}", body(cw, [("CONSULT", 1, "1.00")])), 404)
    assert_problem(other_provider("POST", f"/claims/{a_draft['id']}/void"), 404)
    # Filing a claim at another provider: the institution is not the caller's to name.
    assert (
        "institution_id"
        in assert_problem(other_provider("POST", "/claims", body(cw, [("CONSULT", 1, "2500.00")])), 422)["errors"]
    )
    assert counts() == before
    assert clerk.get(f"/claims/{pending['id']}")["status"] == "pending_review"


def test_an_unknown_members_claim_is_the_providers_alone(clerk, adjudicator, cw):
    claim = submitted(clerk, cw, [("CONSULT", 1, "2500.00")], member="NOBODY-1")
    assert (claim["status"], claim["reason_codes"], claim["company_id"]) == ("rejected", ["R01"], None)
    assert claim["reasons"] == [engine.REASONS["R01"]]
    assert_problem(adjudicator("GET", f"/claims/{claim['id']}"), 404)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": []}, "items"),
        ({"member_number": ""}, "member_number"),
        ({"service_date": "05/01/2026"}, "service_date"),
        ({"service_date": "2026-02-30"}, "service_date"),
        ({"institution_id": "1"}, "institution_id"),
        ({"invoice_id": 999_999}, "invoice_id"),
        ({"diagnosis_codes": ["nope"]}, "diagnosis_codes"),
        ({"surprise": 1}, "surprise"),
        ({"items": [{"service_code": "CONSULT", "quantity": 0, "unit_price": "1.00"}]}, "items.0.quantity"),
        ({"items": [{"service_code": "CONSULT", "quantity": "2", "unit_price": "1.00"}]}, "items.0.quantity"),
        ({"items": [{"service_code": "CONSULT", "quantity": 1.5, "unit_price": "1.00"}]}, "items.0.quantity"),
        ({"items": [{"service_code": "CONSULT", "quantity": 1, "unit_price": 2500.0}]}, "items.0.unit_price"),
        ({"items": [{"service_code": "CONSULT", "quantity": 1, "unit_price": 2500}]}, "items.0.unit_price"),
        ({"items": [{"service_code": "CONSULT", "quantity": 1, "unit_price": "-1.00"}]}, "items.0.unit_price"),
        ({"items": [{"service_code": "CONSULT", "quantity": 1, "unit_price": "1.001"}]}, "items.0.unit_price"),
        ({"items": [{"service_code": "CON SULT", "quantity": 1, "unit_price": "1.00"}]}, "items.0.service_code"),
        ({"items": [{"service_code": "CONSULT", "quantity": 1}]}, "items.0.unit_price"),
        ({"items": [{"service_code": "CONSULT", "quantity": 1, "unit_price": "1.00", "x": 1}]}, "items.0.x"),
    ],
)
def test_bad_claims_are_422_naming_the_field_and_write_nothing(clerk, cw, change, field):
    before = counts()
    answer = assert_problem(clerk("POST", "/claims", body(cw, [("CONSULT", 1, "2500.00")]) | change), 422)
    assert field in answer["errors"], answer
    assert counts() == before


def test_a_future_service_date_and_a_missing_body_are_422(clerk, cw):
    before = counts()
    future = body(cw, [("CONSULT", 1, "2500.00")], days_ago=-2)
    assert "service_date" in assert_problem(clerk("POST", "/claims", future), 422)["errors"]
    assert (
        "body" in assert_problem(clerk("POST", "/claims", data="[1]", content_type="application/json"), 422)["errors"]
    )
    assert "member_number" in assert_problem(clerk("POST", "/claims", {}), 422)["errors"]
    assert counts() == before


def test_bad_decisions_are_422_and_leave_the_claim_pending(clerk, adjudicator, cw):
    pending = submitted(clerk, cw, [("SURGERY", 1, "80000.00")])
    path = f"/claims/{pending['id']}"
    before = counts()
    for approve, field in [
        ({"overrides": [{"line_no": 1, "approved": "80000.01", "note": "x"}]}, "overrides"),
        ({"overrides": [{"line_no": 2, "approved": "1.00", "note": "x"}]}, "overrides"),
        ({"overrides": [{"line_no": 1, "approved": 100.0, "note": "x"}]}, "overrides.0.approved"),
        ({"overrides": [{"line_no": 1, "approved": "100.00"}]}, "overrides.0.note"),
        (
            {
                "overrides": [
                    {"line_no": 1, "approved": "1.00", "note": "a"},
                    {"line_no": 1, "approved": "2.00", "note": "b"},
                ]
            },
            "overrides",
        ),
        ({"version": "3"}, "version"),
        ({"reason": "why"}, "reason"),
    ]:
        assert field in assert_problem(adjudicator("POST", path + "/approve", approve), 422)["errors"], approve
    assert "reason" in assert_problem(adjudicator("POST", path + "/reject", {}), 422)["errors"]
    assert "reason" in assert_problem(adjudicator("POST", path + "/reject", {"reason": "  "}), 422)["errors"]
    for batch in ({}, {"claim_ids": []}, {"claim_ids": "1"}, {"claim_ids": list(range(1, 202))}):
        assert "claim_ids" in assert_problem(adjudicator("POST", "/claims/batch-approve", batch), 422)["errors"]
    assert counts() == before
    assert adjudicator.get(path)["status"] == "pending_review"


def test_unknown_claims_are_404(clerk, adjudicator):
    assert_problem(clerk("GET", "/claims/999999"), 404)
    assert_problem(clerk("POST", "/claims/999999/submit"), 404)
    assert_problem(adjudicator("POST", "/claims/999999/approve", {}), 404)
    assert_problem(clerk("GET", "/claims/0"), 404)


# --- documentation ----------------------------------------------------------------------------------------


def test_openapi_lists_the_claims_endpoints(client):
    spec = client.get(f"{PREFIX}/openapi.json").get_json()
    expected = {
        "/claims": {"get", "post"},
        "/claims/{claim_id}": {"get", "put"},
        "/claims/{claim_id}/submit": {"post"},
        "/claims/{claim_id}/process": {"post"},
        "/claims/{claim_id}/approve": {"post"},
        "/claims/{claim_id}/reject": {"post"},
        "/claims/{claim_id}/void": {"post"},
        "/claims/{claim_id}/history": {"get"},
        "/claims/from-invoice": {"post"},
        "/claims/batch-approve": {"post"},
    }
    assert {path: set(spec["paths"].get(path, {})) for path in expected} == expected
    claim = spec["components"]["schemas"]["ClaimOut"]["properties"]
    assert set(claim) >= CLAIM_KEYS
    item = spec["components"]["schemas"]["ClaimItemOut"]["properties"]
    assert set(item) >= ITEM_KEYS
    assert spec["paths"]["/claims/{claim_id}/approve"]["post"]["x-roles"] == ["adjudicator", "admin"]


def test_api_timestamps_carry_their_offset(clerk, cw):
    before = clock.now()
    claim = submitted(clerk, cw, [("CONSULT", 1, "2500.00")])
    for name in ("created_at", "submitted_at", "decided_at"):
        moment = datetime.fromisoformat(claim[name].replace("Z", "+00:00"))
        assert moment.utcoffset() is not None, name  # ISO 8601 with its offset, never a bare wall time
        assert before - timedelta(seconds=1) <= moment <= clock.now(), name
