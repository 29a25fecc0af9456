"""SIGTERM to gunicorn (with the project's gunicorn.conf.py) drains: /readyz turns 503 "draining" at once while
the workers go on serving, and every request already sent, running or waiting in the queue, is answered: none
is reset."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time

import pytest

from tests.live_server import BIN, Process, app_env, free_port, get_status, wait_until

SLOW = 6  # requests of about a second each, for two workers: most of them wait in the listen queue


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = app_env(DATABASE_URL=f"sqlite:///{tmp_path / 'drain.db'}", MEDCOVER_DRAIN_SECONDS="3")
    env["MEDCOVER_DRAIN_FILE"] = str(tmp_path / "draining")
    argv = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "-w", "2"]
    process = Process([*argv, "tests.platform.drain_app:app"], env=env, log_path=tmp_path / "gunicorn.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(url, process), timeout=30, interval=0.2, what="gunicorn")
        yield process, port
    finally:
        process.stop(timeout=30)


def _up(url: str, process: Process) -> bool:
    if not process.alive():
        raise AssertionError(f"gunicorn exited:\n{process.log()}")
    try:
        return get_status(url + "/healthz") == 200
    except OSError:
        return False


def _get(port: int, path: str, answers: dict, key) -> None:
    """One request on its own connection; the answer, or the error that ended it, under ``key``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=40)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        answers[key] = (response.status, response.read().decode())
    except Exception as exc:  # a reset or a refused connection is what this test is about
        answers[key] = ("error", repr(exc))
    finally:
        conn.close()


def test_sigterm_drains_queued_requests_and_readyz_says_draining(server):
    process, port = server
    assert get_status(f"http://127.0.0.1:{port}/readyz") == 200
    answers: dict = {}
    threads = [
        threading.Thread(target=_get, args=(port, f"/test-slow?seconds=1&n={n}", answers, n)) for n in range(SLOW)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    time.sleep(0.3)  # two are running, the rest wait in the queue

    os.kill(process.proc.pid, signal.SIGTERM)  # the master only, as a supervisor does
    time.sleep(0.3)
    ready: dict = {}
    _get(port, "/readyz", ready, "readyz")  # sent after SIGTERM: still answered, and it says draining

    for thread in threads:
        thread.join(timeout=40)
    assert answers == {n: (200, f"done {n}") for n in range(SLOW)}, process.log()
    status, body = ready["readyz"]
    assert status == 503, (status, body)
    assert json.loads(body)["status"] == "draining"

    process.proc.wait(timeout=30)
    assert process.proc.returncode == 0, process.log()
    assert "Draining" in process.log()


def test_readyz_says_draining_while_the_marker_stands_and_ready_again_without_it(client, monkeypatch, tmp_path):
    marker = tmp_path / "draining"
    monkeypatch.setenv("MEDCOVER_DRAIN_FILE", str(marker))
    assert client.get("/readyz").status_code == 200
    marker.write_text("1")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "draining",
        "checks": {"web": "draining: finishing requests before stopping"},
    }
    assert response.headers["Cache-Control"] == "no-store"
    marker.unlink()
    assert client.get("/readyz").get_json()["status"] == "ready"
