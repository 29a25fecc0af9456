"""Patient search under load: median and p95 time and queries per request of the search endpoint with 200,000
patients (20,000 with --quick), on SQLite and, when BENCH_DATABASE_URL is set, PostgreSQL; plus the query plan
of the name-prefix search, which must come from ``ix_patients_last_key``.

Measured through the Flask test client as a receptionist of the big hospital: the intake page's search
(``GET /hospital/patients?q=`` as htmx, when that page exists) and the API's (``GET /api/v1/patients?q=``),
and ``services.search_patients`` alone for the floor. A second hospital holds a tenth as many patients, so
the tenant filter has something to filter.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from tests.platform.backing import scratch_database

SIZE, QUICK_SIZE = 200_000, 20_000
CHUNK = 10_000
REQUESTS = 60
WARMUP = 5
DESK_EMAIL = "bench.desk@medcover.example"
DESK_PASSWORD = "Bench-desk-2026"  # noqa: S105
PAGE = "/hospital/patients"
API = "/api/v1/patients"
#: SQLite's explicit BEGIN is not a query; only statements that read or write count
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _rows(institution_id: int, code: str, start: int, count: int) -> list[dict]:
    from blueprints.hospital.cli import FIRST_NAMES, LAST_NAMES
    from blueprints.hospital.services import search_key

    rng = random.Random(start * 7 + institution_id)
    today = date.today()
    rows = []
    for n in range(start, start + count):
        gender = rng.choice(("female", "male"))
        first, last = rng.choice(FIRST_NAMES[gender]), rng.choice(LAST_NAMES)
        rows.append(
            {
                "institution_id": institution_id,
                "patient_number": f"{code}-{n:07d}",
                "first_name": first,
                "last_name": last,
                "first_name_key": search_key(first),
                "last_name_key": search_key(last),
                "date_of_birth": today - timedelta(days=rng.randint(30, 30_000)),
                "gender": gender,
                "phone": f"2547{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.9 else None,
                "email": None,
                "national_id": str(20_000_000 + n * 7 + institution_id) if rng.random() < 0.8 else None,
                "member_number": f"JHI-{n:06d}" if rng.random() < 0.3 else None,
                "merged_into_id": None,
            }
        )
    return rows


def _databases() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="medcover-bench-") as tmp:
        yield "sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}"
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_database(os.environ["BENCH_DATABASE_URL"], "medcover_bench_patients") as url:
            yield "postgresql", url


def _fill(size: int) -> tuple[int, dict[str, str]]:
    """The two hospitals, their patients and a receptionist at the first; the queries a clerk would type."""
    from sqlalchemy import select, text

    from blueprints.core import services as core
    from blueprints.hospital.models import MedicalInstitution, Patient
    from medcover.extensions import db

    big = MedicalInstitution(code="BIG", name="Big County Hospital", kind="hospital", active=True)
    small = MedicalInstitution(code="SML", name="Small Clinic", kind="clinic", active=True)
    db.session.add_all([big, small])
    db.session.flush()
    core.create_user(
        actor=None,
        email=DESK_EMAIL,
        full_name="Bench Desk",
        role="receptionist",
        password=DESK_PASSWORD,
        institution_id=big.id,
    )
    db.session.commit()
    table = Patient.__table__
    for institution, total in ((big, size), (small, size // 10)):
        for start in range(1, total + 1, CHUNK):
            db.session.execute(
                table.insert(), _rows(institution.id, institution.code, start, min(CHUNK, total - start + 1))
            )
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE patients"))
    else:
        db.session.execute(text("ANALYZE"))
    db.session.commit()
    sample = db.session.execute(
        select(Patient.first_name, Patient.last_name, Patient.phone, Patient.national_id)
        .where(Patient.institution_id == big.id, Patient.phone.is_not(None), Patient.national_id.is_not(None))
        .order_by(Patient.id)
        .offset(size // 2)
        .limit(1)
    ).one()
    queries = {
        "last-name prefix": sample.last_name[:4].lower(),
        # a surname late in the alphabet that is nobody's first name: the ordered index scan's worst case
        "rare late last-name prefix": "wany",
        "first last": f"{sample.first_name} {sample.last_name[:3]}",
        "phone prefix (spaced)": f"{sample.phone[:4]} {sample.phone[4:8]}",
        "national id": sample.national_id,
        "no match": "zzqx",
    }
    return big.id, queries


def _timed(call, count_on) -> tuple[list[float], list[int], object]:
    from sqlalchemy import event

    timings, counts, last = [], [], None
    for n in range(WARMUP + REQUESTS):
        seen = [0]

        def count(conn, cursor, statement, *_args, seen=seen):
            if statement.split(None, 1)[0].upper() not in TRANSACTION_CONTROL:
                seen[0] += 1

        event.listen(count_on, "before_cursor_execute", count)
        started = time.perf_counter()
        last = call()
        elapsed = time.perf_counter() - started
        event.remove(count_on, "before_cursor_execute", count)
        if n >= WARMUP:
            timings.append(elapsed * 1000)
            counts.append(seen[0])
    return timings, counts, last


def _figures(timings: list[float], counts: list[int]) -> dict:
    return {
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(statistics.quantiles(timings, n=20)[18], 2),
        "queries": f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}",
    }


def _plan(app, tenant, query: str) -> tuple[str, bool]:
    """The database's plan for the SQL ``search_patients`` sends for ``query``."""
    from sqlalchemy import event

    from blueprints.hospital import services
    from medcover.extensions import db

    with app.app_context():
        sent = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            sent.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        services.search_patients(tenant, query)
        event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = next((s, p) for s, p in sent if "FROM patients" in s)
        postgres = db.engine.dialect.name == "postgresql"
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        rows = db.session.connection().exec_driver_sql(explain + statement, parameters).all()
        plan = " | ".join(str(row[0] if postgres else row[-1]) for row in rows)
        db.session.rollback()
    return plan, "ix_patients_last_key" in plan


