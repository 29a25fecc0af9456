"""medcover.jobs on the embedded default (jobs inline after commit): what a savepoint's rollback takes back."""

from __future__ import annotations

from sqlalchemy import select

from medcover import jobs
from medcover.extensions import db

ran: list[str] = []


def note(word: str) -> None:
    ran.append(word)


def _run_after_commit() -> list[str]:
    ran.clear()
    db.session.commit()
    jobs.run_ready()
    return list(ran)


def test_a_job_asked_for_inside_a_rolled_back_savepoint_is_never_run():
    jobs.enqueue(note, "before")
    savepoint = db.session.begin_nested()
    jobs.enqueue(note, "inside")
    savepoint.rollback()
    jobs.enqueue(note, "after")
    assert _run_after_commit() == ["before", "after"]


def test_a_job_inside_a_released_savepoint_runs_once_the_whole_transaction_commits():
    with db.session.begin_nested():
        jobs.enqueue(note, "kept")
    ran.clear()
    jobs.run_ready()
    assert ran == []
    assert _run_after_commit() == ["kept"]


def test_an_inner_savepoints_rollback_keeps_the_outer_savepoints_jobs():
    outer = db.session.begin_nested()
    jobs.enqueue(note, "outer")
    inner = db.session.begin_nested()
    jobs.enqueue(note, "inner")
    inner.rollback()
    outer.commit()
    assert _run_after_commit() == ["outer"]


def test_an_outer_savepoints_rollback_takes_the_jobs_of_savepoints_released_inside_it():
    outer = db.session.begin_nested()
    with db.session.begin_nested():
        jobs.enqueue(note, "released inside")
    outer.rollback()
    jobs.enqueue(note, "later")
    assert _run_after_commit() == ["later"]


def test_a_rolled_back_transaction_sends_nothing():
    db.session.execute(select(1))  # a request's transaction has read or written something
    jobs.enqueue(note, "gone")
    db.session.rollback()
    assert _run_after_commit() == []
