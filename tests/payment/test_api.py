"""Payment JSON API: API.md's shapes with exact amounts, payments checked against what is owed, reversals,
refunds and their approval, payment methods, agents and commissions, settlements, Idempotency-Key, tenant
isolation, and bad input that answers 401/403/404/409/422 and leaves nothing behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from blueprints.claims import services as claims
from blueprints.core.models import AuditLog
from blueprints.insurance.models import Coverage
from blueprints.payment.models import (
    Agent,
    Commission,
    CommissionPayment,
    FinancialSettlement,
    Payment,
    PaymentMethod,
    Refund,
)
from medcover.api import PREFIX
from medcover.extensions import db
from medcover.idempotency import IdempotencyKey
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_user

PAGE_KEYS = {"items", "page", "per_page", "total"}
PAYMENT_KEYS = {
    "id",
    "number",
    "kind",
    "reference_id",
    "payer",
    "institution_id",
    "company_id",
    "amount",
    "currency",
    "method",
    "reference",
    "details",
    "gateway",
    "paid_on",
    "reversal_of_id",
    "settlement_id",
    "created_at",
}
REFUND_KEYS = {
    "id",
    "payment_id",
    "institution_id",
    "company_id",
    "amount",
    "reason",
    "status",
    "requested_by_id",
    "decided_by_id",
    "decided_at",
    "decision_note",
    "created_at",
}
TABLES = (
    Payment,
    Refund,
    PaymentMethod,
    FinancialSettlement,
    Agent,
    Commission,
    CommissionPayment,
    IdempotencyKey,
    AuditLog,
)
TRANSFER = {"method": "bank_transfer", "reference": "FT2611290001"}


class Api:
    """A caller of the API with one user's token."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def __call__(self, method: str, path: str, body=None, status: int | None = None, headers=None, **kwargs):
        response = self.client.open(
            PREFIX + path, method=method, json=body, headers={**self.headers, **(headers or {})}, **kwargs
        )
        if status is not None:
            assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
        return response

    def get(self, path: str, status: int = 200):
        return self("GET", path, status=status).get_json()

    def post(self, path: str, body=None, status: int = 201, key: str | None = None):
        headers = {"Idempotency-Key": key} if key else None
        return self("POST", path, body, status=status, headers=headers).get_json()


def counts() -> dict[str, int]:
    # Reads and refusals leave audit entries of their own; only changes count here.
    changes = AuditLog.action.not_in(("read", "denied"))
    return {
        model.__name__: db.session.scalar(
            select(func.count()).select_from(model).where(changes if model is AuditLog else True)
        )
        for model in TABLES
    }


@pytest.fixture
def api(client, api_token, people):
    """``api.hospital``, ``api.insurer`` ...: an ``Api`` per cashier of ``people``; ``api.as_user(user)``."""

    class Callers:
        def as_user(self, user) -> Api:
            return Api(client, api_token(user))

    callers = Callers()
    for name in ("hospital", "other_hospital", "insurer", "other_insurer", "approver"):
        setattr(callers, name, callers.as_user(getattr(people, name)))
    return callers


def _invoice_payment(issued, amount="250.00", **extra) -> dict:
    return {"kind": "invoice", "reference_id": issued.id, "amount": amount, "method": "cash", **extra}


def _claim_payment(claim, amount="3450.00", **extra) -> dict:
    return {"kind": "claim", "reference_id": claim.id, "amount": amount, **TRANSFER, **extra}


def _coverage(cw) -> Coverage:
    return db.session.scalar(select(Coverage).where(Coverage.member_id == cw.member.id))


def _pending_claim(cw):
    """A claim of 80,000.00: over the review threshold, so it waits for an adjudicator."""
    claim = claims.create_claim(
        actor=cw.clerk,
        values=claims.ClaimInput("ACM-001", cw.hospital.id, cw.today, [claims.ItemInput("SURGERY", 1, "80000.00")]),
    )
    return claims.submit_claim(actor=cw.clerk, claim_id=claim.id)


# --- payments -----------------------------------------------------------------------------------------


def test_a_patient_pays_their_part_and_the_invoice_follows(cw, api, issued):
    body = _invoice_payment(
        issued, method="mobile_money", reference="qk7h2abc9", details={"phone": "0712 345 678"}, note="At the desk"
    )
    paid = api.hospital.post("/payments", body)
    assert set(paid) == PAYMENT_KEYS
    assert paid["number"] == f"PAY-{cw.today.year}-{paid['id']:06d}"
    assert {k: paid[k] for k in PAYMENT_KEYS - {"id", "number", "created_at"}} == {
        "kind": "invoice",
        "reference_id": issued.id,
        "payer": "patient",
        "institution_id": cw.hospital.id,
        "company_id": None,
        "amount": "250.00",
        "currency": "KES",
        "method": "mobile_money",
        "reference": "QK7H2ABC9",
        "details": {"phone": "0712345678"},
        "gateway": "manual",
        "paid_on": cw.today.isoformat(),
        "reversal_of_id": None,
        "settlement_id": None,
    }
    invoice = api.hospital.get(f"/invoices/{issued.id}")
    assert (invoice["paid"], invoice["balance"], invoice["status"]) == ("250.00", "3450.00", "partially_paid")

    detail = api.hospital.get(f"/payments/{paid['id']}")
    assert {k: detail[k] for k in PAYMENT_KEYS} == paid
    assert (detail["note"], detail["refundable"], detail["refunds"], detail["reversed_by_id"]) == (
        "At the desk",
        "250.00",
        [],
        None,
    )
    owed = api.hospital.get(f"/payments/owed?kind=invoice&reference_id={issued.id}")
    assert (owed["due"], owed["paid"], owed["outstanding"], owed["refusal"]) == ("250.00", "250.00", "0.00", None)
    insurer_part = api.hospital.get(f"/payments/owed?kind=invoice&reference_id={issued.id}&payer=insurer")
    assert (insurer_part["payer"], insurer_part["due"], insurer_part["outstanding"]) == (
        "insurer",
        "3450.00",
        "3450.00",
    )


