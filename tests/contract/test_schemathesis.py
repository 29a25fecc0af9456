"""The API keeps the promises of its OpenAPI document: schemathesis against the real thing.

gunicorn serves a fresh SQLite database holding the demo world (``flask db upgrade``, ``flask seed-demo``);
``world.grow`` adds through the API the records the demo lacks, and ``world.bindings`` points every path id,
record-naming body or query field and rule-bound day of every operation at real records (schemathesis
dictionaries, written into the run's config beside schemathesis.toml). schemathesis, with an admin's token, then
sends every /api/v1 operation what the document says it takes, and what it says it refuses, and chains creates
to reads, changes and actions through the document's links (the stateful phase). Any server error, undocumented
status or content type, answer off its schema, refused valid input or accepted invalid input, endpoint that
ignores its auth, or record still there after its DELETE fails the build, and so does a "missing test data" or
"schema validation mismatch" warning for any operation but ``KNOWN_GAPS`` in the examples and fuzzing phases;
the stateful phase (valid chains through the links, in a second run) fails on failures. ``make test`` runs the
examples, fuzzing and stateful phases with 5 examples per operation (``SCHEMATHESIS_EXAMPLES``,
``SCHEMATHESIS_PHASES``); ``make fuzz`` 60, and the coverage phase too.

``make fuzz`` looks for failures, not for gaps (``SCHEMATHESIS_WARNINGS=report``): at 60 examples an action uses up
the world's records in the state it needs (a claim is submitted once, a refund approved once; what is left is a
404 or a 409), and the coverage phase's edge values meet the rules tied to stored state that schemathesis.toml
lists, so its warnings are printed and its failures fail. The strict run is make test's.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.contract import world
from tests.live_server import BIN, REPO, WebServer, app_env, flask

pytestmark = pytest.mark.contract

CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
    "negative_data_rejection,positive_data_acceptance,ignored_auth,use_after_free"
)
WEBHOOK_TOKEN = "contract-webhook-token-0123456789"
#: warnings that mean part of the API went untested or the document disagrees with the validation: the test fails
#: on any of them, naming the operations (less KNOWN_GAPS)
FATAL_WARNINGS = ("Authentication failed", "Missing test data:", "Schema validation mismatch:")
#: Operations whose warning the test lets through, each with the rule no schema states and the run can't yet meet.
#: A new gap gets a real fix (the document states the rule, or the world binds records in the state it needs), never
#: an entry here to make a run pass.
KNOWN_GAPS: dict[str, dict[str, str]] = {}
#: valid data always names a real record, so it is answered (2xx) or refused for the record's state (409), never
#: for a record that is not there; ids that name nothing are still sent by the invalid data, and use_after_free and
#: the stateful phase read deleted records
REAL_RECORDS = 1.0


@pytest.fixture
def db_session():
    """This test talks to a server process, not to the in-process test database."""
    yield None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("contract")
    env = app_env(
        DATABASE_URL=f"sqlite:///{tmp / 'contract.db'}",
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(tmp / "mail"),
        UPLOAD_DIR=str(tmp / "uploads"),
        SECRET_KEY="contract-secret-key-not-for-production",
        SMS_WEBHOOK_TOKEN=WEBHOOK_TOKEN,
        # thousands of requests from one token and one address: the limiter is the gateway's tests' business
        RATELIMIT_ENABLED="false",
        JWT_ACCESS_MINUTES="240",
        # the run's webhooks deliver to a closed local port (tests/contract/world.py)
        WEBHOOK_ALLOW_PRIVATE="true",
        MEDCOVER_TIMEZONE=world.SITE_ZONE,
    )
    flask("db", "upgrade", env=env)
    seeded = flask("seed-demo", env=env, timeout=300)
    password = re.search(r"password for all: (\S+?)\)", seeded).group(1)
    logins = dict(re.findall(r"^\s+(\w+)\s+(\S+@\S+)\s*$", seeded, flags=re.MULTILINE))
    # one worker: SQLite takes one writer at a time, and a second would answer 503 while it waits
    # and no limit on the request line: a 414 from gunicorn is the front server's answer, not the API's
    web = WebServer(env=env, log_path=tmp / "gunicorn.log", workers=1, extra=("--limit-request-line", "0"))
    try:
        web.wait_ready(timeout=60)
        yield web, logins, password, tmp
    finally:
        web.stop()


def _token(base: str, email: str, password: str) -> str:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        body = json.dumps({"email": email, "password": password})
        conn.request("POST", "/api/v1/auth/login", body=body, headers={"Content-Type": "application/json"})
        reply = conn.getresponse()
        assert reply.status == 200, reply.read()
        return json.loads(reply.read())["access_token"]
    finally:
        conn.close()


def _config(web, logins: dict, password: str, tmp: Path) -> Path:
    """schemathesis.toml plus the dictionaries of the world's records (tests/contract/world.py)."""
    admin = world.Api(web.url, _token(web.url, logins["admin"], password))
    finance = world.Api(web.url, _token(web.url, logins["finance_officer"], password))
    made = world.grow(admin, finance)
    spec = admin.call("GET", "/openapi.json")
    dictionaries, per_operation = world.bindings(admin, spec, made)
    # the examples phase builds its requests from the document's examples, which dictionaries do not reach: the
    # hooks name the first bound record in them instead
    bound = {op: {key: dictionaries[name] for key, name in keys.items()} for op, keys in per_operation.items()}
    hooks_data = {"orders_by_kind": made["orders_by_kind"], "bound": bound, "bound_examples": world.BOUND_EXAMPLES}
    (tmp / "world.json").write_text(json.dumps(hooks_data))
    config = CONFIG.read_text()
    if os.environ.get("SCHEMATHESIS_SCENARIOS"):
        config = re.sub(
            r"(?m)^generation\.max-examples = \d+$",
            f"generation.max-examples = {int(os.environ['SCHEMATHESIS_SCENARIOS'])}",
            config,
        )
    lines = [config, "", "# --- generated by tests/contract/world.py from the live server's records ---"]
    for name, values in dictionaries.items():
        lines += ["", f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
    for operation, bound in per_operation.items():
        pairs = ", ".join(
            f"{json.dumps(k)} = {{ dictionary = {json.dumps(v)}, probability = {REAL_RECORDS} }}"
            for k, v in bound.items()
        )
        lines += ["", "[[operations]]", f"include-name = {json.dumps(operation)}", f"parameters = {{ {pairs} }}"]
    path = tmp / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _listed(output: str, warning: str) -> list[str]:
    """The operations a warning names (each on a line "  - METHOD /path", up to the next warning)."""
    section = re.split(r"\n(?=[A-Z][a-z ]+: \d+ operations?)|= SUMMARY =", output.partition(warning)[2])[0]
    return re.findall(r"^\s+- ([A-Z]+ /\S*)$", section, flags=re.MULTILINE)


def test_the_api_keeps_every_promise_of_its_openapi_document(server):
    web, logins, password, tmp = server
    examples = os.environ.get("SCHEMATHESIS_EXAMPLES", "5")
    config = _config(web, logins, password, tmp)
    argv = [
        str(BIN / "st"),
        "--config-file",
        str(config),
        "run",
        f"{web.url}/api/v1/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        examples,
        "--workers",
        "2",
        "--seed",
        os.environ.get("SCHEMATHESIS_SEED", "20"),
        "--no-color",
        "--generation-database",
        "none",
        "--header",
        f"Authorization: Bearer {_token(web.url, logins['admin'], password)}",
        "--header",
        f"X-Webhook-Token: {WEBHOOK_TOKEN}",
        "--report",
        "junit",
        "--report-dir",
        str(tmp / "report"),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.contract.hooks",
        "CONTRACT_WORLD": str(tmp / "world.json"),
        "PYTHONPATH": str(REPO),
    }
    phases = os.environ.get("SCHEMATHESIS_PHASES", "examples,fuzzing,stateful").split(",")
    # Each operation's own requests first, whose warnings fail the test; then the chains, whose steps act on the
    # records the chain made (a new coverage, a scheme benefit just added) in states no world can arrange
    # beforehand: their refusals for that state are right answers (positive_data_acceptance takes them), so the
    # stateful run fails on failures alone.
    output = _run([*argv, "--phases", ",".join(p for p in phases if p != "stateful")], tmp, env, examples, "each")
    listed = {warning: set(_listed(output, warning)) for warning in FATAL_WARNINGS if warning in output}
    known = {warning: sorted(ops & set(KNOWN_GAPS.get(warning, ()))) for warning, ops in listed.items()}
    print(f"known gaps that warned: {known}")
    warned = {warning: sorted(ops - set(KNOWN_GAPS.get(warning, ()))) for warning, ops in listed.items()}
    warned = {warning: ops for warning, ops in warned.items() if ops or warning == "Authentication failed"}
    if os.environ.get("SCHEMATHESIS_WARNINGS", "fail") == "report":
        print(f"schemathesis warned (reported, not failed at this depth): {warned}")
    else:
        assert not warned, f"schemathesis warned: {warned}\n{_summary(output)}"
    if "stateful" in phases:
        chains = _run([*argv, "--phases", "stateful"], tmp, env, examples, "stateful")
        print(re.search(r"Scenarios:.*\n.*API Links:.*", chains).group(0))


def _run(argv: list[str], tmp: Path, env: dict, examples: str, name: str) -> str:
    started = time.monotonic()
    done = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=3600)
    output = done.stdout + done.stderr
    (tmp / f"schemathesis-{name}.txt").write_text(output)
    summary = _summary(output)
    print(f"\nschemathesis, {name} ({examples} examples per operation, {time.monotonic() - started:.0f}s):\n{summary}")
    assert done.returncode == 0, (
        f"schemathesis found failures (full output in {tmp / f'schemathesis-{name}.txt'}):\n{output}"
    )
    assert re.search(r"Tested: \d+", summary), summary
    return output


def _summary(output: str) -> str:
    return output[output.rfind("= SUMMARY =") :] if "= SUMMARY =" in output else output[-3000:]
