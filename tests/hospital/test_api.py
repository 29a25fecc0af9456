"""Hospital JSON API: API.md's shapes exactly, tenant isolation between hospitals (and insurers kept out),
patient search, double booking, the cover verdict at check-in, status transitions, and bad input that
answers 422/409 and leaves nothing behind."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from blueprints.core.models import AuditLog
from blueprints.hospital.models import Appointment, MedicalInstitution, MedicalPersonnel, Patient
from medcover import clock
from medcover.api import PREFIX
from medcover.extensions import db
from medcover.rbac import Role
from tests.api.problem import assert_problem
from tests.core.conftest import RequestScopedClient
from tests.factories import add_benefit, make_benefit, make_company, make_coverage, make_member, make_scheme, make_user

PAGE_KEYS = {"items", "page", "per_page", "total"}
PATIENT_KEYS = {
    "id",
    "institution_id",
    "patient_number",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "phone",
    "email",
    "national_id",
    "member_number",
    "merged_into_id",
    "created_at",
}
APPOINTMENT_KEYS = {
    "id",
    "institution_id",
    "patient_id",
    "personnel_id",
    "department",
    "room",
    "starts_at",
    "ends_at",
    "duration_minutes",
    "status",
    "reason",
    "cancel_reason",
    "coverage_checked_at",
    "coverage_eligible",
    "coverage_reasons",
    "created_at",
}
TABLES = (MedicalInstitution, MedicalPersonnel, Patient, Appointment, AuditLog)


class Api:
    """A caller of the API with one user's token."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def __call__(self, method: str, path: str, body=None, status: int | None = None, **kwargs):
        response = self.client.open(PREFIX + path, method=method, json=body, headers=self.headers, **kwargs)
        if status is not None:
            assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
        return response

    def get(self, path: str, status: int = 200):
        return self("GET", path, status=status).get_json()

    def post(self, path: str, body=None, status: int = 201):
        return self("POST", path, body, status=status).get_json()

    def put(self, path: str, body=None, status: int = 200):
        return self("PUT", path, body, status=status).get_json()


def counts() -> dict[str, int]:
    """Rows per table; reads and refusals leave audit entries of their own, so only changes count here."""
    changes = AuditLog.action.not_in(("read", "denied"))
    return {
        model.__name__: db.session.scalar(
            select(func.count()).select_from(model).where(changes if model is AuditLog else True)
        )
        for model in TABLES
    }


def at(days: int, hour: int, minute: int = 0) -> str:
    """A time ``days`` from the site's today at hour:minute on the site's clock, in UTC as the API writes it."""
    wall = datetime.combine(clock.today() + timedelta(days=days), time(hour, minute))
    return clock.from_local(wall).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def client(app):
    """Each request in its own app context and session: a test sees exactly what a request committed."""
    return RequestScopedClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def as_user(client, api_token):
    def build(role: Role = Role.ADMIN, **tenant) -> Api:
        return Api(client, api_token(make_user(role, **tenant)))

    return build


@pytest.fixture
def platform(as_user) -> Api:
    return as_user(Role.ADMIN, institution_id=None, company_id=None)


@pytest.fixture
def world(platform, as_user):
    """Two hospitals, a clinician and a receptionist each, and a patient each."""
    w: dict = {}
    for key in ("A", "B"):
        w[key] = platform.post("/institutions", {"code": f"H{key}", "name": f"Hospital {key}"})["id"]
        w[f"doc_{key}"] = platform.post(
            "/personnel",
            {
                "full_name": f"Dr Otieno {key}",
                "kind": "clinician",
                "department": "Outpatient",
                "licence_number": f"KMP/{key}/001",
                "institution_id": w[key],
            },
        )["id"]
        w[f"desk_{key}"] = as_user(Role.RECEPTIONIST, institution_id=w[key])
        w[f"patient_{key}"] = w[f"desk_{key}"].post("/patients", _patient(w[key], last_name=f"Kamau{key}"))["id"]
    return w


def _patient(institution_id: int, **fields) -> dict:
    return {
        "first_name": "Wanjiru",
        "last_name": "Kamau",
        "date_of_birth": "1990-05-17",
        "gender": "female",
        "phone": "+254 722 000 111",
        "email": "Wanjiru@Example.com",
        "national_id": "12345678",
        "institution_id": institution_id,
    } | fields


