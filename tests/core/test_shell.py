"""The staff shell: the global search by patient, member, claim and invoice number (each tenant finds its own,
one match opens it, several are listed, none says so and keeps what was typed), the identity bar, and the
sign-in page greeting a first visit without a prompt."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from medcover import clock
from medcover.rbac import Role
from tests.core.conftest import RequestScopedClient
from tests.factories import (
    PASSWORD,
    add_benefit,
    make_benefit,
    make_category,
    make_company,
    make_coverage,
    make_institution,
    make_member,
    make_patient,
    make_scheme,
    make_tariff,
    make_user,
)

_SEARCH_BOX = re.compile(r'<input id="global-search"[^>]*value="([^"]*)"')


@dataclass(frozen=True)
class World:
    hospital: object
    other_hospital: object
    company: object
    other_company: object
    patient: object
    other_patient: object
    member: object
    other_member: object
    invoice: object
    other_invoice: object
    claim: object
    draft_claim: object
    clerk: object
    other_clerk: object
    adjudicator: object
    other_adjudicator: object


@pytest.fixture
def world(db_session) -> World:
    """Two hospitals and two insurers, each with a patient, a member, an issued invoice; a submitted claim and
    a draft one at the first hospital for the first insurer's member."""
    today = clock.today()
    hospital, other_hospital = make_institution(code="HA", name="Hospital A"), make_institution(code="HB")
    company, other_company = make_company(code="ACME", name="Acme Insurance"), make_company(code="ZEN")
    outpatient = make_benefit(code="OUTPATIENT", name="Outpatient", category=make_category(code="MED"))
    schemes = []
    for insurer in (company, other_company):
        scheme = make_scheme(insurer, code=f"GOLD-{insurer.code}", name="Gold")
        add_benefit(scheme, outpatient)
        schemes.append(scheme)
    member = make_member(company, member_number="ACM-001", first_name="Wanjiru", last_name="Kamau")
    other_member = make_member(other_company, member_number="ZEN-001", first_name="Otieno", last_name="Ochieng")
    for someone, scheme in ((member, schemes[0]), (other_member, schemes[1])):
        make_coverage(someone, scheme, today - timedelta(days=30), today + timedelta(days=300))
    for institution in (hospital, other_hospital):
        make_tariff(institution, "CONSULT", "2500.00", benefit_code="OUTPATIENT", description="GP consultation")
    patient = make_patient(hospital, first_name="Wanjiru", last_name="Kamau", member_number="ACM-001")
    other_patient = make_patient(other_hospital, first_name="Otieno", last_name="Ochieng", member_number="ZEN-001")
    clerk = make_user(Role.BILLING_CLERK, institution_id=hospital.id)
    other_clerk = make_user(Role.BILLING_CLERK, institution_id=other_hospital.id)

    def issued(actor, institution, someone):
        draft = billing.create_invoice(
            actor=actor,
            institution_id=institution.id,
            patient_id=someone.id,
            lines=[billing.LineInput("CONSULT", 1)],
        )
        return billing.issue_invoice(actor=actor, invoice_id=draft.id)

    def claim(submit: bool):
        values = claims.ClaimInput(
            member_number="ACM-001",
            institution_id=hospital.id,
            service_date=today - timedelta(days=1),
            items=[claims.ItemInput("CONSULT", 1, "2500.00")],
        )
        made = claims.create_claim(actor=clerk, values=values)
        return claims.submit_claim(actor=clerk, claim_id=made.id) if submit else made

    return World(
        hospital,
        other_hospital,
        company,
        other_company,
        patient,
        other_patient,
        member,
        other_member,
        issued(clerk, hospital, patient),
        issued(other_clerk, other_hospital, other_patient),
        claim(submit=True),
        claim(submit=False),
        clerk,
        other_clerk,
        make_user(Role.ADJUDICATOR, company_id=company.id),
        make_user(Role.ADJUDICATOR, company_id=other_company.id),
    )


def search(client, text: str):
    return client.get("/search", query_string={"q": text})


def box(response) -> str:
    """What the identity bar's search box holds, as the browser reads it."""
    found = _SEARCH_BOX.search(response.get_data(as_text=True))
    assert found, "no search box"
    return html.unescape(found.group(1))


def nothing_found(response, text: str) -> bool:
    shown = html.unescape(re.sub(r"<[^>]+>", "", response.get_data(as_text=True)))  # the words on the page
    return response.status_code == 200 and f"Nothing you can open has the number {text}." in shown


@pytest.fixture
def as_user(app):
    """``as_user(user)`` -> a browser of its own, signed in as that user."""

    def signed_in(user):
        browser = RequestScopedClient(app, app.response_class, use_cookies=True)
        assert browser.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 303
        return browser

    return signed_in


# --- each kind of number, found by its own tenant ------------------------------------------------


def test_a_patient_number_opens_the_patient_in_any_case(client, login, world):
    login(world.clerk)
    response = search(client, f"  {world.patient.patient_number.lower()} ")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/hospital/patients/{world.patient.id}"


def test_at_a_hospital_a_member_number_opens_the_insured_patient(client, login, world):
    login(world.clerk)
    response = search(client, "acm-001")
    assert response.headers["Location"] == f"/hospital/patients/{world.patient.id}"


def test_at_an_insurer_a_member_number_opens_the_member(client, login, world):
    login(world.adjudicator)
    response = search(client, "ACM-001")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/insurance/members/{world.member.id}"


