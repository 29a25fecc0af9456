"""Medical records over the API: clinicians write and read their institution's records, other staff are
refused (403) and another hospital's clinicians find nothing (404); attachments are checked by content,
stored under a generated name and downloaded as attachments."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from blueprints.hospital.models import RecordAttachment
from blueprints.hospital.services import records
from medcover import clock
from medcover.api import PREFIX
from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.factories import make_institution, make_patient, make_personnel, make_user

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48


@pytest.fixture
def uploads(app, tmp_path):
    """UPLOAD_DIR in a temporary folder for the test, restored afterwards."""
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = previous


@pytest.fixture
def w(api_token):
    """Hospital A with a clinician (a user linked to clinical personnel) and a receptionist; hospital B with a
    clinician; a patient at A."""
    a, b = make_institution("RAPI", "Records API A"), make_institution("RBPI", "Records API B")
    doc = make_user(Role.RECEPTIONIST, institution_id=a.id)
    doc_b = make_user(Role.RECEPTIONIST, institution_id=b.id)
    return {
        "doc": api_token(doc),
        "doc_personnel": make_personnel(a, user=doc).id,
        "doc_B": api_token(doc_b),
        "doc_B_personnel": make_personnel(b, user=doc_b).id,
        "desk": api_token(make_user(Role.RECEPTIONIST, institution_id=a.id)),
        "patient": make_patient(a).id,
    }


def call(client, headers, method, path, **kwargs):
    return client.open(PREFIX + path, method=method, headers=headers, **kwargs)


def new_record(client, w, status=201, **fields):
    body = {
        "patient_id": w["patient"],
        "encounter_date": clock.today().isoformat(),
        "diagnoses": ["j06.9", "R50.9"],
        "procedures": ["Throat examination"],
        "notes": "Sore throat for three days.",
    } | fields
    response = call(client, w["doc"], "POST", "/medical-records", json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def upload(client, headers, record_id, data: bytes, filename: str):
    return call(
        client,
        headers,
        "POST",
        f"/medical-records/record/{record_id}/attachments",
        data={"file": (io.BytesIO(data), filename, "application/pdf")},
        content_type="multipart/form-data",
    )


def attachment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RecordAttachment))


def files_in(folder) -> list:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_clinician_creates_lists_and_reads_a_record(client, w):
    created = new_record(client, w)
    assert created == {
        "id": created["id"],
        "patient_id": w["patient"],
        "encounter_date": clock.today().isoformat(),
        "diagnoses": ["J06.9", "R50.9"],
        "procedures": ["Throat examination"],
        "notes": "Sore throat for three days.",
        "personnel_id": w["doc_personnel"],
        "appointment_id": None,
        "attachments": [],
    }
    listed = call(client, w["doc"], "GET", f"/medical-records/{w['patient']}")
    assert listed.status_code == 200
    assert listed.get_json() == {"items": [created]}
    one = call(client, w["doc"], "GET", f"/medical-records/record/{created['id']}")
    assert one.status_code == 200 and one.get_json() == created


def test_receptionist_is_refused_and_another_hospitals_clinician_finds_nothing(client, w):
    record = new_record(client, w)
    assert_problem(call(client, w["desk"], "GET", f"/medical-records/{w['patient']}"), 403)
    assert_problem(call(client, w["desk"], "GET", f"/medical-records/record/{record['id']}"), 403)
    body = {"patient_id": w["patient"], "encounter_date": clock.today().isoformat(), "diagnoses": ["A09"]}
    assert_problem(call(client, w["desk"], "POST", "/medical-records", json=body), 403)
    assert_problem(call(client, w["doc_B"], "GET", f"/medical-records/{w['patient']}"), 404)
    assert_problem(call(client, w["doc_B"], "GET", f"/medical-records/record/{record['id']}"), 404)


def test_bad_icd10_code_is_a_field_error(client, w):
    response = call(
        client,
        w["doc"],
        "POST",
        "/medical-records",
        json={"patient_id": w["patient"], "encounter_date": clock.today().isoformat(), "diagnoses": ["XYZ123"]},
    )
    assert "diagnoses" in assert_problem(response, 422)["errors"]
    missing = call(client, w["doc"], "POST", "/medical-records", json={"patient_id": w["patient"]})
    assert {"encounter_date", "diagnoses"} <= set(assert_problem(missing, 422)["errors"])


def test_upload_and_download_a_pdf(client, w, uploads):
    record = new_record(client, w)
    response = upload(client, w["doc"], record["id"], PDF, "scan.pdf")
    assert response.status_code == 201, response.get_data(as_text=True)
    attachment = response.get_json()
    assert attachment == {
        "id": attachment["id"],
        "filename": "scan.pdf",
        "content_type": "application/pdf",
        "size_bytes": len(PDF),
        "uploaded_at": attachment["uploaded_at"],
    }
    read = call(client, w["doc"], "GET", f"/medical-records/record/{record['id']}").get_json()
    assert read["attachments"] == [attachment]

    download = call(client, w["doc"], "GET", f"/medical-records/attachments/{attachment['id']}")
    assert download.status_code == 200
    assert download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "scan.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"


def test_an_exe_renamed_pdf_is_refused_and_nothing_is_stored(client, w, uploads):
    record = new_record(client, w)
    before = attachment_count()
    body = assert_problem(upload(client, w["doc"], record["id"], EXE, "report.pdf"), 422)
    assert "file" in body["errors"]
    assert attachment_count() == before
    assert files_in(uploads) == []


def test_a_missing_file_is_a_field_error(client, w, uploads):
    record = new_record(client, w)
    response = call(
        client,
        w["doc"],
        "POST",
        f"/medical-records/record/{record['id']}/attachments",
        data={"other": "x"},
        content_type="multipart/form-data",
    )
    assert "file" in assert_problem(response, 422)["errors"]
    assert files_in(uploads) == []


def test_a_path_in_the_filename_is_dropped(client, w, uploads):
    record = new_record(client, w)
    response = upload(client, w["doc"], record["id"], PDF, "../../etc/passwd.pdf")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["filename"] == "passwd.pdf"
    stored = files_in(uploads)
    assert len(stored) == 1 and stored[0].parent == uploads / "attachments"


def test_a_receptionist_cannot_upload_or_download(client, w, uploads):
    record = new_record(client, w)
    attachment = upload(client, w["doc"], record["id"], PDF, "scan.pdf").get_json()
    assert_problem(call(client, w["desk"], "GET", f"/medical-records/attachments/{attachment['id']}"), 403)
    assert_problem(upload(client, w["desk"], record["id"], PDF, "more.pdf"), 403)
    assert_problem(call(client, w["doc_B"], "GET", f"/medical-records/attachments/{attachment['id']}"), 404)
    assert attachment_count() == 1


# --- pages: the upload form on the patient page and the download route -----------------------------------


@pytest.fixture
def ward(login):
    """Hospital A with a clinician and a receptionist (users to sign in as), a patient and one record."""
    a = make_institution("RPG", "Records Pages A")
    doc = make_user(Role.RECEPTIONIST, institution_id=a.id)
    make_personnel(a, user=doc)
    patient = make_patient(a)
    record = records.create_record(
        actor=doc,
        patient_id=patient.id,
        encounter_date=clock.today(),
        diagnoses=["A09"],
        procedures=[],
        notes=None,
    )
    return {"doc": doc, "desk": make_user(Role.RECEPTIONIST, institution_id=a.id), "patient": patient, "record": record}


def test_patient_page_upload_form_and_download(client, login, ward, uploads):
    login(ward["doc"])
    page = client.get(f"/hospital/patients/{ward['patient'].id}").get_data(as_text=True)
    action = f"/hospital/records/{ward['record'].id}/attachments"
    assert f'action="{action}"' in page and 'enctype="multipart/form-data"' in page

    response = client.post(action, data={"file": (io.BytesIO(PDF), "../scan.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/hospital/patients/{ward['patient'].id}#record-{ward['record'].id}")
    row = db.session.scalars(select(RecordAttachment)).one()
    assert row.filename == "scan.pdf"
    page = client.get(f"/hospital/patients/{ward['patient'].id}").get_data(as_text=True)
    assert "scan.pdf attached." in page and f"/hospital/attachments/{row.id}" in page

    download = client.get(f"/hospital/attachments/{row.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"


def test_page_upload_refusals_are_flashed_and_store_nothing(client, login, ward, uploads):
    login(ward["doc"])
    action = f"/hospital/records/{ward['record'].id}/attachments"
    bad = client.post(action, data={"file": (io.BytesIO(EXE), "x.pdf")}, content_type="multipart/form-data")
    assert bad.status_code == 303
    page = client.get(f"/hospital/patients/{ward['patient'].id}").get_data(as_text=True)
    assert "The file was not attached: Only PDF, PNG or JPEG files can be attached." in page
    no_csrf = client.post(
        action, data={"file": (io.BytesIO(PDF), "x.pdf")}, content_type="multipart/form-data", csrf=False
    )
    assert no_csrf.status_code == 400, no_csrf.status_code
    assert attachment_count() == 0 and files_in(uploads) == []


def test_page_upload_and_download_refuse_a_receptionist(client, login, ward, uploads):
    row = records.add_attachment(
        actor=ward["doc"], record_id=ward["record"].id, filename="a.pdf", stream=io.BytesIO(PDF)
    )
    login(ward["desk"])
    assert client.get(f"/hospital/attachments/{row.id}").status_code == 403
    response = client.post(
        f"/hospital/records/{ward['record'].id}/attachments",
        data={"file": (io.BytesIO(PDF), "b.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert attachment_count() == 1
