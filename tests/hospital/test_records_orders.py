"""Medical records (the clinical access rule, audited reads, ICD-10 validation), hostile and good attachments
(nothing half-written), and pharmacy, lab and radiology orders (stock never below zero, one charge.created
per fulfilment)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, select, update

from blueprints.core.models import AuditLog
from blueprints.hospital.models import ClinicalOrder, OrderStatus, PharmacyStock, RecordAttachment
from blueprints.hospital.services import orders, records
from medcover import clock
from medcover.errors import Conflict, Forbidden, Invalid, NotFound
from medcover.events import OutboxEvent
from medcover.extensions import db
from medcover.rbac import Role, tenant_of
from tests.factories import make_institution, make_patient, make_personnel, make_user

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40


@pytest.fixture
def world():
    """Hospital A with a clinician, a pharmacist, a receptionist and a billing clerk; hospital B with a
    clinician; a patient at A."""
    a, b = make_institution("RA", "Records Hospital A"), make_institution("RB", "Records Hospital B")
    doc_user = make_user(Role.RECEPTIONIST, institution_id=a.id)
    pharm_user = make_user(Role.RECEPTIONIST, institution_id=a.id)
    doc_b_user = make_user(Role.RECEPTIONIST, institution_id=b.id)
    return {
        "A": a,
        "B": b,
        "doc": doc_user,
        "doc_personnel": make_personnel(a, user=doc_user),
        "pharmacist": pharm_user,
        "pharm_personnel": make_personnel(a, kind="pharmacist", user=pharm_user, department="Pharmacy"),
        "doc_B": doc_b_user,
        "doc_B_personnel": make_personnel(b, user=doc_b_user),
        "desk": make_user(Role.RECEPTIONIST, institution_id=a.id),
        "billing": make_user(Role.BILLING_CLERK, institution_id=a.id),
        "admin_A": make_user(Role.ADMIN, institution_id=a.id),
        "patient": make_patient(a),
    }


@pytest.fixture
def uploads(app, tmp_path):
    """UPLOAD_DIR in a temporary folder for the test, restored afterwards."""
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = previous


def new_record(world, actor=None, **overrides):
    values = {
        "patient_id": world["patient"].id,
        "encounter_date": clock.today(),
        "diagnoses": ["J06.9"],
        "procedures": ["Throat examination"],
        "notes": "Sore throat for three days.",
    } | overrides
    return records.create_record(actor=actor or world["doc"], **values)


def read_audits(entity_id, *, lists: bool = False) -> list[AuditLog]:
    """Read entries on a record (or, with ``lists``, on a patient's list of records: a patient id)."""
    listing = AuditLog.summary.like("medical records list%")
    return list(
        db.session.scalars(
            select(AuditLog)
            .where(
                AuditLog.action == "read",
                AuditLog.entity_type == "medical_record",
                AuditLog.entity_id == str(entity_id),
                listing if lists else ~listing,
            )
            .order_by(AuditLog.id)
        )
    )


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def attachment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RecordAttachment))


# --- access rule ---------------------------------------------------------------------------------


def test_clinician_of_the_institution_writes_and_reads_records(world):
    record = new_record(world)
    assert record.personnel_id == world["doc_personnel"].id
    assert records.get_record(actor=world["doc"], record_id=record.id).id == record.id
    assert [r.id for r in records.records_for_patient(actor=world["doc"], patient_id=world["patient"].id)] == [
        record.id
    ]


def test_admin_of_the_institution_and_platform_admin_read_records(world):
    record = new_record(world)
    assert records.get_record(actor=world["admin_A"], record_id=record.id).id == record.id
    assert records.get_record(actor=make_user(Role.ADMIN), record_id=record.id).id == record.id


@pytest.mark.parametrize("who", ["desk", "billing"])
def test_non_clinical_hospital_staff_are_forbidden(world, who):
    record = new_record(world)
    with pytest.raises(Forbidden):
        records.get_record(actor=world[who], record_id=record.id)
    with pytest.raises(Forbidden):
        records.records_for_patient(actor=world[who], patient_id=world["patient"].id)
    with pytest.raises(Forbidden):
        new_record(world, actor=world[who])
    assert read_audits(record.id) == []