def test_overpaying_an_invoice_is_422_naming_what_is_owed_and_records_nothing(cw, api, issued):
    api.hospital.post("/payments", _invoice_payment(issued, "200.00"))
    before = counts()
    body = assert_problem(api.hospital("POST", "/payments", _invoice_payment(issued, "50.01")), 422)
    assert "KES 50.00 is still owed" in body["errors"]["amount"][0]
    assert counts() == before
    api.hospital.post("/payments", _invoice_payment(issued, "50.00"))


def test_a_void_invoice_is_409(cw, api, issued):
    api.hospital.post(f"/invoices/{issued.id}/void", {"reason": "Wrong patient"}, status=200)
    before = counts()
    body = assert_problem(api.hospital("POST", "/payments", _invoice_payment(issued, "10.00")), 409)
    assert "void" in body["detail"]
    assert counts() == before


def test_an_insurer_pays_an_approved_claim_in_full_and_no_more(cw, api, approved_claim):
    before = counts()
    body = assert_problem(api.insurer("POST", "/payments", _claim_payment(approved_claim, "3450.01")), 422)
    assert "KES 3,450.00 is still owed on claim" in body["errors"]["amount"][0]
    assert counts() == before
    paid = api.insurer.post("/payments", _claim_payment(approved_claim))
    assert (paid["payer"], paid["amount"], paid["company_id"], paid["institution_id"]) == (
        "insurer",
        "3450.00",
        cw.company.id,
        cw.hospital.id,
    )
    assert api.insurer.get(f"/claims/{approved_claim.id}")["status"] == "paid"
    owed = api.insurer.get(f"/payments/owed?kind=claim&reference_id={approved_claim.id}")
    assert (owed["due"], owed["paid"], owed["outstanding"]) == ("3450.00", "3450.00", "0.00")
    assert_problem(api.insurer("POST", "/payments", _claim_payment(approved_claim, "0.01")), 422)


def test_an_unapproved_claim_is_409(cw, api):
    claim = _pending_claim(cw)
    before = counts()
    body = assert_problem(api.insurer("POST", "/payments", _claim_payment(claim, "10.00")), 409)
    assert "only approved claims are paid" in body["detail"]
    owed = api.insurer.get(f"/payments/owed?kind=claim&reference_id={claim.id}")
    assert "pending review" in owed["refusal"]
    assert counts() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 250.0}, "amount"),
        ({"amount": 250}, "amount"),
        ({"amount": "250.001"}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"reference_id": "7"}, "reference_id"),
        ({"reference_id": True}, "reference_id"),
        ({"kind": "donation"}, "kind"),
        ({"method": "bitcoin"}, "method"),
        ({"method": "cheque", "reference": "12AB"}, "reference"),
        ({"method": "bank_transfer"}, "reference"),
        ({"details": {"last4": "1234"}}, "details"),
        ({"details": {"iban": "x"}}, "details.iban"),
        ({"paid_on": "2026-13-01"}, "paid_on"),
        ({"payer": "employer"}, "payer"),
        ({"tip": "1.00"}, "tip"),
    ],
)
def test_bad_payments_are_422_and_record_nothing(cw, api, issued, change, field):
    before = counts()
    body = assert_problem(api.hospital("POST", "/payments", {**_invoice_payment(issued), **change}), 422)
    assert field in body["errors"], body
    assert counts() == before


def test_missing_fields_a_future_day_and_a_bad_body_are_422(cw, api, issued):
    before = counts()
    body = assert_problem(api.hospital("POST", "/payments", {}), 422)
    assert set(body["errors"]) == {"kind", "reference_id", "amount", "method"}
    tomorrow = (cw.today + timedelta(days=1)).isoformat()
    assert_problem(api.hospital("POST", "/payments", _invoice_payment(issued, paid_on=tomorrow)), 422)
    assert_problem(api.hospital("POST", "/payments", data="{not json", content_type="application/json"), 422)
    assert_problem(api.hospital("POST", "/payments", [1, 2]), 422)
    assert counts() == before