def test_an_invoice_number_opens_the_invoice_for_the_hospital_and_the_insurer_billed(as_user, world):
    for user in (world.clerk, make_user(Role.FINANCE_OFFICER, company_id=world.company.id)):
        response = search(as_user(user), world.invoice.number.lower())
        assert response.headers["Location"] == f"/billing/invoices/{world.invoice.id}", user.role


def test_a_claim_number_opens_the_claim_on_both_sides(as_user, world):
    for user in (world.clerk, world.adjudicator):
        response = search(as_user(user), world.claim.claim_number.lower())
        assert response.headers["Location"] == f"/claims/{world.claim.id}", user.role


def test_a_platform_admin_finds_any_tenants_numbers(client, login, world):
    login(make_user(Role.ADMIN))
    found = {
        search(client, number).headers.get("Location")
        for number in (world.other_patient.patient_number, "ZEN-001", world.other_invoice.number)
    }
    assert found == {
        f"/hospital/patients/{world.other_patient.id}",
        f"/insurance/members/{world.other_member.id}",
        f"/billing/invoices/{world.other_invoice.id}",
    }


# --- another tenant's numbers are not found ------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        lambda w: w.other_patient.patient_number,
        lambda w: "ZEN-001",
        lambda w: w.other_invoice.number,
    ],
    ids=["patient", "member", "invoice"],
)
def test_another_hospitals_numbers_are_not_found(client, login, world, number):
    login(world.clerk)
    text = number(world)
    response = search(client, text)
    assert nothing_found(response, text)
    assert box(response) == text


def test_another_insurers_member_and_claims_are_not_found(client, login, world):
    login(world.other_adjudicator)
    for text in ("ACM-001", world.claim.claim_number, world.invoice.number):
        response = search(client, text)
        assert nothing_found(response, text), text


def test_an_insurer_does_not_find_a_claim_the_hospital_has_not_sent(as_user, world):
    number = world.draft_claim.claim_number
    assert nothing_found(search(as_user(world.adjudicator), number), number)
    assert search(as_user(world.clerk), number).headers["Location"] == f"/claims/{world.draft_claim.id}"


def test_an_insurer_does_not_find_patients_by_their_hospital_number(client, login, world):
    login(world.adjudicator)
    assert nothing_found(search(client, world.patient.patient_number), world.patient.patient_number)


# --- several, none, nothing typed lost -----------------------------------------------------------


def test_several_records_with_the_number_are_listed(client, login, world):
    make_patient(world.hospital, first_name="Baraka", last_name="Mutua", patient_number=world.invoice.number)
    login(world.clerk)
    response = search(client, world.invoice.number)
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert f"2 records have the number <strong>{world.invoice.number}</strong>" in page
    assert f"Baraka Mutua, patient {world.invoice.number}" in page
    assert f'href="/billing/invoices/{world.invoice.id}">Invoice {world.invoice.number}, issued' in page
    assert box(response) == world.invoice.number


def test_what_was_typed_stays_in_the_box_when_nothing_is_found(client, login, world):
    login(world.clerk)
    typed = ' <b>"HA-0000 & co"</b> '
    response = search(client, typed)
    assert nothing_found(response, typed.strip())
    assert box(response) == typed
    assert "<b>" not in response.get_data(as_text=True).split("<main", 1)[1]  # shown as text, never as markup


def test_an_empty_search_explains_what_to_type(client, login, world):
    login(world.clerk)
    response = search(client, "   ")
    assert response.status_code == 200
    assert "Type a whole patient, member, claim or invoice number" in response.get_data(as_text=True)


def test_each_look_up_is_one_query(client, login, world, count_queries):
    login(world.clerk)
    search(client, "NO-SUCH-NUMBER")  # warm: the session and the user are read once per request anyway
    with count_queries() as baseline:
        search(client, "")  # the same page, nothing asked
    with count_queries() as searched:
        search(client, "NO-SUCH-NUMBER")
    # the clerk's side asks three look-ups (patients, invoices, claims): one query each
    assert searched.count - baseline.count == 3, searched.statements


# --- identity bar and sign-in -------------------------------------------------------------------


def test_the_identity_bar_names_the_person_and_their_organisation(client, login, world):
    login(world.clerk)
    page = client.get("/").get_data(as_text=True)
    bar = page.split('<header class="idbar">', 1)[1].split("</header>", 1)[0]
    assert 'class="brand"' in bar and "MedCover" in bar
    assert world.clerk.full_name in bar and "Hospital A" in bar
    assert 'role="search"' in bar and 'action="/search"' in bar
    assert 'id="bell"' in bar
    assert 'class="menu-button" aria-controls="sidenav" aria-expanded="false"' in bar
    assert '<nav class="' not in bar  # the navigation is beside the page, not in the bar


def test_a_first_visit_goes_to_sign_in_without_a_prompt(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Please sign in to see that page." not in page


def test_a_deep_link_still_asks_to_sign_in_and_comes_back(client):
    response = client.get("/billing/invoices?status=issued")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Please sign in to see that page." in page


def test_every_page_links_the_print_stylesheet(client, login, world):
    signed_out = client.get("/auth/login")
    login(world.clerk)
    for response in (signed_out, client.get("/"), search(client, "nothing")):
        assert '<link rel="stylesheet" href="/static/css/shell.css">' in response.get_data(as_text=True)
