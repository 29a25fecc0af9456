"""Browser-facing hardening (headers, no inline script, htmx's safe mode, cookies, error pages) and logs
that keep secrets and patient data out."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest

from config import BASE_DIR
from medcover.api import PREFIX
from medcover.logs import MASK, JsonFormatter, TextFormatter, mask_value
from medcover.rbac import Role, access_of, public
from tests.factories import PASSWORD, make_user

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|<[^>]+\sstyle\s*=", re.IGNORECASE)
HTMX_CONFIG = re.compile(r"""<meta name="htmx-config" content='([^']*)'>""")
PHI = {
    "first_name": "Amina",
    "last_name": "Otieno",
    "date_of_birth": "1990-04-01",
    "national_id": "29384756",
    "phone": "+254712345678",
    "email": "amina.otieno@example.com",
    "member_number": "MC-000123",
}
SECRET_DETAIL = "lookup failed for amina.otieno@example.com, phone 0712345678"


# --- pages -----------------------------------------------------------------------------------------


def _page_urls(app, user_id: int) -> list[str]:
    """Every GET page of the URL map (the API's HTML reference included), ids filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods or rule.endpoint.startswith("health."):
            continue
        if rule.rule.startswith(PREFIX) and rule.rule != f"{PREFIX}/docs":
            continue
        url = re.sub(r"<(?:int|id):\w+>", str(user_id), rule.rule)
        url = re.sub(r"<uuid:\w+>", "00000000-0000-4000-8000-000000000000", url)
        urls.append(re.sub(r"<(?:\w+:)?\w+>", "x", url))
    return sorted(set(urls))


@pytest.fixture
def rendered(app, client, login):
    """Every page as an admin sees it, the public ones as a stranger does, and some HTMX partials."""
    anonymous = {}
    for url in _page_urls(app, 1):
        view = app.view_functions[app.url_map.bind("localhost").match(url.split("?")[0])[0]]
        if access_of(view).public:
            anonymous[f"{url} (anonymous)"] = client.get(url)
    anonymous["/auth/register?token=bogus (anonymous)"] = client.get("/auth/register?token=bogus")
    admin = login(make_user(Role.ADMIN))
    pages = {url: client.get(url) for url in _page_urls(app, admin.id)}
    pages["/admin/users (htmx)"] = client.get("/admin/users?q=a", headers={"HX-Request": "true"})
    pages["/admin/audit (htmx)"] = client.get("/admin/audit", headers={"HX-Request": "true"})
    html = {url: response for url, response in {**anonymous, **pages}.items() if response.mimetype == "text/html"}
    assert len(html) >= 20, sorted(html)
    assert rendered_ok(html, "/auth/login (anonymous)") and rendered_ok(html, "/admin/users")
    return html


def rendered_ok(html: dict, url: str) -> bool:
    return url in html and html[url].status_code == 200


def _assert_hardened_headers(url: str, response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, url
    assert directives.get("script-src") == ["'self'"], (url, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (url, csp)
    assert directives.get("object-src") == ["'none'"], (url, csp)
    assert response.headers.get("X-Frame-Options") == "DENY", url
    assert response.headers.get("X-Content-Type-Options") == "nosniff", url
    assert "no-store" in response.headers.get("Cache-Control", ""), url


def test_every_page_has_the_hardening_headers(rendered):
    for url, response in rendered.items():
        _assert_hardened_headers(url, response)


def test_no_page_has_inline_script_handlers_or_styles(rendered):
    for url, response in rendered.items():
        text = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(text), url
        assert not EVENT_HANDLER.search(text), url
        assert not INLINE_STYLE.search(text), url
        assert "javascript:" not in text.lower() and "hx-on" not in text, url


def test_no_template_has_inline_script_handlers_or_styles():
    templates = [*Path(BASE_DIR, "templates").rglob("*.html"), *Path(BASE_DIR, "blueprints").rglob("*.html")]
    assert len(templates) >= 15
    for path in templates:
        text = path.read_text()
        assert not INLINE_SCRIPT.search(text), path
        assert not EVENT_HANDLER.search(text), path
        assert not INLINE_STYLE.search(text), path
        assert "hx-on" not in text and "javascript:" not in text.lower(), path
        assert "|safe" not in text.replace(" ", ""), path


def test_the_checks_above_would_catch_inline_script():
    assert INLINE_SCRIPT.search("<p>x</p><script>alert(1)</script>")
    assert INLINE_SCRIPT.search('<SCRIPT type="module">import x</SCRIPT>')
    assert not INLINE_SCRIPT.search('<script src="/static/js/app.js" defer></script>')
    assert EVENT_HANDLER.search('<img src="x" onerror="alert(1)">')
    assert INLINE_STYLE.search('<div style="color:red">')


def test_htmx_runs_without_eval_script_tags_or_history_cache(rendered):
    texts = {url: response.get_data(as_text=True) for url, response in rendered.items()}
    full_pages = {url: text for url, text in texts.items() if "htmx.min.js" in text}
    assert len(full_pages) >= 10
    for url, text in full_pages.items():
        found = HTMX_CONFIG.findall(text)
        assert len(found) == 1, url
        config = json.loads(found[0])
        assert config["allowEval"] is False, url
        assert config["allowScriptTags"] is False, url
        assert config["historyCacheSize"] == 0, url
        assert config["selfRequestsOnly"] is True, url


def test_htmx_partials_vary_on_the_htmx_header(client, login):
    login(make_user(Role.ADMIN))
    response = client.get("/admin/users?q=a", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert "HX-Request" in response.headers.get("Vary", "")


def test_session_cookie_is_http_only_and_same_site_lax(client):
    user = make_user(Role.ADMIN)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("medcover_session=")]
    assert len(cookies) == 1
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookies[0].split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"] == "SameSite=Lax"
    assert attributes["path"] == "Path=/"
    assert "no-store" in response.headers["Cache-Control"]


def test_the_api_sets_no_session_cookie(client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    response = client.get(f"{PREFIX}/auth/profile", headers=headers)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


# --- error pages -----------------------------------------------------------------------------------


def _assert_plain_error_page(response, status: int) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    _assert_hardened_headers(str(status), response)
    text = response.get_data(as_text=True)
    for leak in ("Traceback", 'File "', "File &#34;", "werkzeug", "site-packages", "sqlalchemy"):
        assert leak not in text, (status, leak)
    return text


def test_404_403_405_pages_show_no_internals(client, login):
    _assert_plain_error_page(client.get("/no/such/page"), 404)
    login(make_user(Role.RECEPTIONIST))
    _assert_plain_error_page(client.get("/admin/users"), 403)
    _assert_plain_error_page(client.get("/auth/refresh"), 405)


def test_500_page_shows_no_internals(make_app):
    fresh = make_app()

    @public
    def boom():
        raise RuntimeError(SECRET_DETAIL)

    fresh.add_url_rule("/test-boom", "test_boom", boom)
    text = _assert_plain_error_page(fresh.test_client().get("/test-boom"), 500)
    assert "amina" not in text and "RuntimeError" not in text and "0712345678" not in text


# --- logs ------------------------------------------------------------------------------------------


@pytest.fixture
def log_lines():
    """Everything logged while the test runs, formatted by the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        root.removeHandler(handler)