@pytest.mark.parametrize(
    "make_actor",
    [
        lambda w: make_user(Role.ADJUDICATOR),
        lambda w: make_user(Role.FINANCE_OFFICER),
        lambda w: make_user(Role.AUDITOR),
        lambda w: make_user(Role.AUDITOR, institution_id=w["A"].id),
        lambda w: make_user(Role.ADMIN, institution_id=w["B"].id),
        lambda w: make_user(Role.ADMIN, institution_id=None, company_id=1),
        lambda w: w["doc_B"],
    ],
    ids=["adjudicator", "finance", "auditor", "auditor_of_A", "admin_of_B", "insurer_admin", "clinician_of_B"],
)
def test_everyone_else_is_refused(world, make_actor):
    record = new_record(world)
    actor = make_actor(world)
    with pytest.raises((Forbidden, NotFound)):
        records.get_record(actor=actor, record_id=record.id)
    with pytest.raises((Forbidden, NotFound)):
        records.records_for_patient(actor=actor, patient_id=world["patient"].id)
    assert read_audits(record.id) == [] and read_audits(world["patient"].id, lists=True) == []


def test_clinician_of_another_institution_gets_not_found(world):
    record = new_record(world)
    with pytest.raises(NotFound):
        records.get_record(actor=world["doc_B"], record_id=record.id)


def test_inactive_clinician_is_forbidden(world):
    record = new_record(world)
    world["doc_personnel"].active = False
    db.session.flush()
    with pytest.raises(Forbidden):
        records.get_record(actor=world["doc"], record_id=record.id)


def test_every_read_is_audited_without_clinical_content(world, uploads):
    record = new_record(world, notes="Secret clinical note", diagnoses=["F32.1"])
    records.get_record(actor=world["doc"], record_id=record.id)
    records.get_record(actor=world["admin_A"], record_id=record.id)
    attachment = records.add_attachment(
        actor=world["doc"], record_id=record.id, filename="a.pdf", stream=io.BytesIO(PDF)
    )
    records.open_attachment(actor=world["doc"], attachment_id=attachment.id)
    records.records_for_patient(actor=world["doc"], patient_id=world["patient"].id)

    on_record = read_audits(record.id)
    assert [(e.actor_id, e.institution_id) for e in on_record] == [
        (world["doc"].id, world["A"].id),
        (world["admin_A"].id, world["A"].id),
        (world["doc"].id, world["A"].id),
    ]
    on_patient = read_audits(world["patient"].id, lists=True)
    assert len(on_patient) == 1 and on_patient[0].actor_id == world["doc"].id
    everything = list(db.session.scalars(select(AuditLog).where(AuditLog.entity_type.like("medical_record%"))))
    text = " ".join(f"{e.before} {e.after} {e.summary}" for e in everything)
    assert "Secret" not in text and "F32.1" not in text and world["patient"].last_name not in text


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "codes, stored",
    [
        (["J06.9"], ["J06.9"]),
        (["A09"], ["A09"]),
        (["S72.001A"], ["S72.001A"]),
        ([" j06.9 ", "r50.9"], ["J06.9", "R50.9"]),
        (["C4A.0"], ["C4A.0"]),
        (["J06.9", "J06.9"], ["J06.9"]),
    ],
)
def test_valid_icd10_codes_are_stored_normalised(world, codes, stored):
    assert new_record(world, diagnoses=codes).diagnoses == stored


