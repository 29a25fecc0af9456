"""Pre-authorisations waiting for the insurer's decision, for the home page: the insurer counts its own members'
requests, a hospital counts the requests it made; decided ones and other tenants' are not counted."""

from __future__ import annotations

from medcover.rbac import Tenant
from tests import bulk
from tests.factories import make_benefit, make_company, make_institution, make_member

KEYS = frozenset({"preauths_to_decide", "preauths_waiting"})


def test_each_side_counts_its_own_requests_still_waiting(db_session):
    from blueprints.insurance import services

    hospital, other_hospital = make_institution(code="HA"), make_institution(code="HB")
    acme, zenith = make_company(code="ACME"), make_company(code="ZEN")
    mri = make_benefit(code="MRI", name="MRI scans")
    ours, theirs = make_member(acme), make_member(zenith)
    bulk.preauthorizations(3, member=ours, benefit=mri, institution_id=hospital.id)
    bulk.preauthorizations(2, member=ours, benefit=mri, institution_id=other_hospital.id)
    bulk.preauthorizations(4, member=ours, benefit=mri, institution_id=hospital.id, status="approved")
    bulk.preauthorizations(1, member=ours, benefit=mri, institution_id=hospital.id, status="declined")
    bulk.preauthorizations(6, member=theirs, benefit=mri, institution_id=hospital.id)

    insurer = services.work_waiting(Tenant(None, acme.id), KEYS)
    assert insurer["preauths_to_decide"] == 5  # asked by either hospital, Acme's members only
    requester = services.work_waiting(Tenant(hospital.id, None), KEYS)
    assert requester["preauths_waiting"] == 9  # Hospital A's requests, to either insurer
    assert services.work_waiting(Tenant(other_hospital.id, None), {"preauths_waiting"}) == {"preauths_waiting": 2}
    assert services.work_waiting(Tenant(None, zenith.id), {"preauths_to_decide"}) == {"preauths_to_decide": 6}


def test_the_count_is_one_query(db_session, count_queries):
    from blueprints.insurance import services

    acme = make_company(code="ACME")
    bulk.preauthorizations(2, member=make_member(acme), benefit=make_benefit(code="MRI"), institution_id=None)
    with count_queries() as counted:
        assert services.work_waiting(Tenant(None, acme.id), KEYS)["preauths_to_decide"] == 2
    assert counted.count == 1
