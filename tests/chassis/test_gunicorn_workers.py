"""gunicorn.conf.py's worker start: what a web worker loaded to start is frozen out of the cycle collector's walks."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_started_worker_freezes_what_it_loaded_and_collects_its_garbage_first(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDCOVER_DRAIN_FILE", str(tmp_path / "draining"))  # the file sets it when unset
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    gc.unfreeze()

    class Cycle:
        pass

    garbage = Cycle()
    garbage.me = garbage
    kept = {"app": ["loaded"]}
    del garbage
    try:
        settings["post_worker_init"](object())
        assert gc.get_freeze_count() > 10_000  # the test process's app, modules and the like
        assert not any(isinstance(o, Cycle) for o in gc.get_objects()), "the start's garbage was frozen too"
        # frozen: out of every generation the collector walks
        assert not any(o is kept for o in gc.get_objects())
    finally:
        gc.unfreeze()
