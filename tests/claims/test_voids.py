"""Voids and replacements (ADJUDICATION.md, "Voids and replacements"): a void frees the usage its claim consumed,
a replacement is decided as if the original never existed, a paid claim is neither voided nor replaced, and the
chain is named both ways. In-process and through the API, with the amounts worked by hand.

The Gold scheme here has a 1,000.00 deductible; laboratory tests (LAB-FBC, 1,200.00 at Hospital A) have no copay
and a 3,000.00 annual limit."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select, update

from blueprints.billing import services as billing
from blueprints.billing.models import AccountReceivable
from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimStatus
from medcover.errors import Conflict, Invalid, NotFound
from medcover.events import dispatch_pending
from medcover.extensions import db
from medcover.rbac import tenant_of
from tests.api.problem import assert_problem
from tests.factories import PASSWORD, add_benefit, make_coverage, make_member, make_patient, make_scheme


@pytest.fixture
def deductible(cw):
    cw.scheme.deductible = D("1000.00")
    db.session.flush()
    return cw


def _draft(cw, quantity: int, *, days_ago: int = 5, replaces: Claim | None = None, actor=None) -> Claim:
    return services.create_claim(
        actor=actor or cw.clerk,
        values=services.ClaimInput(
            member_number="ACM-001",
            institution_id=cw.hospital.id,
            service_date=cw.today - timedelta(days=days_ago),
            items=[services.ItemInput("LAB-FBC", quantity, "1200.00")],
            diagnosis_codes=["D64.9"],
            replaces_id=replaces.id if replaces else None,
        ),
    )


def _submitted(cw, quantity: int, **extra) -> Claim:
    claim = _draft(cw, quantity, **extra)
    return services.submit_claim(actor=cw.clerk, claim_id=claim.id)


def _line(claim: Claim):
    (line,) = services.items_of(claim.id)
    return line


def _first_claim_approved(cw) -> Claim:
    # 2 x 1,200.00 = 2,400.00 allowed; 1,000.00 deductible; 1,400.00 approved of the 3,000.00 limit
    first = _submitted(cw, 2)
    assert first.status is ClaimStatus.APPROVED and first.total_approved == D("1400.00")
    assert _line(first).deductible == D("1000.00")
    return first


# --- in-process ------------------------------------------------------------------------------------


def test_without_a_void_the_later_claim_gets_no_deductible_back_and_is_cut_to_the_limit_left(deductible):
    _first_claim_approved(deductible)
    later = _submitted(deductible, 3, days_ago=4)
    line = _line(later)
    # 3,600.00 allowed, deductible used up, 3,000.00 - 1,400.00 = 1,600.00 of the limit left (A03)
    assert (line.deductible, line.approved, line.decision) == (D("0.00"), D("1600.00"), "adjusted")
    assert "A03" in line.reason_codes


def test_a_void_frees_the_deductible_and_the_benefit_limit_it_consumed(deductible):
    cw = deductible
    first = _first_claim_approved(cw)
    services.void_claim(actor=cw.clerk, claim_id=first.id, reason="Billed to the wrong member")
    assert (first.status, first.void_reason, first.voided_by_id) == (
        ClaimStatus.VOID,
        "Billed to the wrong member",
        cw.clerk.id,
    )
    assert first.voided_at is not None
    later = _submitted(cw, 3, days_ago=4)
    line = _line(later)
    # 3,600.00 allowed; the deductible again 1,000.00; 2,600.00 payable, within the whole 3,000.00 limit
    assert (line.allowed, line.deductible, line.approved, line.decision) == (
        D("3600.00"),
        D("1000.00"),
        D("2600.00"),
        "approved",
    )
    assert later.status is ClaimStatus.APPROVED and later.total_approved == D("2600.00")
    # and the cover check no longer counts it either
    verdict = services.usage_for(cw.member.id, cw.today - timedelta(days=60), cw.today + timedelta(days=300))
    assert sum(verdict.values()) == D("2600.00")


def test_a_replacement_is_decided_as_if_the_original_never_existed(deductible):
    cw = deductible
    first = _first_claim_approved(cw)
    # the same service on the same day: R04 if the original stood
    replacement = _draft(cw, 3, replaces=first)
    assert replacement.replaces_id == first.id and first.status is ClaimStatus.APPROVED
    services.submit_claim(actor=cw.clerk, claim_id=replacement.id)
    line = _line(replacement)
    assert (line.deductible, line.approved, line.decision, line.reason_codes) == (
        D("1000.00"),
        D("2600.00"),
        "approved",
        [],
    )
    db.session.refresh(first)
    assert first.status is ClaimStatus.VOID
    assert first.void_reason == f"Replaced by {replacement.claim_number}."
    chain = services.chain_of(tenant_of(cw.clerk), first)
    assert chain.replaced_by.claim_number == replacement.claim_number and chain.replaces is None
    assert services.chain_of(tenant_of(cw.clerk), replacement).replaces.claim_number == first.claim_number


def test_the_replacement_takes_over_the_originals_invoice(cw):
    first = _submitted(cw, 1)
    db.session.execute(update(Claim).where(Claim.id == first.id).values(invoice_id=4242))
    db.session.refresh(first)
    replacement = _draft(cw, 1, replaces=first)
    assert replacement.invoice_id is None  # while the original stands, the invoice is its
    services.submit_claim(actor=cw.clerk, claim_id=replacement.id)
    assert replacement.invoice_id == 4242
    db.session.refresh(first)
    assert first.status is ClaimStatus.VOID


def test_a_paid_claim_is_neither_voided_nor_replaced(cw):
    first = _submitted(cw, 1)
    db.session.execute(update(Claim).where(Claim.id == first.id).values(status=ClaimStatus.PAID, total_paid=1200))
    db.session.refresh(first)
    with pytest.raises(Conflict, match="refund of its payment comes first"):
        services.void_claim(actor=cw.clerk, claim_id=first.id, reason="x")
    with pytest.raises(Conflict, match="refund of its payment comes first"):
        _draft(cw, 1, replaces=first)


def test_a_payment_arriving_after_the_replacement_was_drafted_refuses_the_submission_and_changes_neither(cw):
    first = _submitted(cw, 1)
    replacement = _draft(cw, 2, replaces=first)
    db.session.execute(update(Claim).where(Claim.id == first.id).values(total_paid=100))
    db.session.commit()
    with pytest.raises(Conflict, match="refund of its payment comes first"):
        services.submit_claim(actor=cw.clerk, claim_id=replacement.id)
    db.session.rollback()  # the edge rolls back: neither changed
    assert db.session.get(Claim, first.id).status is ClaimStatus.APPROVED
    assert db.session.get(Claim, replacement.id).status is ClaimStatus.DRAFT


def test_one_replacement_per_original_and_only_the_same_provider_and_member(cw):
    first = _submitted(cw, 1)
    _draft(cw, 2, replaces=first)
    with pytest.raises(Conflict, match="already replaced by"):
        _draft(cw, 3, replaces=first)
    with pytest.raises(NotFound):
        _draft(cw, 1, replaces=first, actor=cw.other_clerk)
    with pytest.raises(Invalid) as caught:
        services.create_claim(
            actor=cw.clerk,
            values=services.ClaimInput(
                "ZEN-001", cw.hospital.id, cw.today, [services.ItemInput("LAB-FBC", 1, "1200.00")], replaces_id=first.id
            ),
        )
    assert "replaces" in caught.value.errors


def test_a_draft_or_void_claim_is_not_replaced_and_a_void_needs_a_reason(cw):
    draft = _draft(cw, 1)
    with pytest.raises(Conflict, match="draft"):
        _draft(cw, 1, replaces=draft)
    with pytest.raises(Invalid) as caught:
        services.void_claim(actor=cw.clerk, claim_id=draft.id, reason="  ")
    assert "reason" in caught.value.errors
    services.void_claim(actor=cw.clerk, claim_id=draft.id, reason="Entered twice")
    with pytest.raises(Conflict):
        _draft(cw, 1, replaces=draft)


# --- through the API -------------------------------------------------------------------------------


def _api(client, user):
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    def call(method, path, body=None):
        return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)

    return call


def _body(cw, quantity: int, days_ago: int = 5, **extra) -> dict:
    return {
        "member_number": "ACM-001",
        "institution_id": cw.hospital.id,
        "service_date": (cw.today - timedelta(days=days_ago)).isoformat(),
        "diagnosis_codes": ["D64.9"],
        "items": [{"service_code": "LAB-FBC", "quantity": quantity, "unit_price": "1200.00"}],
        **extra,
    }


def _filed(api, body) -> dict:
    made = api("POST", "/claims", body)
    assert made.status_code == 201, made.get_data(as_text=True)
    submitted = api("POST", f"/claims/{made.get_json()['id']}/submit")
    assert submitted.status_code == 200, submitted.get_data(as_text=True)
    return submitted.get_json()


def test_api_a_void_gives_the_deductible_and_limit_back_to_a_later_claim(deductible, client):
    cw = deductible
    db.session.commit()
    api = _api(client, cw.clerk)
    first = _filed(api, _body(cw, 2))
    assert (first["status"], first["total_approved"]) == ("approved", "1400.00")
    voided = api("POST", f"/claims/{first['id']}/void", {"reason": "Billed to the wrong member"})
    assert voided.status_code == 200
    assert (voided.get_json()["status"], voided.get_json()["void_reason"]) == ("void", "Billed to the wrong member")
    later = _filed(api, _body(cw, 3, days_ago=4))
    assert later["total_approved"] == "2600.00"
    assert (later["items"][0]["deductible"], later["items"][0]["approved"]) == ("1000.00", "2600.00")


def test_api_a_replacement_names_the_original_by_number_and_is_decided_without_it(deductible, client):
    cw = deductible
    db.session.commit()
    api = _api(client, cw.clerk)
    first = _filed(api, _body(cw, 2))
    replacement = _filed(api, _body(cw, 3, replaces=first["claim_number"]))
    assert replacement["replaces"] == first["id"]
    assert replacement["replaces_claim_number"] == first["claim_number"]
    assert replacement["total_approved"] == "2600.00" and replacement["items"][0]["reason_codes"] == []
    original = api("GET", f"/claims/{first['id']}").get_json()
    assert original["status"] == "void"
    assert (original["replaced_by"], original["replaced_by_claim_number"]) == (
        replacement["id"],
        replacement["claim_number"],
    )
    assert original["void_reason"] == f"Replaced by {replacement['claim_number']}."
    # the insurer sees both, the chain included
    insurer = _api(client, cw.adjudicator)
    seen = insurer("GET", f"/claims/{first['id']}")
    assert seen.status_code == 200 and seen.get_json()["replaced_by"] == replacement["id"]
    listed = insurer("GET", "/claims?status=void").get_json()
    assert [c["claim_number"] for c in listed["items"]] == [first["claim_number"]]
    # and one replacement per original
    again = assert_problem(api("POST", "/claims", _body(cw, 1, replaces=first["id"])), 409)
    assert "void" in again["detail"]


def test_api_a_paid_claim_is_neither_voided_nor_replaced_409(cw, client):
    db.session.commit()
    api = _api(client, cw.clerk)
    first = _filed(api, _body(cw, 1))
    db.session.execute(update(Claim).where(Claim.id == first["id"]).values(status=ClaimStatus.PAID, total_paid=1200))
    db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(Claim))
    problem = assert_problem(api("POST", f"/claims/{first['id']}/void", {"reason": "x"}), 409)
    assert first["claim_number"] in problem["detail"]
    assert_problem(api("POST", "/claims", _body(cw, 1, replaces=first["id"])), 409)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == count
    assert db.session.get(Claim, first["id"]).status is ClaimStatus.PAID


def test_api_another_tenants_claim_is_404_to_void_and_a_field_error_to_replace(cw, client):
    db.session.commit()
    api = _api(client, cw.clerk)
    first = _filed(api, _body(cw, 1))
    other_hospital = _api(client, cw.other_clerk)
    assert_problem(other_hospital("POST", f"/claims/{first['id']}/void", {"reason": "x"}), 404)
    other_insurer = _api(client, cw.other_adjudicator)
    assert_problem(other_insurer("GET", f"/claims/{first['id']}"), 404)
    body = _body(cw, 1) | {"institution_id": cw.other_hospital.id, "replaces": first["id"]}
    problem = assert_problem(other_hospital("POST", "/claims", body), 422)
    assert "replaces" in problem["errors"]
    assert db.session.get(Claim, first["id"]).status is ClaimStatus.APPROVED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 301}, "reason"),
        ({"reason": 7}, "reason"),
        ({"reason": "ok", "extra": 1}, "extra"),
    ],
)
def test_api_a_void_without_a_usable_reason_is_422_and_changes_nothing(cw, client, body, field):
    db.session.commit()
    api = _api(client, cw.clerk)
    first = _filed(api, _body(cw, 1))
    problem = assert_problem(api("POST", f"/claims/{first['id']}/void", body), 422)
    assert field in problem["errors"]
    assert db.session.get(Claim, first["id"]).status is ClaimStatus.APPROVED


@pytest.mark.parametrize("replaces", [0, -1, True, 12.5, "", "CL-1999-999999", "x" * 31, [1]])
def test_api_a_bad_replaces_is_422(cw, client, replaces):
    db.session.commit()
    api = _api(client, cw.clerk)
    problem = assert_problem(api("POST", "/claims", _body(cw, 1, replaces=replaces)), 422)
    assert any(name.startswith("replaces") for name in problem["errors"]), problem


# --- the chain on letters and disputes ---------------------------------------------------------------


def test_the_replacements_letter_and_dispute_name_the_claim_it_replaces(cw, client, login):
    first = _submitted(cw, 1)
    # the MRI has no pre-authorisation (R12): approved in part, so it may be disputed
    replacement = services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            member_number="ACM-001",
            institution_id=cw.hospital.id,
            service_date=cw.today - timedelta(days=5),
            items=[services.ItemInput("LAB-FBC", 1, "1200.00"), services.ItemInput("MRI-HEAD", 1, "30000.00")],
            replaces_id=first.id,
        ),
    )
    services.submit_claim(actor=cw.clerk, claim_id=replacement.id)
    assert replacement.status is ClaimStatus.PARTIALLY_APPROVED
    html = services.letters.letter_html(tenant_of(cw.clerk), replacement.id, "member")
    assert re.search(rf"<th>Replaces</th><td[^>]*>{first.claim_number} \(void\)</td>", html)
    services.disputes.open_dispute(actor=cw.clerk, claim_id=replacement.id, reason="The limit was not used up")
    db.session.commit()
    dispute_id = services.disputes.disputes_of(replacement.id)[0].id
    login(cw.clerk)
    page = client.get(f"/disputes/{dispute_id}").get_data(as_text=True)
    assert f'Replaces {first.claim_number}</a> <span class="muted">(Void)</span>' in page


# --- the invoice follows ---------------------------------------------------------------------------


@pytest.fixture
def ded_patient(cw):
    """DED: a 2,000.00 deductible, outpatient with a 10% copay, lab tests in full; review from 3,000.00 (as the
    estimates' tests)."""
    from blueprints.insurance.models import Benefit

    scheme = make_scheme(cw.company, code="DED", name="Deductible", deductible=D("2000.00"), review_threshold=D("3000"))
    add_benefit(scheme, db.session.scalar(select(Benefit).where(Benefit.code == "OUTPATIENT")), copay_percent=D("10"))
    add_benefit(scheme, db.session.scalar(select(Benefit).where(Benefit.code == "LAB")))
    member = make_member(cw.company, member_number="ACM-DED", first_name="Achieng", last_name="Otieno")
    make_coverage(member, scheme, cw.today - timedelta(days=90), cw.today + timedelta(days=200))
    return make_patient(cw.hospital, first_name="Achieng", last_name="Otieno", member_number="ACM-DED")


def _issued_invoice_claimed(cw, patient):
    invoice = billing.create_invoice(
        actor=cw.clerk,
        institution_id=cw.hospital.id,
        patient_id=patient.id,
        lines=[billing.LineInput("CONSULT", 1), billing.LineInput("LAB-FBC", 1)],
    )
    billing.issue_invoice(actor=cw.clerk, invoice_id=invoice.id)
    claim = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    services.submit_claim(actor=cw.clerk, claim_id=claim.id)  # 3,700.00 reaches DED's 3,000.00: review
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={2: ("1000.00", "Agreed lab price")})
    dispatch_pending()
    db.session.refresh(invoice)
    assert (invoice.split_basis, invoice.insurer_part, invoice.patient_part) == (
        "decided",
        D("1450.00"),
        D("2250.00"),
    )
    return invoice, claim


