"""The API gateway's shared behaviour: problem+json errors, request ids, paging, rate limits, CORS,
the OpenAPI document and the health checks."""

from __future__ import annotations

import re

import pytest

from medcover.api import PREFIX
from medcover.extensions import limiter
from medcover.openapi import _PARAM
from medcover.rbac import Role, access_of, public
from tests.api.problem import assert_problem
from tests.factories import PASSWORD, make_user

HEX32 = re.compile(r"[0-9a-f]{32}")
PORTAL = "https://portal.example.com"
LIMITED = {"RATELIMIT_ENABLED": True, "RATELIMIT_API": "3 per minute", "RATELIMIT_LOGIN": "2 per minute"}
SECRET_DETAIL = "connection to db-primary failed with password hunter2"


def _bearer(client, user, **request) -> dict:
    response = client.post(f"{PREFIX}/auth/login", json={"email": user.email, "password": PASSWORD}, **request)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def _from(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


# --- problem+json ----------------------------------------------------------------------------------


def test_401_is_problem_json(client):
    problem = assert_problem(client.get(f"{PREFIX}/auth/profile"), 401)
    assert problem["title"] == "Unauthorized"


def test_403_is_problem_json(client, api_token):
    headers = api_token(make_user(Role.RECEPTIONIST))
    problem = assert_problem(client.get(f"{PREFIX}/users", headers=headers), 403)
    assert problem["title"] == "Forbidden"


@pytest.mark.parametrize("path", [f"{PREFIX}/nope", f"{PREFIX}/users/1/nope", f"{PREFIX}/"])
def test_unknown_api_path_is_404_problem_json(client, api_token, path):
    headers = api_token(make_user(Role.ADMIN))
    assert_problem(client.get(path, headers=headers), 404)
    assert_problem(client.get(path), 404)


def test_wrong_method_is_405_problem_json_with_allow(client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    response = client.delete(f"{PREFIX}/auth/profile", headers=headers)
    assert_problem(response, 405)
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert "GET" in allowed and "DELETE" not in allowed and "POST" not in allowed
    response = client.get(f"{PREFIX}/auth/login")
    assert_problem(response, 405)
    assert "POST" in {method.strip() for method in response.headers["Allow"].split(",")}


@pytest.mark.parametrize(
    "raw, content_type",
    [
        (b"{not json", "application/json"),
        (b'{"email": "a@b.c",}', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"text"', "application/json"),
        (b"42", "application/json"),
        (b"", "application/json"),
        (b"email=a@b.c&password=x", "application/x-www-form-urlencoded"),
    ],
)
def test_body_that_is_not_a_json_object_is_422_problem_json(client, raw, content_type):
    problem = assert_problem(client.post(f"{PREFIX}/auth/login", data=raw, content_type=content_type), 422)
    assert set(problem["errors"]) == {"body"}


def test_unknown_field_is_422_problem_json_naming_it(client):
    body = {"email": "a@example.com", "password": PASSWORD, "role": "admin"}
    problem = assert_problem(client.post(f"{PREFIX}/auth/login", json=body), 422)
    assert problem["errors"] == {"role": ["Unknown field."]}


def _app_with_failing_routes(make_app):
    """A new app (routes can only be added before its first request) with routes that raise."""
    fresh = make_app()

    @public
    def boom():
        raise RuntimeError(SECRET_DETAIL)

    fresh.add_url_rule(f"{PREFIX}/test-boom", "test_api_boom", boom)
    fresh.add_url_rule("/test-boom", "test_page_boom", boom)
    return fresh


def test_unexpected_error_is_500_problem_json_without_its_details(make_app):
    client = _app_with_failing_routes(make_app).test_client()
    response = client.get(f"{PREFIX}/test-boom", headers={"X-Request-ID": "trace-500"})
    problem = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    for leak in ("hunter2", "db-primary", "RuntimeError", "Traceback", "test_gateway.py"):
        assert leak not in text
    assert "request id" in problem["detail"]
    assert response.headers["X-Request-ID"] == "trace-500"


def test_unexpected_error_on_a_page_is_a_plain_500_page(make_app):
    client = _app_with_failing_routes(make_app).test_client()
    response = client.get("/test-boom")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    for leak in ("hunter2", "db-primary", "RuntimeError", "Traceback", "File &#34;", 'File "'):
        assert leak not in text


# --- request ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["abc-123", "A.b_c:d-9", "x" * 128, "0f" * 16])
def test_valid_request_id_is_echoed(client, given):
    for path in (f"{PREFIX}/auth/profile", "/auth/login", f"{PREFIX}/nope"):
        assert client.get(path, headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["has space", "x" * 129, "semi;colon", "<script>", "ünïcode", "a/b", ""])
def test_malformed_request_id_is_replaced(client, given):
    response = client.get(f"{PREFIX}/auth/profile", headers={"X-Request-ID": given})
    assert HEX32.fullmatch(response.headers["X-Request-ID"])


@pytest.mark.parametrize("given", ["abc\n", "abc\r\nSet-Cookie: x=1", "\nabc"])
def test_request_id_with_a_line_break_is_replaced(client, given):
    # The test client refuses such headers, so they go straight into the WSGI environ.
    response = client.get(f"{PREFIX}/auth/profile", environ_base={"HTTP_X_REQUEST_ID": given})
    assert_problem(response, 401)
    assert HEX32.fullmatch(response.headers["X-Request-ID"])
    assert "Set-Cookie" not in response.headers


def test_missing_request_id_is_generated_fresh_each_time(client):
    first = client.get(f"{PREFIX}/auth/profile").headers["X-Request-ID"]
    second = client.get("/auth/login").headers["X-Request-ID"]
    assert HEX32.fullmatch(first) and HEX32.fullmatch(second) and first != second


# --- paging ----------------------------------------------------------------------------------------


def test_lists_are_paged(client, api_token):
    headers = api_token(make_user(Role.ADMIN, full_name="A Admin"))
    for n in range(3):
        make_user(Role.AUDITOR, full_name=f"B Auditor {n}")
    default = client.get(f"{PREFIX}/users", headers=headers).get_json()
    assert set(default) == {"items", "page", "per_page", "total"}
    assert (default["page"], default["per_page"], default["total"], len(default["items"])) == (1, 50, 4, 4)
    second = client.get(f"{PREFIX}/users", query_string={"page": 2, "per_page": 3}, headers=headers).get_json()
    assert (second["page"], second["per_page"], second["total"]) == (2, 3, 4)
    assert [item["full_name"] for item in second["items"]] == ["B Auditor 2"]
    beyond = client.get(f"{PREFIX}/users", query_string={"page": 9, "per_page": 200}, headers=headers).get_json()
    assert beyond == {"items": [], "page": 9, "per_page": 200, "total": 4}


@pytest.mark.parametrize(
    "query, field",
    [
        ({"per_page": 201}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"per_page": -5}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "abc"}, "page"),
        ({"per_page": "ten"}, "per_page"),
        ({"page": "1.5"}, "page"),
        ({"page": ""}, "page"),
    ],
)
def test_bad_paging_parameters_are_422(client, api_token, query, field):
    headers = api_token(make_user(Role.ADMIN))
    for path in (f"{PREFIX}/users", f"{PREFIX}/audit-logs"):
        problem = assert_problem(client.get(path, query_string=query, headers=headers), 422)
        assert set(problem["errors"]) == {field}


# --- rate limits -----------------------------------------------------------------------------------


def _retry_after(response) -> int:
    value = response.headers["Retry-After"]
    assert value.isdigit(), value
    return int(value)


def test_fourth_api_call_in_a_minute_is_429_with_retry_after(make_app):
    fresh = make_app(**LIMITED)
    client = fresh.test_client()
    headers = _bearer(client, make_user(Role.ADMIN))
    for _ in range(3):
        assert client.get(f"{PREFIX}/auth/profile", headers=headers).status_code == 200
    response = client.get(f"{PREFIX}/auth/profile", headers=headers)
    assert_problem(response, 429)
    assert 0 < _retry_after(response) <= 60
    assert HEX32.fullmatch(response.headers["X-Request-ID"])


def test_retry_after_tells_the_real_wait(make_app):
    client = make_app(**{**LIMITED, "RATELIMIT_API": "3 per 10 seconds"}).test_client()
    for _ in range(3):
        client.get(f"{PREFIX}/auth/profile")
    response = client.get(f"{PREFIX}/auth/profile")
    assert_problem(response, 429)
    assert 0 < _retry_after(response) <= 10


def test_api_limit_counts_per_token(make_app):
    client = make_app(**LIMITED).test_client()
    first = _bearer(client, make_user(Role.ADMIN), **_from("10.1.0.1"))
    second = _bearer(client, make_user(Role.ADMIN), **_from("10.1.0.2"))
    # One call from each of three addresses: no address is near its budget, the token spends its own.
    for address in ("10.2.0.1", "10.2.0.2", "10.2.0.3"):
        assert client.get(f"{PREFIX}/auth/profile", headers=first, **_from(address)).status_code == 200
    assert_problem(client.get(f"{PREFIX}/auth/profile", headers=first, **_from("10.2.0.4")), 429)
    assert client.get(f"{PREFIX}/auth/profile", headers=second, **_from("10.2.0.5")).status_code == 200


def test_api_limit_counts_per_address(make_app):
    client = make_app(**LIMITED).test_client()
    first = _bearer(client, make_user(Role.ADMIN), **_from("10.3.0.1"))
    second = _bearer(client, make_user(Role.ADMIN), **_from("10.3.0.2"))
    shared = _from("10.4.0.1")
    assert client.get(f"{PREFIX}/auth/profile", headers=first, **shared).status_code == 200
    assert client.get(f"{PREFIX}/auth/profile", headers=first, **shared).status_code == 200
    assert client.get(f"{PREFIX}/auth/profile", headers=second, **shared).status_code == 200
    # ``second`` has used one call of its own, but the address has used three.
    assert_problem(client.get(f"{PREFIX}/auth/profile", headers=second, **shared), 429)
    assert_problem(client.get(f"{PREFIX}/auth/profile", **shared), 429)
    assert client.get(f"{PREFIX}/auth/profile", headers=second, **_from("10.4.0.2")).status_code == 200


def test_login_has_its_own_tighter_limit_per_address(make_app):
    client = make_app(**LIMITED).test_client()
    user = make_user(Role.ADMIN)
    body = {"email": user.email, "password": PASSWORD}
    for _ in range(2):
        assert client.post(f"{PREFIX}/auth/login", json=body, **_from("10.5.0.1")).status_code == 200
    response = client.post(f"{PREFIX}/auth/login", json=body, **_from("10.5.0.1"))
    assert_problem(response, 429)
    assert 0 < _retry_after(response) <= 60
    assert client.post(f"{PREFIX}/auth/login", json=body, **_from("10.5.0.2")).status_code == 200


def test_the_sign_in_form_is_limited_and_pages_are_not(make_app):
    """The limiter's hooks run only where a limit was put (rate_limit): the sign-in form's POST is still limited
    per address, while pages, however often asked for, are neither refused nor given limit headers."""
    app = make_app(**LIMITED)
    user = make_user(Role.ADMIN)
    pages = [app.test_client().get("/auth/login", **_from("10.6.0.1")) for _ in range(5)]
    assert {page.status_code for page in pages} == {200}
    assert not any("X-RateLimit-Limit" in page.headers for page in pages)
    form = {"email": user.email, "password": PASSWORD}
    # the right password each time, from new browsers at one address: the third is over the limit of two
    answers = [app.test_client().post("/auth/login", data=form, **_from("10.6.0.1")) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [303, 303, 429]
    assert [answer.headers.get("X-RateLimit-Remaining") for answer in answers[:2]] == ["1", "0"]
    assert app.test_client().post("/auth/login", data=form, **_from("10.6.0.2")).status_code == 303


def test_every_limit_is_put_on_through_rate_limit():
    """``rate_limit`` notes where a limit is; one put on with the limiter itself would go unchecked."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    direct = [
        str(path.relative_to(root))
        for folder in ("medcover", "blueprints")
        for path in (root / folder).rglob("*.py")
        if re.search(r"limiter\.(limit|shared_limit)\(", path.read_text()) and path.name != "extensions.py"
    ]
    assert direct == []


def test_limits_of_one_app_do_not_leak_into_another(client, make_app):
    """The limiter is one object for the process; each app's own RATELIMIT_ENABLED must decide."""
    limited = make_app(**LIMITED)
    assert limiter.enabled
    # The session's app has limits off: far more calls than any limit above, none refused.
    statuses = {client.post(f"{PREFIX}/auth/refresh", json={"refresh_token": "rt_x"}).status_code for _ in range(25)}
    assert statuses == {401}
    # Building an app with limits off does not switch them off for the limited one.
    make_app()
    limited_client = limited.test_client()
    assert [limited_client.get(f"{PREFIX}/auth/profile").status_code for _ in range(4)] == [401, 401, 401, 429]


# --- CORS ------------------------------------------------------------------------------------------


def _preflight(client, origin: str):
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization",
    }
    return client.options(f"{PREFIX}/auth/profile", headers=headers)


def test_cors_allows_the_configured_origin_only(make_app, client, api_token):
    headers = api_token(make_user(Role.ADMIN))
    fresh = make_app(CORS_ORIGINS=[PORTAL]).test_client()
    allowed = _preflight(fresh, PORTAL)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "GET" in allowed.headers["Access-Control-Allow-Methods"]
    assert "authorization" in allowed.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    refused = _preflight(fresh, "https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in refused.headers

    response = fresh.get(f"{PREFIX}/auth/profile", headers={**headers, "Origin": PORTAL})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "x-request-id" in response.headers["Access-Control-Expose-Headers"].lower()
    other = fresh.get(f"{PREFIX}/auth/profile", headers={**headers, "Origin": "https://evil.example.com"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers


def test_cors_never_covers_pages(make_app):
    fresh = make_app(CORS_ORIGINS=[PORTAL]).test_client()
    assert "Access-Control-Allow-Origin" not in fresh.get("/auth/login", headers={"Origin": PORTAL}).headers


def test_without_configured_origins_no_cors_headers(client):
    assert "Access-Control-Allow-Origin" not in _preflight(client, PORTAL).headers
    assert "Access-Control-Allow-Origin" not in client.get(f"{PREFIX}/auth/profile", headers={"Origin": PORTAL}).headers


# --- OpenAPI ---------------------------------------------------------------------------------------


def _api_operations(app) -> dict[tuple[str, str], object]:
    """(path as OpenAPI writes it, method) -> view, for every /api/v1 rule of the URL map."""
    operations = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX):
            continue
        path = _PARAM.sub(r"{\1}", rule.rule[len(PREFIX) :]) or "/"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operations[(path, method.lower())] = app.view_functions[rule.endpoint]
    return operations


def test_openapi_document_is_public_json(client):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    spec = response.get_json()
    assert spec["openapi"] == "3.1.0"
    assert spec["servers"] == [{"url": PREFIX}]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_openapi_document_is_valid_openapi_3_1(client):
    validator = pytest.importorskip("openapi_spec_validator")
    spec = client.get(f"{PREFIX}/openapi.json").get_json()
    validator.validate(spec, cls=validator.OpenAPIV31SpecValidator)


def test_openapi_lists_every_api_rule_with_its_methods(app, client):
    spec = client.get(f"{PREFIX}/openapi.json").get_json()
    listed = {(path, method) for path, operations in spec["paths"].items() for method in operations}
    assert listed == set(_api_operations(app))


def test_openapi_marks_every_non_public_operation_with_bearer_auth(app, client):
    spec = client.get(f"{PREFIX}/openapi.json").get_json()
    for (path, method), view in _api_operations(app).items():
        operation = spec["paths"][path][method]
        access = access_of(view)
        assert access is not None, (path, method)
        if access.public:
            assert "security" not in operation and "x-roles" not in operation, (path, method)
        else:
            assert operation["security"] == [{"bearerAuth": []}], (path, method)
            assert operation["x-roles"] == sorted(role.value for role in access.roles), (path, method)
            for status in ("401", "403"):
                assert operation["responses"][status]["content"]["application/problem+json"], (path, method)


def test_openapi_documents_the_user_create_body(client):
    spec = client.get(f"{PREFIX}/openapi.json").get_json()
    operation = spec["paths"]["/users"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(schema["required"]) == {"email", "full_name", "role", "password"}
    assert schema["additionalProperties"] is False
    assert set(operation["responses"]) >= {"201", "401", "403", "409", "422"}
    created = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "password" not in spec["components"]["schemas"][created]["properties"]
    assert "password_hash" not in spec["components"]["schemas"][created]["properties"]


def test_api_docs_page_lists_every_operation(app, client):
    response = client.get(f"{PREFIX}/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for path, method in _api_operations(app):
        assert f"{method.upper()}</span> <code>{path}</code>" in page, (method, path)


# --- health ----------------------------------------------------------------------------------------


def test_healthz_is_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["queue"] == "inline" or body["checks"]["queue"].startswith("ok")