def _book(api: Api, w: dict, key: str = "A", status: int = 201, **fields) -> dict:
    body = {"patient_id": w[f"patient_{key}"], "personnel_id": w[f"doc_{key}"], "starts_at": at(1, 9)} | fields
    return api.post("/appointments", body, status=status)


# --- institutions and personnel -----------------------------------------------------------------------


def test_platform_admin_adds_lists_and_reads_institutions(platform):
    made = platform.post("/institutions", {"code": "KNH", "name": "Kenyatta National Hospital"})
    assert made == {
        "id": made["id"],
        "code": "KNH",
        "name": "Kenyatta National Hospital",
        "kind": "hospital",
        "phone": None,
        "address": None,
        "active": True,
    }
    assert platform.get(f"/institutions/{made['id']}") == made
    listed = platform.get("/institutions?per_page=200")
    assert set(listed) == PAGE_KEYS and made in listed["items"]
    assert_problem(platform("POST", "/institutions", {"code": "knh", "name": "Again"}), 409)


def test_only_a_platform_admin_adds_institutions(world, as_user):
    hospital_admin = as_user(Role.ADMIN, institution_id=world["A"])
    before = counts()
    assert_problem(hospital_admin("POST", "/institutions", {"code": "X", "name": "X"}), 403)
    assert_problem(world["desk_A"]("POST", "/institutions", {"code": "X", "name": "X"}), 403)
    assert counts() == before


def test_hospital_staff_see_their_own_institution_only(world):
    listed = world["desk_A"].get("/institutions")
    assert [i["id"] for i in listed["items"]] == [world["A"]] and listed["total"] == 1
    assert_problem(world["desk_A"]("GET", f"/institutions/{world['B']}"), 404)


def test_personnel_added_listed_and_filtered(world, as_user):
    admin_a = as_user(Role.ADMIN, institution_id=world["A"])
    nurse = admin_a.post(
        "/personnel",
        {
            "full_name": "Achieng Nurse",
            "kind": "nurse",
            "department": "Maternity",
            "schedule": {"mon": ["08:00", "16:00"]},
        },
    )
    assert nurse == {
        "id": nurse["id"],
        "institution_id": world["A"],
        "user_id": None,
        "full_name": "Achieng Nurse",
        "kind": "nurse",
        "specialty": None,
        "licence_number": None,
        "department": "Maternity",
        "schedule": {"mon": ["08:00", "16:00"]},
        "active": True,
    }
    assert world["desk_A"].get(f"/personnel/{nurse['id']}") == nurse
    maternity = world["desk_A"].get("/personnel?department=Maternity")
    assert [p["id"] for p in maternity["items"]] == [nurse["id"]]
    clinicians = world["desk_A"].get("/personnel?kind=clinician")
    assert [p["id"] for p in clinicians["items"]] == [world["doc_A"]]
    assert_problem(world["desk_A"]("GET", f"/personnel/{world['doc_B']}"), 404)
    assert_problem(world["desk_A"]("GET", "/personnel?kind=surgeon"), 422)


def test_personnel_bad_input_writes_nothing(world, as_user):
    admin_a = as_user(Role.ADMIN, institution_id=world["A"])
    before = counts()
    base = {"full_name": "Dr Mwangi", "kind": "clinician", "department": "Surgery", "licence_number": "KMP/9"}
    for body in (
        {k: v for k, v in base.items() if k != "licence_number"},  # clinicians need a licence
        base | {"kind": "surgeon"},
        base | {"full_name": "<script>alert(1)</script>"},
        base | {"department": "x" * 81},
        base | {"institution_id": world["B"]},  # another hospital's
        base | {"schedule": {"mon": ["16:00", "08:00"]}},
        base | {"salary": "100"},
    ):
        assert_problem(admin_a("POST", "/personnel", body), 422)
    assert_problem(admin_a("POST", "/personnel", base | {"licence_number": "KMP/A/001"}), 409)
    assert_problem(world["desk_A"]("POST", "/personnel", base), 403)
    assert counts() == before


# --- patients -------------------------------------------------------------------------------------------


