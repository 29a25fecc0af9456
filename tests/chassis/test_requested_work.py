"""medcover.requested_work on the embedded default (jobs inline after commit): the request is a row, the job only
its messenger; the sweep sends again what waits too long or lost its worker, and the work is done once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from medcover import clock, jobs, requested_work
from medcover.extensions import db
from medcover.requested_work import RequestedWork, WorkState

done: list[str] = []


def record(word: str) -> str:
    done.append(word)
    return word


def explode(word: str) -> None:
    raise RuntimeError(f"cannot {word}")


@pytest.fixture(autouse=True)
def _fresh():
    done.clear()
    yield
    done.clear()


def _lose_the_jobs() -> None:
    """Redis was down when the request committed: its job went nowhere."""
    db.session.info.pop("medcover_ready_jobs", None)


def _row(work_id: int) -> RequestedWork:
    db.session.expire_all()
    return db.session.get(RequestedWork, work_id)


def test_requested_work_is_done_once_after_the_request_commits():
    row = requested_work.request(record, "print", about=("invoice_print", "abc"))
    assert done == [] and row.state is WorkState.WAITING
    db.session.commit()
    jobs.run_ready()
    assert done == ["print"]
    row = _row(row.id)
    assert row.state is WorkState.DONE and row.attempts == 1 and row.finished_at is not None
    # A second messenger for the same request (a duplicate job, a re-send) finds it done.
    assert requested_work.perform(row.id) == "nothing to do"
    assert done == ["print"]


def test_a_request_rolled_back_with_its_transaction_leaves_no_row_and_no_job():
    savepoint = db.session.begin_nested()
    requested_work.request(record, "never", about=("claim", 1))
    savepoint.rollback()
    db.session.commit()
    jobs.run_ready()
    assert done == [] and db.session.query(RequestedWork).count() == 0


def test_work_whose_job_was_lost_waits_and_the_sweep_sends_it_again_after_the_configured_age(app):
    row = requested_work.request(record, "decide", about=("claim", 7))
    db.session.commit()
    _lose_the_jobs()
    assert requested_work.sweep() == 0  # not yet too old
    jobs.run_ready()
    assert done == []
    waiting = requested_work.state_of("claim", [7])["7"]
    assert waiting.waiting and not waiting.interrupted and waiting.state == "waiting"
    with clock.travel(timedelta(seconds=app.config["REQUESTED_WORK_RESEND_AFTER"] + 1)):
        assert requested_work.sweep() == 1
        jobs.run_ready()
        assert requested_work.sweep() == 0
    assert done == ["decide"]
    assert _row(row.id).state is WorkState.DONE


def test_work_whose_worker_died_is_shown_interrupted_then_sent_again_and_done_once(app):
    row = requested_work.request(record, "reconcile", about=("reconciliation", "r-1"))
    db.session.commit()
    _lose_the_jobs()
    assert requested_work._take(row.id) is not None  # a worker took it ...
    db.session.commit()  # ... and was killed before finishing
    lease = timedelta(seconds=app.config["REQUESTED_WORK_LEASE"])
    assert requested_work.perform(row.id) == "nothing to do"  # its lease runs: nobody else starts it
    assert requested_work.sweep() == 0
    with clock.travel(lease + timedelta(seconds=1)):
        stalled = requested_work.state_of("reconciliation", ["r-1"])["r-1"]
        assert stalled.interrupted and stalled.interrupted_when == row.heartbeat_at
        swept_at = clock.now()
        assert requested_work.sweep() == 1
        found = requested_work.state_of("reconciliation", ["r-1"])["r-1"]
        assert found.state == "waiting" and swept_at <= found.interrupted_when <= clock.now()
        jobs.run_ready()
    assert done == ["reconcile"]
    row = _row(row.id)
    assert row.state is WorkState.DONE and row.attempts == 2 and row.interrupted_at is not None
    assert not requested_work.state_of("reconciliation", ["r-1"])["r-1"].interrupted


def test_failing_work_goes_back_to_waiting_and_fails_for_good_after_the_attempts(app):
    row = requested_work.request(explode, "print", about=("invoice_print", "x"))
    db.session.commit()
    jobs.run_ready()  # the inline run fails and is logged
    row = _row(row.id)
    assert row.state is WorkState.WAITING and row.last_error == "RuntimeError: cannot print"
    for _ in range(app.config["REQUESTED_WORK_MAX_ATTEMPTS"] - 1):
        with pytest.raises(RuntimeError):
            requested_work.perform(row.id)
    row = _row(row.id)
    assert row.state is WorkState.FAILED and row.attempts == app.config["REQUESTED_WORK_MAX_ATTEMPTS"]
    with clock.travel(timedelta(days=1)):
        assert requested_work.sweep() == 0