def test_without_a_token_401_and_roles_that_take_no_money_403(cw, client, api, issued):
    auditor = api.as_user(make_user(Role.AUDITOR, institution_id=cw.hospital.id))
    adjudicator = api.as_user(cw.adjudicator)
    before = counts()
    assert_problem(client.post(f"{PREFIX}/payments", json=_invoice_payment(issued)), 401)
    assert_problem(client.get(f"{PREFIX}/payments"), 401)
    bad = {"Authorization": "Bearer not-a-token"}
    assert_problem(client.post(f"{PREFIX}/payments", json=_invoice_payment(issued), headers=bad), 401)
    assert_problem(auditor("POST", "/payments", _invoice_payment(issued)), 403)
    assert auditor.get("/payments")["total"] == 0
    assert_problem(adjudicator("GET", "/payments"), 403)
    # An insurer takes no payment on a hospital's invoice, even for its own part.
    assert_problem(api.insurer("POST", "/payments", _invoice_payment(issued, "10.00", payer="insurer")), 403)
    assert counts() == before


def test_another_hospitals_invoice_is_a_422_on_reference_id_and_its_payment_a_404(cw, api, issued):
    paid = api.hospital.post("/payments", _invoice_payment(issued))
    before = counts()
    body = assert_problem(api.other_hospital("POST", "/payments", _invoice_payment(issued, "1.00")), 422)
    assert set(body["errors"]) == {"reference_id"}
    assert_problem(api.other_hospital("GET", f"/payments/{paid['id']}"), 404)
    assert_problem(api.other_hospital("GET", f"/payments/owed?kind=invoice&reference_id={issued.id}"), 404)
    assert_problem(api.other_hospital("POST", f"/payments/{paid['id']}/reverse", {"reason": "x"}), 404)
    assert_problem(api.hospital("GET", "/payments/2147483647"), 404)
    assert api.hospital("GET", "/payments/2147483648").status_code == 404
    assert counts() == before


def test_payments_are_listed_with_filters(cw, api, issued, approved_claim):
    cash = api.hospital.post("/payments", _invoice_payment(issued, "100.00"))
    transfer = api.insurer.post("/payments", _claim_payment(approved_claim, "1000.00"))
    listed = api.hospital.get("/payments")
    assert set(listed) == PAGE_KEYS and listed["total"] == 2
    assert [p["id"] for p in listed["items"]] == [transfer["id"], cash["id"]]
    assert [p["id"] for p in api.hospital.get("/payments?kind=invoice")["items"]] == [cash["id"]]
    by_ref = api.hospital.get(f"/payments?kind=claim&reference_id={approved_claim.id}")
    assert [p["amount"] for p in by_ref["items"]] == ["1000.00"]
    assert api.hospital.get(f"/payments?paid_on={cw.today.isoformat()}&per_page=1")["total"] == 2
    assert api.hospital.get("/payments?paid_on=2020-01-01")["total"] == 0
    assert [p["id"] for p in api.insurer.get("/payments")["items"]] == [transfer["id"]]
    for query in ("kind=gift", "reference_id=5", "paid_on=today", "per_page=201", "reference_id=abc&kind=claim"):
        assert_problem(api.hospital("GET", f"/payments?{query}"), 422)
    for query in ("", "kind=invoice", f"reference_id={issued.id}", f"kind=bill&reference_id={issued.id}"):
        assert_problem(api.hospital("GET", f"/payments/owed?{query}"), 422)


# --- reversals ----------------------------------------------------------------------------------------


def test_a_reversal_is_a_new_payment_and_the_invoice_is_owed_again(cw, api, issued):
    paid = api.hospital.post("/payments", _invoice_payment(issued))
    assert_problem(api.hospital("POST", f"/payments/{paid['id']}/reverse", {}), 422)
    reversal = api.hospital.post(f"/payments/{paid['id']}/reverse", {"reason": "Keyed twice"})
    assert set(reversal) == PAYMENT_KEYS
    assert reversal["number"].startswith("REV-")
    assert (reversal["amount"], reversal["reversal_of_id"], reversal["kind"]) == ("-250.00", paid["id"], "invoice")
    detail = api.hospital.get(f"/payments/{paid['id']}")
    assert (detail["amount"], detail["reversed_by_id"], detail["refundable"]) == ("250.00", reversal["id"], "0.00")
    assert api.hospital.get(f"/payments/{reversal['id']}")["note"] == "Keyed twice"
    before = counts()
    assert_problem(api.hospital("POST", f"/payments/{paid['id']}/reverse", {"reason": "again"}), 409)
    assert_problem(api.hospital("POST", f"/payments/{reversal['id']}/reverse", {"reason": "undo"}), 409)
    assert counts() == before
    assert api.hospital.get(f"/invoices/{issued.id}")["balance"] == "3700.00"
    api.hospital.post("/payments", _invoice_payment(issued))  # owed again


# --- refunds ------------------------------------------------------------------------------------------


