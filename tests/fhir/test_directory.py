"""Patient, Organization, InsurancePlan and Coverage: read and search as FHIR.md says, tenancy as /api/v1."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from medcover.extensions import db
from medcover.rbac import Role
from tests.fhir.outcome import assert_outcome, expressions, resource


def _ids(bundle) -> list[str]:
    return [entry.resource.id for entry in bundle.entry or ()]


def _ident(res, system: str) -> str | None:
    return next((i.value for i in res.identifier or () if i.system == system), None)


# --- Patient --------------------------------------------------------------------------------------


def test_patient_read_maps_the_registration(fhir, world):
    patient = resource(fhir(Role.RECEPTIONIST).get(f"/Patient/{world.patient.id}"), 200, "Patient")
    assert _ident(patient, "urn:medcover:patient-number") == world.patient.patient_number
    assert _ident(patient, "urn:medcover:national-id") == "12345678"
    assert _ident(patient, "urn:medcover:member-number") == "A-0001"
    assert (patient.name[0].family, patient.name[0].given) == ("Wanjiru", ["Amani"])
    assert str(patient.birthDate) == "1990-03-14" and patient.gender == "female"
    assert patient.managingOrganization.reference == f"Organization/institution-{world.hospital.id}"


def test_patient_read_is_audited_with_the_patient_number(fhir, world):
    client = fhir(Role.RECEPTIONIST)
    before = db.session.scalar(select(func.count()).select_from(AuditLog))
    resource(client.get(f"/Patient/{world.patient.id}"), 200, "Patient")
    entries = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).all()
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before + 1
    assert world.patient.patient_number in entries[0].summary


def test_another_hospitals_patient_is_a_404_outcome(fhir, world):
    assert_outcome(fhir(Role.RECEPTIONIST).get(f"/Patient/{world.stranger.id}"), 404, "not-found")


def test_insurer_staff_may_not_read_patients(fhir, world):
    assert_outcome(fhir(Role.ADJUDICATOR).get(f"/Patient/{world.patient.id}"), 403, "forbidden")
    assert_outcome(fhir(Role.ADJUDICATOR).get("/Patient"), 403, "forbidden")


@pytest.mark.parametrize(
    "query",
    [
        "identifier=urn:medcover:member-number|A-0001",
        "identifier=urn:medcover:national-id|12345678",
        "name=wanj&birthdate=1990-03-14",
        "name=Amani",
    ],
)
def test_patient_search_finds_only_the_hospitals_own(fhir, world, query):
    bundle = resource(fhir(Role.RECEPTIONIST).get(f"/Patient?{query}"), 200, "Bundle")
    assert bundle.type == "searchset" and bundle.total == 1
    assert _ids(bundle) == [str(world.patient.id)]


def test_patient_search_by_patient_number_and_a_miss(fhir, world):
    client = fhir(Role.RECEPTIONIST)
    found = resource(client.get(f"/Patient?identifier={world.patient.patient_number}"), 200, "Bundle")
    assert _ids(found) == [str(world.patient.id)]
    assert resource(client.get("/Patient?birthdate=1990-03-15"), 200, "Bundle").total == 0


@pytest.mark.parametrize(
    ("query", "expression"),
    [
        ("birthdate=14-03-1990", "birthdate"),
        ("identifier=urn:other|1", "identifier"),
        ("gender=female", "gender"),
        ("_count=-1", "_count"),
        ("_count=201", "_count"),
    ],
)
def test_a_bad_search_is_a_400_naming_the_parameter(fhir, world, query, expression):
    outcome = assert_outcome(fhir(Role.RECEPTIONIST).get(f"/Patient?{query}"), 400)
    assert expression in expressions(outcome)


def test_search_pages_with_count_and_a_next_link(fhir, world):
    bundle = resource(fhir(Role.ADMIN).get("/Patient?name=amani&_count=1"), 200, "Bundle")
    assert bundle.total == 2 and len(bundle.entry) == 1
    links = {link.relation: link.url for link in bundle.link}
    assert "_page=2" in links["next"] and "_count=1" in links["next"]
    second = resource(fhir(Role.ADMIN).get("/Patient?name=amani&_count=1&_page=2"), 200, "Bundle")
    assert len(second.entry) == 1 and "next" not in {link.relation for link in second.link}
    assert set(_ids(bundle) + _ids(second)) == {str(world.patient.id), str(world.stranger.id)}


@pytest.mark.parametrize("path", ["/Patient", "/Coverage", "/Organization", "/InsurancePlan"])
def test_a_count_of_zero_answers_the_total_alone_as_fhir_clients_count(fhir, world, path):
    # fhirpy's and fhirclient's count() ask for _count=0 (fhirpy adds _totalMethod=count)
    full = resource(fhir(Role.ADMIN).get(path), 200, "Bundle")
    counted = resource(fhir(Role.ADMIN).get(f"{path}?_count=0&_totalMethod=count&_total=accurate"), 200, "Bundle")
    assert full.total > 0 and counted.total == full.total
    assert not counted.entry and "next" not in {link.relation for link in counted.link}


# --- Organization ---------------------------------------------------------------------------------


def test_organizations_are_institutions_and_insurers(fhir, world):
    client = fhir(Role.ADMIN)
    hospital = resource(client.get(f"/Organization/institution-{world.hospital.id}"), 200, "Organization")
    assert hospital.name == "Nairobi West Hospital" and hospital.type[0].coding[0].code == "prov"
    assert _ident(hospital, "urn:medcover:institution-code") == "NRB"
    insurer = resource(client.get(f"/Organization/insurer-{world.a.id}"), 200, "Organization")
    assert insurer.name == "Afya Assurance" and insurer.type[0].coding[0].code == "ins"
    found = resource(client.get("/Organization?identifier=urn:medcover:insurer-code|aar"), 200, "Bundle")
    assert _ids(found) == [f"insurer-{world.a.id}"]
    found = resource(client.get("/Organization?identifier=MSA"), 200, "Bundle")
    assert _ids(found) == [f"institution-{world.other_hospital.id}"]


def test_organizations_follow_tenancy(fhir, world):
    insurer_staff = fhir(Role.ADJUDICATOR)
    assert_outcome(insurer_staff.get(f"/Organization/insurer-{world.b.id}"), 404, "not-found")
    assert_outcome(insurer_staff.get(f"/Organization/institution-{world.hospital.id}"), 404)
    assert_outcome(insurer_staff.get("/Organization/nonsense-1"), 404)
    mine = resource(insurer_staff.get("/Organization"), 200, "Bundle")
    assert _ids(mine) == [f"insurer-{world.a.id}"]


# --- InsurancePlan --------------------------------------------------------------------------------


def test_insurance_plan_carries_the_scheme_terms(fhir, world):
    plan = resource(fhir(Role.ADJUDICATOR).get(f"/InsurancePlan/{world.gold.id}"), 200, "InsurancePlan")
    assert _ident(plan, "urn:medcover:scheme-code") == "GOLD" and plan.status == "active"
    assert plan.ownedBy.reference == f"Organization/insurer-{world.a.id}"
    benefits = {b.type.coding[0].code: b for b in plan.coverage[0].benefit}
    assert set(benefits) == {"OPD", "MAT", "DENTAL"}
    limits = {limit.code.coding[0].code: limit.value for limit in benefits["OPD"].limit}
    assert limits["annual-limit"].value == Decimal("50000.00") and limits["annual-limit"].code == "KES"
    assert limits["per-visit-limit"].value == Decimal("5000.00")
    assert limits["max-visits"].value == 12
    mat = {limit.code.coding[0].code: limit.value for limit in benefits["MAT"].limit}
    assert (mat["waiting-period"].value, mat["waiting-period"].code) == (30, "d")
    assert benefits["MAT"].requirement == "Pre-authorisation required"
    assert benefits["DENTAL"].requirement == "Not covered by this scheme"
    general = {cost.type.text: cost.cost for cost in plan.plan[0].generalCost}
    assert general["Deductible"].value == Decimal("500.00") and general["Deductible"].currency == "KES"
    assert general["Annual limit"].value == Decimal("200000.00")
    opd_costs = next(c for c in plan.plan[0].specificCost if c.category.coding[0].code == "OPD")
    costs = {b.type.coding[0].code: b.cost[0].value.value for b in opd_costs.benefit}
    assert costs == {"copay-percent": Decimal("10.00"), "copay": Decimal("200.00")}


def test_insurance_plan_search_and_tenancy(fhir, world):
    client = fhir(Role.ADJUDICATOR)
    assert _ids(resource(client.get("/InsurancePlan?identifier=GOLD"), 200, "Bundle")) == [str(world.gold.id)]
    owned = resource(client.get(f"/InsurancePlan?owned-by=Organization/insurer-{world.a.id}"), 200, "Bundle")
    assert _ids(owned) == [str(world.gold.id)]
    assert resource(client.get(f"/InsurancePlan?owned-by=insurer-{world.b.id}"), 200, "Bundle").total == 0
    assert_outcome(client.get(f"/InsurancePlan/{world.silver.id}"), 404, "not-found")
    assert_outcome(client.get("/InsurancePlan?owned-by=Patient/1"), 400)


# --- Coverage -------------------------------------------------------------------------------------


def test_coverage_read_maps_member_scheme_and_period(fhir, world):
    coverage = resource(fhir(Role.ADJUDICATOR).get(f"/Coverage/{world.cover.id}"), 200, "Coverage")
    assert coverage.status == "active" and _ident(coverage, "urn:medcover:member-number") == "A-0001"
    assert coverage.beneficiary.identifier.value == "A-0001" and coverage.beneficiary.display == "Amani Wanjiru"
    assert (str(coverage.period.start), str(coverage.period.end)) == ("2026-01-01", "2026-12-31")
    assert coverage.payor[0].reference == f"Organization/insurer-{world.a.id}"
    assert (coverage.class_fhir[0].value, coverage.class_fhir[0].name) == ("GOLD", "Gold A")
    lapsed = resource(fhir(Role.ADJUDICATOR).get(f"/Coverage/{world.old.id}"), 200, "Coverage")
    assert lapsed.status == "cancelled" and lapsed.extension[0].valueCode == "lapsed"


def test_another_insurers_coverage_is_a_404_outcome(fhir, world):
    assert_outcome(fhir(Role.ADJUDICATOR).get(f"/Coverage/{world.cover_b.id}"), 404, "not-found")
    found = resource(fhir(Role.ADJUDICATOR).get("/Coverage?identifier=B-0001"), 200, "Bundle")
    assert found.total == 0


def test_coverage_search_by_member_and_status(fhir, world):
    client = fhir(Role.ADJUDICATOR)
    by_member = resource(client.get("/Coverage?beneficiary=urn:medcover:member-number|a-0002"), 200, "Bundle")
    assert _ids(by_member) == [str(world.old.id)]
    active = resource(client.get("/Coverage?status=active"), 200, "Bundle")
    assert _ids(active) == [str(world.cover.id)]
    cancelled = resource(client.get("/Coverage?status=cancelled"), 200, "Bundle")
    assert _ids(cancelled) == [str(world.old.id)]
    assert_outcome(client.get("/Coverage?status=lapsed"), 400)


def test_hospital_staff_may_not_read_coverages(fhir, world):
    assert_outcome(fhir(Role.RECEPTIONIST).get(f"/Coverage/{world.cover.id}"), 403, "forbidden")


def test_reading_without_a_token_is_a_401_outcome(client, world):
    assert_outcome(client.get(f"/fhir/Coverage/{world.cover.id}"), 401, "login")


# --- bounded queries ------------------------------------------------------------------------------


def test_a_search_page_costs_the_same_queries_for_2_or_12_records(fhir, world, count_queries):
    from datetime import date

    from tests.factories import add_benefit, make_benefit, make_coverage, make_member, make_patient, make_scheme

    insurer, hospital = fhir(Role.ADJUDICATOR), fhir(Role.RECEPTIONIST)
    searches = ((insurer, "/Coverage"), (insurer, "/InsurancePlan"), (hospital, "/Patient?name=amani"))

    def costs() -> list[int]:
        found = []
        for client, path in searches:
            with count_queries() as counted:
                resource(client.get(path), 200, "Bundle")
            found.append(counted.count)
        return found

    costs()  # a warm process: it keeps the hospitals' and insurers' names
    db.session.commit()  # and, as after the records below, nothing loaded stays loaded
    before = costs()
    for n in range(10):
        member = make_member(world.a, member_number=f"A-1{n:03d}")
        make_coverage(member, world.gold, date(2026, 1, 1), date(2026, 12, 31))
        scheme = make_scheme(world.a, code=f"PLAN{n}")
        add_benefit(scheme, make_benefit(f"BEN-Q{n}"))
        make_patient(world.hospital, first_name="Amani")
    db.session.commit()
    assert costs() == before
