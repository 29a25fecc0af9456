"""The admin user list under load: latency and queries per request of ``GET /admin/users?q=...`` with 1k
and 10k users, through the Flask test client, on SQLite (and PostgreSQL when BENCH_DATABASE_URL is set).

BENCH_DATABASE_URL names a PostgreSQL server (``postgresql+psycopg://user@host/anydb``); the benchmark
creates a database of its own there and drops it afterwards.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.platform.backing import scratch_database

SIZES = (1_000, 10_000)
REQUESTS = 40
WARMUP = 3
ADMIN_EMAIL = "bench.admin@medcover.example"
ADMIN_PASSWORD = "Bench-admin-2026"  # noqa: S105
#: what a clerk would type: a common surname, two common letters, nothing that matches; and the plain page
CASES = [
    ("full page, no filter", "", False),
    ("htmx, q=mwangi", "mwangi", True),
    ("htmx, q=an", "an", True),
    ("htmx, q=zzzz (no match)", "zzzz", True),
]
FIRST = [
    "Grace",
    "Peter",
    "Lucy",
    "Daniel",
    "Joyce",
    "Samuel",
    "Amina",
    "Brian",
    "Catherine",
    "David",
    "Esther",
    "Francis",
    "Gladys",
    "Hassan",
    "Irene",
    "James",
    "Kevin",
    "Lilian",
    "Moses",
    "Nancy",
]
LAST = [
    "Mwangi",
    "Otieno",
    "Hassan",
    "Kiptoo",
    "Njeri",
    "Ochieng",
    "Wanjiku",
    "Mutua",
    "Achieng",
    "Abdi",
    "Chebet",
    "Kamau",
    "Omondi",
    "Atieno",
    "Kibet",
    "Wairimu",
    "Maina",
    "Nyambura",
    "Barasa",
    "Akinyi",
]
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _people(start: int, count: int, password_hash: str) -> list[dict]:
    from medcover.rbac import Role

    rng = random.Random(start)
    kinds = [
        (Role.RECEPTIONIST, "institution"),
        (Role.BILLING_CLERK, "institution"),
        (Role.ADJUDICATOR, "company"),
        (Role.FINANCE_OFFICER, "company"),
    ]
    rows = []
    for n in range(start, start + count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        role, tenant = rng.choice(kinds)
        rows.append(
            {
                "email": f"{first}.{last}.{n}@bench.example".lower(),
                "full_name": f"{first} {last}",
                "role": role,
                "password_hash": password_hash,
                "active": rng.random() > 0.05,
                "institution_id": rng.randint(1, 20) if tenant == "institution" else None,
                "company_id": rng.randint(1, 5) if tenant == "company" else None,
            }
        )
    return rows


def _databases() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="medcover-bench-") as tmp:
        yield "sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}"
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_database(os.environ["BENCH_DATABASE_URL"], "medcover_bench") as url:
            yield "postgresql", url


def _sign_in(client) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    token = _CSRF.search(page).group(1)
    answer = client.post("/auth/login", data={"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert answer.status_code == 303, answer.status_code


def _measure(app, client, q: str, htmx: bool) -> dict:
    from sqlalchemy import event

    from medcover.extensions import db

    headers = {"HX-Request": "true"} if htmx else {}
    url = f"/admin/users?q={q}" if q else "/admin/users"
    counts: list[int] = []
    timings: list[float] = []
    rows = 0
    with app.app_context():
        engine = db.engine
    for n in range(WARMUP + REQUESTS):
        seen = [0]

        def count(*_args, seen=seen):
            seen[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        answer = client.get(url, headers=headers)
        elapsed = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", count)
        assert answer.status_code == 200, answer.status_code
        if n >= WARMUP:
            timings.append(elapsed * 1000)
            counts.append(seen[0])
            rows = answer.get_data(as_text=True).count('<tr id="user-')
    return {
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(statistics.quantiles(timings, n=20)[18], 2),
        "queries": f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}",
        "rows_shown": rows,
    }


def _bench_database(backend: str, url: str, sizes) -> list[dict]:
    from flask_migrate import upgrade

    from blueprints.core import services
    from blueprints.core.passwords import hash_password
    from medcover.app import create_app
    from medcover.extensions import db

    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", "RATELIMIT_ENABLED": False})
    results = []
    with app.app_context():
        upgrade()
        services.create_user(
            actor=None, email=ADMIN_EMAIL, full_name="Bench Admin", role="admin", password=ADMIN_PASSWORD
        )
        db.session.commit()
        password_hash = hash_password("Not-used-by-anyone-1")
    users = 1
    client = app.test_client()
    _sign_in(client)
    for size in sizes:
        with app.app_context():
            table = db.metadata.tables["users"]
            for start in range(users, size, 5_000):
                db.session.execute(table.insert(), _people(start, min(5_000, size - start), password_hash))
            db.session.commit()
            users = size
        for label, q, htmx in CASES:
            results.append(
                {
                    "benchmark": "core_pages",
                    "database": backend,
                    "users": size,
                    "request": label,
                    **_measure(app, client, q, htmx),
                }
            )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return results


def run(quick: bool = False) -> list[dict]:
    sizes = SIZES[:1] if quick else SIZES
    results = []
    for backend, url in _databases():
        results.extend(_bench_database(backend, url, sizes))
    return results
