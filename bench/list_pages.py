"""The list pages under load: requests per second of the claims list, the adjudicators' work queue, the invoices
list and the patient search (each as a whole page and as its HTMX partial), served by ``gunicorn -w 2`` with the
production settings on PostgreSQL holding 10,000 rows of each (1,000 with --quick), loaded by ``wrk`` with a
signed-in session cookie; beside each page, a hello-world Flask app (bench/hello.py) on the same gunicorn
settings, loaded the same way just before it: the limit. The machine is shared, so the ratio is what counts; the
two alternate ``BENCH_PAGES_ROUNDS`` times (2 unless set) and each keeps its best run, so that one slow moment of
the machine does not decide a page's figure or its limit.

The queries per page are counted in-process (the Flask test client, the same database and user), statements
only (BEGIN, COMMIT and the like left out). Goal (issue 16): >= 10 % of hello-world, <= 6 queries per page.

BENCH_DATABASE_URL names the PostgreSQL server (default the local one, ``postgresql+psycopg://postgres@127.0.0.1/
postgres``); the benchmark makes a scratch database there and drops it afterwards. ``wrk`` comes from Debian
(``make bench`` installs it). BENCH_PAGES_SECONDS sets each run's length, BENCH_PAGES_ROUNDS how many runs of each.

    .venv/bin/python -m bench list_pages [--quick]
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tests.platform.backing import scratch_database

ROOT = Path(__file__).resolve().parents[1]
SIZE, QUICK_SIZE = 10_000, 1_000
SECONDS, QUICK_SECONDS = 8, 3
ROUNDS = 2
WORKERS = 2
#: wrk's threads and open connections: enough to keep both sync workers busy
THREADS, CONNECTIONS = 2, 8
GOAL = ">= 10 % of hello-world, <= 6 queries"
SHARE, MAX_QUERIES = 0.10, 6
PASSWORD = "Bench-pages-2026"  # noqa: S105
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: SQLite's explicit BEGIN is not a query; only statements that read or write count
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
HX = {"HX-Request": "true"}
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_COOKIE = "medcover_session"

#: (work, who, path, headers, a row's marker in the answer)
PAGES = [
    ("claims list", "clerk", "/claims", {}, '<tr id="claim-'),
    ("claims list, htmx", "clerk", "/claims", HX, '<tr id="claim-'),
    ("work queue", "adjudicator", "/claims/queue", {}, '<tr id="queue-'),
    ("work queue, htmx", "adjudicator", "/claims/queue", HX, '<tr id="queue-'),
    ("invoices list", "clerk", "/billing/invoices", {}, '<tr id="invoice-'),
    ("invoices list, htmx", "clerk", "/billing/invoices", HX, '<tr id="invoice-'),
    ("patient search", "desk", "/hospital/patients?q=mwa", {}, '<tr id="patient-'),
    ("patient search, htmx", "desk", "/hospital/patients?q=mwa", HX, '<tr id="patient-'),
]


def fill(size: int) -> dict[str, str]:
    """A hospital and an insurer; ``size`` patients, members, claims waiting for review and issued invoices spread
    over them; a billing clerk, a receptionist and an adjudicator. Their emails by role."""
    from sqlalchemy import text

    from medcover.extensions import db
    from medcover.rbac import Role
    from tests import bulk
    from tests.factories import make_company, make_institution, make_scheme, make_user

    hospital = make_institution(code="BIG", name="Big County Hospital")
    make_institution(code="SML", name="Small Clinic", kind="clinic")
    company = make_company(code="JHI", name="Jubilant Health Insurance")
    make_scheme(company, code="GOLD", name="Gold")
    users = {
        "clerk": make_user(Role.BILLING_CLERK, institution_id=hospital.id, password=PASSWORD),
        "desk": make_user(Role.RECEPTIONIST, institution_id=hospital.id, password=PASSWORD),
        "adjudicator": make_user(Role.ADJUDICATOR, company_id=company.id, password=PASSWORD),
    }
    chunk = 5_000
    patient_ids, member_ids = [], []
    for start in range(0, size, chunk):
        patient_ids += bulk.patients(min(chunk, size - start), institution=hospital)
        member_ids += bulk.members(min(chunk, size - start), company=company)
    for start in range(0, size, chunk):
        n = min(chunk, size - start)
        bulk.claims(
            n,
            institution_id=hospital.id,
            company_id=company.id,
            member_ids=member_ids[start : start + n],
            patient_ids=patient_ids[start : start + n],
        )
        bulk.invoices(
            n,
            patient_ids=patient_ids[start : start + n],
            institution_id=hospital.id,
            company_id=company.id,
            status="issued",
        )
    db.session.commit()
    # A live database's autovacuum has long since passed over its rows: their statistics are known, and the
    # visibility map lets a count read an index alone. A bulk load leaves both to an autovacuum that would start
    # at some moment of the run; VACUUM runs outside a transaction.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"))
    return {who: user.email for who, user in users.items()}


# --- queries per page, in-process ----------------------------------------------------------------


def _signed_in_client(app, email: str):
    client = app.test_client()
    token = _CSRF.search(client.get("/auth/login").get_data(as_text=True)).group(1)
    # The referrer: a production app's test client speaks https, where the CSRF check wants one.
    form = {"csrf_token": token, "email": email, "password": PASSWORD}
    answer = client.post("/auth/login", data=form, headers={"Referer": "https://localhost/auth/login"})
    assert answer.status_code == 303, answer.status_code
    return client


def count_queries(app, emails: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Statements each page sends, and the rows it shows, after a warm-up request."""
    from sqlalchemy import event

    from medcover.extensions import db

    with app.app_context():
        engine = db.engine
    counted = {}
    for work, who, path, headers, marker in PAGES:
        client = _signed_in_client(app, emails[who])
        client.get(path, headers=headers)
        seen = []

        def count(conn, cursor, statement, *_args, seen=seen):
            if statement.split(None, 1)[0].upper() not in TRANSACTION_CONTROL:
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        answer = client.get(path, headers=headers)
        event.remove(engine, "before_cursor_execute", count)
        assert answer.status_code == 200, (work, answer.status_code)
        counted[work] = (len(seen), answer.get_data(as_text=True).count(marker))
    return counted


