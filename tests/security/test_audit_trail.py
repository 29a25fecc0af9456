"""Reads of a patient's demographics or record leave an audit entry (page, API, PDF, CSV) naming the patient by
number only; refused requests (403, and the 404 that hides another organisation's record) leave one too, with
who, the route, what was asked for and why. The audit log page says both in words."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from blueprints.core.models import AuditLog
from medcover.extensions import db
from medcover.rbac import Role
from tests.factories import make_institution, make_patient, make_record, make_user


def _entries(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def _no_phi(entry: AuditLog, *names: str) -> None:
    text = f"{entry.summary} {entry.after} {entry.before} {entry.route}"
    for name in names:
        assert name not in text, (name, text)


@pytest.fixture
def two_hospitals():
    here, there = make_institution(code="HA"), make_institution(code="HB")
    ours = make_patient(here, first_name="Wanjiru", last_name="Kamau")
    theirs = make_patient(there, first_name="Zawadi", last_name="Njeri")
    return here, there, ours, theirs


# --- reads -------------------------------------------------------------------------------------------


def test_opening_a_patient_page_leaves_one_read_entry_with_the_number_route_and_no_name(
    client, login_as, two_hospitals, count_queries
):
    here, _there, ours, _theirs = two_hospitals
    clerk = login_as(Role.RECEPTIONIST, institution_id=here.id)
    with count_queries() as counter:
        assert client.get(f"/hospital/patients/{ours.id}").status_code == 200
    [entry] = _entries("read")  # committed although the page only reads (the session is gone by now)
    assert entry.actor_id == clerk.id and entry.entity_type == "patient" and entry.entity_id == str(ours.id)
    assert ours.patient_number in entry.summary
    assert entry.route == f"GET /hospital/patients/{ours.id}" and entry.channel == "web"
    assert entry.institution_id == here.id
    _no_phi(entry, "Wanjiru", "Kamau")
    assert sum("INSERT INTO audit_logs" in s for s in counter.statements) == 1


def test_reading_a_patient_through_the_api_is_audited(client, api_token, two_hospitals):
    here, _there, ours, _theirs = two_hospitals
    headers = api_token(make_user(Role.RECEPTIONIST, institution_id=here.id))
    assert client.get(f"/api/v1/patients/{ours.id}", headers=headers).status_code == 200
    [entry] = _entries("read")
    assert entry.channel == "api" and entry.route == f"GET /api/v1/patients/{ours.id}"
    assert ours.patient_number in entry.summary
    _no_phi(entry, "Wanjiru", "Kamau")


def test_a_patient_list_from_the_api_is_one_entry_naming_every_patient_shown_by_number(client, api_token):
    here = make_institution(code="HA")
    shown = [make_patient(here) for _ in range(3)]
    headers = api_token(make_user(Role.RECEPTIONIST, institution_id=here.id))
    assert client.get("/api/v1/patients", headers=headers).status_code == 200
    [entry] = _entries("read")
    assert entry.after == {"patients": sorted(p.patient_number for p in shown)}
    assert "3 patients" in entry.summary


def test_a_patient_search_on_the_page_is_audited(client, login_as, two_hospitals):
    here, _there, ours, _theirs = two_hospitals
    login_as(Role.RECEPTIONIST, institution_id=here.id)
    assert client.get("/hospital/patients?q=wanj").status_code == 200
    [entry] = _entries("read")
    assert entry.after == {"patients": [ours.patient_number]}
    _no_phi(entry, "Wanjiru", "wanj")


def test_reading_medical_records_names_the_patient_by_number(client, api_token, two_hospitals):
    from tests.factories import make_personnel

    here, _there, ours, _theirs = two_hospitals
    make_record(ours)
    doctor = make_user(Role.RECEPTIONIST, institution_id=here.id)
    make_personnel(here, user=doctor)
    response = client.get(f"/api/v1/medical-records/{ours.id}", headers=api_token(doctor))
    assert response.status_code == 200, response.get_data(as_text=True)
    [entry] = _entries("read")
    assert entry.entity_type == "medical_record" and ours.patient_number in entry.summary


def test_the_receivables_csv_names_its_patients_by_number_in_its_export_entry(client, login_as):
    here = make_institution(code="HA")
    login_as(Role.BILLING_CLERK, institution_id=here.id)
    response = client.get("/billing/receivables/items.csv")
    assert response.status_code == 200
    [entry] = _entries("export")
    assert entry.route == "GET /billing/receivables/items.csv"


# --- refusals ----------------------------------------------------------------------------------------


def test_another_hospitals_patient_is_a_404_and_an_audited_refusal(client, login_as, two_hospitals):
    here, _there, _ours, theirs = two_hospitals
    clerk = login_as(Role.RECEPTIONIST, institution_id=here.id)
    assert client.get(f"/hospital/patients/{theirs.id}").status_code == 404
    [entry] = _entries("denied")
    assert entry.actor_id == clerk.id and entry.actor_label == clerk.email
    assert (entry.entity_type, entry.entity_id) == ("patient", str(theirs.id))
    assert entry.route == f"GET /hospital/patients/{theirs.id}"
    assert "another organisation" in entry.summary and entry.after == {"status": 404}
    assert entry.institution_id == here.id  # the clerk's own hospital audits its staff
    _no_phi(entry, "Zawadi", "Njeri", theirs.patient_number)


def test_a_patient_that_does_not_exist_is_a_plain_404_without_a_refusal(client, login_as, two_hospitals):
    here, *_ = two_hospitals
    login_as(Role.RECEPTIONIST, institution_id=here.id)
    assert client.get("/hospital/patients/999999").status_code == 404
    assert _entries("denied") == []


def test_another_tenants_patient_through_the_api_is_audited_too(client, api_token, two_hospitals):
    here, _there, _ours, theirs = two_hospitals
    headers = api_token(make_user(Role.RECEPTIONIST, institution_id=here.id))
    assert client.get(f"/api/v1/patients/{theirs.id}", headers=headers).status_code == 404
    [entry] = _entries("denied")
    assert entry.channel == "api" and entry.route == f"GET /api/v1/patients/{theirs.id}"
    assert _entries("read") == []


def test_a_role_refused_a_page_is_a_403_and_an_audited_refusal(client, login_as):
    clerk = login_as(Role.RECEPTIONIST, institution_id=make_institution().id)
    assert client.get("/admin/audit").status_code == 403
    [entry] = _entries("denied")
    assert entry.actor_id == clerk.id and entry.route == "GET /admin/audit"
    assert entry.summary == "not open to the role receptionist" and entry.after == {"status": 403}


def test_a_service_refusal_records_its_reason(client, api_token, two_hospitals):
    here, _there, ours, _theirs = two_hospitals
    desk = make_user(Role.RECEPTIONIST, institution_id=here.id)  # not clinical staff
    response = client.get(f"/api/v1/medical-records/{ours.id}", headers=api_token(desk))
    assert response.status_code == 403
    [entry] = _entries("denied")
    assert "clinical staff" in entry.summary and (entry.entity_type, entry.entity_id) == ("patient", str(ours.id))


def test_a_request_without_sign_in_is_not_a_refusal_entry(client, two_hospitals):
    _here, _there, ours, _theirs = two_hospitals
    assert client.get(f"/api/v1/patients/{ours.id}").status_code == 401
    assert _entries("denied") == []


# --- the audit log in words --------------------------------------------------------------------------


def test_the_audit_log_page_says_reads_and_refusals_in_words(client, login, two_hospitals):
    here, _there, ours, theirs = two_hospitals
    clerk = make_user(Role.RECEPTIONIST, institution_id=here.id)
    login(clerk)
    client.get(f"/hospital/patients/{ours.id}")
    client.get(f"/hospital/patients/{theirs.id}")
    client.post("/auth/logout")
    login(make_user(Role.ADMIN))
    page = client.get("/admin/audit").get_data(as_text=True)
    assert f"Read the patient page: patient {ours.patient_number}" in page
    assert f"<code>GET /hospital/patients/{ours.id}</code>" in page
    assert "Refused with 404: another organisation&#39;s record" in page
    assert f"Asked for patient {theirs.id} at <code>GET /hospital/patients/{theirs.id}</code>" in page
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/audit.csv").get_data(as_text=True))))
    assert {"Read", "Denied"} <= {row["Action"] for row in rows}
    assert any(row["Route"] == f"GET /hospital/patients/{theirs.id}" for row in rows)


def test_another_insurers_member_is_a_404_and_an_audited_refusal(client, api_token):
    from tests.factories import make_company, make_member

    ours, theirs = make_company(code="OUR"), make_company(code="THR")
    member = make_member(theirs, first_name="Zawadi", last_name="Njeri")
    adjudicator = make_user(Role.ADJUDICATOR, company_id=ours.id)
    response = client.get(f"/api/v1/members/{member.id}", headers=api_token(adjudicator))
    assert response.status_code == 404
    [entry] = _entries("denied")
    assert (entry.entity_type, entry.entity_id) == ("member", str(member.id))
    assert entry.company_id == ours.id and entry.route == f"GET /api/v1/members/{member.id}"
    _no_phi(entry, "Zawadi", "Njeri", member.member_number)


def test_reading_a_member_through_the_api_names_the_member_by_number(client, api_token):
    from tests.factories import make_company, make_member

    company = make_company(code="OUR")
    member = make_member(company, first_name="Wanjiru", last_name="Kamau")
    response = client.get(
        f"/api/v1/members/{member.id}", headers=api_token(make_user(Role.ADJUDICATOR, company_id=company.id))
    )
    assert response.status_code == 200
    [entry] = _entries("read")
    assert entry.summary == f"API member: member {member.member_number}" and entry.company_id == company.id
    _no_phi(entry, "Wanjiru", "Kamau")