def test_refunds_never_exceed_what_is_left_of_the_payment(cw, api, people, issued):
    paid = api.hospital.post("/payments", _invoice_payment(issued))
    refund = api.hospital.post("/refunds", {"payment_id": paid["id"], "amount": "100.00", "reason": "Overcharged"})
    assert set(refund) == REFUND_KEYS
    assert (refund["amount"], refund["status"], refund["requested_by_id"], refund["decided_by_id"]) == (
        "100.00",
        "approved",
        people.hospital.id,
        people.hospital.id,
    )
    before = counts()
    body = assert_problem(
        api.hospital("POST", "/refunds", {"payment_id": paid["id"], "amount": "150.01", "reason": "x"}), 422
    )
    assert f"At most KES 150.00 of payment {paid['number']} can be refunded" in body["errors"]["amount"][0]
    for bad in ({"amount": 150}, {"amount": "0.00"}, {"reason": ""}, {"payment_id": "1"}, {"extra": 1}):
        invalid = {"payment_id": paid["id"], "amount": "1.00", "reason": "x", **bad}
        assert_problem(api.hospital("POST", "/refunds", invalid), 422)
    other = assert_problem(
        api.other_hospital("POST", "/refunds", {"payment_id": paid["id"], "amount": "1.00", "reason": "x"}), 422
    )
    assert set(other["errors"]) == {"payment_id"}
    assert counts() == before

    detail = api.hospital.get(f"/payments/{paid['id']}")
    assert detail["refundable"] == "150.00"
    assert [r["id"] for r in detail["refunds"]] == [refund["id"]]
    assert api.hospital.get(f"/refunds/{refund['id']}") == refund
    assert api.hospital.get("/refunds?status=approved")["total"] == 1
    assert api.hospital.get("/refunds?status=pending_approval")["total"] == 0
    assert api.hospital.get(f"/refunds?payment_id={paid['id']}")["total"] == 1
    assert_problem(api.hospital("GET", "/refunds?status=maybe"), 422)
    assert_problem(api.other_hospital("GET", f"/refunds/{refund['id']}"), 404)
    assert api.other_hospital.get("/refunds")["total"] == 0
    # A payment with refunds is not reversed as well.
    assert_problem(api.hospital("POST", f"/payments/{paid['id']}/reverse", {"reason": "x"}), 409)
    api.hospital.post("/refunds", {"payment_id": paid["id"], "amount": "150.00", "reason": "The rest"})
    invoice = api.hospital.get(f"/invoices/{issued.id}")
    assert (invoice["paid"], invoice["refunded"], invoice["balance"]) == ("250.00", "250.00", "3700.00")


def test_a_large_refund_waits_for_a_finance_officer_other_than_the_requester(app, cw, api, approved_claim):
    paid = api.insurer.post("/payments", _claim_payment(approved_claim))
    app.config["REFUND_APPROVAL_THRESHOLD"] = "1000.00"
    try:
        refund = api.insurer.post("/refunds", {"payment_id": paid["id"], "amount": "2000.00", "reason": "Duplicate"})
        small = api.insurer.post("/refunds", {"payment_id": paid["id"], "amount": "450.00", "reason": "Fee"})
    finally:
        app.config.pop("REFUND_APPROVAL_THRESHOLD")
    assert (refund["status"], refund["decided_by_id"], refund["decided_at"]) == ("pending_approval", None, None)
    assert small["status"] == "approved"
    # The waiting refund holds its amount.
    assert api.insurer.get(f"/payments/{paid['id']}")["refundable"] == "1000.00"
    assert [r["id"] for r in api.insurer.get("/refunds?status=pending_approval")["items"]] == [refund["id"]]

    clerk = api.as_user(cw.clerk)
    colleague = api.as_user(make_user(Role.FINANCE_OFFICER, company_id=cw.company.id))
    before = counts()
    assert_problem(api.insurer("POST", f"/refunds/{refund['id']}/approve"), 403)
    assert_problem(api.other_insurer("POST", f"/refunds/{refund['id']}/approve"), 404)
    assert_problem(clerk("POST", f"/refunds/{refund['id']}/approve"), 403)
    assert_problem(colleague("POST", f"/refunds/{refund['id']}/reject", {}), 422)
    assert_problem(colleague("POST", f"/refunds/{refund['id']}/approve", {"verdict": "yes"}), 422)
    assert counts() == before

    approved = colleague.post(f"/refunds/{refund['id']}/approve", {"note": "Checked"}, status=200)
    assert (approved["status"], approved["decision_note"]) == ("approved", "Checked")
    assert approved["decided_by_id"] != refund["requested_by_id"]
    assert_problem(colleague("POST", f"/refunds/{refund['id']}/reject", {"note": "no"}), 409)
    assert_problem(colleague("POST", f"/refunds/{small['id']}/approve"), 409)
    owed = api.insurer.get(f"/payments/owed?kind=claim&reference_id={approved_claim.id}")
    assert (owed["paid"], owed["outstanding"]) == ("1000.00", "2450.00")


