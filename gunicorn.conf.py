"""gunicorn's settings for MedCover's web processes (``gunicorn -c gunicorn.conf.py wsgi:app``; gunicorn also
reads this file by itself when started in this folder).

On SIGTERM the web tier drains instead of dropping what is in flight:
1. /readyz answers 503 "draining" at once (a marker file every worker checks), so the load balancer stops
   sending new requests, while the workers go on serving for ``MEDCOVER_DRAIN_SECONDS``;
2. then the workers are told to stop: each finishes its request and, before it exits, serves every connection
   still waiting in the listen queue (gunicorn would otherwise leave them to be reset when the socket closes);
3. whatever is still running after ``graceful_timeout`` is killed.
Keep ``MEDCOVER_DRAIN_SECONDS + graceful_timeout`` below the supervisor's own stop time-out (systemd's
TimeoutStopSec, 90 s by default; Kubernetes' terminationGracePeriodSeconds, 30 s).
"""

import contextlib
import os
import tempfile
import time

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
#: a request running longer than this is killed (the database's own statement time-out is shorter)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
#: after the drain, how long the workers get to finish what they are doing
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
#: the load balancer in front closes idle connections; sync workers answer one request per connection anyway
keepalive = 2
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # the app logs every request itself

_DRAIN_SECONDS = float(os.environ.get("MEDCOVER_DRAIN_SECONDS", "5"))
# Workers inherit the environment of the master, which loads this file before it forks them.
_MARKER = os.environ.setdefault(
    "MEDCOVER_DRAIN_FILE", os.path.join(tempfile.gettempdir(), f"medcover-draining-{os.getpid()}")
)


def _clear_marker() -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_MARKER)


def on_starting(server):
    """Replace the master's SIGTERM handling: mark draining, keep serving a while, then stop gracefully."""
    _clear_marker()

    def drain_then_stop():
        with open(_MARKER, "w") as marker:
            marker.write(str(os.getpid()))
        server.log.info("Draining: /readyz answers 503 for %gs while the workers go on serving", _DRAIN_SECONDS)
        deadline = time.monotonic() + _DRAIN_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
        raise StopIteration  # gunicorn's own graceful stop: SIGTERM to the workers, graceful_timeout

    server.handle_term = drain_then_stop


def worker_exit(server, worker):
    """Before a worker goes, it serves the connections that wait in the listen queue (no connection resets)."""
    served = 0
    for listener in getattr(worker, "sockets", []):
        listener.setblocking(False)
        while True:
            try:
                client, address = listener.accept()
            except OSError:  # nothing waiting (EAGAIN), or the socket is gone
                break
            client.setblocking(True)
            worker.handle(listener, client, address)
            served += 1
    if served:
        server.log.info("Worker %s served %d waiting connection(s) before exiting", worker.pid, served)


def child_exit(server, worker):
    """A worker is gone: its live gauges leave the metrics (prometheus-client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    _clear_marker()