def test_voiding_an_invoices_claim_puts_the_invoice_back_on_the_estimate_with_its_receivables(cw, ded_patient):
    invoice, claim = _issued_invoice_claimed(cw, ded_patient)
    services.void_claim(actor=cw.clerk, claim_id=claim.id, reason="Claimed on the wrong scheme")
    dispatch_pending()
    db.session.refresh(invoice)
    # the estimate again, the voided claim's deductible freed: CONSULT 2,500.00 - 2,000.00 deductible - 10% of
    # 500.00 = 450.00; LAB-FBC 1,200.00 in full
    assert (invoice.split_basis, invoice.insurer_part, invoice.patient_part) == (
        "estimate",
        D("1650.00"),
        D("2050.00"),
    )
    receivables = db.session.scalars(select(AccountReceivable).where(AccountReceivable.invoice_id == invoice.id))
    rows = {r.payer.value: (r.amount, r.balance) for r in receivables}
    assert rows == {"insurer": (D("1650.00"), D("1650.00")), "patient": (D("2050.00"), D("2050.00"))}
    # and the invoice may be claimed again
    again = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    assert again.invoice_id == invoice.id


def test_a_replacement_takes_over_its_originals_invoice_whose_split_follows_it(cw, ded_patient):
    invoice, claim = _issued_invoice_claimed(cw, ded_patient)
    replacement = services.create_claim(
        actor=cw.clerk,
        values=services.ClaimInput(
            member_number="ACM-DED",
            institution_id=cw.hospital.id,
            service_date=claim.service_date,
            items=[services.ItemInput("CONSULT", 1, "2500.00"), services.ItemInput("LAB-FBC", 1, "1000.00")],
            invoice_id=invoice.id,
            replaces_id=claim.id,
        ),
    )
    assert replacement.invoice_id is None
    services.submit_claim(actor=cw.clerk, claim_id=replacement.id)
    assert replacement.invoice_id == invoice.id
    assert replacement.status is ClaimStatus.PENDING_REVIEW  # 3,500.00 billed reaches 3,000.00
    services.approve_claim(actor=cw.adjudicator, claim_id=replacement.id)
    dispatch_pending()
    db.session.refresh(invoice)
    # decided as if the original never existed: 450.00 + 1,000.00
    assert (invoice.split_basis, invoice.insurer_part) == ("decided", D("1450.00"))
    assert services.claim_ids_for_invoice(invoice.id) == [replacement.id]


def test_the_openapi_document_states_replaces_and_replaced_by(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert {"replaces", "replaced_by", "void_reason", "voided_at"} <= set(schemas["ClaimOut"]["properties"])
    assert {"replaces", "replaced_by"} <= set(schemas["ClaimSummaryOut"]["properties"])
    assert "replaces" in schemas["ClaimIn"]["properties"]
    assert schemas["ClaimVoidIn"]["required"] == ["reason"]


def test_a_replacement_draft_stays_with_its_originals_member(cw):
    first = _submitted(cw, 1)
    replacement = _draft(cw, 2, replaces=first)
    with pytest.raises(Invalid) as caught:
        services.update_draft(
            actor=cw.clerk,
            claim_id=replacement.id,
            values=services.ClaimInput(
                "ZEN-001", cw.hospital.id, cw.today, [services.ItemInput("LAB-FBC", 1, "1200.00")]
            ),
        )
    assert "member_number" in caught.value.errors
