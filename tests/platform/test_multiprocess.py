"""Two web processes against one PostgreSQL and one Redis behave as one site: sessions, revocation and
rate limits are shared state, not per-process memory."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.live_server import HttpClient, WebServer, app_env, flask
from tests.platform.backing import scratch_database, unique_loopback

pytestmark = pytest.mark.services

EMAIL = "mia.multi@hospital.example"
PASSWORD = "Two-processes-2026"
LOGIN_LIMIT = 5


@dataclass(frozen=True)
class Site:
    a: WebServer
    b: WebServer


@pytest.fixture(scope="module")
def site(services, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multiprocess")
    with scratch_database(services.database_url, "medcover_mp") as database_url:
        env = app_env(
            DATABASE_URL=database_url,
            REDIS_URL=services.redis_url,
            RATELIMIT_STORAGE_URI=services.redis_url,
            RATELIMIT_ENABLED="true",
            RATELIMIT_LOGIN=f"{LOGIN_LIMIT} per minute",
            # The database login throttle answers 429 too; lifted here so every 429 is the shared rate limit's.
            LOGIN_SLOWDOWN_AFTER="1000",
            LOGIN_LOCK_AFTER="1000",
            LOGIN_ADDRESS_LOCK_AFTER="1000",
            SECRET_KEY="multiprocess-secret-key-for-tests-only",
            MAIL_BACKEND="file",
            MAIL_FILE_DIR=str(tmp / "mail"),
        )
        flask("db", "upgrade", env=env)
        flask("users", "create", EMAIL, "--role", "admin", "--password", PASSWORD, "--name", "Mia Multi", env=env)
        a = WebServer(env=env, log_path=tmp / "a.log", workers=1)
        b = WebServer(env=env, log_path=tmp / "b.log", workers=1)
        try:
            a.wait_ready()
            b.wait_ready()
            yield Site(a, b)
        finally:
            a.stop()
            b.stop()


def _signed_in(client: HttpClient, server: WebServer) -> bool:
    page = client.get(server.url + "/")
    if page.status == 200 and "Mia Multi" in page.text:
        return True
    assert page.status == 302 and "/auth/login" in (page.header("Location") or ""), page.status
    return False


def test_a_session_made_on_one_process_is_valid_on_the_other(site):
    browser = HttpClient(source_ip=unique_loopback())

    signed = browser.sign_in(site.a.url, EMAIL, PASSWORD)

    assert signed.status == 303, signed.text[:500]
    assert _signed_in(browser, site.b)
    assert _signed_in(browser, site.a)
    assert not _signed_in(HttpClient(), site.b)  # the cookie is what carries it, not the address


def test_signing_out_everywhere_on_one_process_ends_the_session_on_both(site):
    laptop = HttpClient(source_ip=unique_loopback())
    phone = HttpClient(source_ip=unique_loopback())
    assert laptop.sign_in(site.a.url, EMAIL, PASSWORD).status == 303
    assert phone.sign_in(site.b.url, EMAIL, PASSWORD).status == 303
    assert _signed_in(laptop, site.b) and _signed_in(phone, site.a)

    token = phone.csrf_token(site.b.url + "/auth/sessions")
    ended = phone.post(site.b.url + "/auth/sessions/revoke-all", {"csrf_token": token})

    assert ended.status == 303
    assert not _signed_in(laptop, site.a)
    assert not _signed_in(laptop, site.b)
    assert not _signed_in(phone, site.a)


def test_failed_sign_ins_count_against_one_limit_across_both_processes(site):
    client = HttpClient(source_ip=unique_loopback())
    token = client.csrf_token(site.a.url + "/auth/login")  # one session, valid on both processes
    wrong = {"csrf_token": token, "email": "nobody@hospital.example", "password": "wrong-pass-123"}
    answers = []
    for attempt in range(LOGIN_LIMIT * 2 + 1):
        server = (site.a, site.b)[attempt % 2]
        reply = client.post(server.url + "/auth/login", wrong)
        answers.append(("A" if server is site.a else "B", reply.status))
        if reply.status == 429:
            break

    assert [status for _, status in answers[:-1]] == [401] * LOGIN_LIMIT, answers
    assert answers[-1][1] == 429, answers
    assert {name for name, _ in answers[:-1]} == {"A", "B"}
    assert reply.header("Retry-After") and reply.header("X-RateLimit-Limit") == str(LOGIN_LIMIT)
    assert "Too many requests" in reply.text
