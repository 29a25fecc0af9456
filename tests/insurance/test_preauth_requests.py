"""Hospitals ask for pre-authorisations and the member's insurer decides them: a hospital sees the requests
it made and nobody else's, an insurer sees its members' requests whoever asked, and only the insurer
decides, on the pages and over the API alike."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from blueprints.insurance import services
from blueprints.insurance.models import Preauthorization, PreauthStatus
from medcover.api import PREFIX
from medcover.errors import Forbidden
from medcover.extensions import db
from medcover.rbac import Role, tenant_of
from tests.factories import PASSWORD, make_institution, make_user

HX = {"HX-Request": "true"}
REQUEST = {"member_number": "ACM-7", "benefit_code": "MRI", "valid_from": "2026-03-01", "valid_to": "2026-03-31"}


def preauths() -> list[Preauthorization]:
    db.session.expire_all()
    return list(db.session.scalars(select(Preauthorization).order_by(Preauthorization.id)))


@pytest.fixture
def acme(ins):
    return ins.company(code="ACME", name="Acme Insurance")


@pytest.fixture
def beta(ins):
    return ins.company(code="BETA", name="Beta Assurance")


@pytest.fixture
def member(ins, acme):
    ins.benefit(code="MRI", name="MRI scan")
    return ins.member(acme, number="ACM-7")


@pytest.fixture
def hospitals():
    return make_institution(code="KNH", name="Kenyatta Hospital"), make_institution(code="AGK", name="Aga Khan")


@pytest.fixture
def browser(new_client):
    """``browser(role, **tenant)`` -> (a client signed in as a new user of that role, the user)."""

    def open_as(role, **tenant):
        user = make_user(role, **tenant)
        db.session.commit()
        client = new_client()
        signed_in = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert signed_in.status_code == 303, signed_in.get_data(as_text=True)[:300]
        return client, user

    return open_as


@pytest.fixture
def bearer(api_token):
    """``bearer(role, **tenant)`` -> API headers for a new user of that role."""

    def headers_for(role, **tenant):
        user = make_user(role, **tenant)
        db.session.commit()
        return api_token(user)

    return headers_for


@pytest.fixture
def requested(browser, member, hospitals):
    """A receptionist of the first hospital asked, on the page, for an MRI for Acme's member ACM-7."""
    client, _user = browser(Role.RECEPTIONIST, institution_id=hospitals[0].id)
    assert client.post("/insurance/preauthorizations", data=REQUEST).status_code == 303
    (row,) = preauths()
    return row


# --- the hospital asks ---------------------------------------------------------------------------


def test_receptionist_requests_on_the_page_and_follows_the_request(browser, member, hospitals):
    client, receptionist = browser(Role.RECEPTIONIST, institution_id=hospitals[0].id)
    page = client.get("/insurance/preauthorizations")
    assert page.status_code == 200 and "Request a pre-authorisation" in page.get_data(as_text=True)

    assert client.post("/insurance/preauthorizations", data=REQUEST | {"notes": "Headaches"}).status_code == 303

    (row,) = preauths()
    assert (row.status, row.company_id, row.requested_by_institution_id, row.requested_by_id, row.decided_by_id) == (
        PreauthStatus.REQUESTED,
        member.company_id,
        hospitals[0].id,
        receptionist.id,
        None,
    )
    html = client.get("/insurance/preauthorizations").get_data(as_text=True)
    assert row.code in html and "ACM-7" in html and "requested" in html
    # they follow their request, but neither decide it nor open the insurer's member record
    assert "/decision" not in html and "/insurance/members/" not in html
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "preauthorization"))
    assert (entry.action, entry.actor_id, entry.institution_id, entry.company_id) == (
        "create",
        receptionist.id,
        hospitals[0].id,
        member.company_id,
    )


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.BILLING_CLERK, Role.ADMIN])
def test_hospital_roles_see_the_nav_entry_and_the_request_form(browser, hospitals, role):
    client, _user = browser(role, institution_id=hospitals[0].id)
    html = client.get("/insurance/preauthorizations").get_data(as_text=True)
    assert ">Pre-authorisations<" in html and 'action="/insurance/preauthorizations"' in html