def test_logs_hold_no_password_token_email_or_cookie(client, log_lines):
    user = make_user(Role.RECEPTIONIST, email="jane.wanjiru@example.com")
    assert client.post("/auth/login", data={"email": user.email, "password": PASSWORD}).status_code == 303
    cookie = client.get_cookie("medcover_session").value
    assert client.get("/auth/profile").status_code == 200
    client.post("/auth/login", data={"email": user.email, "password": "Wrong-horse-0"})
    client.post("/auth/reset-password", data={"email": user.email})
    pair = client.post(f"{PREFIX}/auth/login", json={"email": user.email, "password": PASSWORD}).get_json()
    client.post(f"{PREFIX}/auth/login", json={"email": user.email, "password": "Wrong-horse-0"})
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    assert client.get(f"{PREFIX}/auth/profile", headers=bearer).status_code == 200
    fresh = client.post(f"{PREFIX}/auth/refresh", json={"refresh_token": pair["refresh_token"]}).get_json()
    client.get(f"{PREFIX}/users?q={user.email}", headers=bearer)
    logging.getLogger("medcover.test").warning("retrying with Authorization: Bearer %s", pair["access_token"])

    lines = log_lines()
    assert len(lines) >= 10
    text = "\n".join(lines)
    secrets = {
        "password": PASSWORD,
        "wrong password": "Wrong-horse-0",
        "access token": pair["access_token"],
        "access token signature": pair["access_token"].rsplit(".", 1)[-1],
        "refresh token": pair["refresh_token"],
        "rotated refresh token": fresh["refresh_token"],
        "email": user.email,
        "email (url-encoded)": "jane.wanjiru%40example.com",
        "session cookie": cookie,
    }
    assert {name for name, secret in secrets.items() if secret in text} == set()