def _bench_database(backend: str, url: str, size: int) -> list[dict]:
    from flask_migrate import upgrade

    from blueprints.hospital import services
    from medcover.app import create_app
    from medcover.extensions import db
    from medcover.rbac import Tenant

    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", "RATELIMIT_ENABLED": False})
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        institution_id, queries = _fill(size)
        engine = db.engine
    fill_seconds = round(time.perf_counter() - started, 1)
    tenant = Tenant(institution_id=institution_id, company_id=None)

    client = app.test_client()
    token = client.post(API.replace("/patients", "/auth/login"), json={"email": DESK_EMAIL, "password": DESK_PASSWORD})
    assert token.status_code == 200, token.get_data(as_text=True)
    api_headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    endpoints = [("api " + API, lambda q: client.get(API, query_string={"q": q}, headers=api_headers))]
    if any(rule.rule == PAGE for rule in app.url_map.iter_rules()):
        page_client = app.test_client()
        login = page_client.get("/auth/login").get_data(as_text=True)
        answer = page_client.post(
            "/auth/login",
            data={"csrf_token": _CSRF.search(login).group(1), "email": DESK_EMAIL, "password": DESK_PASSWORD},
        )
        assert answer.status_code == 303, answer.status_code
        endpoints.insert(
            0,
            (
                "page " + PAGE + " (htmx)",
                lambda q: page_client.get(PAGE, query_string={"q": q}, headers={"HX-Request": "true"}),
            ),
        )

    results = []
    for label, q in queries.items():
        for name, call in endpoints:
            timings, counts, answer = _timed(lambda call=call, q=q: call(q), engine)
            assert answer.status_code == 200, (name, q, answer.status_code)
            if name.startswith("api"):
                found = len(answer.get_json()["items"])
            else:
                found = answer.get_data(as_text=True).count('id="patient-')
            results.append(
                {
                    "benchmark": "patient_search",
                    "database": backend,
                    "patients": size,
                    "search": f"{label}: {q!r}",
                    "via": name,
                    **_figures(timings, counts),
                    "found": found,
                    "note": "",
                }
            )

        def direct(q=q):
            with app.app_context():
                return services.search_patients(tenant, q)

        timings, counts, found = _timed(direct, engine)
        results.append(
            {
                "benchmark": "patient_search",
                "database": backend,
                "patients": size,
                "search": f"{label}: {q!r}",
                "via": "services.search_patients",
                **_figures(timings, counts),
                "found": len(found),
                "note": "",
            }
        )

    plan, indexed = _plan(app, tenant, queries["last-name prefix"])
    results.append(
        {
            "benchmark": "patient_search",
            "database": backend,
            "patients": size,
            "search": f"plan of the name prefix {queries['last-name prefix']!r}",
            "via": "EXPLAIN" if backend == "postgresql" else "EXPLAIN QUERY PLAN",
            "median_ms": "",
            "p95_ms": "",
            "queries": "",
            "found": "ix_patients_last_key used" if indexed else "NOT INDEXED",
            "note": plan,
            "fill_seconds": fill_seconds,
        }
    )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return results


def run(quick: bool = False) -> list[dict]:
    size = QUICK_SIZE if quick else SIZE
    results = []
    for backend, url in _databases():
        results.extend(_bench_database(backend, url, size))
    return results
