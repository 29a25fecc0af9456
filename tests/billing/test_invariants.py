"""Money invariants under random invoices and random money movements (hypothesis): for every invoice,
total = sum of its lines, balance = total - paid + refunded - credited, each payer's receivable adds up
to the invoice's balance, and the status says what the balance says."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from blueprints.billing import services
from blueprints.billing.models import AccountReceivable
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.money import ZERO

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
lines = st.lists(
    st.tuples(st.sampled_from(["CONSULT", "LAB-FBC", "DENT-X"]), st.integers(1, 20), st.one_of(st.none(), prices)),
    min_size=1,
    max_size=8,
)
movements = st.lists(
    st.tuples(
        st.sampled_from(["payment", "refund", "credit"]),
        st.sampled_from(["patient", "insurer"]),
        st.integers(1, 100),  # percent of what that payer could take at that moment
    ),
    max_size=10,
)


def _check(invoice) -> None:
    db.session.refresh(invoice)
    rows = services.lines_of(invoice.id)
    assert invoice.total == sum((row.amount for row in rows), ZERO)
    assert all(row.amount == row.net + row.tax == row.insurer_amount + row.patient_amount for row in rows)
    assert invoice.insurer_part + invoice.patient_part == invoice.total
    assert invoice.balance == invoice.total - invoice.paid + invoice.refunded - invoice.credited
    assert invoice.balance >= 0
    receivables = db.session.scalars(select(AccountReceivable).where(AccountReceivable.invoice_id == invoice.id)).all()
    for row in receivables:
        assert row.balance == row.amount - row.paid + row.refunded - row.credited
        assert 0 <= row.balance <= row.amount
    assert sum((row.balance for row in receivables), ZERO) == invoice.balance
    expected = (
        "paid"
        if invoice.balance == 0
        else "partially_paid"
        if invoice.paid - invoice.refunded + invoice.credited > 0
        else "issued"
    )
    assert invoice.status.value == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=lines, moves=movements, insured=st.booleans())
def test_balances_always_add_up(world, specs, moves, insured):
    savepoint = db.session.begin_nested()
    try:
        patient = world.insured if insured else world.self_pay
        invoice = services.create_invoice(
            actor=world.clerk,
            institution_id=world.hospital.id,
            patient_id=patient.id,
            lines=[services.LineInput(code, qty, price) for code, qty, price in specs],
        )
        services.issue_invoice(actor=world.clerk, invoice_id=invoice.id)
        _check(invoice)
        paid_by: dict[str, list[tuple[int, Decimal]]] = {"patient": [], "insurer": []}
        for n, (kind, payer, percent) in enumerate(moves, start=1):
            receivable = db.session.scalar(
                select(AccountReceivable).where(
                    AccountReceivable.invoice_id == invoice.id, AccountReceivable.payer == payer
                )
            )
            if receivable is None:
                continue
            if kind == "refund":
                net_paid = receivable.paid - receivable.refunded
                amount = (net_paid * percent / 100).quantize(Decimal("0.01"))
                if amount <= 0:
                    continue
                services.record_refund_event(
                    n, {"refund_id": n, "invoice_id": invoice.id, "payer": payer, "amount": str(amount)}
                )
            else:
                amount = (receivable.balance * percent / 100).quantize(Decimal("0.01"))
                if amount <= 0:
                    continue
                if kind == "payment":
                    services.record_payment_event(
                        n, {"payment_id": n, "invoice_id": invoice.id, "payer": payer, "amount": str(amount)}
                    )
                    paid_by[payer].append((n, amount))
                else:
                    try:
                        services.issue_credit_note(
                            actor=world.clerk, invoice_id=invoice.id, amount=amount, reason="Goodwill", payer=payer
                        )
                    except Invalid:
                        pytest.fail("a credit within the payer's balance was refused")
            _check(invoice)
        # The same events again change nothing: billing applies each payment and refund once.
        before = (invoice.paid, invoice.refunded, invoice.balance)
        for payer, done in paid_by.items():
            for n, amount in done:
                services.record_payment_event(
                    n, {"payment_id": n, "invoice_id": invoice.id, "payer": payer, "amount": str(amount)}
                )
        db.session.refresh(invoice)
        assert (invoice.paid, invoice.refunded, invoice.balance) == before
    finally:
        savepoint.rollback()
