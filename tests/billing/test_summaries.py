"""The reads billing offers other domains by purpose: the invoices a claim may bill (claims' CLI and
reconciliation) and the invoices a payment may pay (payment's pages)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

from blueprints.billing import services
from medcover import clock
from medcover.rbac import Role, tenant_of
from tests.factories import make_patient, make_user


def _issued(clerk, patient, *lines, issue=True):
    invoice = services.create_invoice(
        actor=clerk,
        institution_id=patient.institution_id,
        patient_id=patient.id,
        lines=[services.LineInput(code, 1, service_date=day) for code, day in lines or (("CONSULT", None),)],
    )
    return services.issue_invoice(actor=clerk, invoice_id=invoice.id) if issue else invoice


def _pay(invoice, amount, payer, payment_id):
    services.record_payment_event(
        payment_id, {"payment_id": payment_id, "invoice_id": invoice.id, "payer": payer, "amount": amount}
    )


def test_claimable_invoices_are_issued_invoices_with_an_insurer_part_whatever_was_paid(world):
    issued = _issued(world.clerk, world.insured)
    partly_paid = _issued(world.clerk, world.insured)
    _pay(partly_paid, "250.00", "patient", 1)
    paid = _issued(world.clerk, world.insured)
    _pay(paid, "250.00", "patient", 2)
    _pay(paid, "2250.00", "insurer", 3)
    insured_elsewhere = make_patient(world.other_hospital, first_name="Wanjiru", member_number="ACM-001")
    elsewhere = _issued(world.other_clerk, insured_elsewhere)
    # not claimable: a self-paying patient's, a draft, a voided invoice, and a credit note off the insurer's part
    _issued(world.clerk, world.self_pay)
    _issued(world.clerk, world.insured, issue=False)
    voided = _issued(world.clerk, world.insured)
    services.void_invoice(actor=world.clerk, invoice_id=voided.id, reason="Entered twice")
    credited = _issued(world.clerk, world.insured)
    note = services.issue_credit_note(
        actor=world.clerk, invoice_id=credited.id, amount="100.00", reason="Goodwill", payer="insurer"
    )
    assert note.insurer_part > 0 and note.status.value == "paid"
    assert (partly_paid.status.value, paid.status.value) == ("partially_paid", "paid")

    everywhere = [issued.id, partly_paid.id, paid.id, elsewhere.id, credited.id]
    assert services.claimable_invoice_ids() == sorted(everywhere)
    assert services.claimable_invoice_ids(company_id=world.company.id) == sorted(everywhere)
    assert services.claimable_invoice_ids(company_id=world.other_company.id) == []
    assert services.claimable_invoice_ids(institution_ids=[world.other_hospital.id]) == [elsewhere.id]
    assert services.claimable_invoice_ids(institution_ids=[]) == []


def test_claimable_invoices_narrow_to_the_days_of_service_both_ends_included(world):
    today = clock.today()
    early = _issued(world.clerk, world.insured, ("CONSULT", today - timedelta(days=10)))
    late = _issued(world.clerk, world.insured, ("CONSULT", today - timedelta(days=2)))
    assert early.service_date == today - timedelta(days=10)

    assert services.claimable_invoice_ids(served_from=today - timedelta(days=5)) == [late.id]
    assert services.claimable_invoice_ids(served_to=today - timedelta(days=5)) == [early.id]
    assert services.claimable_invoice_ids(
        served_from=today - timedelta(days=10), served_to=today - timedelta(days=2)
    ) == [early.id, late.id]
    assert (
        services.claimable_invoice_ids(served_from=today - timedelta(days=9), served_to=today - timedelta(days=3)) == []
    )


def test_invoices_to_pay_are_the_issued_ones_newest_first_without_a_number(world):
    first = _issued(world.clerk, world.insured)
    second = _issued(world.clerk, world.self_pay)
    partly_paid = _issued(world.clerk, world.self_pay)
    _pay(partly_paid, "100.00", "patient", 1)
    _issued(world.clerk, world.insured, issue=False)  # a draft has no number to pay against
    tenant = tenant_of(world.clerk)

    found = services.invoices_to_pay(tenant, limit=10)
    assert [i.id for i in found] == [second.id, first.id]
    assert [i.id for i in services.invoices_to_pay(tenant, limit=1)] == [second.id]
    summary = found[0]
    assert (summary.patient_id, summary.number, summary.status, summary.balance) == (
        world.self_pay.id,
        second.number,
        "issued",
        D("2500.00"),
    )


def test_invoices_to_pay_by_number_are_any_numbered_invoice_of_the_tenant(world):
    first = _issued(world.clerk, world.insured)
    paid = _issued(world.clerk, world.self_pay)
    _pay(paid, "2500.00", "patient", 1)
    services.issue_credit_note(actor=world.clerk, invoice_id=first.id, amount="10.00", reason="Rounding")
    tenant = tenant_of(world.clerk)

    # the credit note (INV-HA-CN-000001) starts with "INV-HA" too, but it is not an invoice to pay
    assert [i.id for i in services.invoices_to_pay(tenant, number="INV-HA", limit=10)] == [paid.id, first.id]
    assert [i.number for i in services.invoices_to_pay(tenant, number=first.number.lower(), limit=10)] == [first.number]
    assert services.invoices_to_pay(tenant_of(world.other_clerk), number="INV-HA", limit=10) == []
    officer = make_user(Role.FINANCE_OFFICER, company_id=world.company.id)
    assert [i.id for i in services.invoices_to_pay(tenant_of(officer), number="INV-HA", limit=10)] == [first.id]