def test_a_rejected_refund_gives_its_amount_back(app, cw, api, approved_claim):
    paid = api.insurer.post("/payments", _claim_payment(approved_claim))
    app.config["REFUND_APPROVAL_THRESHOLD"] = "1000.00"
    try:
        refund = api.insurer.post("/refunds", {"payment_id": paid["id"], "amount": "3450.00", "reason": "All"})
    finally:
        app.config.pop("REFUND_APPROVAL_THRESHOLD")
    assert api.insurer.get(f"/payments/{paid['id']}")["refundable"] == "0.00"
    colleague = api.as_user(make_user(Role.FINANCE_OFFICER, company_id=cw.company.id))
    rejected = colleague.post(f"/refunds/{refund['id']}/reject", {"note": "Not a duplicate"}, status=200)
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "Not a duplicate")
    assert api.insurer.get(f"/payments/{paid['id']}")["refundable"] == "3450.00"


# --- payment methods ----------------------------------------------------------------------------------


def test_payment_methods_are_set_up_per_hospital_and_insurer(cw, api):
    body = {"kind": "mobile_money", "label": "M-Pesa paybill", "settings": {"paybill": "522533"}}
    created = api.hospital.post("/payment-methods", body)
    assert {
        k: created[k] for k in ("institution_id", "company_id", "kind", "label", "gateway", "settings", "active")
    } == {
        "institution_id": cw.hospital.id,
        "company_id": None,
        "kind": "mobile_money",
        "label": "M-Pesa paybill",
        "gateway": "manual",
        "settings": {"paybill": "522533"},
        "active": True,
    }
    admin = api.as_user(make_user(Role.ADMIN))
    clerk = api.as_user(make_user(Role.BILLING_CLERK, institution_id=cw.hospital.id))
    before = counts()
    assert_problem(api.hospital("POST", "/payment-methods", body), 409)
    assert_problem(api.hospital("POST", "/payment-methods", {**body, "settings": {"pin": "1234"}}), 422)
    assert_problem(api.hospital("POST", "/payment-methods", {"kind": "gold", "label": "Bars"}), 422)
    assert_problem(admin("POST", "/payment-methods", body), 403)
    assert_problem(clerk("POST", "/payment-methods", body), 403)
    assert counts() == before
    api.insurer.post("/payment-methods", {"kind": "bank_transfer", "label": "EFT"})

    assert [m["label"] for m in api.hospital.get("/payment-methods")["items"]] == ["M-Pesa paybill"]
    assert [m["label"] for m in api.insurer.get("/payment-methods")["items"]] == ["EFT"]
    assert api.other_hospital.get("/payment-methods")["total"] == 0
    assert_problem(api.other_hospital("POST", f"/payment-methods/{created['id']}/deactivate"), 404)
    off = api.hospital.post(f"/payment-methods/{created['id']}/deactivate", status=200)
    assert off["active"] is False
    assert api.hospital.get("/payment-methods?active=true")["total"] == 0
    assert api.hospital.get("/payment-methods")["total"] == 1
    assert_problem(api.hospital("GET", "/payment-methods?active=perhaps"), 422)
    on = api.hospital.post(f"/payment-methods/{created['id']}/activate", {}, status=200)
    assert on["active"] is True
    assert_problem(api.hospital("POST", f"/payment-methods/{created['id']}/activate", {"active": True}), 422)


# --- agents and commissions ---------------------------------------------------------------------------