@pytest.mark.parametrize(
    "codes, named",
    [
        (["U07.1"], "U07.1"),
        (["J06."], "J06."),
        (["J6.9"], "J6.9"),
        (["123"], "123"),
        (["J06.99999"], "J06.99999"),
        (["J06.9", "<script>"], "<SCRIPT>"),
        (["J06-9"], "J06-9"),
    ],
)
def test_invalid_icd10_codes_are_named(world, codes, named):
    with pytest.raises(Invalid) as err:
        new_record(world, diagnoses=codes)
    assert "diagnoses" in err.value.errors
    assert named in err.value.errors["diagnoses"][0]


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"diagnoses": []}, "diagnoses"),
        ({"diagnoses": "J06.9"}, "diagnoses"),
        ({"diagnoses": [f"A0{i % 10}.{i}" for i in range(21)]}, "diagnoses"),
        ({"notes": "x" * 20_001}, "notes"),
        ({"notes": "bad\x00byte"}, "notes"),
        ({"procedures": ["p"] * 21}, "procedures"),
        ({"procedures": ["p" * 201]}, "procedures"),
        ({"encounter_date": clock.today() + timedelta(days=1)}, "encounter_date"),
        ({"encounter_date": "2024-01-01"}, "encounter_date"),
    ],
)
def test_bad_record_input_is_refused_and_nothing_written(world, overrides, field):
    with pytest.raises(Invalid) as err:
        new_record(world, **overrides)
    assert field in err.value.errors
    assert records.records_for_patient(actor=world["doc"], patient_id=world["patient"].id) == []


def test_limits_themselves_are_accepted(world):
    record = new_record(world, notes="x" * 20_000, procedures=["p" * 200] * 20)
    assert len(record.notes) == 20_000 and len(record.procedures) == 20


# --- attachments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, filename, content_type",
    [(PDF, "lab report.pdf", "application/pdf"), (PNG, "x-ray.png", "image/png"), (JPEG, "wound.jpg", "image/jpeg")],
)
def test_good_files_are_stored_outside_static_under_a_generated_name(world, uploads, content, filename, content_type):
    record = new_record(world)
    row = records.add_attachment(
        actor=world["doc"], record_id=record.id, filename=filename, stream=io.BytesIO(content), declared_type="x/y"
    )
    assert row.content_type == content_type and row.filename == filename and row.size_bytes == len(content)
    assert len(row.stored_name) == 32 and int(row.stored_name, 16) >= 0
    path, opened = records.open_attachment(actor=world["doc"], attachment_id=row.id)
    assert opened.id == row.id
    assert path == uploads / "attachments" / row.stored_name
    assert path.read_bytes() == content
    assert "static" not in path.parts
    import hashlib

    assert row.sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(
    "content, filename, declared, message",
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "invoice.pdf", "application/pdf", "Only PDF, PNG or JPEG"),
        (b"<html><script>alert(1)</script></html>", "scan.pdf", "application/pdf", "Only PDF, PNG or JPEG"),
        (b"GIF89a" + b"\x00" * 20, "pic.png", "image/png", "Only PDF, PNG or JPEG"),
        (b"", "empty.pdf", "application/pdf", "The file is empty"),
        (b"%PDF-" + b"0" * (5 * 1024 * 1024), "big.pdf", "application/pdf", "The file is larger than 5 MB"),
    ],
    ids=["exe_renamed_pdf", "html", "gif", "empty", "too_large"],
)
def test_hostile_or_bad_files_are_refused_and_nothing_half_written(
    world, uploads, content, filename, declared, message
):
    record = new_record(world)
    with pytest.raises(Invalid) as err:
        records.add_attachment(
            actor=world["doc"],
            record_id=record.id,
            filename=filename,
            stream=io.BytesIO(content),
            declared_type=declared,
        )
    assert message in err.value.detail and "file" in err.value.errors
    assert attachment_count() == 0
    assert files_in(uploads) == []


def test_exactly_the_size_limit_is_accepted(world, uploads):
    record = new_record(world)
    content = b"%PDF-" + b"0" * (5 * 1024 * 1024 - 5)
    row = records.add_attachment(actor=world["doc"], record_id=record.id, filename="a.pdf", stream=io.BytesIO(content))
    assert row.size_bytes == 5 * 1024 * 1024


def test_the_size_limit_comes_from_config(app, world, uploads):
    record = new_record(world)
    app.config["ATTACHMENT_MAX_BYTES"] = 100
    try:
        with pytest.raises(Invalid):
            records.add_attachment(
                actor=world["doc"], record_id=record.id, filename="a.pdf", stream=io.BytesIO(PDF + b"0" * 100)
            )
    finally:
        app.config["ATTACHMENT_MAX_BYTES"] = 5 * 1024 * 1024
    assert files_in(uploads) == []