def test_register_patient_answers_api_md_shape(world):
    made = world["desk_A"].post(
        "/patients", _patient(world["A"], first_name="Zoë", last_name="Ñandú", national_id="87654321")
    )
    assert made == {
        "id": made["id"],
        "institution_id": world["A"],
        "patient_number": "HA-000002",
        "first_name": "Zoë",
        "last_name": "Ñandú",
        "date_of_birth": "1990-05-17",
        "gender": "female",
        "phone": "254722000111",
        "email": "wanjiru@example.com",
        "national_id": "87654321",
        "member_number": None,
        "merged_into_id": None,
        "created_at": made["created_at"],
        "cover": None,
    }
    assert made["created_at"].endswith("Z")
    assert world["desk_A"].get(f"/patients/{made['id']}") == made


def test_only_required_fields(world):
    body = {"first_name": "Juma", "last_name": "Baraka", "date_of_birth": "2001-01-31", "gender": "male"}
    made = world["desk_A"].post("/patients", body | {"institution_id": world["A"]})
    assert {k: made[k] for k in ("phone", "email", "national_id", "member_number", "cover")} == dict.fromkeys(
        ("phone", "email", "national_id", "member_number", "cover")
    )
    assert set(made) == PATIENT_KEYS | {"cover"}


def test_patient_detail_includes_the_cover_verdict(world):
    company = make_company()
    scheme = make_scheme(company)
    add_benefit(scheme, make_benefit(code="OPD-H"))
    member = make_member(company, member_number="AAR-7001")
    make_coverage(member, scheme, clock.today() - timedelta(days=30))
    db.session.commit()
    covered = world["desk_A"].post("/patients", _patient(world["A"], member_number="aar-7001", national_id=None))
    assert covered["member_number"] == "AAR-7001"
    assert covered["cover"] == {"eligible": True, "reason_codes": []}
    unknown = world["desk_A"].post(
        "/patients",
        _patient(world["A"], first_name="Akinyi", member_number="NOPE-1", phone=None, national_id="NID-0002"),
    )
    assert world["desk_A"].get(f"/patients/{unknown['id']}")["cover"] == {"eligible": False, "reason_codes": ["R01"]}


def test_hospital_staff_register_at_their_own_institution_only(world, as_user):
    before = counts()
    body = assert_problem(world["desk_A"]("POST", "/patients", _patient(world["B"])), 422)
    assert set(body["errors"]) == {"institution_id"}
    assert_problem(world["desk_A"]("POST", "/patients", _patient(999_999)), 422)
    assert counts() == before
    integration = as_user(Role.INTEGRATION, institution_id=world["B"])
    made = integration.post("/patients", _patient(world["B"], national_id="B-77"))
    assert made["institution_id"] == world["B"]
    admin = as_user(Role.ADMIN, institution_id=None, company_id=None)
    assert admin.post("/patients", _patient(world["A"], national_id="A-88"))["institution_id"] == world["A"]


def test_update_patient(world):
    path = f"/patients/{world['patient_A']}"
    changed = world["desk_A"].put(path, {"phone": "0733 111 222", "email": None, "last_name": "O'Brien"})
    assert (changed["phone"], changed["email"], changed["last_name"]) == ("0733111222", None, "O'Brien")
    assert changed["first_name"] == "Wanjiru" and changed["national_id"] == "12345678"
    assert world["desk_A"].get(path) == changed
    before = counts()
    assert_problem(world["desk_A"]("PUT", path, {"first_name": None}), 422)
    assert_problem(world["desk_A"]("PUT", path, {"institution_id": world["B"]}), 422)
    assert_problem(world["desk_A"]("PUT", path, {"gender": "robot"}), 422)
    assert_problem(world["desk_A"]("PUT", f"/patients/{world['patient_B']}", {"first_name": "X"}), 404)
    assert counts() == before
    assert world["desk_A"].get(path) == changed


def test_search_by_name_prefix_phone_and_national_id(world):
    desk = world["desk_A"]
    other = desk.post(
        "/patients",
        _patient(world["A"], first_name="Otieno", last_name="Odhiambo", phone="0711 999 888", national_id="A1234567"),
    )

    def ids(query: str) -> list[int]:
        page = desk.get(f"/patients?q={query}")
        assert set(page) == PAGE_KEYS and page["total"] == len(page["items"])
        return [p["id"] for p in page["items"]]

    assert ids("kam") == [world["patient_A"]]
    assert ids("otie") == [other["id"]]
    assert ids("otieno odh") == [other["id"]]
    assert ids("0711999") == [other["id"]]
    assert ids("a12345") == [other["id"]]
    assert ids("1234") == [world["patient_A"]]
    assert ids("zzz") == []
    # hospital B's Kamau never shows up for hospital A
    assert world["patient_B"] not in ids("kamau")
    listed = desk.get("/patients")
    assert {p["id"] for p in listed["items"]} == {world["patient_A"], other["id"]} and listed["total"] == 2


