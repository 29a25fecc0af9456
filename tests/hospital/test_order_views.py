"""Order pages: the pharmacy, lab and radiology queues (full page and HTMX partial), dispensing that swaps the
row and never takes stock below zero, results entry, cancelling, pharmacy stock and deliveries, encounters and
orders from the patient page; the clinical rule (403/empty for reception and billing, 404 across hospitals),
bad input that re-renders with its messages and writes nothing, and a bounded number of queries."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from blueprints.hospital.models import ClinicalOrder, MedicalRecord, OrderStatus, PharmacyStock
from medcover import clock
from medcover.events import OutboxEvent
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import make_order, make_patient, make_personnel, make_record, make_stock, make_user

HX = {"HX-Request": "true"}


def html(response) -> str:
    return response.get_data(as_text=True)


def toast(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]


def fresh(row):
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def charges() -> list[OutboxEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == "charge.created")))


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def patient(hospital):
    return make_patient(hospital, first_name="Zawadi", last_name="Kariuki", patient_number="HA-000042")


@pytest.fixture
def record(patient):
    return make_record(patient)


@pytest.fixture
def pharmacist(login, hospital):
    """A signed-in user of hospital A on its clinical staff (a pharmacist)."""
    user = make_user(Role.RECEPTIONIST, institution_id=hospital.id)
    make_personnel(hospital, kind="pharmacist", department="Pharmacy", user=user)
    return login(user)


@pytest.fixture
def desk(login_as, hospital):
    """A receptionist of hospital A: not clinical staff."""
    return login_as(Role.RECEPTIONIST, institution_id=hospital.id)


# --- the queues ------------------------------------------------------------------------------------


def test_pharmacy_queue_lists_open_orders_with_patient_and_stock(client, pharmacist, hospital, record):
    make_stock(hospital, "AMOX-500", 12)
    open_order = make_order(record, "pharmacy", "AMOX-500", quantity=3)
    done = make_order(record, "pharmacy", "PCM-1G", status="dispensed")
    lab = make_order(record, "lab", "FBC")
    page = client.get("/hospital/pharmacy")
    text = html(page)
    assert page.status_code == 200 and "<html" in text and "HX-Request" in page.headers["Vary"]
    assert f'id="order-{open_order.id}"' in text and f'id="order-{done.id}"' not in text
    assert f'id="order-{lab.id}"' not in text
    assert "Zawadi Kariuki" in text and "HA-000042" in text
    assert ">12<" in text  # the stock on hand beside the order
    assert "Dispense" in text and 'href="/hospital/pharmacy"' in text  # the button and the nav


def test_the_status_filter_answers_the_rows_partial(client, pharmacist, record):
    open_order = make_order(record, "pharmacy")
    done = make_order(record, "pharmacy", status="dispensed")
    partial = client.get("/hospital/pharmacy?status=dispensed", headers=HX)
    text = html(partial)
    assert partial.status_code == 200 and "<html" not in text
    assert text.lstrip().startswith('<div id="order-queue"')
    assert f'id="order-{done.id}"' in text and f'id="order-{open_order.id}"' not in text
    every = html(client.get("/hospital/pharmacy?status=all", headers=HX))
    assert f'id="order-{done.id}"' in every and f'id="order-{open_order.id}"' in every


def test_lab_and_radiology_queues_show_their_own_orders(client, pharmacist, record):
    lab = make_order(record, "lab", "FBC")
    scan = make_order(record, "radiology", "XR-CHEST")
    lab_page, scan_page = html(client.get("/hospital/lab")), html(client.get("/hospital/radiology"))
    assert f'id="order-{lab.id}"' in lab_page and f'id="order-{scan.id}"' not in lab_page
    assert 'name="values-0-analyte"' in lab_page and 'name="comment"' in lab_page
    assert f'id="order-{scan.id}"' in scan_page and 'name="report"' in scan_page


def test_the_queue_pages_through_many_orders(client, pharmacist, record):
    made = [make_order(record, "pharmacy", f"ITEM-{n}") for n in range(3)]
    first = html(client.get("/hospital/pharmacy?per_page=2"))
    assert f'id="order-{made[0].id}"' in first and f'id="order-{made[2].id}"' not in first
    assert "1-2 of 3" in first
    second = html(client.get("/hospital/pharmacy?per_page=2&page=2"))
    assert f'id="order-{made[2].id}"' in second and f'id="order-{made[0].id}"' not in second


def test_the_queue_makes_the_same_number_of_queries_for_3_or_30_orders(client, pharmacist, hospital, count_queries):
    def queue_with(n: int) -> int:
        for _ in range(n):
            make_order(make_record(make_patient(hospital)), "pharmacy", "AMOX-500")
        with count_queries() as counter:
            assert client.get("/hospital/pharmacy?per_page=100").status_code == 200
        return counter.count

    client.get("/hospital/pharmacy")  # a warm process: it keeps the hospitals' names
    few = queue_with(3)
    many = queue_with(27)  # 30 in all
    assert many == few


# --- dispensing ------------------------------------------------------------------------------------


def test_dispense_swaps_the_row_takes_the_stock_and_bills_once(client, pharmacist, hospital, record):
    stock = make_stock(hospital, "AMOX-500", 10)
    order = make_order(record, "pharmacy", "AMOX-500", quantity=3)
    response = client.post(f"/hospital/orders/{order.id}/dispense", data={"next": "/hospital/pharmacy"}, headers=HX)
    text = html(response)
    assert response.status_code == 200 and text.lstrip().startswith(f'<tr id="order-{order.id}"')
    assert "Dispensed" in text and ">7<" in text and "Dispense</button>" not in text
    assert toast(response) == "Dispensed; stock updated."
    assert fresh(stock).quantity == 7 and fresh(order).status is OrderStatus.DISPENSED
    [event] = charges()
    assert event.payload["source"] == f"order:{order.id}" and event.payload["quantity"] == 3


def test_dispensing_more_than_in_stock_is_refused_in_the_row_and_changes_nothing(client, pharmacist, hospital, record):
    stock = make_stock(hospital, "AMOX-500", 2)
    order = make_order(record, "pharmacy", "AMOX-500", quantity=5)
    response = client.post(f"/hospital/orders/{order.id}/dispense", headers=HX)
    text = html(response)
    assert response.status_code == 422 and text.lstrip().startswith(f'<tr id="order-{order.id}"')
    assert "Not enough stock: 2 left" in text and 'role="alert"' in text
    assert "Dispense</button>" in text  # still open, the button still there
    assert toast(response) == "Not enough stock: 2 left"
    assert fresh(stock).quantity == 2 and fresh(order).status is OrderStatus.ORDERED
    assert charges() == []


def test_dispense_without_htmx_redirects_back_with_a_flash(client, pharmacist, hospital, record):
    make_stock(hospital, "AMOX-500", 1)
    order = make_order(record, "pharmacy", "AMOX-500", quantity=5)
    response = client.post(f"/hospital/orders/{order.id}/dispense", data={"next": "/hospital/pharmacy?status=all"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/hospital/pharmacy?status=all")
    assert "Not enough stock: 1 left" in html(client.get("/hospital/pharmacy?status=all"))
    evil = client.post(f"/hospital/orders/{order.id}/cancel", data={"next": "//evil.example"})
    assert evil.status_code == 303 and evil.headers["Location"].endswith("/hospital/pharmacy")
    assert fresh(order).status is OrderStatus.CANCELLED


def test_a_post_without_the_csrf_token_changes_nothing(client, pharmacist, hospital, record):
    stock = make_stock(hospital, "AMOX-500", 10)
    order = make_order(record, "pharmacy", "AMOX-500")
    response = client.post(f"/hospital/orders/{order.id}/dispense", headers=HX, csrf=False)
    assert response.status_code in (400, 422)
    assert fresh(stock).quantity == 10 and fresh(order).status is OrderStatus.ORDERED


# --- results and cancelling ------------------------------------------------------------------------


def test_lab_results_are_entered_line_by_line_and_shown_in_the_row(client, pharmacist, record):
    order = make_order(record, "lab", "FBC")
    form = {
        "values-0-analyte": "HB",
        "values-0-value": "13.2",
        "values-0-unit": "g/dL",
        "values-0-range": "12-16",
        "values-1-analyte": "WBC",
        "values-1-value": "6.1",
        "values-2-analyte": "",  # blank lines are skipped
        "comment": "Normal count.",
    }
    response = client.post(f"/hospital/orders/{order.id}/result", data=form, headers=HX)
    text = html(response)
    assert response.status_code == 200 and toast(response) == "Result saved."
    assert "Resulted" in text and "13.2" in text and "g/dL" in text and "Normal count." in text
    assert "Enter result" not in text
    stored = fresh(order)
    assert stored.status is OrderStatus.RESULTED
    assert stored.result == {
        "values": {
            "HB": {"value": "13.2", "unit": "g/dL", "range": "12-16"},
            "WBC": {"value": "6.1", "unit": "", "range": ""},
        },
        "comment": "Normal count.",
    }
    assert len(charges()) == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"values-0-analyte": "HB", "values-0-unit": "g/dL"}, "HB: the value is missing."),
        ({"values-0-value": "13.2"}, "Give each result line a test name."),
        ({"comment": "nothing measured"}, "Enter at least one test result."),
        ({"values-0-analyte": "HB", "values-0-value": "1", "values-1-analyte": "HB", "values-1-value": "2"}, "twice"),
        ({"values-0-analyte": "<b>HB</b>", "values-0-value": "1"}, "is not a test name"),
    ],
)
def test_bad_lab_results_come_back_in_the_row_with_what_was_typed(client, pharmacist, record, form, message):
    order = make_order(record, "lab", "FBC")
    response = client.post(f"/hospital/orders/{order.id}/result", data=form, headers=HX)
    text = html(response)
    assert response.status_code == 422 and message in toast(response)
    assert "<b>HB</b>" not in text  # typed text comes back escaped
    if form.get("values-0-value"):
        assert f'value="{form["values-0-value"]}"' in text  # nothing to type again
    assert fresh(order).status is OrderStatus.ORDERED and fresh(order).result is None
    assert charges() == []


def test_a_radiology_report_is_saved_and_an_empty_one_refused(client, pharmacist, record):
    order = make_order(record, "radiology", "XR-CHEST")
    empty = client.post(f"/hospital/orders/{order.id}/result", data={"report": "  "}, headers=HX)
    assert empty.status_code == 422 and fresh(order).status is OrderStatus.ORDERED
    response = client.post(
        f"/hospital/orders/{order.id}/result", data={"report": "No consolidation.\nHeart normal."}, headers=HX
    )
    assert response.status_code == 200 and "No consolidation." in html(response)
    assert fresh(order).result == {"report": "No consolidation.\nHeart normal."}


def test_cancel_swaps_the_row_and_a_second_cancel_is_refused_in_the_row(client, pharmacist, record):
    order = make_order(record, "lab", "FBC")
    response = client.post(f"/hospital/orders/{order.id}/cancel", headers=HX)
    assert response.status_code == 200 and "Cancelled" in html(response) and toast(response) == "Order cancelled."
    assert fresh(order).status is OrderStatus.CANCELLED
    again = client.post(f"/hospital/orders/{order.id}/cancel", headers=HX)
    assert again.status_code == 422 and "already cancelled" in toast(again)


# --- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.BILLING_CLERK])
def test_staff_without_clinical_access_see_no_orders_and_are_refused_every_action(
    client, login_as, hospital, record, role
):
    login_as(role, institution_id=hospital.id)
    stock = make_stock(hospital, "AMOX-500", 10)
    order = make_order(record, "pharmacy", "AMOX-500")
    lab = make_order(record, "lab", "FBC")
    page = client.get("/hospital/pharmacy")
    assert page.status_code == 200 and "open to the clinical staff" in html(page)
    assert "Zawadi" not in html(page) and f'id="order-{order.id}"' not in html(page)
    assert "AMOX-500" not in html(client.get("/hospital/pharmacy/stock"))
    assert client.post(f"/hospital/orders/{order.id}/dispense", headers=HX).status_code == 403
    assert client.post(f"/hospital/orders/{lab.id}/cancel", headers=HX).status_code == 403
    assert client.post(f"/hospital/orders/{lab.id}/result", data={"report": "x"}, headers=HX).status_code == 403
    delivery = {"item_code": "AMOX-500", "name": "Amoxicillin", "quantity": "5", "unit": "tab"}
    assert client.post("/hospital/pharmacy/stock", data=delivery).status_code == 403
    placed = {"kind": "lab", "service_code": "FBC", "description": "Full blood count", "quantity": "1"}
    assert client.post(f"/hospital/records/{record.id}/orders", data=placed).status_code == 403
    assert fresh(stock).quantity == 10 and fresh(order).status is OrderStatus.ORDERED
    assert fresh(lab).status is OrderStatus.ORDERED and count(ClinicalOrder) == 2


def test_another_hospitals_orders_are_not_found(client, pharmacist, other_hospital):
    theirs = make_order(make_record(make_patient(other_hospital, first_name="Elsewhere")), "pharmacy", "AMOX-500")
    make_stock(other_hospital, "AMOX-500", 10)
    assert "Elsewhere" not in html(client.get("/hospital/pharmacy"))
    for action in ("dispense", "cancel", "result"):
        assert client.post(f"/hospital/orders/{theirs.id}/{action}", headers=HX).status_code == 404
    assert fresh(theirs).status is OrderStatus.ORDERED


# --- stock -----------------------------------------------------------------------------------------


def test_stock_list_searches_by_code_prefix(client, pharmacist, hospital, other_hospital):
    make_stock(hospital, "AMOX-500", 10, name="Amoxicillin 500mg")
    make_stock(hospital, "PCM-1G", 4, name="Paracetamol 1g")
    make_stock(other_hospital, "AMOX-250", 3, name="Elsewhere amoxicillin")
    page = html(client.get("/hospital/pharmacy/stock"))
    assert "Amoxicillin 500mg" in page and "Paracetamol 1g" in page and "Elsewhere" not in page
    assert "Receive a delivery" in page
    partial = client.get("/hospital/pharmacy/stock?q=amo", headers=HX)
    text = html(partial)
    assert text.lstrip().startswith('<div id="stock-results"') and "Amoxicillin 500mg" in text
    assert "Paracetamol" not in text


def test_a_delivery_adds_to_the_stock_and_answers_303(client, pharmacist, hospital):
    make_stock(hospital, "AMOX-500", 10)
    delivery = {"item_code": "amox-500", "name": "Amoxicillin 500mg", "quantity": "20", "unit": "tab"}
    response = client.post("/hospital/pharmacy/stock", data=delivery)
    assert response.status_code == 303 and "/hospital/pharmacy/stock?q=AMOX-500" in response.headers["Location"]
    db.session.expire_all()
    row = db.session.scalar(select(PharmacyStock).where(PharmacyStock.item_code == "AMOX-500"))
    assert row.quantity == 30
    assert "30 in stock" in html(client.get(response.headers["Location"]))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"quantity": "0"}, "quantity", "Number must be between"),
        ({"quantity": "lots"}, "quantity", "as a whole number"),
        ({"item_code": "bad code!"}, "item_code", "Use 1 to 30 letters"),
        ({"name": ""}, "name", "Enter the name"),
    ],
)
def test_a_bad_delivery_shows_field_errors_and_writes_nothing(client, pharmacist, changes, field, message):
    delivery = {"item_code": "AMOX-500", "name": "Amoxicillin", "quantity": "5", "unit": "tab"} | changes
    response = client.post("/hospital/pharmacy/stock", data=delivery)
    text = html(response)
    assert response.status_code == 422 and f'id="{field}-errors"' in text and message in text
    assert count(PharmacyStock) == 0


# --- encounters and orders from the patient page ---------------------------------------------------


def test_clinical_staff_add_an_encounter_and_order_from_it(client, pharmacist, patient):
    page = html(client.get(f"/hospital/patients/{patient.id}"))
    assert "Add encounter" in page and 'name="diagnoses"' in page
    encounter = {
        "encounter_date": clock.today().isoformat(),
        "diagnoses": "j06.9, R50.9",
        "procedures": "Throat examination\nTemperature",
        "notes": "Three days of fever.",
    }
    response = client.post(f"/hospital/patients/{patient.id}/records", data=encounter)
    assert response.status_code == 303
    db.session.expire_all()
    record = db.session.scalar(select(MedicalRecord).where(MedicalRecord.patient_id == patient.id))
    assert record.diagnoses == ["J06.9", "R50.9"] and record.procedures == ["Throat examination", "Temperature"]
    assert response.headers["Location"].endswith(f"/hospital/patients/{patient.id}#record-{record.id}")

    order = {"kind": "lab", "service_code": "fbc", "description": "Full blood count", "quantity": "1"}
    placed = client.post(f"/hospital/records/{record.id}/orders", data=order)
    assert placed.status_code == 303 and placed.headers["Location"].endswith(f"#record-{record.id}")
    page = html(client.get(f"/hospital/patients/{patient.id}"))
    assert "<code>FBC</code> Full blood count" in page and "Ordered" in page
    assert f'id="record-{record.id}-orders"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"diagnoses": "flu"}, "FLU is not an ICD-10 code"),
        ({"diagnoses": ""}, "Enter the "),
        ({"encounter_date": "2999-01-01"}, "cannot be in the future"),
    ],
)
def test_a_bad_encounter_is_refused_with_field_errors_and_writes_nothing(client, pharmacist, patient, changes, message):
    encounter = {"encounter_date": clock.today().isoformat(), "diagnoses": "J06.9"} | changes
    response = client.post(f"/hospital/patients/{patient.id}/records", data=encounter)
    assert response.status_code == 422 and message in html(response)
    assert count(MedicalRecord) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"service_code": "no spaces allowed"}, "Use 1 to 30 letters"),
        ({"quantity": "0"}, "Number must be between 1 and 1000."),
        ({"description": ""}, "Enter the description"),
        ({"kind": "surgery"}, "from the list"),
    ],
)
def test_a_bad_order_is_shown_on_its_encounter_and_writes_nothing(client, pharmacist, record, changes, message):
    order = {"kind": "pharmacy", "service_code": "AMOX-500", "description": "Amoxicillin", "quantity": "1"} | changes
    response = client.post(f"/hospital/records/{record.id}/orders", data=order)
    text = html(response)
    assert response.status_code == 422 and message in text
    assert '<details class="order-new" open>' in text
    assert count(ClinicalOrder) == 0


def test_reception_sees_neither_the_encounter_form_nor_orders(client, desk, patient, record):
    make_order(record, "lab", "FBC")
    page = html(client.get(f"/hospital/patients/{patient.id}"))
    assert "Medical records are open to the clinical staff" in page
    assert "Add encounter" not in page and "FBC" not in page
    encounter = {"encounter_date": clock.today().isoformat(), "diagnoses": "J06.9"}
    assert client.post(f"/hospital/patients/{patient.id}/records", data=encounter).status_code == 403
    assert count(MedicalRecord) == 1
