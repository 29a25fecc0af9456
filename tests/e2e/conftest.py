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


@dataclass(frozen=True)
class World:
    base_url: str
    admin_email: str
    admin_name: str
    demo_password: str
    #: the extra accounts: dicts with id, email, full_name, role
    people: list[dict]
    people_password: str
    #: how many accounts the database holds in all
    user_count: int


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
        (user_count,) = conn.execute("SELECT count(*) FROM users").fetchone()
    server = WebServer(env=env, log_path=tmp / "gunicorn.log")
    try:
        server.wait_ready()
        yield World(server.url, emails["admin"], admin_name, password, people, people_password, user_count)
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


@pytest.fixture
def page(browser, request):
    """A fresh browser context (no cookies) per test; a screenshot in artifacts/ when the test fails."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
        context.close()


@pytest.fixture
def page_errors(page) -> list[str]:
    """Script errors and CSP refusals seen by the page; a journey ends with this list empty."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def on_console(message):
        # A 401 or 422 answer to a form post is logged by chromium as a failed load: that is the page working.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(f"console: {message.text}")

    page.on("console", on_console)
    return errors


@pytest.fixture
def sign_in(page, world):
    """``sign_in(email, password)`` through the real form; returns the page on whatever came next."""

    def fill_and_submit(email: str, password: str):
        page.goto(world.base_url + "/auth/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return fill_and_submit