def test_an_agent_earns_commission_on_premiums_and_is_paid_it_once(cw, api):
    cover = _coverage(cw)
    agent = api.insurer.post("/agents", {"code": "ag-01", "name": "Njeri Mwangi", "email": "njeri@example.com"})
    assert (agent["code"], agent["company_id"], agent["active"]) == ("AG-01", cw.company.id, True)
    assert_problem(api.insurer("POST", "/agents", {"code": "AG-01", "name": "Twin"}), 409)
    start = (cw.today - timedelta(days=400)).isoformat()
    rate = api.insurer.post(
        "/commission-rates", {"scheme_id": cw.scheme.id, "rate_percent": "7.5", "effective_from": start}
    )
    assert (rate["rate_percent"], rate["effective_from"], rate["scheme_id"]) == ("7.50", start, cw.scheme.id)
    for bad in ({"rate_percent": 7.5}, {"rate_percent": "100.01"}, {"rate_percent": "-1"}, {"effective_from": "soon"}):
        assert_problem(
            api.insurer(
                "POST",
                "/commission-rates",
                {"scheme_id": cw.scheme.id, "rate_percent": "5", "effective_from": start, **bad},
            ),
            422,
        )
    assert_problem(
        api.insurer(
            "POST", "/commission-rates", {"scheme_id": cw.scheme.id, "rate_percent": "5", "effective_from": start}
        ),
        409,
    )
    assignment = api.insurer.post(f"/agents/{agent['id']}/assignments", {"coverage_id": cover.id})
    assert (assignment["coverage_id"], assignment["agent_id"]) == (cover.id, agent["id"])

    premium = api.insurer.post(
        "/payments",
        {
            "kind": "premium",
            "reference_id": cover.id,
            "amount": "12345.67",
            "method": "mobile_money",
            "reference": "QK7H2ABC9",
        },
    )
    assert (premium["payer"], premium["company_id"], premium["institution_id"]) == ("member", cw.company.id, None)
    owed = api.insurer.get(f"/payments/owed?kind=premium&reference_id={cover.id}")
    assert (owed["due"], owed["outstanding"], owed["paid"]) == (None, None, "12345.67")

    unpaid = api.insurer.get(f"/commissions?agent_id={agent['id']}&unpaid=true")
    # 7.5% of 12345.67 = 925.92525 -> 925.93
    assert [(c["premium"], c["rate_percent"], c["amount"], c["payment_id"]) for c in unpaid["items"]] == [
        ("12345.67", "7.50", "925.93", premium["id"])
    ]
    batch = api.insurer.post(
        f"/agents/{agent['id']}/commission-payments", {"method": "bank_transfer", "reference": "COMM-11"}
    )
    assert (batch["amount"], batch["commissions"], batch["reference"]) == ("925.93", 1, "COMM-11")
    assert api.insurer.get("/commissions?unpaid=true")["total"] == 0
    assert api.insurer.get("/commissions")["items"][0]["commission_payment_id"] == batch["id"]
    before = counts()
    assert_problem(
        api.insurer(
            "POST", f"/agents/{agent['id']}/commission-payments", {"method": "bank_transfer", "reference": "COMM-12"}
        ),
        409,
    )
    assert counts() == before

    statement = api.insurer.get(f"/agents/{agent['id']}/statement")
    assert (statement["total_accrued"], statement["total_paid"], statement["balance"]) == ("925.93", "925.93", "0.00")
    assert statement["agent"]["id"] == agent["id"]
    assert [c["amount"] for c in statement["accrued"]] == ["925.93"]
    empty = api.insurer.get(f"/agents/{agent['id']}/statement?from=2020-01-01&to=2020-12-31")
    assert (empty["start"], empty["end"], empty["accrued"], empty["balance"]) == (
        "2020-01-01",
        "2020-12-31",
        [],
        "0.00",
    )
    assert_problem(api.insurer("GET", f"/agents/{agent['id']}/statement?from=2021-01-01&to=2020-01-01"), 422)
    assert_problem(api.insurer("GET", f"/agents/{agent['id']}/statement?from=01/01/2020"), 422)
    assert [a["code"] for a in api.insurer.get("/agents")["items"]] == ["AG-01"]


def test_agents_are_the_insurers_own(cw, api):
    agent = api.insurer.post("/agents", {"code": "AG-01", "name": "Njeri Mwangi"})
    clerk = api.as_user(cw.clerk)
    before = counts()
    assert_problem(api.hospital("POST", "/agents", {"code": "AG-02", "name": "Hospital agent"}), 403)
    assert api.hospital.get("/agents")["total"] == 0 and api.other_insurer.get("/agents")["total"] == 0
    assert api.other_insurer.get("/commissions")["total"] == 0
    assert_problem(api.other_insurer("GET", f"/agents/{agent['id']}/statement"), 404)
    other_payout = {"method": "bank_transfer", "reference": "COMM-1"}
    assert_problem(api.other_insurer("POST", f"/agents/{agent['id']}/commission-payments", other_payout), 404)
    cover = _coverage(cw)
    assert_problem(api.other_insurer("POST", f"/agents/{agent['id']}/assignments", {"coverage_id": cover.id}), 404)
    # Another insurer's member's coverage: a 422 on the field.
    other_cover = db.session.scalar(select(Coverage).where(Coverage.member_id == cw.other_member.id))
    body = assert_problem(
        api.insurer("POST", f"/agents/{agent['id']}/assignments", {"coverage_id": other_cover.id}), 422
    )
    assert set(body["errors"]) == {"coverage_id"}
    rate = {"scheme_id": cw.scheme.id, "rate_percent": "5", "effective_from": "2026-01-01"}
    assert set(assert_problem(api.other_insurer("POST", "/commission-rates", rate), 422)["errors"]) == {"scheme_id"}
    assert_problem(clerk("GET", "/agents"), 403)
    assert counts() == before


# --- settlements --------------------------------------------------------------------------------------