def test_the_insurer_sees_which_hospital_asked(browser, requested, acme):
    client, _user = browser(Role.ADJUDICATOR, company_id=acme.id)
    html = client.get("/insurance/preauthorizations").get_data(as_text=True)
    assert requested.code in html and "Kenyatta Hospital" in html and "/decision" in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"valid_to": "2026-02-01"}, "valid_to", "The end comes before the start."),
        ({"member_number": "NOPE-1"}, "member_number", "No member with that number."),
        ({"benefit_code": "NOPE"}, "benefit_code", "No benefit with that code."),
        ({"valid_from": "01/03/2026"}, "valid_from", "as a date, like 2026-12-04"),
        ({"member_number": ""}, "member_number", "Enter the member number"),
    ],
)
def test_bad_hospital_request_rerenders_with_the_field_error_and_writes_nothing(
    browser, member, hospitals, changes, field, message
):
    client, _user = browser(Role.RECEPTIONIST, institution_id=hospitals[0].id)
    response = client.post("/insurance/preauthorizations", data=REQUEST | changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html and f'<ul class="errors" id="{field}-errors">' in html
    assert preauths() == []
    assert (
        db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.entity_type == "preauthorization"))
        == 0
    )


def test_a_hospital_asks_the_insurer_of_any_member(browser, ins, beta, member, hospitals):
    ins.member(beta, number="BET-1")
    client, _user = browser(Role.BILLING_CLERK, institution_id=hospitals[0].id)
    assert client.post("/insurance/preauthorizations", data=REQUEST | {"member_number": "bet-1"}).status_code == 303
    (row,) = preauths()
    assert (row.company_id, row.requested_by_institution_id) == (beta.id, hospitals[0].id)


def test_a_hospital_cannot_approve_while_asking(member, hospitals):
    receptionist = make_user(Role.RECEPTIONIST, institution_id=hospitals[0].id)
    with pytest.raises(Forbidden):
        services.request_preauthorization(
            actor=receptionist,
            member_number="ACM-7",
            benefit_code="MRI",
            valid_from=date(2026, 3, 1),
            valid_to=date(2026, 3, 31),
            approve=True,
        )
    assert preauths() == []


# --- who sees it ---------------------------------------------------------------------------------


def test_the_other_hospital_does_not_see_it(browser, bearer, client, requested, hospitals):
    other, _user = browser(Role.RECEPTIONIST, institution_id=hospitals[1].id)
    html = other.get("/insurance/preauthorizations").get_data(as_text=True)
    assert requested.code not in html and "No pre-authorisations yet." in html

    headers = bearer(Role.RECEPTIONIST, institution_id=hospitals[1].id)
    assert client.get(f"{PREFIX}/preauthorizations", headers=headers).get_json()["total"] == 0
    assert client.get(f"{PREFIX}/preauthorizations/{requested.id}", headers=headers).status_code == 404

    mine = bearer(Role.BILLING_CLERK, institution_id=hospitals[0].id)
    listed = client.get(f"{PREFIX}/preauthorizations", headers=mine).get_json()
    assert [(p["code"], p["status"]) for p in listed["items"]] == [(requested.code, "requested")]
    assert client.get(f"{PREFIX}/preauthorizations/{requested.id}", headers=mine).get_json()["code"] == requested.code