# --- gunicorn and wrk ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(target: str, env: dict[str, str]):
    """``gunicorn -c gunicorn.conf.py -w 2`` serving ``target`` on a free loopback port; its port."""
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "-w",
        str(WORKERS),
        "-b",
        f"127.0.0.1:{port}",
        target,
    ]
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        command,
        cwd=ROOT,
        env={**os.environ, **env, "MEDCOVER_DRAIN_SECONDS": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180  # a busy machine imports slowly
        while True:
            try:
                _get(port, "/readyz" if "wsgi" in target else "/")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {target} did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _get(port: int, path: str, headers: dict | None = None, body: str | None = None, method: str = "GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.getheader("Set-Cookie") or "", answer.read().decode()
    finally:
        conn.close()


def _session_cookie(set_cookie: str) -> str:
    match = re.search(rf"{_COOKIE}=([^;]+)", set_cookie)
    assert match, set_cookie
    return f"{_COOKIE}={match.group(1)}"


def sign_in(port: int, email: str) -> str:
    """Through the real sign-in form over HTTP: the session cookie to send."""
    from urllib.parse import urlencode

    _status, set_cookie, page = _get(port, "/auth/login")
    cookie = _session_cookie(set_cookie)
    form = urlencode({"csrf_token": _CSRF.search(page).group(1), "email": email, "password": PASSWORD})
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    status, set_cookie, _body = _get(port, "/auth/login", headers, form, "POST")
    assert status == 303, status
    return _session_cookie(set_cookie)


def wrk(port: int, path: str, seconds: int, headers: dict | None = None) -> float:
    """Requests per second, every answer a 2xx."""
    command = ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(  # noqa: S603 - wrk, fixed arguments
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or (errors and "timeout 0" not in errors.group(1)):
        raise RuntimeError(f"wrk on {path}: {out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(quick: bool = False) -> list[dict]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: make bench installs it (apt-get install wrk)")
    from flask_migrate import upgrade

    from medcover.app import create_app
    from medcover.extensions import db

    size = QUICK_SIZE if quick else SIZE
    seconds = int(os.environ.get("BENCH_PAGES_SECONDS") or (QUICK_SECONDS if quick else SECONDS))
    rounds = max(1, int(os.environ.get("BENCH_PAGES_ROUNDS") or ROUNDS))
    server = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_SERVER
    results = []
    with scratch_database(server, "medcover_bench_pages") as url:
        app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
        with app.app_context():
            upgrade()
            emails = fill(size)
        queries = count_queries(app, emails)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        env = {
            "MEDCOVER_ENV": "production",
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "MEDCOVER_TIMEZONE": "Africa/Nairobi",
        }
        with gunicorn("wsgi:app", env) as app_port, gunicorn("bench.hello:app", env) as hello_port:
            cookies = {who: sign_in(app_port, email) for who, email in emails.items()}
            for path in {p for _w, _who, p, _h, _m in PAGES}:  # warm both workers up
                for _ in range(4):
                    _get(app_port, path, {"Cookie": cookies["clerk"]})
            for work, who, path, headers, marker in PAGES:
                sent = {"Cookie": cookies[who], **headers}
                status, _set, body = _get(app_port, path, sent)
                assert status == 200 and marker in body, (work, status)
                load = _load()
                limit = figure = 0.0
                for _ in range(rounds):  # alternating: both see the machine's slow and fast moments alike
                    limit = max(limit, wrk(hello_port, "/", seconds))
                    figure = max(figure, wrk(app_port, path, seconds, sent))
                status, _set, _body = _get(app_port, path, sent)
                assert status == 200, (work, "the session ended during the run", status)
                count, rows = queries[work]
                share = figure / limit
                results.append(
                    {
                        "benchmark": "list_pages",
                        "work": work,
                        "size": size,
                        "figure": round(figure, 1),
                        "unit": "req/s",
                        "limit": round(limit, 1),
                        "of_limit": f"{share * 100:.1f} %",
                        "goal": GOAL,
                        "met": "yes" if share >= SHARE and count <= MAX_QUERIES else "no",
                        "queries": count,
                        "rows_shown": rows,
                        "load": load,
                    }
                )
    return results