@pytest.mark.parametrize(
    "given, shown",
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\report.pdf", "report.pdf"),
        ("/absolute/path/scan.pdf", "scan.pdf"),
        ("..", "attachment"),
        ("", "attachment"),
        (None, "attachment"),
        ("new\r\nline\x00.pdf", "newline.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("a" * 200 + ".pdf", "a" * 116 + ".pdf"),
    ],
)
def test_a_path_in_the_filename_never_reaches_the_disk(world, uploads, given, shown):
    record = new_record(world)
    row = records.add_attachment(actor=world["doc"], record_id=record.id, filename=given, stream=io.BytesIO(PDF))
    assert row.filename == shown
    assert len(row.filename) <= 120
    assert [p.name for p in files_in(uploads)] == [row.stored_name]
    assert not (uploads.parent / "etc").exists()


def test_html_in_a_filename_is_kept_as_text_and_escaped_on_display(world, uploads):
    record = new_record(world)
    name = '<img src=x onerror="alert(1)">.pdf'
    row = records.add_attachment(actor=world["doc"], record_id=record.id, filename=name, stream=io.BytesIO(PDF))
    assert row.filename == name
    assert "<img" not in str(escape(row.filename))
    assert row.stored_name != name and "<" not in row.stored_name


def test_a_failed_database_write_removes_the_stored_file(world, uploads, monkeypatch):
    record = new_record(world)

    def broken_audit(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(records.core, "record_audit", broken_audit)
    with pytest.raises(RuntimeError):
        records.add_attachment(actor=world["doc"], record_id=record.id, filename="a.pdf", stream=io.BytesIO(PDF))
    assert files_in(uploads) == []


@pytest.mark.parametrize("who", ["desk", "billing", "doc_B"])
def test_attachments_are_served_only_to_clinical_staff(world, uploads, who):
    record = new_record(world)
    row = records.add_attachment(actor=world["doc"], record_id=record.id, filename="a.pdf", stream=io.BytesIO(PDF))
    with pytest.raises((Forbidden, NotFound)):
        records.open_attachment(actor=world[who], attachment_id=row.id)
    with pytest.raises((Forbidden, NotFound)):
        records.add_attachment(actor=world[who], record_id=record.id, filename="b.pdf", stream=io.BytesIO(PDF))
    assert read_audits(record.id) == []
    assert attachment_count() == 1


# --- orders --------------------------------------------------------------------------------------


@pytest.fixture
def record(world):
    return new_record(world)


def stock(world, code="PARA500", quantity=10):
    return orders.receive_stock(
        actor=world["pharmacist"],
        institution_id=world["A"].id,
        item_code=code,
        name="Paracetamol 500 mg",
        quantity=quantity,
        unit="tablet",
    )


def charges() -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.name == "charge.created")))


def stock_left(world, code="PARA500") -> int:
    return db.session.scalar(
        select(PharmacyStock.quantity).where(
            PharmacyStock.institution_id == world["A"].id, PharmacyStock.item_code == code
        )
    )


def test_receive_stock_creates_then_increases(world):
    first = stock(world, quantity=10)
    again = stock(world, quantity=5)
    assert first.id == again.id and stock_left(world) == 15
    query = orders.stock_query(tenant_of(world["doc"]))
    assert [s.item_code for s in db.session.scalars(query)] == ["PARA500"]
    assert list(db.session.scalars(orders.stock_query(tenant_of(world["doc_B"])))) == []


def test_reception_cannot_receive_stock_or_place_orders(world, record):
    with pytest.raises(Forbidden):
        orders.receive_stock(
            actor=world["desk"], institution_id=world["A"].id, item_code="X", name="X", quantity=1, unit="unit"
        )
    with pytest.raises(Forbidden):
        orders.place_order(
            actor=world["desk"], record_id=record.id, kind="pharmacy", service_code="PARA500", description="x"
        )
    with pytest.raises(NotFound):
        orders.place_order(
            actor=world["doc_B"], record_id=record.id, kind="pharmacy", service_code="PARA500", description="x"
        )


