"""Money invariants across domains under random payments, refunds and reversals (hypothesis): for every
invoice and claim, what payment recorded (paid - refunded) is what billing's and claims' balances say, no
balance goes below zero, and whatever would overpay is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.payment import services
from blueprints.payment.models import Payment, Refund, RefundStatus
from medcover.errors import Conflict, Invalid
from medcover.events import dispatch_pending
from medcover.extensions import db
from medcover.money import ZERO
from medcover.rbac import tenant_of

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")

steps = st.lists(
    st.tuples(
        st.sampled_from(["pay_patient", "pay_insurer_invoice", "pay_claim", "refund", "reverse"]),
        st.integers(1, 130),  # percent of what is owed (above 100: an overpayment the service must refuse)
        st.integers(0, 5),  # which earlier payment a refund or reversal takes
    ),
    max_size=12,
)


def _net(kind: str, reference_id: int, payer: str | None = None) -> Decimal:
    paid_filter = [Payment.kind == kind, Payment.reference_id == reference_id]
    if payer:
        paid_filter.append(Payment.payer == payer)
    paid = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(*paid_filter))
    refunded = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0))
        .join(Payment, Payment.id == Refund.payment_id)
        .where(*paid_filter, Refund.status == RefundStatus.APPROVED)
    )
    return Decimal(str(paid)) - Decimal(str(refunded))


def _check(cw, invoice_id: int, claim_id: int) -> None:
    dispatch_pending()
    invoice = billing.invoice_summary(tenant_of(cw.clerk), invoice_id)
    claim = claims.claim_row(tenant_of(cw.clerk), claim_id)
    db.session.refresh(claim)
    patient_net = _net("invoice", invoice_id, "patient")
    insurer_net = _net("invoice", invoice_id, "insurer") + _net("claim", claim_id)
    # billing's view: what each payer still owes is its part less what payment recorded for it
    assert invoice.patient_balance == invoice.patient_due - patient_net
    assert invoice.insurer_balance == invoice.insurer_due - insurer_net
    assert invoice.paid - invoice.refunded == patient_net + insurer_net
    assert invoice.balance == invoice.total - (patient_net + insurer_net)
    # claims' view of the insurer's claim payments
    assert claim.total_paid == _net("claim", claim_id)
    for value in (invoice.balance, invoice.patient_balance, invoice.insurer_balance, claim.total_paid):
        assert value >= ZERO
    if claim.total_paid >= claim.total_approved:
        assert claim.status.value == "paid"
    else:
        assert claim.status.value in ("approved", "partially_approved")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=steps)
def test_balances_follow_payments_refunds_and_reversals(cw, people, issued, approved_claim, moves):
    savepoint = db.session.begin_nested()
    try:
        taken: list[Payment] = []
        for kind, percent, pick in moves:
            if kind in ("refund", "reverse"):
                live = [p for p in taken if p.amount > 0]
                if not live:
                    continue
                payment = live[pick % len(live)]
                actor = (
                    people.hospital if payment.institution_id and payment.kind.value == "invoice" else people.insurer
                )
                try:
                    if kind == "refund":
                        left = services.refundable(payment)
                        amount = (left * min(percent, 100) / 100).quantize(Decimal("0.01"))
                        if amount <= 0:
                            continue
                        services.request_refund(actor=actor, payment_id=payment.id, amount=amount, reason="Test")
                    else:
                        services.reverse_payment(actor=actor, payment_id=payment.id, reason="Test")
                except Conflict:
                    pass  # reversing a refunded or reversed payment is refused, and changes nothing
            else:
                target = {
                    "pay_patient": ("invoice", issued.id, "patient", people.hospital),
                    "pay_insurer_invoice": ("invoice", issued.id, "insurer", people.hospital),
                    "pay_claim": ("claim", approved_claim.id, None, people.insurer),
                }[kind]
                owed = services.owed(target[3], target[0], target[1], target[2])
                if owed.refusal or not owed.outstanding:
                    continue
                amount = (owed.outstanding * percent / 100).quantize(Decimal("0.01"))
                if amount <= 0:
                    continue
                values = services.PaymentInput(target[0], target[1], amount, "bank_transfer", "FT0001", payer=target[2])
                try:
                    taken.append(services.record_payment(actor=target[3], values=values))
                    assert amount <= owed.outstanding
                except Invalid:
                    assert amount > owed.outstanding  # only an overpayment is refused
            _check(cw, issued.id, approved_claim.id)
    finally:
        savepoint.rollback()
