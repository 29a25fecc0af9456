"""Billing pages: the price list (search, history, a new price, CSV import with its preview), accounts
receivable (aging table, chart, drill-down, CSV exports) and billing settings, with their tenants and roles."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.billing import services
from blueprints.billing.models import BillingSettings, ServiceTariff
from blueprints.billing.services import tariffs
from medcover import clock
from medcover.extensions import db
from medcover.labels import day
from medcover.rbac import Role
from tests.factories import make_patient, make_user

D = Decimal
HTMX = {"HX-Request": "true"}
CSV = (
    "service_code,description,benefit_code,unit_price,effective_from\n"
    "CONSULT,GP consultation,OUTPATIENT,2750.00,2026-12-01\n"
    "LAB-FBC,Full blood count,LAB,1200.00,2020-01-01\n"
    "XRAY-CH,Chest X-ray,OUTPATIENT,1800,2026-12-01\n"
)
BAD_ROWS = "MRI,MRI head,NOPE,9000.00,2026-12-01\nCT,,OUTPATIENT,abc,2026-12-01\n"
PRICE = {
    "service_code": "xray-ch",
    "description": "Chest X-ray",
    "benefit_code": "OUTPATIENT",
    "unit_price": "1800.00",
    "effective_from": "2026-12-01",
}


def _count(model=ServiceTariff) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _text(response) -> str:
    return response.get_data(as_text=True)


def _upload(client, data: bytes | str, name: str = "prices.csv", mimetype: str = "text/csv", **fields):
    raw = data.encode() if isinstance(data, str) else data
    return client.post(
        "/billing/tariffs/import",
        data={"file": (io.BytesIO(raw), name, mimetype), **fields},
        content_type="multipart/form-data",
    )


def _digest(page: str) -> str:
    match = re.search(r'name="digest"[^>]*value="([0-9a-f]{64})"', page) or re.search(
        r'value="([0-9a-f]{64})"[^>]*name="digest"', page
    )
    assert match, "no confirm form on the page"
    return match.group(1)


def _issued(world, patient=None, code="CONSULT"):
    invoice = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=(patient or world.insured).id,
        lines=[services.LineInput(code, 1, None)],
    )
    return services.issue_invoice(actor=world.clerk, invoice_id=invoice.id)


def _issued_days_ago(world, days: int, patient=None, code="CONSULT"):
    with clock.travel(-timedelta(days=days)):
        return _issued(world, patient, code)


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_text(response))))


# --- the price list --------------------------------------------------------------------------------


def test_the_price_list_is_a_full_page_and_the_search_box_gets_only_the_rows(client, login, world):
    login(world.clerk)
    page = client.get("/billing/tariffs")
    assert page.status_code == 200 and "<html" in _text(page)
    assert "CONSULT" in _text(page) and "2,500.00" in _text(page) and 'id="tariff-add"' in _text(page)
    rows = client.get("/billing/tariffs?q=blood", headers=HTMX)
    assert rows.status_code == 200 and "HX-Request" in rows.headers["Vary"]
    body = _text(rows)
    assert body.lstrip().startswith('<div id="tariff-results">') and "<html" not in body
    assert "LAB-FBC" in body and "CONSULT" not in body


def test_the_list_shows_current_prices_and_history_shows_every_row_with_its_dates(client, login, world):
    tariffs.set_price(
        actor=world.clerk,
        institution_id=world.hospital.id,
        values=tariffs.TariffInput("CONSULT", "GP consultation", "OUTPATIENT", "2600.00", clock.today()),
    )
    db.session.commit()
    login(world.clerk)
    current = _text(client.get("/billing/tariffs?q=CONSULT", headers=HTMX))
    assert "2,600.00" in current and "2,500.00" not in current
    history = _text(client.get("/billing/tariffs?q=CONSULT&history=1", headers=HTMX))
    assert "2,600.00" in history and "2,500.00" in history
    assert f"1 Jan 2020 – {day(clock.today() - timedelta(days=1))}" in history
    page = _text(client.get("/billing/tariffs/CONSULT"))
    assert "Price history of CONSULT" in page and "2,500.00" in page and "current" in page


def test_the_list_is_paginated(client, login, world):
    login(world.clerk)
    first = _text(client.get("/billing/tariffs?per_page=2"))
    assert re.search(r"1-2 of [34]<", first)  # the world's prices, two to a page
    second = _text(client.get("/billing/tariffs?per_page=2&page=2", headers=HTMX))
    assert "DENT-X" not in second and "LAB-FBC" in second


def test_a_clerk_sets_a_price_with_the_form_and_sees_it(client, login, world):
    login(world.clerk)
    response = client.post("/billing/tariffs", data=PRICE)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/billing/tariffs/XRAY-CH")
    page = _text(client.get(response.headers["Location"]))
    assert "XRAY-CH costs 1,800.00 from 2026-12-01." in page and "1,800.00" in page
    price = tariffs.tariff_price(world.hospital.id, "XRAY-CH", date(2026, 12, 1))
    assert price.unit_price == D("1800.00")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("unit_price", "abc", "Enter an amount such as 1250.00."),
        ("unit_price", "-5", "Amounts cannot be negative."),
        ("benefit_code", "NOPE", "NOPE is not a benefit in the catalogue."),
        ("effective_from", "2026-13-01", "Enter a date as YYYY-MM-DD."),
        ("service_code", "X RAY", "Use 1 to 30 letters"),
        ("description", "", "Enter the description"),
    ],
)
def test_a_bad_price_is_sent_back_with_the_fields_message_and_writes_nothing(
    client, login, world, field, value, message
):
    login(world.clerk)
    before = _count()
    response = client.post("/billing/tariffs", data={**PRICE, field: value})
    assert response.status_code == 422
    page = _text(response)
    assert message in page and 'id="tariff-add"' in page and 'aria-invalid="true"' in page
    assert _count() == before


def test_a_second_price_on_the_same_day_is_a_conflict_shown_on_the_date(client, login, world):
    login(world.clerk)
    before = _count()
    response = client.post(
        "/billing/tariffs", data={**PRICE, "service_code": "CONSULT", "effective_from": "2020-01-01"}
    )
    assert response.status_code == 409
    assert "A price starting that day exists; choose another day." in _text(response)
    assert _count() == before


def test_a_platform_admin_chooses_the_hospital_for_a_new_price(client, login, world):
    login(make_user(Role.ADMIN))
    missing = client.post("/billing/tariffs", data=PRICE)
    assert missing.status_code == 422 and "Choose a hospital." in _text(missing)
    response = client.post("/billing/tariffs", data={**PRICE, "institution_id": world.other_hospital.id})
    assert response.status_code == 303
    assert tariffs.tariff_price(world.other_hospital.id, "XRAY-CH", date(2026, 12, 1)) is not None
    assert tariffs.tariff_price(world.hospital.id, "XRAY-CH", date(2026, 12, 1)) is None


# --- CSV import --------------------------------------------------------------------------------------


def test_the_import_preview_shows_each_rows_action_and_changes_nothing(client, login, world):
    login(world.clerk)
    before = _count()
    response = _upload(client, CSV)
    assert response.status_code == 200
    page = _text(response)
    assert re.search(r'id="line-2" class="action-change".*?2,500\.00.*?2,750\.00', page, re.S)
    assert 'id="line-3" class="action-same"' in page
    assert 'id="line-4" class="action-new"' in page
    assert "1 new · 1 changed · 1 unchanged · 0 with errors" in page
    assert 'id="confirm-import"' in page
    assert _count() == before


def test_confirming_imports_the_previewed_file_and_says_what_changed(client, login, world):
    login(world.clerk)
    digest = _digest(_text(_upload(client, CSV)))
    response = client.post("/billing/tariffs/import/confirm", data={"digest": digest})
    assert response.status_code == 303 and response.headers["Location"].endswith("/billing/tariffs")
    assert "Price list imported: 1 new, 1 changed, 1 unchanged." in _text(client.get("/billing/tariffs"))
    assert tariffs.tariff_price(world.hospital.id, "CONSULT", date(2026, 12, 1)).unit_price == D("2750.00")
    assert tariffs.tariff_price(world.hospital.id, "XRAY-CH", date(2026, 12, 1)).unit_price == D("1800.00")
    # The same confirmation twice imports nothing more: the kept file is gone.
    after = _count()
    again = client.post("/billing/tariffs/import/confirm", data={"digest": digest})
    assert again.status_code == 303 and again.headers["Location"].endswith("/billing/tariffs/import")
    assert _count() == after


def test_a_file_with_an_error_row_shows_the_messages_and_cannot_be_confirmed(client, login, world):
    login(world.clerk)
    before = _count()
    response = _upload(client, CSV + BAD_ROWS)
    assert response.status_code == 422
    page = _text(response)
    assert 'id="line-5" class="action-error"' in page and "NOPE is not a benefit in the catalogue." in page
    assert 'id="line-6" class="action-error"' in page and "description: This field is required." in page
    assert 'id="confirm-import"' not in page and "0 with errors" not in page
    forged = client.post("/billing/tariffs/import/confirm", data={"digest": "0" * 64})
    assert forged.status_code == 303
    assert "That preview has expired" in _text(client.get(forged.headers["Location"]))
    assert _count() == before


def test_a_good_preview_followed_by_a_bad_upload_cannot_be_confirmed(client, login, world):
    login(world.clerk)
    digest = _digest(_text(_upload(client, CSV)))
    assert _upload(client, CSV + BAD_ROWS).status_code == 422
    before = _count()
    client.post("/billing/tariffs/import/confirm", data={"digest": digest})
    assert _count() == before


@pytest.mark.parametrize(
    ("data", "name", "mimetype", "message"),
    [
        (CSV, "prices.pdf", "application/pdf", "Only .csv files (text/csv) are accepted."),
        (CSV, "prices.csv", "image/png", "Only .csv files (text/csv) are accepted."),
        (
            "service_code\n" + "A" * tariffs.MAX_IMPORT_BYTES,
            "prices.csv",
            "text/csv",
            f"The file is larger than {tariffs.MAX_IMPORT_BYTES // 1024} KB.",
        ),
        ("code,price\nX,1\n", "prices.csv", "text/csv", "missing: service_code"),
    ],
)
def test_an_upload_that_is_not_an_acceptable_csv_is_refused_with_a_message(
    client, login, world, data, name, mimetype, message
):
    login(world.clerk)
    before = _count()
    response = _upload(client, data, name, mimetype)
    assert response.status_code == 422
    assert message in _text(response) and 'id="confirm-import"' not in _text(response)
    assert _count() == before


def test_an_upload_without_a_file_asks_for_one(client, login, world):
    login(world.clerk)
    response = client.post("/billing/tariffs/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a CSV file." in _text(response)


# --- accounts receivable -----------------------------------------------------------------------------


@pytest.fixture
def aged(world):
    """Insured invoices (2,250.00 insurer + 250.00 patient each) issued today and 25 days ago, within the
    cover; self-pay ones (2,500.00) 45, 100 and 130 days ago."""
    invoices = {
        "insured_0": _issued_days_ago(world, 0),
        "insured_25": _issued_days_ago(world, 25),
        "self_45": _issued_days_ago(world, 45, world.self_pay),
        "self_100": _issued_days_ago(world, 100, world.self_pay),
        "self_130": _issued_days_ago(world, 130, world.self_pay),
    }
    db.session.commit()
    return invoices


def test_the_aging_page_shows_each_payers_buckets_a_totals_row_and_a_chart(client, login, world, aged):
    login(world.clerk)
    response = client.get("/billing/receivables")
    assert response.status_code == 200
    page = _text(response)
    patients = re.search(r'<tr id="aging-patient-0">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r">([\d,]+\.\d\d)<", patients) == [
        "500.00",
        "2,500.00",
        "0.00",
        "2,500.00",
        "2,500.00",
        "8,000.00",
    ]
    insurer = re.search(rf'<tr id="aging-insurer-{world.company.id}">(.*?)</tr>', page, re.S).group(1)
    assert "Acme Insurance" in insurer
    assert re.findall(r">([\d,]+\.\d\d)<", insurer) == ["4,500.00", "0.00", "0.00", "0.00", "0.00", "4,500.00"]
    totals = re.search(r'<tr id="aging-totals">(.*?)</tr>', page, re.S).group(1)
    assert ">12,500.00<" in totals
    # the chart names each payer in words with its total beside the bar, and tells the ages apart by pattern too
    assert re.search(r'title="Patients">Patients</span>.*?<span class="chart-value">8,000.00</span>', page, re.S)
    assert 'fill="url(#aging-chart-d120)"' in page and "Over 120 days</li>" in page
    partial = client.get("/billing/receivables", headers=HTMX)
    assert _text(partial).lstrip().startswith('<div id="receivable-aging">')


def test_the_aging_csv_has_the_bucket_amounts_and_is_an_attachment(client, login, world, aged):
    login(world.clerk)
    response = client.get("/billing/receivables.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = _csv_rows(response)
    assert rows[0][:7] == ["payer", "0-30 days", "31-60 days", "61-90 days", "91-120 days", "Over 120 days", "total"]
    by_payer = {row[0]: row[1:7] for row in rows[1:]}
    assert by_payer["Patients"] == ["500.00", "2500.00", "0.00", "2500.00", "2500.00", "8000.00"]
    assert by_payer["Acme Insurance"] == ["4500.00", "0.00", "0.00", "0.00", "0.00", "4500.00"]
    assert by_payer["Total"][-1] == "12500.00"


def test_an_earlier_as_of_date_ages_the_report_from_that_day(client, login, world, aged):
    login(world.clerk)
    as_of = clock.today() - timedelta(days=50)
    rows = _csv_rows(client.get(f"/billing/receivables.csv?as_of={as_of}"))
    by_payer = {row[0]: row[1:7] for row in rows[1:]}
    # 50 days ago only the invoices of 100 and 130 days ago existed, 50 and 80 days old.
    assert by_payer == {
        "Patients": ["0.00", "2500.00", "2500.00", "0.00", "0.00", "5000.00"],
        "Total": ["0.00", "2500.00", "2500.00", "0.00", "0.00", "5000.00"],
    }


def test_a_bad_as_of_date_is_a_field_error_not_a_crash(client, login, world, aged):
    login(world.clerk)
    response = client.get("/billing/receivables?as_of=2026-02-31")
    assert response.status_code == 422
    assert "as a date, like 2026-12-04" in _text(response) and 'id="aging-totals"' in _text(response)
    assert client.get("/billing/receivables/items?as_of=yesterday").status_code == 422


def test_the_drill_down_lists_the_invoices_behind_a_cell(client, login, world, aged):
    login(world.clerk)
    response = client.get("/billing/receivables/items?payer=patient&bucket=d30")
    assert response.status_code == 200
    page = _text(response)
    assert f'href="/billing/invoices/{aged["self_45"].id}">{aged["self_45"].number}</a>' in page
    assert "Baraka Mutua" in page and "2,500.00" in page
    assert aged["self_130"].number not in page and aged["insured_0"].number not in page
    insurer = _text(client.get(f"/billing/receivables/items?payer=insurer&company_id={world.company.id}", headers=HTMX))
    assert insurer.lstrip().startswith('<div id="receivable-items">')
    assert aged["insured_0"].number in insurer and aged["insured_25"].number in insurer
    assert aged["self_45"].number not in insurer


def test_the_drill_down_is_paginated_and_exports_csv_with_formula_cells_defused(client, login, world):
    sly = make_patient(world.hospital, first_name="=HYPERLINK(1)", last_name="Otieno")
    for days in (10, 20, 30):
        _issued_days_ago(world, days, sly)
    db.session.commit()
    login(world.clerk)
    page = _text(client.get("/billing/receivables/items?payer=patient&bucket=current&per_page=2"))
    assert "1-2 of 3" in page
    response = client.get("/billing/receivables/items.csv?payer=patient&bucket=current")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = _csv_rows(response)
    assert rows[0][:6] == ["invoice", "issued_on", "due_on", "age_days", "payer", "patient"]
    assert [row[5] for row in rows[1:]] == ["'=HYPERLINK(1) Otieno"] * 3
    assert [row[3] for row in rows[1:]] == ["30", "20", "10"]


def test_another_hospitals_clerk_sees_none_of_hospital_as_receivables_or_prices(client, login, world, aged):
    tariffs.set_price(
        actor=world.clerk,
        institution_id=world.hospital.id,
        values=tariffs.TariffInput("XRAY-CH", "Chest X-ray", "OUTPATIENT", "1500", date(2020, 1, 1)),
    )
    db.session.commit()
    login(world.other_clerk)
    assert "Nothing is owed." in _text(client.get("/billing/receivables"))
    assert [row[0] for row in _csv_rows(client.get("/billing/receivables.csv"))] == ["payer", "Total"]
    items = _text(client.get("/billing/receivables/items"))
    assert "No open receivables here." in items and aged["self_45"].number not in items
    assert "XRAY-CH" not in _text(client.get("/billing/tariffs?q=XRAY"))
    assert client.get("/billing/tariffs/XRAY-CH").status_code == 404
    before = _count()
    response = client.post("/billing/tariffs", data={**PRICE, "institution_id": world.hospital.id})
    assert response.status_code == 303  # the hidden choice is ignored: hospital staff price their own
    assert tariffs.tariff_price(world.hospital.id, "XRAY-CH", date(2026, 12, 1)).unit_price == D("1500.00")
    assert tariffs.tariff_price(world.other_hospital.id, "XRAY-CH", date(2026, 12, 1)).unit_price == D("1800.00")
    assert _count() == before + 1


def test_insurer_staff_see_only_their_part_of_receivables_and_no_price_list(client, login, world, aged):
    officer = make_user(Role.FINANCE_OFFICER, company_id=world.company.id)
    login(officer)
    rows = _csv_rows(client.get("/billing/receivables.csv"))
    assert [row[0] for row in rows] == ["payer", "Acme Insurance", "Total"]
    assert "Baraka Mutua" not in _text(client.get("/billing/receivables/items"))
    page = _text(client.get("/billing/tariffs"))
    assert "No prices yet." in page and 'id="tariff-add"' not in page
    before = _count()
    assert client.post("/billing/tariffs", data={**PRICE, "institution_id": world.hospital.id}).status_code == 404
    assert _upload(client, CSV, institution_id=world.hospital.id).status_code == 404
    assert _count() == before


# --- billing settings --------------------------------------------------------------------------------

SETTINGS = {
    "invoice_prefix": "hosa",
    "currency": "kes",
    "tax_percent": "16",
    "payment_terms_days": "14",
    "bank_name": "Equity Bank",
    "bank_account": "0123456789",
    "bank_branch": "Upper Hill",
    "payment_instructions": "Paybill 247247, account = your invoice number.",
}


def test_a_clerk_saves_the_billing_settings(client, login, world):
    login(world.clerk)
    page = client.get("/billing/settings")
    assert page.status_code == 200 and 'value="INV-HA"' in _text(page)
    response = client.post("/billing/settings", data=SETTINGS)
    assert response.status_code == 303
    assert "Billing settings of Hospital A saved." in _text(client.get(response.headers["Location"]))
    row = db.session.get(BillingSettings, world.hospital.id)
    assert (row.invoice_prefix, row.currency, row.tax_percent, row.payment_terms_days) == ("HOSA", "KES", D("16"), 14)
    assert row.bank_name == "Equity Bank"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tax_percent", "150", "Use a percentage from 0 to 100."),
        ("invoice_prefix", "KN H", "Use 1 to 12 letters, digits or hyphens"),
        ("invoice_prefix", "KNH-", "Use 1 to 12 letters, digits or hyphens"),
        ("currency", "K1", "Use a three-letter currency code such as KES."),
        ("payment_terms_days", "999", "Enter a number from 0 to 365."),
        ("payment_terms_days", "", "Enter the "),
    ],
)
def test_bad_settings_are_refused_with_the_fields_message(client, login, world, field, value, message):
    login(world.clerk)
    response = client.post("/billing/settings", data={**SETTINGS, field: value})
    assert response.status_code == 422
    assert message in _text(response)
    assert db.session.get(BillingSettings, world.hospital.id) is None


def test_a_platform_admin_picks_the_hospital_whose_settings_to_change(client, login, world):
    login(make_user(Role.ADMIN))
    picker = _text(client.get("/billing/settings"))
    assert "Hospital A" in picker and "Hospital B" in picker
    response = client.post(f"/billing/settings?institution_id={world.other_hospital.id}", data=SETTINGS)
    assert response.status_code == 303
    assert db.session.get(BillingSettings, world.other_hospital.id).invoice_prefix == "HOSA"


def test_a_clerk_cannot_reach_another_hospitals_settings(client, login, world):
    login(world.clerk)
    client.post(f"/billing/settings?institution_id={world.other_hospital.id}", data=SETTINGS)
    assert db.session.get(BillingSettings, world.other_hospital.id) is None


# --- roles -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/billing/tariffs"),
        ("get", "/billing/tariffs/CONSULT"),
        ("post", "/billing/tariffs"),
        ("get", "/billing/tariffs/import"),
        ("post", "/billing/tariffs/import"),
        ("post", "/billing/tariffs/import/confirm"),
        ("get", "/billing/receivables"),
        ("get", "/billing/receivables.csv"),
        ("get", "/billing/receivables/items"),
        ("get", "/billing/receivables/items.csv"),
        ("get", "/billing/settings"),
        ("post", "/billing/settings"),
    ],
)
def test_a_receptionist_gets_403_everywhere(client, login, world, method, url):
    login(make_user(Role.RECEPTIONIST, institution_id=world.hospital.id))
    assert getattr(client, method)(url).status_code == 403


def test_an_auditor_reads_but_does_not_write(client, login, world):
    login(make_user(Role.AUDITOR))
    assert client.get("/billing/tariffs").status_code == 200
    assert client.get("/billing/receivables").status_code == 200
    assert client.post("/billing/tariffs", data=PRICE).status_code == 403
    assert client.get("/billing/settings").status_code == 403
