"""Real processes for the journey and platform tests: flask commands, web servers and workers that always stop.

Everything here starts a child in its own process group and ends that group by its id, with bounded waits,
so a failing test never leaves a server behind.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtualenv running pytest
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

# Every variable config.py reads; dropped from the inherited environment so a test states its whole world.
_CONFIG_NAMES = set(
    re.findall(r'(?:environ\.get|_bool|_int|_list)\(\s*"([A-Z][A-Z0-9_]*)"', (REPO / "config.py").read_text())
)


def app_env(**values: str) -> dict[str, str]:
    """The environment for an app process: this one's, minus app settings, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if k not in _CONFIG_NAMES and not k.startswith("FLASK_")}
    # gunicorn reads the project's gunicorn.conf.py; its drain on SIGTERM would only slow the tests' stops
    env.update(
        {"MEDCOVER_ENV": "development", "LOG_JSON": "false", "PYTHONUNBUFFERED": "1", "MEDCOVER_DRAIN_SECONDS": "0"}
    )
    env.update(values)
    return env


def flask(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run ``flask --app wsgi ARGS``; its output, or an AssertionError that shows it."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"flask {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``check()`` until it returns something truthy; that value, or AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Process:
    """A child in its own process group, with its output in a log file; ``stop()`` ends the whole group."""

    def __init__(self, argv: list[str], *, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
            except ProcessLookupError:
                pass
        else:  # the leader is gone; make sure no child of its group lingers
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


class WebServer(Process):
    """gunicorn serving ``wsgi:app`` on a free port; ready once /healthz answers."""

    def __init__(
        self, *, env: dict[str, str], log_path: Path, workers: int = 2, port: int | None = None, extra: tuple = ()
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [
            str(BIN / "gunicorn"),
            "-b",
            f"127.0.0.1:{self.port}",
            "-w",
            str(workers),
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            *extra,
            "wsgi:app",
        ]
        super().__init__(argv, env=env, log_path=log_path)

    def wait_ready(self, timeout: float = 30) -> WebServer:
        def healthy():
            if not self.alive():
                raise AssertionError(f"the web server exited:\n{self.log()}")
            try:
                return get_status(self.url + "/healthz") == 200
            except OSError:
                return False

        wait_until(healthy, timeout=timeout, interval=0.2, what=f"{self.url}/healthz")
        return self


def get_status(url: str, timeout: float = 2) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        return conn.getresponse().status
    finally:
        conn.close()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class HttpClient:
    """A minimal browser: one cookie jar for every server on 127.0.0.1 (cookies ignore ports, as browsers
    do), no redirect following, and an optional source address so that each test counts as its own
    client for address-based limits."""

    source_ip: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, url: str, form: dict | None = None, headers: dict | None = None) -> Reply:
        parts = urlsplit(url)
        source = (self.source_ip, 0) if self.source_ip else None
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30, source_address=source)
        sent = dict(headers or {})
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            reply = Reply(response.status, response.headers, response.read().decode("utf-8", "replace"))
        finally:
            conn.close()
        for raw in reply.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"]):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return reply

    def get(self, url: str, **kwargs) -> Reply:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, form: dict, **kwargs) -> Reply:
        return self.request("POST", url, form=form, **kwargs)

    def csrf_token(self, url: str) -> str:
        """The token a page carries in ``<meta name="csrf-token">``, as the page's own forms use it."""
        page = self.get(url)
        match = CSRF_META.search(page.text)
        assert match, f"no csrf-token meta on {url} ({page.status})"
        return match.group(1)

    def sign_in(self, base: str, email: str, password: str) -> Reply:
        token = self.csrf_token(base + "/auth/login")
        return self.post(base + "/auth/login", {"csrf_token": token, "email": email, "password": password})


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(reason: str) -> None:
    """A dependency of the test is absent: skip on a laptop, fail in CI (where it must be there)."""
    import pytest

    if in_ci():
        pytest.fail(f"{reason} (CI=true: required, not skipped)", pytrace=False)
    pytest.skip(reason)