def test_merge_duplicates(world):
    desk = world["desk_A"]
    duplicate = desk.post("/patients", _patient(world["A"], phone=None, national_id=None, member_number="M-1"))
    appointment = _book(desk, world, patient_id=duplicate["id"])
    kept = desk.post(f"/patients/{world['patient_A']}/merge", {"duplicate_id": duplicate["id"]}, status=200)
    assert kept["id"] == world["patient_A"] and kept["member_number"] == "M-1"
    assert desk.get(f"/appointments/{appointment['id']}")["patient_id"] == world["patient_A"]
    assert desk.get(f"/patients/{duplicate['id']}")["merged_into_id"] == world["patient_A"]
    assert duplicate["id"] not in [p["id"] for p in desk.get("/patients")["items"]]
    before = counts()
    assert_problem(desk("POST", f"/patients/{world['patient_A']}/merge", {"duplicate_id": duplicate["id"]}), 409)
    assert_problem(desk("POST", f"/patients/{world['patient_A']}/merge", {"duplicate_id": world["patient_A"]}), 422)
    assert_problem(desk("POST", f"/patients/{world['patient_A']}/merge", {"duplicate_id": world["patient_B"]}), 422)
    assert_problem(desk("POST", f"/patients/{world['patient_A']}/merge", {"duplicate_id": "2"}), 422)
    assert counts() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"first_name": None}, "first_name"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": 42}, "first_name"),
        ({"first_name": "x" * 81}, "first_name"),
        ({"first_name": "<script>alert(1)</script>"}, "first_name"),
        ({"last_name": "Kamau\x00"}, "last_name"),
        ({"last_name": "Ka\x1bmau"}, "last_name"),
        ({"date_of_birth": "17/05/1990"}, "date_of_birth"),
        ({"date_of_birth": "1990-02-30"}, "date_of_birth"),
        ({"date_of_birth": 19900517}, "date_of_birth"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"gender": "robot"}, "gender"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "1" * 21}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b.c<script>"}, "email"),
        ({"national_id": "'; DROP TABLE patients;--"}, "national_id"),
        ({"member_number": "M 1 <b>"}, "member_number"),
        ({"institution_id": "1"}, "institution_id"),
        ({"institution_id": True}, "institution_id"),
        ({"institution_id": None}, "institution_id"),
        ({"institution_id": 2**40}, "institution_id"),
        ({"patient_number": "X-1"}, "patient_number"),
        ({"role": "admin"}, "role"),
    ],
)
def test_bad_patient_input_is_refused_and_writes_nothing(world, change, field):
    before = counts()
    body = assert_problem(world["desk_A"]("POST", "/patients", _patient(world["A"]) | change), 422)
    assert field in body["errors"], body
    assert counts() == before


def test_missing_fields_and_non_objects(world):
    before = counts()
    body = assert_problem(world["desk_A"]("POST", "/patients", {}), 422)
    assert set(body["errors"]) == {"first_name", "last_name", "date_of_birth", "gender", "institution_id"}
    assert_problem(world["desk_A"]("POST", "/patients", ["Wanjiru"]), 422)
    bad_json = world["desk_A"]("POST", "/patients", data=b"{not json", content_type="application/json")
    assert_problem(bad_json, 422)
    assert counts() == before


def test_sql_quotes_and_unicode_are_stored_as_plain_text(world):
    made = world["desk_A"].post(
        "/patients",
        _patient(
            world["A"], first_name="Ng'ang'a", last_name="O'Neil\"; DROP TABLE patients;--", national_id="NID-0003"
        ),
    )
    assert made["last_name"] == "O'Neil\"; DROP TABLE patients;--" and made["first_name"] == "Ng'ang'a"
    assert world["desk_A"].get(f"/patients/{made['id']}")["last_name"] == made["last_name"]
    assert counts()["Patient"] == 3


# --- tenant isolation and roles -------------------------------------------------------------------------


