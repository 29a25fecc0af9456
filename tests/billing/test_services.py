"""Billing services: prices and their history, charges from hospital events, drafting, the payer split,
issuing with gap-free numbers, voids, credit notes, money from payment events, tenant checks."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.billing import services
from blueprints.billing.models import AccountReceivable, BillingItem, Invoice, ServiceTariff
from blueprints.billing.services import receivables, tariffs
from medcover import clock
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import OutboxEvent
from medcover.extensions import db
from medcover.rbac import Role, tenant_of
from tests.factories import make_user

D = Decimal


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _lines(*specs):
    return [services.LineInput(code, qty, price) for code, qty, price in specs]


# --- tariffs -------------------------------------------------------------------------------------


def test_a_new_price_ends_the_old_one_the_day_before_and_old_dates_keep_their_price(world):
    tariffs.set_price(
        actor=world.clerk,
        institution_id=world.hospital.id,
        values=tariffs.TariffInput("CONSULT", "GP consultation", "OUTPATIENT", "3000.00", date(2026, 7, 1)),
    )
    assert tariffs.tariff_price(world.hospital.id, "CONSULT", date(2026, 6, 30)).unit_price == D("2500.00")
    assert tariffs.tariff_price(world.hospital.id, "CONSULT", date(2026, 7, 1)).unit_price == D("3000.00")
    old = db.session.scalar(
        select(ServiceTariff).where(
            ServiceTariff.institution_id == world.hospital.id,
            ServiceTariff.service_code == "CONSULT",
            ServiceTariff.effective_from == date(2020, 1, 1),
        )
    )
    assert old.effective_to == date(2026, 6, 30)


def test_a_price_inserted_before_a_later_one_ends_where_the_later_one_starts(world):
    for start, price in ((date(2026, 9, 1), "3500.00"), (date(2026, 3, 1), "2800.00")):
        tariffs.set_price(
            actor=world.clerk,
            institution_id=world.hospital.id,
            values=tariffs.TariffInput("CONSULT", "GP consultation", "OUTPATIENT", price, start),
        )
    assert tariffs.tariff_price(world.hospital.id, "CONSULT", date(2026, 8, 31)).unit_price == D("2800.00")
    assert tariffs.tariff_price(world.hospital.id, "CONSULT", date(2026, 9, 1)).unit_price == D("3500.00")
    assert tariffs.tariff_price(world.hospital.id, "CONSULT", date(2026, 2, 28)).unit_price == D("2500.00")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        (("CON SULT", "x", "OUTPATIENT", "1.00", "2026-01-01"), "service_code"),
        (("CONSULT2", "", "OUTPATIENT", "1.00", "2026-01-01"), "description"),
        (("CONSULT2", "x", "NOPE", "1.00", "2026-01-01"), "benefit_code"),
        (("CONSULT2", "x", "OUTPATIENT", "-1", "2026-01-01"), "unit_price"),
        (("CONSULT2", "x", "OUTPATIENT", "abc", "2026-01-01"), "unit_price"),
        (("CONSULT2", "x", "OUTPATIENT", "1.00", "2026-13-01"), "effective_from"),
    ],
)
def test_bad_tariff_input_names_the_field_and_writes_nothing(world, values, field):
    before = _count(ServiceTariff)
    with pytest.raises(Invalid) as caught:
        tariffs.set_price(actor=world.clerk, institution_id=world.hospital.id, values=tariffs.TariffInput(*values))
    assert field in caught.value.errors
    assert _count(ServiceTariff) == before


def test_a_second_price_on_the_same_day_is_a_conflict(world):
    with pytest.raises(Conflict):
        tariffs.set_price(
            actor=world.clerk,
            institution_id=world.hospital.id,
            values=tariffs.TariffInput("CONSULT", "GP", "OUTPATIENT", "1.00", date(2020, 1, 1)),
        )


def test_a_clerk_cannot_price_another_hospitals_services(world):
    with pytest.raises(NotFound):
        tariffs.set_price(
            actor=world.clerk,
            institution_id=world.other_hospital.id,
            values=tariffs.TariffInput("CONSULT", "GP", "OUTPATIENT", "1.00", date(2026, 1, 1)),
        )
    receptionist = make_user(Role.RECEPTIONIST, institution_id=world.hospital.id)
    with pytest.raises(Forbidden):
        tariffs.set_price(
            actor=receptionist,
            institution_id=world.hospital.id,
            values=tariffs.TariffInput("CONSULT", "GP", "OUTPATIENT", "1.00", date(2026, 1, 1)),
        )


CSV = (
    "service_code,description,benefit_code,unit_price,effective_from\n"
    "CONSULT,GP consultation,OUTPATIENT,2750.00,2026-12-01\n"
    "LAB-FBC,Full blood count,LAB,1200.00,2020-01-01\n"
    "XRAY-CH,Chest X-ray,OUTPATIENT,1800,2026-12-01\n"
)


def test_import_preview_says_what_would_change_and_changes_nothing(world):
    before = _count(ServiceTariff)
    preview = tariffs.preview_import(actor=world.clerk, institution_id=world.hospital.id, data=CSV)
    assert preview.ok
    assert [(r.service_code, r.action, r.current_price) for r in preview.rows] == [
        ("CONSULT", "change", D("2500.00")),
        ("LAB-FBC", "same", D("1200.00")),
        ("XRAY-CH", "new", None),
    ]
    assert _count(ServiceTariff) == before


def test_import_applies_new_and_changed_prices(world):
    tariffs.apply_import(actor=world.clerk, institution_id=world.hospital.id, data=CSV.encode())
    assert tariffs.tariff_price(world.hospital.id, "CONSULT", date(2026, 12, 1)).unit_price == D("2750.00")
    assert tariffs.tariff_price(world.hospital.id, "XRAY-CH", date(2026, 12, 1)).unit_price == D("1800.00")


def test_an_import_with_one_bad_row_imports_nothing_and_says_which_line(world):
    before = _count(ServiceTariff)
    bad = CSV + "MRI,MRI head,NOPE,9000.00,2026-12-01\nCT,,OUTPATIENT,abc,2026-12-01\n"
    preview = tariffs.preview_import(actor=world.clerk, institution_id=world.hospital.id, data=bad)
    assert not preview.ok
    assert [r.line for r in preview.rows if r.errors] == [5, 6]
    with pytest.raises(Invalid) as caught:
        tariffs.apply_import(actor=world.clerk, institution_id=world.hospital.id, data=bad)
    assert any(m.startswith("Line 5:") for m in caught.value.errors["file"])
    assert _count(ServiceTariff) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"code,price\nX,1\n", "missing"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"service_code,description,benefit_code,unit_price,effective_from\n", "no rows"),
        ("\u00ea,M\u00f4\r\u00b4~".encode(), "missing"),  # a bare carriage return ends a line, it is no crash
    ],
)
def test_an_unreadable_price_list_is_refused_with_a_reason(world, data, message):
    preview = tariffs.preview_import(actor=world.clerk, institution_id=world.hospital.id, data=data)
    assert not preview.ok and message in preview.errors[0]


# --- billing items -------------------------------------------------------------------------------


def _charge(world, source="order:7", code="LAB-FBC", quantity=1):
    return {
        "institution_id": world.hospital.id,
        "patient_id": world.insured.id,
        "service_code": code,
        "quantity": quantity,
        "source": source,
        "occurred_on": clock.today().isoformat(),
        "order_id": 7,
    }


def test_the_same_charge_event_twice_bills_once_at_the_tariff_price(world):
    first = services.record_charge(1, _charge(world))
    again = services.record_charge(2, _charge(world))
    assert first.id == again.id
    assert first.unit_price == D("1200.00") and first.benefit_code == "LAB"
    assert len(services.unbilled_items(tenant_of(world.clerk), world.insured.id)) == 1


def test_a_charge_without_a_tariff_waits_at_zero_for_a_clerk(world):
    item = services.record_charge(1, _charge(world, code="UNPRICED"))
    assert item.unit_price == D("0.00") and "no tariff" in item.description


def test_charge_events_through_the_outbox_become_billing_items(world):
    from medcover.events import dispatch_pending, publish

    publish("charge.created", _charge(world, source="order:99"))
    dispatch_pending()
    assert db.session.scalar(select(BillingItem).where(BillingItem.source == "order:99")) is not None


# --- drafting and the payer split ----------------------------------------------------------------


def test_a_draft_from_items_bills_them_and_splits_by_cover(world):
    services.record_charge(1, _charge(world, source="order:1", code="CONSULT"))
    services.record_charge(2, _charge(world, source="order:2", code="LAB-FBC", quantity=3))
    invoice = services.draft_from_items(actor=world.clerk, patient_id=world.insured.id)
    # CONSULT 2500.00: 10% copay -> insurer 2250.00, patient 250.00
    # LAB-FBC 3 x 1200.00 = 3600.00: no copay, lab limit 3000.00 -> insurer 3000.00, patient 600.00
    assert invoice.total == D("6100.00")
    assert invoice.insurer_part == D("5250.00")
    assert invoice.patient_part == D("850.00")
    assert invoice.company_id == world.company.id
    assert services.unbilled_items(tenant_of(world.clerk), world.insured.id) == []
    with pytest.raises(Conflict):
        services.draft_from_items(actor=world.clerk, patient_id=world.insured.id)


def test_a_self_paying_patient_owes_everything(world):
    invoice = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=world.self_pay.id,
        lines=_lines(("CONSULT", 1, None), ("LAB-FBC", 2, "1000.00")),
    )
    assert (invoice.total, invoice.insurer_part, invoice.patient_part) == (D("4500.00"), D("0.00"), D("4500.00"))
    assert invoice.company_id is None


def test_an_uncovered_benefit_is_the_patients(world):
    invoice = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=world.insured.id,
        lines=_lines(("DENT-X", 1, None)),
    )
    assert (invoice.insurer_part, invoice.patient_part) == (D("0.00"), D("800.00"))


def test_tax_is_added_per_line_and_the_total_is_the_sum_of_the_lines(world):
    services.update_settings(
        actor=world.clerk, institution_id=world.hospital.id, values=services.SettingsInput("HA", tax_percent="16")
    )
    invoice = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=world.self_pay.id,
        lines=_lines(("CONSULT", 1, "10.05"), ("CONSULT", 3, "0.35")),
    )
    lines = services.lines_of(invoice.id)
    # 10.05 x 16% = 1.608 -> 1.61; 1.05 x 16% = 0.168 -> 0.17
    assert [(li.net, li.tax, li.amount) for li in lines] == [
        (D("10.05"), D("1.61"), D("11.66")),
        (D("1.05"), D("0.17"), D("1.22")),
    ]
    assert invoice.total == D("12.88") == sum(li.amount for li in lines)


def test_an_insured_patients_taxed_invoice_splits_the_taxed_amounts(world):
    services.update_settings(
        actor=world.clerk, institution_id=world.hospital.id, values=services.SettingsInput("HA", tax_percent="16")
    )
    invoice = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=world.insured.id,
        lines=_lines(("CONSULT", 1, None)),
    )
    services.issue_invoice(actor=world.clerk, invoice_id=invoice.id)
    # 2500.00 + 16% = 2900.00. The estimate is the engine's: 2500.00 allowed less the 10% copay, 2250.00; the
    # patient owes the rest of the total, 650.00 (the copay and the tax).
    assert (invoice.total, invoice.insurer_part, invoice.patient_part) == (D("2900.00"), D("2250.00"), D("650.00"))
    assert invoice.split_basis == "estimate"


def test_a_line_without_a_price_or_tariff_is_refused_naming_the_line(world):
    before = _count(Invoice)
    with pytest.raises(Invalid) as caught:
        services.create_invoice(
            actor=world.clerk,
            institution_id=world.hospital.id,
            patient_id=world.self_pay.id,
            lines=_lines(("CONSULT", 1, None), ("NOPE", 1, None)),
        )
    # an unknown code is named as such, not answered with "enter a price"
    assert "lines.1.service_code" in caught.value.errors
    assert "NOPE is not a service on the price list" in caught.value.errors["lines.1.service_code"][0]
    assert _count(Invoice) == before


def test_editing_lines_updates_the_totals(world):
    invoice = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=world.self_pay.id,
        lines=_lines(("CONSULT", 1, None)),
    )
    services.add_line(actor=world.clerk, invoice_id=invoice.id, line=services.LineInput("LAB-FBC", 2))
    assert invoice.total == D("4900.00")
    services.update_line(actor=world.clerk, invoice_id=invoice.id, line_no=2, quantity=1, unit_price="999.99")
    assert invoice.total == D("3499.99")
    services.remove_line(actor=world.clerk, invoice_id=invoice.id, line_no=1)
    assert invoice.total == D("999.99")
    with pytest.raises(Invalid):
        services.update_line(actor=world.clerk, invoice_id=invoice.id, line_no=2, quantity=0)


# --- issuing -------------------------------------------------------------------------------------


def _issued(world, patient=None, lines=(("CONSULT", 1, None),)):
    invoice = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=(patient or world.insured).id,
        lines=_lines(*lines),
    )
    return services.issue_invoice(actor=world.clerk, invoice_id=invoice.id)


def test_issuing_numbers_invoices_in_sequence_per_institution(world):
    numbers = [_issued(world).number for _ in range(3)]
    assert numbers == ["INV-HA-000001", "INV-HA-000002", "INV-HA-000003"]
    other = services.create_invoice(
        actor=world.other_clerk,
        institution_id=world.other_hospital.id,
        patient_id=world.other_patient.id,
        lines=_lines(("CONSULT", 1, None)),
    )
    assert services.issue_invoice(actor=world.other_clerk, invoice_id=other.id).number == "INV-HB-000001"


def _events(name: str) -> list[dict]:
    return [
        e.payload
        for e in db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == name).order_by(OutboxEvent.id))
    ]


def test_an_issued_invoice_opens_a_receivable_per_payer_and_announces_itself(world):
    invoice = _issued(world)
    rows = db.session.scalars(select(AccountReceivable).where(AccountReceivable.invoice_id == invoice.id)).all()
    assert sorted((r.payer.value, r.amount, r.company_id) for r in rows) == [
        ("insurer", D("2250.00"), world.company.id),
        ("patient", D("250.00"), None),
    ]
    assert invoice.due_on == clock.today() + timedelta(days=30)
    event = _events("invoice.issued")[-1]
    assert event["number"] == "INV-HA-000001"
    assert event["recipients"][0]["email"] == "wanjiru@example.com"


def test_issued_invoices_do_not_change(world):
    invoice = _issued(world)
    with pytest.raises(Conflict):
        services.add_line(actor=world.clerk, invoice_id=invoice.id, line=services.LineInput("CONSULT"))
    with pytest.raises(Conflict):
        services.issue_invoice(actor=world.clerk, invoice_id=invoice.id)


def test_an_empty_draft_cannot_be_issued(world):
    invoice = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=world.self_pay.id,
        lines=_lines(("CONSULT", 1, None)),
    )
    services.remove_line(actor=world.clerk, invoice_id=invoice.id, line_no=1)
    with pytest.raises(Conflict):
        services.issue_invoice(actor=world.clerk, invoice_id=invoice.id)


# --- void, credit notes, payments ----------------------------------------------------------------


def test_voiding_keeps_the_invoice_with_its_reason_and_returns_the_items(world):
    services.record_charge(1, _charge(world, source="order:5", code="CONSULT"))
    invoice = services.draft_from_items(actor=world.clerk, patient_id=world.insured.id)
    services.issue_invoice(actor=world.clerk, invoice_id=invoice.id)
    services.void_invoice(actor=world.clerk, invoice_id=invoice.id, reason="Wrong patient")
    assert invoice.status.value == "void" and invoice.void_reason == "Wrong patient"
    assert invoice.number == "INV-HA-000001"
    assert len(services.unbilled_items(tenant_of(world.clerk), world.insured.id)) == 1
    assert db.session.scalar(select(func.count()).where(AccountReceivable.invoice_id == invoice.id)) == 0
    with pytest.raises(Invalid):
        services.void_invoice(actor=world.clerk, invoice_id=_issued(world).id, reason="  ")


def _pay(invoice, amount, payer="patient", payment_id=1):
    services.record_payment_event(
        100 + payment_id,
        {"payment_id": payment_id, "kind": "invoice", "invoice_id": invoice.id, "payer": payer, "amount": amount},
    )


def test_payments_move_the_balance_and_the_status_once_per_payment(world):
    invoice = _issued(world)
    _pay(invoice, "250.00", "patient", 1)
    _pay(invoice, "250.00", "patient", 1)  # the same event again
    assert (invoice.paid, invoice.balance, invoice.status.value) == (D("250.00"), D("2250.00"), "partially_paid")
    _pay(invoice, "2250.00", "insurer", 2)
    assert (invoice.balance, invoice.status.value) == (D("0.00"), "paid")
    services.record_refund_event(9, {"refund_id": 1, "invoice_id": invoice.id, "payer": "patient", "amount": "50.00"})
    assert (invoice.refunded, invoice.balance, invoice.status.value) == (D("50.00"), D("50.00"), "partially_paid")
    with pytest.raises(Conflict):
        services.void_invoice(actor=world.clerk, invoice_id=invoice.id, reason="oops")


def test_a_credit_note_is_numbered_apart_and_reduces_what_the_payer_owes(world):
    invoice = _issued(world)
    note = services.issue_credit_note(
        actor=world.clerk, invoice_id=invoice.id, amount="2250.00", reason="Insurer declined", payer="insurer"
    )
    assert note.number == "INV-HA-CN-000001" and note.total == D("2250.00")
    assert (invoice.credited, invoice.balance) == (D("2250.00"), D("250.00"))
    with pytest.raises(Invalid):
        services.issue_credit_note(actor=world.clerk, invoice_id=invoice.id, amount="250.01", reason="x")


# --- tenants -------------------------------------------------------------------------------------


def test_another_hospitals_clerk_cannot_see_or_change_an_invoice(world):
    invoice = _issued(world)
    with pytest.raises(NotFound):
        services.get_invoice(tenant_of(world.other_clerk), invoice.id)
    with pytest.raises(NotFound):
        services.void_invoice(actor=world.other_clerk, invoice_id=invoice.id, reason="x")
    assert db.session.scalars(services.invoices_query(tenant_of(world.other_clerk))).all() == []


def test_the_insurer_sees_the_invoices_it_pays_and_only_its_part_in_receivables(world):
    _issued(world)
    _issued(world, patient=world.self_pay)
    officer = make_user(Role.FINANCE_OFFICER, company_id=world.company.id)
    stranger = make_user(Role.FINANCE_OFFICER, company_id=world.other_company.id)
    assert len(db.session.scalars(services.invoices_query(tenant_of(officer))).all()) == 1
    assert db.session.scalars(services.invoices_query(tenant_of(stranger))).all() == []
    report = receivables.aging(tenant_of(officer), clock.today())
    assert [(r.payer, r.total) for r in report.rows] == [("insurer", D("2250.00"))]


# --- receivables ---------------------------------------------------------------------------------


def test_aging_puts_balances_in_buckets_by_days_since_issue(world):
    ages = {0: "CONSULT", 31: "CONSULT", 61: "LAB-FBC", 95: "CONSULT", 121: "CONSULT"}
    today = clock.today()
    for days in ages:
        with clock.travel(-timedelta(days=days)):
            _issued(world, patient=world.self_pay, lines=((ages[days], 1, None),))
    report = receivables.aging(tenant_of(world.clerk), today)
    (row,) = report.rows
    assert row.payer == "patient"
    assert row.buckets == {
        "current": D("2500.00"),
        "d30": D("2500.00"),
        "d60": D("1200.00"),
        "d90": D("2500.00"),
        "d120": D("2500.00"),
    }
    assert report.total == D("11200.00")
    drill = db.session.execute(
        receivables.receivables_query(tenant_of(world.clerk), today, payer="patient", bucket="d60")
    ).all()
    assert [inv.total for _ar, inv in drill] == [D("1200.00")]


def test_the_insurer_sees_an_invoice_only_once_it_is_issued(world):
    officer = make_user(Role.FINANCE_OFFICER, company_id=world.company.id)
    draft = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=world.insured.id,
        lines=_lines(("CONSULT", 1, None)),
    )
    assert draft.company_id == world.company.id
    with pytest.raises(NotFound):
        services.get_invoice(tenant_of(officer), draft.id)
    assert db.session.scalars(services.invoices_query(tenant_of(officer))).all() == []
    services.issue_invoice(actor=world.clerk, invoice_id=draft.id)
    assert services.get_invoice(tenant_of(officer), draft.id).number == "INV-HA-000001"