@pytest.mark.parametrize(
    "values, field",
    [
        ({"kind": "surgery"}, "kind"),
        ({"service_code": "bad code!"}, "service_code"),
        ({"service_code": ""}, "service_code"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 1001}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"description": ""}, "description"),
        ({"description": "d" * 201}, "description"),
    ],
)
def test_bad_orders_are_refused(world, record, values, field):
    args = {"kind": "pharmacy", "service_code": "PARA500", "description": "Paracetamol", "quantity": 1} | values
    with pytest.raises(Invalid) as err:
        orders.place_order(actor=world["doc"], record_id=record.id, **args)
    assert field in err.value.errors
    assert db.session.scalar(select(func.count()).select_from(ClinicalOrder)) == 0


def test_dispense_decreases_stock_and_publishes_one_charge(world, record):
    stock(world, quantity=10)
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="para500", description="Para", quantity=4
    )
    assert order.service_code == "PARA500"
    assert charges() == []
    orders.dispense(actor=world["pharmacist"], order_id=order.id)
    assert stock_left(world) == 6
    assert order.status is OrderStatus.DISPENSED and order.fulfilled_by_id == world["pharmacist"].id
    [event] = charges()
    assert event.payload == {
        "institution_id": world["A"].id,
        "patient_id": world["patient"].id,
        "service_code": "PARA500",
        "quantity": 4,
        "source": f"order:{order.id}",
        "occurred_on": clock.today().isoformat(),
        "order_id": order.id,
    }


def test_dispense_never_goes_below_zero(world, record):
    stock(world, quantity=3)
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="PARA500", description="P", quantity=4
    )
    with pytest.raises(Conflict) as err:
        orders.dispense(actor=world["pharmacist"], order_id=order.id)
    assert err.value.detail == "Not enough stock: 3 left"
    assert stock_left(world) == 3
    assert db.session.get(ClinicalOrder, order.id).status is OrderStatus.ORDERED
    assert charges() == []


def test_dispense_without_a_stock_item_is_a_conflict(world, record):
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="NOSUCH", description="P"
    )
    with pytest.raises(Conflict, match="Not enough stock: 0 left"):
        orders.dispense(actor=world["pharmacist"], order_id=order.id)
    assert charges() == []


def test_stock_of_another_institution_is_not_used(world, record):
    orders.receive_stock(
        actor=world["doc_B"], institution_id=world["B"].id, item_code="PARA500", name="P", quantity=50, unit="tab"
    )
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="PARA500", description="P"
    )
    with pytest.raises(Conflict):
        orders.dispense(actor=world["pharmacist"], order_id=order.id)


def test_a_second_dispense_is_a_conflict(world, record):
    stock(world, quantity=10)
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="PARA500", description="P", quantity=2
    )
    orders.dispense(actor=world["pharmacist"], order_id=order.id)
    with pytest.raises(Conflict):
        orders.dispense(actor=world["pharmacist"], order_id=order.id)
    assert stock_left(world) == 8
    assert len(charges()) == 1


def test_lab_results_are_stored_and_billed_once(world, record):
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="lab", service_code="LAB-HB", description="Hb"
    )
    result = {"values": {"HB": {"value": "13.2", "unit": "g/dL", "range": "12-16"}}}
    orders.enter_result(actor=world["doc"], order_id=order.id, result=result)
    stored = db.session.get(ClinicalOrder, order.id)
    assert stored.status is OrderStatus.RESULTED and stored.result == result
    with pytest.raises(Conflict):
        orders.enter_result(actor=world["doc"], order_id=order.id, result=result)
    [event] = charges()
    assert event.payload["source"] == f"order:{order.id}" and event.payload["service_code"] == "LAB-HB"


def test_a_measured_zero_is_a_lab_value(world, record):
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="lab", service_code="LAB-CRP", description="CRP"
    )
    orders.enter_result(actor=world["doc"], order_id=order.id, result={"values": {"CRP": {"value": 0, "unit": "mg/L"}}})
    assert db.session.get(ClinicalOrder, order.id).result["values"]["CRP"]["value"] == "0"


def test_radiology_report_is_stored(world, record):
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="radiology", service_code="RAD-CXR", description="Chest X-ray"
    )
    orders.enter_result(actor=world["doc"], order_id=order.id, result={"report": "No acute findings."})
    assert db.session.get(ClinicalOrder, order.id).result == {"report": "No acute findings."}
    assert len(charges()) == 1


