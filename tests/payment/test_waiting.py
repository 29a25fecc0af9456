"""Refunds waiting for approval, for a finance officer's home page: each tenant counts its own."""

from __future__ import annotations

from blueprints.payment import services
from medcover.rbac import Role, Tenant
from tests import bulk
from tests.factories import make_user


def test_a_finance_officer_counts_their_own_tenants_refunds_waiting(cw):
    bulk.refunds(2, institution_id=cw.hospital.id, company_id=None)
    bulk.refunds(3, institution_id=cw.hospital.id, company_id=None, status="approved")
    bulk.refunds(1, institution_id=cw.hospital.id, company_id=None, status="rejected")
    bulk.refunds(4, institution_id=cw.other_hospital.id, company_id=None)
    bulk.refunds(5, institution_id=None, company_id=cw.company.id)
    keys = {"refunds_to_approve"}
    assert services.work_waiting(Tenant(cw.hospital.id, None), keys) == {"refunds_to_approve": 2}
    assert services.work_waiting(Tenant(cw.other_hospital.id, None), keys) == {"refunds_to_approve": 4}
    assert services.work_waiting(Tenant(None, cw.company.id), keys) == {"refunds_to_approve": 5}
    assert services.work_waiting(Tenant(None, cw.other_company.id), keys) == {"refunds_to_approve": 0}
    assert services.work_waiting(Tenant(cw.hospital.id, None), set()) == {}


def test_a_large_refund_waits_on_the_insurers_home_until_a_colleague_decides_it(app, cw, people, approved_claim):
    payment = services.record_payment(
        actor=people.insurer,
        values=services.PaymentInput(
            kind="claim",
            reference_id=approved_claim.id,
            amount="3450.00",
            method="bank_transfer",
            reference="FT2611290001",
        ),
    )
    insurer = Tenant(None, cw.company.id)
    app.config["REFUND_APPROVAL_THRESHOLD"] = "1000.00"
    try:
        refund = services.request_refund(actor=people.insurer, payment_id=payment.id, amount="2000.00", reason="Twice")
        services.request_refund(actor=people.insurer, payment_id=payment.id, amount="100.00", reason="Small")
    finally:
        app.config.pop("REFUND_APPROVAL_THRESHOLD")
    assert services.work_waiting(insurer, {"refunds_to_approve"}) == {"refunds_to_approve": 1}
    colleague = make_user(Role.FINANCE_OFFICER, company_id=cw.company.id)
    services.decide_refund(actor=colleague, refund_id=refund.id, approve=True)
    assert services.work_waiting(insurer, {"refunds_to_approve"}) == {"refunds_to_approve": 0}