def test_receptionist_of_a_never_sees_b(world):
    desk_a = world["desk_A"]
    appointment_b = _book(world["desk_B"], world, "B")
    assert_problem(desk_a("GET", f"/patients/{world['patient_B']}"), 404)
    assert_problem(desk_a("GET", f"/appointments/{appointment_b['id']}"), 404)
    assert world["patient_B"] not in [p["id"] for p in desk_a.get("/patients?per_page=200")["items"]]
    assert appointment_b["id"] not in [a["id"] for a in desk_a.get("/appointments?per_page=200")["items"]]
    assert desk_a.get(f"/appointments?patient_id={world['patient_B']}")["total"] == 0
    before = counts()
    for action in ("check-in", "cancel", "no-show", "complete"):
        assert_problem(desk_a("POST", f"/appointments/{appointment_b['id']}/{action}"), 404)
    assert_problem(desk_a("POST", f"/appointments/{appointment_b['id']}/reschedule", {"starts_at": at(2, 9)}), 404)
    assert_problem(desk_a("PUT", f"/patients/{world['patient_B']}", {"first_name": "X"}), 404)
    booking = {"patient_id": world["patient_B"], "personnel_id": world["doc_A"], "starts_at": at(1, 11)}
    assert "patient_id" in assert_problem(desk_a("POST", "/appointments", booking), 422)["errors"]
    booking = {"patient_id": world["patient_A"], "personnel_id": world["doc_B"], "starts_at": at(1, 11)}
    assert "personnel_id" in assert_problem(desk_a("POST", "/appointments", booking), 422)["errors"]
    assert counts() == before


@pytest.mark.parametrize("role", [Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.ADMIN, Role.INTEGRATION])
def test_insurer_staff_never_see_patients(world, as_user, role):
    insurer = as_user(role, company_id=make_company().id, institution_id=None)
    before = counts()
    for path in ("/patients", f"/patients/{world['patient_A']}", "/appointments", "/personnel", "/institutions"):
        assert_problem(insurer("GET", path), 403)
    assert_problem(insurer("POST", "/patients", _patient(world["A"])), 403)
    assert counts() == before


def test_auditor_reads_but_writes_nothing(world, as_user):
    auditor = as_user(Role.AUDITOR, institution_id=world["A"])
    assert auditor.get(f"/patients/{world['patient_A']}")["id"] == world["patient_A"]
    assert_problem(auditor("GET", f"/patients/{world['patient_B']}"), 404)
    before = counts()
    assert_problem(auditor("POST", "/patients", _patient(world["A"])), 403)
    assert_problem(auditor("POST", "/appointments", {}), 403)
    assert counts() == before


def test_no_token_is_401(client, world):
    assert_problem(client.get(PREFIX + "/patients"), 401)
    assert_problem(client.post(PREFIX + "/patients", json=_patient(world["A"])), 401)


# --- appointments ---------------------------------------------------------------------------------------


def test_book_and_read_an_appointment(world):
    made = _book(world["desk_A"], world, starts_at=at(1, 12, 30).replace("Z", "+03:00"), room="R1", reason="Fever")
    assert made == {
        "id": made["id"],
        "institution_id": world["A"],
        "patient_id": world["patient_A"],
        "personnel_id": world["doc_A"],
        "department": "Outpatient",
        "room": "R1",
        "starts_at": at(1, 9, 30),
        "ends_at": at(1, 9, 50),
        "duration_minutes": 20,
        "status": "booked",
        "reason": "Fever",
        "cancel_reason": None,
        "coverage_checked_at": None,
        "coverage_eligible": None,
        "coverage_reasons": None,
        "created_at": made["created_at"],
    }
    assert world["desk_A"].get(f"/appointments/{made['id']}") == made


def test_day_view_filters(world, as_user):
    desk = world["desk_A"]
    first = _book(desk, world, starts_at=at(1, 10))
    second = _book(desk, world, starts_at=at(1, 8))
    later = _book(desk, world, starts_at=at(2, 8))
    day = str(clock.today() + timedelta(days=1))
    page = desk.get(f"/appointments?date={day}")
    assert [a["id"] for a in page["items"]] == [second["id"], first["id"]] and page["total"] == 2
    assert desk.get(f"/appointments?date={day}&personnel_id={world['doc_A']}")["total"] == 2
    assert desk.get(f"/appointments?department=Outpatient&patient_id={world['patient_A']}")["total"] == 3
    assert desk.get("/appointments?department=Dental")["total"] == 0
    desk.post(f"/appointments/{later['id']}/cancel", {"reason": "Travelling"}, status=200)
    assert [a["id"] for a in desk.get("/appointments?status=cancelled")["items"]] == [later["id"]]
    for query in ("date=tomorrow", "date=2026-13-01", "status=gone", "personnel_id=x", "per_page=201"):
        assert_problem(desk("GET", f"/appointments?{query}"), 422)