@pytest.mark.parametrize(
    "kind, result",
    [
        ("lab", {}),
        ("lab", {"values": {}}),
        ("lab", {"values": {"HB": "13"}}),
        ("lab", {"values": {"HB": {"unit": "g/dL"}}}),
        ("lab", {"values": {"HB": {"value": "1" * 41}}}),
        ("lab", {"values": {"<b>": {"value": "1"}}}),
        ("lab", {"values": {f"T{i}": {"value": "1"} for i in range(101)}}),
        ("lab", {"report": "text"}),
        ("radiology", {"report": ""}),
        ("radiology", {"report": "r" * 20_001}),
        ("radiology", {"values": {}}),
        ("radiology", "just text"),
        ("lab", {"values": {"HB": {"value": "13.2", "unit": 5}}}),
        ("lab", {"values": {"HB": {"value": "13.2", "flag": ["H"]}}}),
        ("lab", {"values": {"HB": {"value": "13.2"}}, "comment": {"text": "x"}}),
    ],
)
def test_bad_results_are_refused_and_the_order_stays_open(world, record, kind, result):
    order = orders.place_order(actor=world["doc"], record_id=record.id, kind=kind, service_code="T1", description="t")
    with pytest.raises(Invalid):
        orders.enter_result(actor=world["doc"], order_id=order.id, result=result)
    assert db.session.get(ClinicalOrder, order.id).status is OrderStatus.ORDERED
    assert charges() == []


def test_pharmacy_orders_take_no_results_and_lab_orders_are_not_dispensed(world, record):
    pharmacy = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="P1", description="p"
    )
    lab = orders.place_order(actor=world["doc"], record_id=record.id, kind="lab", service_code="L1", description="l")
    with pytest.raises(Conflict):
        orders.enter_result(actor=world["doc"], order_id=pharmacy.id, result={"report": "x"})
    with pytest.raises(Conflict):
        orders.dispense(actor=world["pharmacist"], order_id=lab.id)


def test_cancelled_orders_cannot_be_fulfilled_and_queues_filter(world, record):
    stock(world)
    keep = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="PARA500", description="p"
    )
    drop = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="PARA500", description="p"
    )
    orders.cancel_order(actor=world["doc"], order_id=drop.id)
    with pytest.raises(Conflict):
        orders.dispense(actor=world["pharmacist"], order_id=drop.id)
    with pytest.raises(Conflict):
        orders.cancel_order(actor=world["doc"], order_id=drop.id)
    queue = orders.orders_query(tenant_of(world["pharmacist"]), "pharmacy", "ordered")
    assert [o.id for o in db.session.scalars(queue)] == [keep.id]
    assert list(db.session.scalars(orders.orders_query(tenant_of(world["doc_B"]), "pharmacy", ""))) == []
    assert charges() == []


def test_order_changes_are_audited(world, record):
    stock(world)
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="PARA500", description="p"
    )
    orders.dispense(actor=world["pharmacist"], order_id=order.id)
    entries = list(
        db.session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "clinical_order", AuditLog.entity_id == str(order.id))
            .order_by(AuditLog.id)
        )
    )
    assert [(e.action, e.after.get("status")) for e in entries] == [("create", None), ("update", "dispensed")]


def test_an_order_fulfilled_meanwhile_by_someone_else_is_a_conflict_and_stock_is_untouched(world, record):
    """The page loaded the order as "ordered"; another pharmacist dispensed it since (written behind this
    session's back). The guarded UPDATE refuses, and the stock taken inside the same savepoint goes back."""
    stock(world, quantity=10)
    order = orders.place_order(
        actor=world["doc"], record_id=record.id, kind="pharmacy", service_code="PARA500", description="p", quantity=2
    )
    db.session.execute(
        update(ClinicalOrder)
        .where(ClinicalOrder.id == order.id)
        .values(status=OrderStatus.DISPENSED)
        .execution_options(synchronize_session=False)
    )
    assert order.status is OrderStatus.ORDERED  # the stale copy
    with pytest.raises(Conflict):
        orders.dispense(actor=world["pharmacist"], order_id=order.id)
    assert stock_left(world) == 10
    assert charges() == []