def test_another_insurer_does_not_see_it(browser, bearer, client, requested, beta):
    outsider, _user = browser(Role.ADJUDICATOR, company_id=beta.id)
    assert requested.code not in outsider.get("/insurance/preauthorizations").get_data(as_text=True)
    decided = outsider.post(f"/insurance/preauthorizations/{requested.id}/decision", data={"decision": "approve"})
    assert decided.status_code == 404

    headers = bearer(Role.ADJUDICATOR, company_id=beta.id)
    assert client.get(f"{PREFIX}/preauthorizations", headers=headers).get_json()["total"] == 0
    assert client.get(f"{PREFIX}/preauthorizations/{requested.id}", headers=headers).status_code == 404
    assert preauths()[0].status is PreauthStatus.REQUESTED


def test_the_tenant_scoping_holds_in_the_services(requested, hospitals, acme, beta):
    def codes(**tenant):
        user = make_user(Role.ADMIN, **tenant)
        return [row.code for row in db.session.scalars(services.preauthorizations_query(tenant_of(user)))]

    assert codes(institution_id=hospitals[0].id) == [requested.code]
    assert codes(institution_id=hospitals[1].id) == []
    assert codes(company_id=acme.id) == [requested.code]
    assert codes(company_id=beta.id) == []
    assert codes(institution_id=None, company_id=None) == [requested.code]


# --- the insurer decides -------------------------------------------------------------------------


def test_the_members_insurer_approves_it_and_the_hospital_sees_the_outcome(browser, requested, acme, hospitals):
    adjudicator, user = browser(Role.ADJUDICATOR, company_id=acme.id)
    decided = adjudicator.post(
        f"/insurance/preauthorizations/{requested.id}/decision", data={"decision": "approve"}, headers=HX
    )
    assert decided.status_code == 200
    assert decided.get_data(as_text=True).lstrip().startswith(f'<tr id="preauth-{requested.id}"')
    (row,) = preauths()
    assert (row.status, row.decided_by_id) == (PreauthStatus.APPROVED, user.id)

    hospital, _user = browser(Role.RECEPTIONIST, institution_id=hospitals[0].id)
    html = hospital.get("/insurance/preauthorizations?status=approved").get_data(as_text=True)
    assert requested.code in html and "approved" in html


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.BILLING_CLERK, Role.ADMIN])
def test_a_hospital_cannot_decide_on_the_page(browser, requested, hospitals, role):
    client, _user = browser(role, institution_id=hospitals[0].id)
    decided = client.post(f"/insurance/preauthorizations/{requested.id}/decision", data={"decision": "approve"})
    assert decided.status_code == 403
    assert preauths()[0].status is PreauthStatus.REQUESTED


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN, Role.INTEGRATION])
def test_a_hospital_cannot_decide_over_the_api(bearer, client, requested, hospitals, role):
    headers = bearer(role, institution_id=hospitals[0].id)
    for verb in ("approve", "decline"):
        response = client.post(f"{PREFIX}/preauthorizations/{requested.id}/{verb}", headers=headers, json={})
        assert response.status_code == 403
    assert preauths()[0].status is PreauthStatus.REQUESTED


# --- the API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.BILLING_CLERK, Role.ADMIN, Role.INTEGRATION])
def test_hospital_callers_of_the_api_get_a_request(bearer, client, member, hospitals, role):
    headers = bearer(role, institution_id=hospitals[0].id)
    response = client.post(f"{PREFIX}/preauthorizations", headers=headers, json=REQUEST)
    assert response.status_code == 201, response.get_data(as_text=True)
    made = response.get_json()
    assert (made["status"], made["company_id"], made["member_number"]) == ("requested", member.company_id, "ACM-7")
    (row,) = preauths()
    assert (row.requested_by_institution_id, row.status) == (hospitals[0].id, PreauthStatus.REQUESTED)


def test_insurer_callers_of_the_api_still_record_it_approved(bearer, client, member, acme):
    headers = bearer(Role.ADJUDICATOR, company_id=acme.id)
    made = client.post(f"{PREFIX}/preauthorizations", headers=headers, json=REQUEST).get_json()
    assert made["status"] == "approved"
    (row,) = preauths()
    assert row.requested_by_institution_id is None and row.requested_by_id is not None
