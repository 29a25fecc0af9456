"""Payment services: payments of the three kinds against what is owed, reversals, refunds and their
approval, settlements marking claims paid, commissions, and money flowing back to billing and claims."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.payment import services
from blueprints.payment.models import Commission, Payment, Refund
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import dispatch_pending
from medcover.extensions import db
from medcover.rbac import Role, tenant_of
from tests.factories import make_user

D = Decimal


def _pay(actor, kind, ref, amount, method="cash", reference=None, **extra):
    return services.record_payment(
        actor=actor,
        values=services.PaymentInput(
            kind=kind, reference_id=ref, amount=amount, method=method, reference=reference, **extra
        ),
    )


def _invoice(cw, invoice_id):
    return billing.invoice_summary(tenant_of(cw.clerk), invoice_id)


def test_a_patient_pays_their_part_and_the_invoice_follows(cw, people, issued):
    payment = _pay(
        people.hospital, "invoice", issued.id, "250.00", "mobile_money", "QK7H2ABC9", details={"phone": "0712 345 678"}
    )
    assert payment.number.startswith("PAY-") and payment.payer == "patient"
    assert payment.method_details == {"phone": "0712345678"}
    dispatch_pending()
    summary = _invoice(cw, issued.id)
    assert (summary.paid, summary.patient_balance, summary.status) == (D("250.00"), D("0.00"), "partially_paid")


def test_paying_more_than_is_owed_is_refused_with_what_is_owed(cw, people, issued):
    _pay(people.hospital, "invoice", issued.id, "200.00")
    with pytest.raises(Invalid) as caught:
        _pay(people.hospital, "invoice", issued.id, "50.01")
    assert "50.00" in caught.value.errors["amount"][0]
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_a_void_invoice_cannot_be_paid(cw, people, issued):
    billing.void_invoice(actor=cw.clerk, invoice_id=issued.id, reason="wrong patient")
    with pytest.raises(Conflict, match="void"):
        _pay(people.hospital, "invoice", issued.id, "10.00")


@pytest.mark.parametrize(
    ("method", "reference", "field"),
    [
        ("bank_transfer", None, "reference"),
        ("cheque", "12AB", "reference"),
        ("card", "!!", "reference"),
        ("bitcoin", "X", "method"),
    ],
)
def test_each_method_needs_its_details(cw, people, issued, method, reference, field):
    with pytest.raises(Invalid) as caught:
        _pay(people.hospital, "invoice", issued.id, "10.00", method, reference)
    assert field in caught.value.errors


def test_bad_amounts_are_refused(cw, people, issued):
    for amount in ("0", "-5", "abc", 10.5):
        with pytest.raises(Invalid):
            _pay(people.hospital, "invoice", issued.id, amount)


def test_another_hospital_cannot_take_payment_on_an_invoice(cw, people, issued):
    with pytest.raises(NotFound):
        _pay(people.other_hospital, "invoice", issued.id, "10.00")
    with pytest.raises(Forbidden):
        _pay(people.insurer, "invoice", issued.id, "10.00", payer="insurer")


def test_an_unapproved_claim_cannot_be_paid(cw, people):
    claim = claims.create_claim(
        actor=cw.clerk,
        values=claims.ClaimInput("ACM-001", cw.hospital.id, cw.today, [claims.ItemInput("SURGERY", 1, "80000.00")]),
    )
    with pytest.raises(NotFound):  # a draft is the provider's own business
        _pay(people.insurer, "claim", claim.id, "10.00", "bank_transfer", "FT2611290001")
    claims.submit_claim(actor=cw.clerk, claim_id=claim.id)
    assert claim.status.value == "pending_review"
    with pytest.raises(Conflict, match="only approved claims"):
        _pay(people.insurer, "claim", claim.id, "10.00", "bank_transfer", "FT2611290001")


def test_an_insurer_pays_an_approved_claim_and_it_becomes_paid(cw, people, approved_claim):
    assert approved_claim.total_approved == D("3450.00")
    with pytest.raises(Invalid):
        _pay(people.insurer, "claim", approved_claim.id, "3450.01", "bank_transfer", "FT2611290001")
    _pay(people.insurer, "claim", approved_claim.id, "3450.00", "bank_transfer", "FT2611290001")
    dispatch_pending()
    db.session.refresh(approved_claim)
    assert approved_claim.status.value == "paid"
    summary = _invoice(cw, approved_claim.invoice_id)
    assert summary.insurer_balance == D("0.00")


def test_a_reversal_is_a_new_row_and_money_flows_back(cw, people, issued):
    payment = _pay(people.hospital, "invoice", issued.id, "250.00")
    reversal = services.reverse_payment(actor=people.hospital, payment_id=payment.id, reason="Keyed twice")
    assert reversal.amount == D("-250.00") and reversal.reversal_of_id == payment.id
    assert db.session.get(Payment, payment.id).amount == D("250.00")
    with pytest.raises(Conflict):
        services.reverse_payment(actor=people.hospital, payment_id=payment.id, reason="again")
    dispatch_pending()
    assert _invoice(cw, issued.id).patient_balance == D("250.00")
    _pay(people.hospital, "invoice", issued.id, "250.00")  # owed again


def test_refunds_never_exceed_what_is_left_of_the_payment(cw, people, issued):
    payment = _pay(people.hospital, "invoice", issued.id, "250.00")
    services.request_refund(actor=people.hospital, payment_id=payment.id, amount="100.00", reason="Overcharged")
    with pytest.raises(Invalid) as caught:
        services.request_refund(actor=people.hospital, payment_id=payment.id, amount="150.01", reason="x")
    assert "150.00" in caught.value.errors["amount"][0]
    services.request_refund(actor=people.hospital, payment_id=payment.id, amount="150.00", reason="Rest")
    dispatch_pending()
    summary = _invoice(cw, issued.id)
    assert (summary.paid, summary.refunded, summary.patient_balance) == (D("250.00"), D("250.00"), D("250.00"))


def test_a_large_refund_waits_for_another_finance_officer(app, cw, people, approved_claim):
    payment = _pay(people.insurer, "claim", approved_claim.id, "3450.00", "bank_transfer", "FT2611290001")
    app.config["REFUND_APPROVAL_THRESHOLD"] = "1000.00"
    try:
        refund = services.request_refund(
            actor=people.insurer, payment_id=payment.id, amount="2000.00", reason="Duplicate"
        )
    finally:
        app.config.pop("REFUND_APPROVAL_THRESHOLD")
    assert refund.status.value == "pending_approval"
    # The waiting refund holds its amount.
    with pytest.raises(Invalid):
        services.request_refund(actor=people.insurer, payment_id=payment.id, amount="1450.01", reason="x")
    with pytest.raises(Forbidden):
        services.decide_refund(actor=people.insurer, refund_id=refund.id, approve=True)
    colleague = make_user(Role.FINANCE_OFFICER, company_id=cw.company.id)
    services.decide_refund(actor=colleague, refund_id=refund.id, approve=True)
    assert refund.status.value == "approved"
    with pytest.raises(Conflict):
        services.decide_refund(actor=colleague, refund_id=refund.id, approve=False, note="no")
    dispatch_pending()
    db.session.refresh(approved_claim)
    assert approved_claim.total_paid == D("1450.00")


def test_a_settlement_pays_every_approved_claim_of_the_period(cw, people, approved_claim):
    second = claims.submit_claim(
        actor=cw.clerk,
        claim_id=claims.create_claim(
            actor=cw.clerk,
            values=claims.ClaimInput(
                "ACM-001", cw.hospital.id, cw.today - timedelta(days=3), [claims.ItemInput("CONSULT", 1, "2500.00")]
            ),
        ).id,
    )
    lines = services.settlement_preview(
        actor=people.insurer,
        institution_id=cw.hospital.id,
        period_start=cw.today - timedelta(days=10),
        period_end=cw.today,
    )
    assert sorted(line.payable for line in lines) == [D("2250.00"), D("3450.00")]
    settlement = services.settle(
        actor=people.insurer,
        institution_id=cw.hospital.id,
        period_start=cw.today - timedelta(days=10),
        period_end=cw.today,
        method="bank_transfer",
        reference="EFT-0042",
    )
    assert (settlement.claims, settlement.total) == (2, D("5700.00"))
    dispatch_pending()
    for claim in (approved_claim, second):
        db.session.refresh(claim)
        assert claim.status.value == "paid"
    with pytest.raises(Conflict):
        services.settle(
            actor=people.insurer,
            institution_id=cw.hospital.id,
            period_start=cw.today - timedelta(days=10),
            period_end=cw.today,
            method="bank_transfer",
            reference="EFT-0043",
        )


def test_another_insurer_cannot_settle_or_see_the_claims(cw, people, approved_claim):
    assert (
        services.settlement_preview(
            actor=people.other_insurer,
            institution_id=cw.hospital.id,
            period_start=cw.today - timedelta(days=10),
            period_end=cw.today,
        )
        == []
    )
    with pytest.raises(NotFound):
        _pay(people.other_insurer, "claim", approved_claim.id, "1.00", "bank_transfer", "FT0001")


def test_premium_payments_accrue_the_agents_commission(cw, people):
    from blueprints.insurance.models import Coverage

    cover = db.session.scalar(select(Coverage).where(Coverage.member_id == cw.member.id))
    agent = services.create_agent(actor=people.insurer, code="AG-01", name="Njeri Mwangi")
    services.set_commission_rate(
        actor=people.insurer, scheme_id=cw.scheme.id, rate_percent="7.5", effective_from=cw.today - timedelta(days=400)
    )
    services.assign_agent(actor=people.insurer, coverage_id=cover.id, agent_id=agent.id)
    payment = _pay(people.insurer, "premium", cover.id, "12345.67", "mobile_money", "QK7H2ABC9")
    commission = db.session.scalar(select(Commission).where(Commission.payment_id == payment.id))
    # 7.5% of 12345.67 = 925.92525 -> 925.93
    assert commission.amount == D("925.93")
    batch = services.pay_commissions(
        actor=people.insurer, agent_id=agent.id, method="bank_transfer", reference="COMM-11"
    )
    assert batch.amount == D("925.93") and batch.commissions == 1
    with pytest.raises(Conflict):
        services.pay_commissions(actor=people.insurer, agent_id=agent.id, method="bank_transfer", reference="COMM-12")
    services.reverse_payment(actor=people.insurer, payment_id=payment.id, reason="Bounced")
    statement = services.agent_statement(tenant_of(people.insurer), agent.id)
    assert (statement.total_accrued, statement.total_paid, statement.balance) == (D("0.00"), D("925.93"), D("-925.93"))


def test_finance_officers_see_only_their_tenants_payments(cw, people, issued, approved_claim):
    _pay(people.hospital, "invoice", issued.id, "250.00")
    _pay(people.insurer, "claim", approved_claim.id, "100.00", "bank_transfer", "FT0001")

    def seen(user):
        return sorted(p.kind.value for p in db.session.scalars(services.payments_query(tenant_of(user))))

    assert seen(people.hospital) == ["claim", "invoice"]
    assert seen(people.insurer) == ["claim"]
    assert seen(people.other_insurer) == [] and seen(people.other_hospital) == []
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_the_insurers_part_is_paid_once_through_the_invoice_or_its_claim(cw, people, approved_claim):
    # The insurer pays 3000.00 of its 3450.00 part on the invoice itself; its claim can take only the rest.
    _pay(people.hospital, "invoice", approved_claim.invoice_id, "3000.00", "bank_transfer", "FT0002", payer="insurer")
    assert services.owed(people.insurer, "claim", approved_claim.id).outstanding == D("450.00")
    with pytest.raises(Invalid):
        _pay(people.insurer, "claim", approved_claim.id, "450.01", "bank_transfer", "FT0003")
    lines = services.settlement_preview(
        actor=people.insurer,
        institution_id=cw.hospital.id,
        period_start=cw.today - timedelta(days=10),
        period_end=cw.today,
    )
    assert [line.payable for line in lines] == [D("450.00")]