def test_a_settlement_pays_every_approved_claim_of_the_period(cw, api, approved_claim):
    second = claims.submit_claim(
        actor=cw.clerk,
        claim_id=claims.create_claim(
            actor=cw.clerk,
            values=claims.ClaimInput(
                "ACM-001", cw.hospital.id, cw.today - timedelta(days=3), [claims.ItemInput("CONSULT", 1, "2500.00")]
            ),
        ).id,
    )
    api.insurer.post("/payments", _claim_payment(approved_claim, "450.00"))
    period = {
        "institution_id": cw.hospital.id,
        "period_start": (cw.today - timedelta(days=10)).isoformat(),
        "period_end": cw.today.isoformat(),
    }
    query = "&".join(f"{k}={v}" for k, v in period.items())
    preview = api.insurer.get(f"/settlements/preview?{query}")
    assert (preview["claims"], preview["total"]) == (2, "5250.00")
    assert sorted(
        (line["claim_id"], line["approved"], line["paid_before"], line["payable"]) for line in preview["lines"]
    ) == sorted([(approved_claim.id, "3450.00", "450.00", "3000.00"), (second.id, "2250.00", "0.00", "2250.00")])
    before = counts()
    assert_problem(api.hospital("GET", f"/settlements/preview?{query}"), 403)
    assert_problem(api.hospital("POST", "/settlements", {**period, **TRANSFER}), 403)
    assert_problem(api.insurer("POST", "/settlements", {**period, "method": "bank_transfer"}), 422)
    assert_problem(api.insurer("POST", "/settlements", {**period, **TRANSFER, "institution_id": 999999}), 422)
    assert_problem(api.insurer("POST", "/settlements", {**period, **TRANSFER, "period_end": "2000-01-01"}), 422)
    assert_problem(api.insurer("GET", "/settlements/preview?institution_id=1"), 422)
    assert counts() == before

    settled = api.insurer.post("/settlements", {**period, **TRANSFER})
    assert settled["number"] == f"STL-{cw.today.year}-{settled['id']:06d}"
    assert (settled["claims"], settled["total"], settled["company_id"], settled["institution_id"]) == (
        2,
        "5250.00",
        cw.company.id,
        cw.hospital.id,
    )
    assert sorted((c["claim_id"], c["claim_number"], c["amount"]) for c in settled["paid_claims"]) == sorted(
        [(approved_claim.id, approved_claim.claim_number, "3000.00"), (second.id, second.claim_number, "2250.00")]
    )
    for claim in (approved_claim, second):
        assert api.insurer.get(f"/claims/{claim.id}")["status"] == "paid"
    paid = api.insurer.get(f"/payments/{settled['paid_claims'][0]['payment_id']}")
    assert paid["settlement_id"] == settled["id"]

    assert api.insurer.get(f"/settlements/{settled['id']}") == settled
    assert api.hospital.get(f"/settlements/{settled['id']}") == settled  # the provider sees what it received
    assert [s["id"] for s in api.hospital.get("/settlements")["items"]] == [settled["id"]]
    assert_problem(api.other_insurer("GET", f"/settlements/{settled['id']}"), 404)
    assert_problem(api.other_hospital("GET", f"/settlements/{settled['id']}"), 404)
    assert api.other_insurer.get("/settlements")["total"] == 0
    assert api.other_hospital.get("/settlements")["total"] == 0
    assert_problem(api.insurer("POST", "/settlements", {**period, **TRANSFER}), 409)


def test_a_platform_admin_settles_for_the_insurer_it_names(cw, api, approved_claim):
    admin = api.as_user(make_user(Role.ADMIN))
    period = {
        "institution_id": cw.hospital.id,
        "period_start": (cw.today - timedelta(days=10)).isoformat(),
        "period_end": cw.today.isoformat(),
    }
    query = "&".join(f"{k}={v}" for k, v in period.items())
    before = counts()
    assert set(assert_problem(admin("GET", f"/settlements/preview?{query}"), 422)["errors"]) == {"company_id"}
    assert set(assert_problem(admin("POST", "/settlements", {**period, **TRANSFER}), 422)["errors"]) == {"company_id"}
    assert counts() == before

    preview = admin.get(f"/settlements/preview?{query}&company_id={cw.company.id}")
    assert (preview["claims"], preview["total"]) == (1, "3450.00")
    settled = admin.post("/settlements", {**period, **TRANSFER, "company_id": cw.company.id})
    assert (settled["claims"], settled["total"], settled["company_id"]) == (1, "3450.00", cw.company.id)
    assert api.insurer.get(f"/claims/{approved_claim.id}")["status"] == "paid"


# --- Idempotency-Key ----------------------------------------------------------------------------------


