"""Journeys through the real thing: gunicorn on a fresh SQLite database, driven by Debian's chromium.

The world is built once per session the way an operator builds it (``flask db upgrade``, ``flask seed-demo``)
plus thirty more staff accounts, and the demo login is read from what ``seed-demo`` printed.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.people import PASSWORD as people_password
from tests.e2e.watch import Watch
from tests.live_server import BIN, REPO, WebServer, app_env, flask, missing

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
#: what axe did over the session, for the summary line
AXE_TOTALS = {"runs": 0, "seconds": 0.0, "paths": set(), "unchecked": set()}


@dataclass(frozen=True)
class World:
    base_url: str
    admin_email: str
    admin_name: str
    demo_password: str
    #: the extra accounts: dicts with id, email, full_name, role
    people: list[dict]
    people_password: str
    #: the server's database (other journeys' fixtures may add to it, e.g. their own accounts)
    db_path: Path

    @property
    def user_count(self) -> int:
        """How many accounts the database holds in all, now."""
        with closing(sqlite3.connect(self.db_path)) as conn:
            return conn.execute("SELECT count(*) FROM users").fetchone()[0]


@pytest.fixture
def db_session():
    """These tests talk to a server process, not to the in-process test database."""
    yield None


def parse_demo_logins(output: str) -> tuple[str, dict[str, str]]:
    """The password and the role -> email lines that ``flask seed-demo`` prints."""
    password = re.search(r"password for all: (\S+?)\)", output)
    assert password, f"no password in seed-demo output:\n{output}"
    emails = dict(re.findall(r"^\s+([a-z_]+)\s+(\S+@\S+)\s*$", output, flags=re.MULTILINE))
    assert "admin" in emails, f"no admin login in seed-demo output:\n{output}"
    return password.group(1), emails


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    db_path = tmp / "e2e.db"
    env = app_env(
        DATABASE_URL=f"sqlite:///{db_path}",
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(tmp / "mail"),
        SECRET_KEY="e2e-secret-key-not-for-production",
    )
    flask("db", "upgrade", env=env)
    password, emails = parse_demo_logins(flask("seed-demo", env=env))
    made = subprocess.run(
        [str(BIN / "python"), "-m", "tests.e2e.people"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    people = json.loads(made.stdout.strip().splitlines()[-1])
    with closing(sqlite3.connect(db_path)) as conn:
        (admin_name,) = conn.execute("SELECT full_name FROM users WHERE email = ?", (emails["admin"],)).fetchone()
    server = WebServer(env=env, log_path=tmp / "gunicorn.log")
    try:
        server.wait_ready()
        yield World(server.url, emails["admin"], admin_name, password, people, people_password, db_path)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        missing(f"no chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Every test that drives a browser ends with the browser's own verdict: the page it ends on is checked by axe
    (after whatever swaps the journey made), and any console error, script error, failed request, unexpected error
    response or serious accessibility violation seen on the way fails the test. A test that failed already keeps
    its own failure, with the browser's findings beside it."""
    watch = item.funcargs.get("page") and getattr(item.funcargs["page"], "_medcover_watch", None)
    try:
        result = yield
    except BaseException:
        if watch is not None and watch.problems():
            item.add_report_section("call", "browser", "\n".join(watch.problems()))
        raise
    if watch is not None:
        watch.check_axe(again=True)
        problems = watch.problems()
        if problems:
            pytest.fail("the browser saw problems on this journey:\n" + "\n".join(problems), pytrace=False)
    return result


@pytest.fixture
def page(browser, request):
    """A fresh browser context (no cookies) per test; a screenshot in artifacts/ when the test fails.

    The page is watched from its first request (see ``Watch``): a journey never has to ask for the checks."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page._medcover_watch = Watch(page)
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
        context.close()
        watch = page._medcover_watch
        AXE_TOTALS["runs"] += watch.axe_runs
        AXE_TOTALS["seconds"] += watch.axe_seconds
        AXE_TOTALS["paths"].update(_shape(path) for path in watch.checked)
        AXE_TOTALS["unchecked"].update(_shape(path) for path in watch.loaded - watch.checked)


def _shape(path: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/<id>", path)


def pytest_terminal_summary(terminalreporter):
    if AXE_TOTALS["runs"]:
        terminalreporter.write_line(
            f"axe-core: {AXE_TOTALS['runs']} runs in {AXE_TOTALS['seconds']:.1f}s over"
            f" {len(AXE_TOTALS['paths'])} kinds of page: {', '.join(sorted(AXE_TOTALS['paths']))}"
        )
        unchecked = AXE_TOTALS["unchecked"] - AXE_TOTALS["paths"]
        if unchecked:
            terminalreporter.write_line(f"axe-core: loaded but never checked: {', '.join(sorted(unchecked))}")


@pytest.fixture
def page_errors(page) -> list[str]:
    """What the browser saw go wrong so far (console and script errors, CSP refusals, failed requests, unexpected
    error responses, axe findings): a journey may assert it empty at any step; the harness checks it at the end."""
    return page._medcover_watch.errors


@pytest.fixture
def expect_error_response(page):
    """``expect_error_response(422, "/insurance/schemes/*/benefits")``: the journey is about to provoke that answer
    on purpose (a refused form, a wrong password). Each call allows exactly one response with that status whose
    path matches the pattern (fnmatch); one declared and never seen fails the test too."""
    return page._medcover_watch.expect_error_response


@pytest.fixture
def axe_check(page):
    """``axe_check()``: run axe on the page as it is now, for a state that swaps brought in mid-journey (a form
    sent back with its errors, a panel replaced); pages reached by navigation and the last one are checked anyway.
    """
    return lambda: page._medcover_watch.check_axe(again=True)


@pytest.fixture
def sign_in(page, world):
    """``sign_in(email, password)`` through the real form; returns the page on whatever came next."""

    def fill_and_submit(email: str, password: str):
        page.goto(world.base_url + "/auth/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():  # the form posts: the next page, or the same form with its message
            page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return fill_and_submit
