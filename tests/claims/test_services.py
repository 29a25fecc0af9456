"""Claims services: intake and drafts, submission deciding through the engine with facts read from the
other domains, the batch form's fixed reads, adjudicators' decisions and their races, payments, tenants."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from blueprints.billing import services as billing
from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimAuditTrail
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import OutboxEvent
from medcover.extensions import db
from medcover.rbac import tenant_of
from tests import bulk

D = Decimal


def _claim(cw, items, member="ACM-001", actor=None, days_ago=1, **extra):
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
    claim = _claim(cw, items, **kw)
    return services.submit_claim(actor=kw.get("actor") or cw.clerk, claim_id=claim.id)


def _lines(claim):
    return [
        (i.line_no, i.decision, i.allowed, i.copay, i.approved, i.member_responsibility, tuple(i.reason_codes))
        for i in services.items_of(claim.id)
    ]


def test_a_draft_has_a_number_and_its_billed_total(cw):
    claim = _claim(cw, [("CONSULT", 1, "2500.00"), ("LAB-FBC", 2, "1300.00")], diagnosis_codes=["J06.9"])
    assert claim.claim_number == f"CL-{cw.today.year}-{claim.id:06d}"
    assert claim.status.value == "draft" and claim.total_billed == D("5100.00")
    assert claim.company_id == cw.company.id


def test_submitting_decides_with_the_engine(cw):
    claim = _submitted(cw, [("CONSULT", 1, "2500.00"), ("LAB-FBC", 3, "1300.00")])
    # CONSULT: allowed 2500.00, copay 10% 250.00 -> 2250.00 approved
    # LAB-FBC: allowed min(1300, 1200) x 3 = 3600.00 (A01), cut to the 3000.00 lab limit (A03)
    assert claim.status.value == "approved"
    assert _lines(claim) == [
        (1, "approved", D("2500.00"), D("250.00"), D("2250.00"), D("250.00"), ()),
        (2, "adjusted", D("3600.00"), D("0.00"), D("3000.00"), D("600.00"), ("A01", "A03")),
    ]
    assert claim.total_approved == D("5250.00")
    assert claim.scheme_id == cw.scheme.id
    trail = db.session.scalars(select(ClaimAuditTrail).where(ClaimAuditTrail.claim_id == claim.id)).all()
    assert [(t.source, t.status, t.total_approved) for t in trail] == [("engine", "approved", D("5250.00"))]


def test_limits_carry_across_claims_of_the_period(cw):
    _submitted(cw, [("LAB-FBC", 2, "1200.00")], days_ago=5)  # 2400.00 of the 3000.00
    second = _submitted(cw, [("LAB-FBC", 1, "1200.00")], days_ago=2)
    assert _lines(second) == [(1, "adjusted", D("1200.00"), D("0.00"), D("600.00"), D("600.00"), ("A03",))]
    third = _submitted(cw, [("LAB-FBC", 1, "1200.00")], days_ago=1)
    assert _lines(third)[0][1:] == ("rejected", D("0.00"), D("0.00"), D("0.00"), D("1200.00"), ("R14",))
    assert third.status.value == "rejected"


def test_the_same_service_claimed_twice_is_a_duplicate(cw):
    _submitted(cw, [("CONSULT", 1, "2500.00")])
    again = _submitted(cw, [("CONSULT", 1, "2500.00")])
    assert _lines(again)[0][-1] == ("R04",)


def test_an_unknown_member_is_rejected_and_only_the_provider_sees_it(cw):
    claim = _submitted(cw, [("CONSULT", 1, "2500.00")], member="NOBODY-1")
    assert claim.status.value == "rejected" and claim.reason_codes == ["R01"]
    assert claim.company_id is None
    with pytest.raises(NotFound):
        services.claim_row(tenant_of(cw.adjudicator), claim.id)


def test_mri_without_preauthorisation_is_rejected_r12(cw):
    claim = _submitted(cw, [("CONSULT", 1, "2500.00"), ("MRI-HEAD", 1, "30000.00")])
    assert claim.status.value == "partially_approved"
    assert _lines(claim)[1][-1] == ("R12",)


def test_a_claim_reaching_the_review_threshold_waits_for_an_adjudicator(cw):
    claim = _submitted(cw, [("SURGERY", 1, "80000.00")])
    assert claim.status.value == "pending_review" and claim.review
    # The proposal: 80000.00 less the 10% copay
    assert _lines(claim)[0][4] == D("72000.00")
    assert not db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == "claim.decided")).all()


def test_an_adjudicator_overrides_a_line_with_a_note(cw):
    claim = _submitted(cw, [("SURGERY", 1, "80000.00")])
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={1: ("60000.00", "Agreed package price")})
    assert claim.status.value == "approved"
    assert _lines(claim)[0][1] == "adjusted" and _lines(claim)[0][4] == D("60000.00")
    assert "M01" in _lines(claim)[0][-1]
    assert claim.total_approved == D("60000.00")
    sources = db.session.scalars(select(ClaimAuditTrail.source).where(ClaimAuditTrail.claim_id == claim.id)).all()
    assert sources == ["engine", "adjudicator"]


def test_an_override_above_allowed_is_refused(cw):
    claim = _submitted(cw, [("SURGERY", 1, "80000.00")])
    with pytest.raises(Invalid):
        services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={1: ("80000.01", "x")})
    assert claim.status.value == "pending_review"


def test_a_stale_version_is_a_conflict_and_a_decided_claim_is_not_decided_again(cw):
    claim = _submitted(cw, [("SURGERY", 1, "80000.00")])
    opened = claim.version
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, version=opened)
    with pytest.raises(Conflict):
        services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, version=opened)
    with pytest.raises(Conflict):
        services.reject_claim(actor=cw.adjudicator, claim_id=claim.id, reason="late")
    assert db.session.scalar(select(func.count()).where(ClaimAuditTrail.claim_id == claim.id)) == 2


def test_rejecting_a_pending_claim_needs_a_reason(cw):
    claim = _submitted(cw, [("SURGERY", 1, "80000.00")])
    with pytest.raises(Invalid):
        services.reject_claim(actor=cw.adjudicator, claim_id=claim.id, reason=" ")
    services.reject_claim(actor=cw.adjudicator, claim_id=claim.id, reason="Not medically necessary")
    assert claim.status.value == "rejected" and claim.total_approved == D("0.00")
    assert _lines(claim)[0][5] == D("80000.00")


def test_only_the_members_insurer_decides(cw):
    claim = _submitted(cw, [("SURGERY", 1, "80000.00")])
    with pytest.raises(NotFound):
        services.approve_claim(actor=cw.other_adjudicator, claim_id=claim.id)
    with pytest.raises(Forbidden):
        services.approve_claim(actor=cw.clerk, claim_id=claim.id)


def test_providers_see_only_their_own_claims(cw):
    claim = _submitted(cw, [("CONSULT", 1, "2500.00")])
    with pytest.raises(NotFound):
        services.claim_row(tenant_of(cw.other_clerk), claim.id)
    assert db.session.scalars(services.claims_query(tenant_of(cw.other_clerk))).all() == []
    assert [c.id for c in db.session.scalars(services.claims_query(tenant_of(cw.adjudicator)))] == [claim.id]
    assert db.session.scalars(services.claims_query(tenant_of(cw.other_adjudicator))).all() == []


def test_bad_claims_are_refused_naming_the_field_and_write_nothing(cw):
    before = db.session.scalar(select(func.count()).select_from(Claim))
    for items, extra, field in [
        ([], {}, "items"),
        ([("CONSULT", 0, "1.00")], {}, "items.0.quantity"),
        ([("CONSULT", 1, "-1")], {}, "items.0.unit_price"),
        ([("CON SULT", 1, "1.00")], {}, "items.0.service_code"),
        ([("CONSULT", 1, "1.00")], {"diagnosis_codes": ["nope"]}, "diagnosis_codes"),
    ]:
        with pytest.raises(Invalid) as caught:
            _claim(cw, items, **extra)
        assert field in caught.value.errors
    with pytest.raises(Invalid):
        _claim(cw, [("CONSULT", 1, "1.00")], days_ago=-3)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == before


def test_drafts_change_but_submitted_claims_do_not_and_a_paid_claim_is_not_voided(cw):
    claim = _claim(cw, [("CONSULT", 1, "2500.00")])
    services.update_draft(
        actor=cw.clerk,
        claim_id=claim.id,
        values=services.ClaimInput("ACM-001", cw.hospital.id, cw.today, [services.ItemInput("LAB-FBC", 1, "1200.00")]),
    )
    assert claim.total_billed == D("1200.00")
    services.submit_claim(actor=cw.clerk, claim_id=claim.id)
    with pytest.raises(Conflict):
        services.update_draft(
            actor=cw.clerk,
            claim_id=claim.id,
            values=services.ClaimInput("ACM-001", cw.hospital.id, cw.today, [services.ItemInput("CONSULT", 1, "1.00")]),
        )
    claim.total_paid = claim.total_approved
    with pytest.raises(Conflict, match="refund of its payment comes first"):
        services.void_claim(actor=cw.clerk, claim_id=claim.id)
    draft = _claim(cw, [("CONSULT", 1, "2500.00")])
    services.void_claim(actor=cw.clerk, claim_id=draft.id, reason="entered twice")
    assert draft.status.value == "void"


def test_a_claim_from_an_invoice_takes_its_insured_lines(cw):
    invoice = billing.create_invoice(
        actor=cw.clerk,
        institution_id=cw.hospital.id,
        patient_id=cw.patient.id,
        lines=[billing.LineInput("CONSULT", 1), billing.LineInput("LAB-FBC", 2)],
    )
    with pytest.raises(Conflict):
        services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)  # still a draft
    billing.issue_invoice(actor=cw.clerk, invoice_id=invoice.id)
    claim = services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)
    assert [(i.service_code, i.quantity, i.unit_price) for i in services.items_of(claim.id)] == [
        ("CONSULT", 1, D("2500.00")),
        ("LAB-FBC", 2, D("1200.00")),
    ]
    assert claim.invoice_id == invoice.id and claim.patient_id == cw.patient.id
    with pytest.raises(Conflict):
        services.claim_from_invoice(actor=cw.clerk, invoice_id=invoice.id)


def test_payments_mark_a_claim_paid_once_the_approved_total_is_paid(cw):
    claim = _submitted(cw, [("CONSULT", 1, "2500.00")])
    event = {"kind": "claim", "claim_id": claim.id, "amount": "1000.00"}
    services.record_payment_event(1, {**event, "payment_id": 1})
    services.record_payment_event(1, {**event, "payment_id": 1})  # once
    assert claim.total_paid == D("1000.00") and claim.status.value == "approved"
    assert services.payable(tenant_of(cw.adjudicator), claim.id) == D("1250.00")
    services.record_payment_event(2, {**event, "payment_id": 2, "amount": "1250.00"})
    assert claim.status.value == "paid"
    services.record_refund_event(3, {"claim_id": claim.id, "refund_id": 1, "amount": "250.00"})
    assert (claim.total_paid, claim.status.value) == (D("2000.00"), "approved")
    assert services.payable(tenant_of(cw.adjudicator), claim.id) == D("250.00")


def test_the_batch_reads_a_fixed_number_of_times_whatever_the_number_of_claims(cw, count_queries):
    def batch(n):
        ids = []
        for k in range(n):
            claim = _claim(cw, [("CONSULT", 1, "2500.00"), ("LAB-FBC", 1, "1200.00")], days_ago=1 + k % 20)
            claim.status = claim.status.__class__("submitted")
            claim.submitted_at = claim.created_at
            claim.submitted_on = cw.today
            ids.append(claim.id)
        db.session.flush()
        with count_queries() as counted:
            services.decide_claims(ids)
        return [q for q in counted.statements if q.lstrip().upper().startswith("SELECT")]

    small, large = batch(3), batch(30)
    assert len(small) == len(large), "\n".join(q[:100].replace("\n", " ") for q in large)


def test_usage_shows_on_cover_checks(cw):
    from blueprints.insurance.services import verification as coverage

    _submitted(cw, [("LAB-FBC", 1, "1200.00")])
    verdict = coverage.verify("ACM-001", cw.today)
    lab = next(b for b in verdict.benefits if b.benefit_code == "LAB")
    assert (lab.used, lab.remaining_limit) == (D("1200.00"), D("1800.00"))


def test_the_insurer_sees_a_claim_only_once_it_is_submitted(cw):
    draft = _claim(cw, [("CONSULT", 1, "2500.00")])
    with pytest.raises(NotFound):
        services.claim_row(tenant_of(cw.adjudicator), draft.id)
    assert db.session.scalars(services.claims_query(tenant_of(cw.adjudicator))).all() == []
    services.submit_claim(actor=cw.clerk, claim_id=draft.id)
    assert services.claim_row(tenant_of(cw.adjudicator), draft.id).id == draft.id


@pytest.mark.parametrize(
    ("status", "shown", "tests_unsent"),
    [
        ("", {"void sent", "pending_review", "approved", "partially_approved"}, True),
        ("void", {"void sent"}, True),
        ("draft", set(), True),
        ("pending_review", {"pending_review"}, False),
        ("to_pay", {"approved", "partially_approved"}, False),
    ],
)
def test_an_insurers_status_filter_never_shows_the_unsent_and_asks_only_what_it_must(cw, status, shown, tests_unsent):
    at = {"institution_id": cw.hospital.id, "company_id": cw.company.id}
    made = {name: bulk.claims(1, **at, status=name)[0] for name in ("draft", "pending_review", "approved")}
    made["partially_approved"] = bulk.claims(1, **at, status="partially_approved")[0]
    made["void sent"] = bulk.claims(1, **at, status="void")[0]
    made["void unsent"] = bulk.claims(1, **at, status="void")[0]
    db.session.execute(
        update(Claim).where(Claim.id == made["void unsent"]).values(submitted_at=None, submitted_on=None)
    )

    def listed(tenant) -> set[int]:
        stmt = services.claims_query(tenant, status=status).with_only_columns(Claim.id)
        return set(db.session.scalars(stmt))

    assert {name for name, claim_id in made.items() if claim_id in listed(tenant_of(cw.adjudicator))} == shown
    # A filter on a status only a sent claim has leaves the unsent out by itself: the database is not asked again
    # on every row it counts.
    stmt = services.claims_query(tenant_of(cw.adjudicator), status=status)
    assert ("submitted_at IS NULL" in str(stmt)) is tests_unsent
    # The provider's own list still has its drafts and its claims voided before sending.
    if status in ("draft", "void"):
        assert made[status if status == "draft" else "void unsent"] in listed(tenant_of(cw.clerk))


def test_a_draft_previewed_beside_a_submitted_duplicate_is_the_later_one(cw):
    from blueprints.claims.services.facts import gather

    _submitted(cw, [("CONSULT", 1, "2500.00")])
    draft = _claim(cw, [("CONSULT", 1, "2500.00")])
    items = services.items_of(draft.id)
    assert gather([draft], {draft.id: items}).facts_for(draft, items).duplicates == frozenset({"CONSULT"})