def test_double_booking_the_clinician_or_the_room_is_409(world, as_user):
    desk = world["desk_A"]
    _book(desk, world, starts_at=at(1, 9), duration_minutes=30, room="R1")
    admin_a = as_user(Role.ADMIN, institution_id=world["A"])
    other_doc = admin_a.post(
        "/personnel",
        {"full_name": "Dr Wambui", "kind": "clinician", "department": "Outpatient", "licence_number": "KMP/A/2"},
    )["id"]
    before = counts()
    clash = assert_problem(_clash(desk, world, starts_at=at(1, 9, 15)), 409)
    assert clash["errors"] == {"starts_at": ["Double booking: the clinician or the room is busy then."]}
    room_clash = assert_problem(_clash(desk, world, personnel_id=other_doc, starts_at=at(1, 9, 20), room="R1"), 409)
    assert room_clash["errors"] == {"room": ["Double booking: the clinician or the room is busy then."]}
    assert counts() == before
    # the slot right after, another room, or hospital B's own "R1" are free
    _book(desk, world, starts_at=at(1, 9, 30), room="R1")
    _book(desk, world, personnel_id=other_doc, starts_at=at(1, 9, 10), room="R2")
    _book(world["desk_B"], world, "B", starts_at=at(1, 9), room="R1")


def _clash(api: Api, w: dict, **fields):
    body = {"patient_id": w["patient_A"], "personnel_id": w["doc_A"], "starts_at": at(1, 9)} | fields
    return api("POST", "/appointments", body)


def test_a_cancelled_appointment_frees_its_slot(world):
    desk = world["desk_A"]
    first = _book(desk, world)
    desk.post(f"/appointments/{first['id']}/cancel", status=200)
    assert _book(desk, world)["status"] == "booked"


def test_reschedule(world):
    desk = world["desk_A"]
    first = _book(desk, world, room="R1")
    second = _book(desk, world, starts_at=at(1, 10))
    moved = desk.post(f"/appointments/{first['id']}/reschedule", {"starts_at": at(2, 14), "duration_minutes": 45}, 200)
    assert (moved["starts_at"], moved["ends_at"], moved["room"]) == (at(2, 14), at(2, 14, 45), "R1")
    before = counts()
    clash = desk("POST", f"/appointments/{first['id']}/reschedule", {"starts_at": at(1, 10, 10)})
    assert "starts_at" in assert_problem(clash, 409)["errors"]
    past = desk("POST", f"/appointments/{first['id']}/reschedule", {"starts_at": at(-1, 10)})
    assert "starts_at" in assert_problem(past, 422)["errors"]
    for body in ({}, {"starts_at": "2026-05-04 09:00"}, {"starts_at": at(3, 9), "room": 7}, {"starts_at": 1}):
        assert_problem(desk("POST", f"/appointments/{first['id']}/reschedule", body), 422)
    assert counts() == before
    desk.post(f"/appointments/{second['id']}/cancel", status=200)
    before = counts()
    assert_problem(desk("POST", f"/appointments/{second['id']}/reschedule", {"starts_at": at(3, 9)}), 409)
    assert counts() == before
    assert desk.get(f"/appointments/{first['id']}") == moved


def test_check_in_records_the_cover_verdict(world):
    company = make_company()
    scheme = make_scheme(company)
    add_benefit(scheme, make_benefit())
    make_coverage(make_member(company, member_number="JUB-1"), scheme, clock.today() - timedelta(days=10))
    db.session.commit()
    desk = world["desk_A"]
    insured = desk.post("/patients", _patient(world["A"], member_number="JUB-1", national_id="INS-1", phone=None))
    covered = _book(desk, world, patient_id=insured["id"])
    checked = desk.post(f"/appointments/{covered['id']}/check-in", status=200)
    assert checked["status"] == "checked_in"
    assert (checked["coverage_eligible"], checked["coverage_reasons"]) == (True, [])
    assert checked["coverage_checked_at"].endswith("Z")
    uninsured = _book(desk, world, starts_at=at(1, 15))
    plain = desk.post(f"/appointments/{uninsured['id']}/check-in", {}, status=200)
    assert (plain["status"], plain["coverage_eligible"], plain["coverage_reasons"]) == ("checked_in", None, None)
    lapsed = desk.post(
        "/patients", _patient(world["A"], first_name="Otieno", member_number="GONE-9", national_id="INS-2", phone=None)
    )
    refused = _book(desk, world, patient_id=lapsed["id"], starts_at=at(1, 16))
    verdict = desk.post(f"/appointments/{refused['id']}/check-in", status=200)
    assert (verdict["coverage_eligible"], verdict["coverage_reasons"]) == (False, ["R01"])


