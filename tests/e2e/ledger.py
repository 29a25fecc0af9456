"""Money beside the demo world, so the finance lists have rows to lay out: the demo finance officer settles the demo
hospital's approved claims served before today, asks for a refund on one of them, and the demo billing clerk takes
cash from three patients. Today's claims are left alone: the journeys settle those themselves.

Run in the app's environment: ``python -m tests.e2e.ledger``; prints what it made as JSON on the last line.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text

from medcover.rbac import Role

#: long enough to be cut short in the refunds list
REFUND_REASON = (
    "The provider billed the chest X-ray twice on the same visit; the second charge is returned to the insurer "
    "after the provider's statement of 3 December"
)


def main() -> None:
    from blueprints.core import services as core
    from blueprints.payment import services as payment
    from medcover import clock
    from medcover.app import create_app
    from medcover.errors import DomainError
    from medcover.extensions import db

    app = create_app()
    made = {"settlements": 0, "payments": 0, "refunds": 0}
    with app.app_context():

        def demo_user(role: Role):
            user_id = db.session.scalar(
                text("SELECT id FROM users WHERE role = :role AND email LIKE '%@medcover.demo' ORDER BY id LIMIT 1"),
                {"role": role.value},
            )
            return core.user_by_id(user_id)

        finance, clerk = demo_user(Role.FINANCE_OFFICER), demo_user(Role.BILLING_CLERK)
        yesterday = clock.today() - timedelta(days=1)
        settlement = payment.settle(
            actor=finance,
            institution_id=clerk.institution_id,
            period_start=yesterday - timedelta(days=730),
            period_end=yesterday,
            method="bank_transfer",
            reference="JHI-EFT-DEMO-0001",
        )
        made["settlements"] += 1
        paid = db.session.scalars(
            text("SELECT id FROM payments WHERE settlement_id = :id ORDER BY id"), {"id": settlement.id}
        ).all()
        made["payments"] += len(paid)
        payment.request_refund(actor=finance, payment_id=paid[0], amount="100.00", reason=REFUND_REASON)
        made["refunds"] += 1

        invoices = db.session.scalars(
            text(
                "SELECT id FROM invoices WHERE institution_id = :institution AND company_id IS NULL"
                " AND status IN ('issued', 'partially_paid') ORDER BY id LIMIT 3"
            ),
            {"institution": clerk.institution_id},
        ).all()
        for invoice_id in invoices:
            owed = payment.owed(clerk, "invoice", invoice_id, "patient")
            try:
                payment.record_payment(
                    actor=clerk,
                    values=payment.PaymentInput(
                        kind="invoice",
                        reference_id=invoice_id,
                        amount=owed.outstanding,
                        method="cash",
                        payer="patient",
                    ),
                )
            except DomainError as exc:  # a demo invoice with nothing left to take: the others are enough
                print(f"invoice {invoice_id}: {exc.detail}")
                continue
            made["payments"] += 1
        db.session.commit()
    print(json.dumps(made))


if __name__ == "__main__":
    main()