def test_json_log_lines_carry_the_request_id(client, log_lines):
    given = client.get(f"{PREFIX}/auth/profile", headers={"X-Request-ID": "trace-logs-1"})
    generated = client.get("/auth/login")
    entries = [json.loads(line) for line in log_lines()]
    assert all({"ts", "level", "logger", "request_id", "msg"} <= set(entry) for entry in entries)
    by_message = {entry["msg"]: entry for entry in entries if entry["logger"] == "medcover.request"}
    assert by_message[f"GET {PREFIX}/auth/profile 401"]["request_id"] == given.headers["X-Request-ID"] == "trace-logs-1"
    assert by_message["GET /auth/login 200"]["request_id"] == generated.headers["X-Request-ID"]
    assert by_message["GET /auth/login 200"]["status"] == 200


def test_logged_exceptions_are_masked(make_app, log_lines):
    fresh = make_app()

    @public
    def boom():
        raise RuntimeError(SECRET_DETAIL)

    fresh.add_url_rule(f"{PREFIX}/test-boom", "test_boom", boom)
    handler = logging.StreamHandler(stream := io.StringIO())  # make_app reset the root logger's handlers
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        response = fresh.test_client().get(f"{PREFIX}/test-boom")
    finally:
        logging.getLogger().removeHandler(handler)
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    errors = [entry for entry in entries if entry["level"] == "ERROR"]
    assert len(errors) == 1 and "RuntimeError" in errors[0]["exc"]
    assert errors[0]["request_id"] == response.headers["X-Request-ID"]
    assert "amina.otieno@example.com" not in stream.getvalue() and "0712345678" not in stream.getvalue()


def test_text_formatter_masks_too():
    record = logging.makeLogRecord(
        {
            "msg": "sent to %s with Bearer abc.def.ghi",
            "args": ("amina@example.com",),
            "levelname": "INFO",
            "name": "medcover.test",
        }
    )
    line = TextFormatter().format(record)
    assert "amina@example.com" not in line and "abc.def.ghi" not in line and MASK in line


# --- masking ---------------------------------------------------------------------------------------


def test_mask_value_masks_phi_keys_at_any_depth():
    payload = {
        "claim": {"id": 7, "status": "approved", "patient": dict(PHI)},
        "lines": [{"service_code": "CONS01", "member_number": "MC-000123"}],
        "Patient": {"First_Name": "Amina", "PHONE": "0712345678"},
    }
    masked = mask_value("payload", payload)
    assert masked["claim"]["patient"] == dict.fromkeys(PHI, MASK)
    assert masked["claim"]["id"] == 7 and masked["claim"]["status"] == "approved"
    assert masked["lines"] == [{"service_code": "CONS01", "member_number": MASK}]
    assert masked["Patient"] == {"First_Name": MASK, "PHONE": MASK}
    assert payload["claim"]["patient"]["first_name"] == "Amina"  # the caller's object is left alone


@pytest.mark.parametrize("key", sorted(PHI))
def test_mask_value_masks_each_phi_key(key):
    assert mask_value(key, PHI[key]) == MASK
    assert mask_value("wrapper", {"inner": {key: PHI[key]}}) == {"inner": {key: MASK}}


def test_mask_value_masks_phi_inside_free_text():
    masked = mask_value("note", "call amina.otieno@example.com or 0712345678, id 29384756")
    assert "amina.otieno@example.com" not in masked and "0712345678" not in masked and "29384756" not in masked


def test_json_formatter_masks_phi_passed_as_extra(log_lines):
    logging.getLogger("medcover.test").info("patient registered", extra={"patient": dict(PHI), "visit": 3})
    entry = json.loads(log_lines()[-1])
    assert entry["patient"] == dict.fromkeys(PHI, MASK) and entry["visit"] == 3
    assert not any(value in json.dumps(entry) for value in PHI.values())