def test_the_same_key_and_body_replay_the_first_payment(cw, api, people, issued):
    body = _invoice_payment(issued, "100.00")
    first = api.hospital("POST", "/payments", body, status=201, headers={"Idempotency-Key": "till-7-0001"})
    assert "Idempotent-Replayed" not in first.headers
    again = api.hospital("POST", "/payments", body, status=201, headers={"Idempotency-Key": "till-7-0001"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    # The same body with its keys in another order is the same request.
    reordered = dict(reversed(list(body.items())))
    assert (
        api.hospital("POST", "/payments", reordered, status=201, headers={"Idempotency-Key": "till-7-0001"}).get_json()
        == first.get_json()
    )
    assert counts()["Payment"] == 1
    assert api.hospital.get(f"/invoices/{issued.id}")["paid"] == "100.00"

    before = counts()
    other = api.hospital("POST", "/payments", {**body, "amount": "100.01"}, headers={"Idempotency-Key": "till-7-0001"})
    assert "Idempotency-Key" in assert_problem(other, 422)["errors"]
    elsewhere = api.hospital(
        "POST",
        "/refunds",
        {"payment_id": first.get_json()["id"], "amount": "1.00", "reason": "x"},
        headers={"Idempotency-Key": "till-7-0001"},
    )
    assert_problem(elsewhere, 422)
    for bad in ("", " ", "x" * 101, "naïve"):
        assert_problem(api.hospital("POST", "/payments", body, headers={"Idempotency-Key": bad}), 422)
    assert counts() == before

    # Keys are per caller: a colleague's same key is a request of its own.
    colleague = api.approver.post("/payments", body, key="till-7-0001")
    assert colleague["id"] != first.get_json()["id"]
    assert counts()["Payment"] == 2
    assert (
        db.session.scalar(select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key == "till-7-0001"))
        == 2
    )
    assert {people.hospital.id, people.approver.id} == set(
        db.session.scalars(select(IdempotencyKey.caller_id).where(IdempotencyKey.key == "till-7-0001"))
    )


def test_a_refused_request_keeps_no_key_so_the_corrected_one_goes_through(cw, api, issued):
    assert_problem(
        api.hospital("POST", "/payments", _invoice_payment(issued, "250.01"), headers={"Idempotency-Key": "k-1"}), 422
    )
    assert counts()["IdempotencyKey"] == 0
    paid = api.hospital.post("/payments", _invoice_payment(issued, "250.00"), key="k-1")
    assert api.hospital.post("/payments", _invoice_payment(issued, "250.00"), key="k-1")["id"] == paid["id"]


def test_refunds_reversals_settlements_and_commission_payments_are_idempotent(cw, api, issued, approved_claim):
    paid = api.hospital.post("/payments", _invoice_payment(issued))
    refund_body = {"payment_id": paid["id"], "amount": "10.00", "reason": "Change"}
    refund = api.hospital.post("/refunds", refund_body, key="r-1")
    assert api.hospital.post("/refunds", refund_body, key="r-1") == refund
    assert counts()["Refund"] == 1

    other = api.hospital.post("/payments", _invoice_payment(issued, "5.00"))
    reversal = api.hospital.post(f"/payments/{other['id']}/reverse", {"reason": "Twice"}, key="v-1")
    assert api.hospital.post(f"/payments/{other['id']}/reverse", {"reason": "Twice"}, key="v-1") == reversal

    period = {
        "institution_id": cw.hospital.id,
        "period_start": (cw.today - timedelta(days=10)).isoformat(),
        "period_end": cw.today.isoformat(),
        **TRANSFER,
    }
    settled = api.insurer.post("/settlements", period, key="s-1")
    before = counts()
    assert api.insurer.post("/settlements", period, key="s-1") == settled
    assert counts() == before

    cover = _coverage(cw)
    agent = api.insurer.post("/agents", {"code": "AG-01", "name": "Njeri"})
    api.insurer.post(
        "/commission-rates", {"scheme_id": cw.scheme.id, "rate_percent": "10", "effective_from": "2020-01-01"}
    )
    api.insurer.post(f"/agents/{agent['id']}/assignments", {"coverage_id": cover.id})
    api.insurer.post("/payments", {"kind": "premium", "reference_id": cover.id, "amount": "1000.00", "method": "cash"})
    payout = {"method": "cash"}
    batch = api.insurer.post(f"/agents/{agent['id']}/commission-payments", payout, key="c-1")
    assert batch["amount"] == "100.00"
    assert api.insurer.post(f"/agents/{agent['id']}/commission-payments", payout, key="c-1") == batch
    assert counts()["CommissionPayment"] == 1


# --- tenants and documentation ------------------------------------------------------------------------


def test_finance_officers_see_only_their_own_tenants_money(cw, api, issued, approved_claim):
    invoice_payment = api.hospital.post("/payments", _invoice_payment(issued))
    claim_payment = api.insurer.post("/payments", _claim_payment(approved_claim, "100.00"))
    api.hospital.post("/refunds", {"payment_id": invoice_payment["id"], "amount": "1.00", "reason": "Change"})
    api.insurer.post("/refunds", {"payment_id": claim_payment["id"], "amount": "1.00", "reason": "Fee"})

    def kinds(caller):
        return sorted(p["kind"] for p in caller.get("/payments")["items"])

    assert kinds(api.hospital) == ["claim", "invoice"]  # the money it received
    assert kinds(api.insurer) == ["claim"]  # the money it paid
    assert kinds(api.other_hospital) == [] and kinds(api.other_insurer) == []
    assert api.hospital.get("/refunds")["total"] == 2 and api.insurer.get("/refunds")["total"] == 1
    assert api.other_hospital.get("/refunds")["total"] == 0 and api.other_insurer.get("/refunds")["total"] == 0
    for payment in (invoice_payment, claim_payment):
        assert_problem(api.other_hospital("GET", f"/payments/{payment['id']}"), 404)
        assert_problem(api.other_insurer("GET", f"/payments/{payment['id']}"), 404)
    assert_problem(api.insurer("GET", f"/payments/{invoice_payment['id']}"), 404)


def test_every_payment_endpoint_is_documented(app, client):
    spec = client.get(f"{PREFIX}/openapi.json").get_json()
    ours = {rule.rule: rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api_payment.")}
    assert len(ours) == 20
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api_payment."):
            continue
        view = app.view_functions[rule.endpoint]
        assert view.doc.tag == "Payments" and view.access.roles, rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            path = rule.rule[len(PREFIX) :].replace("<id:", "{").replace(">", "}")
            operation = spec["paths"][path][method.lower()]
            if method == "POST":
                assert "requestBody" in operation, rule
    assert "Idempotency-Key" in spec["paths"]["/payments"]["post"]["description"]
