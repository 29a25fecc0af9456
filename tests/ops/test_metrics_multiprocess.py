"""Multiprocess mode (PROMETHEUS_MULTIPROC_DIR, as under gunicorn and RQ): samples from several processes add up in
one scrape, and the work horses an RQ worker forks count under the worker instead of leaving a file each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]

COUNT_A_JOB = """
import os, sys
from medcover import metrics
if len(sys.argv) > 1:
    metrics.count_forks_as_this_process()
    if os.fork() == 0:  # a work horse
        metrics.job_ran("blueprints.notification.jobs:deliver_notification", "done", 0.2)
        os._exit(0)
    os.wait()
else:
    metrics.job_ran("blueprints.notification.jobs:deliver_notification", "done", 0.2)
"""


def run(folder: Path, *args: str) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "MEDCOVER_ENV": "test"}
    env.pop("MEDCOVER_METRICS_PID", None)
    subprocess.run([sys.executable, "-c", COUNT_A_JOB, *args], cwd=ROOT, env=env, check=True, timeout=60)


def test_processes_add_up_and_forked_work_horses_share_their_workers_file(tmp_path):
    run(tmp_path)  # a web process
    for _ in range(2):
        run(tmp_path, "worker")  # a worker whose horse runs one job
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    key = ("medcover_jobs_total", (("job", "blueprints.notification.jobs:deliver_notification"), ("outcome", "done")))
    assert samples[key] == 3
    counter_files = sorted(p.name for p in tmp_path.glob("counter_*.db"))
    assert len(counter_files) == 3  # one per process: the web process and the two workers, none per horse