def test_status_transitions(world):
    desk = world["desk_A"]
    row = _book(desk, world)
    assert_problem(desk("POST", f"/appointments/{row['id']}/complete"), 409)
    desk.post(f"/appointments/{row['id']}/check-in", status=200)
    assert_problem(desk("POST", f"/appointments/{row['id']}/check-in"), 409)
    assert_problem(desk("POST", f"/appointments/{row['id']}/no-show"), 409)
    assert desk.post(f"/appointments/{row['id']}/complete", status=200)["status"] == "completed"
    for action in ("check-in", "cancel", "no-show", "complete"):
        assert_problem(desk("POST", f"/appointments/{row['id']}/{action}"), 409)
    no_show = _book(desk, world, starts_at=at(1, 11))
    assert desk.post(f"/appointments/{no_show['id']}/no-show", status=200)["status"] == "no_show"
    cancelled = _book(desk, world, starts_at=at(1, 12))
    answer = desk.post(f"/appointments/{cancelled['id']}/cancel", {"reason": "Feels better"}, status=200)
    assert (answer["status"], answer["cancel_reason"]) == ("cancelled", "Feels better")
    assert_problem(desk("POST", f"/appointments/{cancelled['id']}/check-in"), 409)
    assert_problem(desk("POST", f"/appointments/{cancelled['id']}/cancel", {"why": "x"}), 422)
    assert_problem(desk("POST", "/appointments/999999/cancel"), 404)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"patient_id": None}, "patient_id"),
        ({"patient_id": "1"}, "patient_id"),
        ({"personnel_id": 999_999}, "personnel_id"),
        ({"starts_at": "2026-05-04"}, "starts_at"),
        ({"starts_at": "2026-05-04T09:00:00"}, "starts_at"),  # no zone
        ({"starts_at": 1_780_000_000}, "starts_at"),
        ({"starts_at": "<script>"}, "starts_at"),
        ({"starts_at": "2020-01-01T09:00:00Z"}, "starts_at"),  # the past
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 481}, "duration_minutes"),
        ({"duration_minutes": "20"}, "duration_minutes"),
        ({"duration_minutes": 20.5}, "duration_minutes"),
        ({"room": "r" * 41}, "room"),
        ({"reason": "x" * 301}, "reason"),
        ({"status": "checked_in"}, "status"),
        ({"institution_id": 1}, "institution_id"),
    ],
)
def test_bad_appointment_input_is_refused_and_writes_nothing(world, change, field):
    before = counts()
    body = _clash(world["desk_A"], world, **change)
    assert field in assert_problem(body, 422)["errors"]
    assert counts() == before


def test_hostile_text_in_an_appointment_is_kept_as_text(world):
    made = _book(world["desk_A"], world, room="R'1\"", reason="<script>alert(1)</script> Ñandú 'x' --")
    assert made["reason"] == "<script>alert(1)</script> Ñandú 'x' --" and made["room"] == "R'1\""
    response = world["desk_A"]("GET", f"/appointments/{made['id']}")
    assert response.mimetype == "application/json"


def test_hospital_endpoints_are_in_the_openapi_document(client):
    paths = client.get(PREFIX + "/openapi.json").get_json()["paths"]
    for path in (
        "/institutions",
        "/institutions/{institution_id}",
        "/personnel",
        "/personnel/{personnel_id}",
        "/patients",
        "/patients/{patient_id}",
        "/patients/{patient_id}/merge",
        "/appointments",
        "/appointments/{appointment_id}",
        "/appointments/{appointment_id}/reschedule",
        "/appointments/{appointment_id}/check-in",
        "/appointments/{appointment_id}/cancel",
        "/appointments/{appointment_id}/no-show",
        "/appointments/{appointment_id}/complete",
    ):
        assert any(p.endswith(path) for p in paths), path
