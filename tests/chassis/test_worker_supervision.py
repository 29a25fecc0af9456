"""``flask worker`` / ``flask scheduler`` outlive Redis: they wait for it with backoff and start again, instead of
exiting when rq's loop gives up (as rq does when Redis goes away under a busy worker)."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from medcover import worker


class FlakyRedis:
    """Refuses ``down`` pings, then answers."""

    def __init__(self, down: int):
        self.down, self.pings = down, 0

    def ping(self):
        self.pings += 1
        if self.pings <= self.down:
            raise RedisConnectionError("Connection refused")
        return True


@pytest.fixture
def slept(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(worker.time, "sleep", waits.append)
    return waits


def test_waiting_for_redis_backs_off_doubling_up_to_the_ceiling(app, monkeypatch, slept):
    redis = FlakyRedis(down=6)
    monkeypatch.setattr(worker, "redis_connection", lambda: redis)
    monkeypatch.setitem(app.config, "REDIS_RECONNECT_MAX_SECONDS", 8)
    worker.wait_for_redis("worker")
    assert slept == [1, 2, 4, 8, 8, 8] and redis.pings == 7


def test_a_worker_whose_loop_gives_up_or_raises_is_started_again_once_redis_answers(app, monkeypatch, slept):
    redis = FlakyRedis(down=2)
    monkeypatch.setattr(worker, "redis_connection", lambda: redis)
    runs: list[str] = []

    def run() -> bool:
        runs.append("run")
        if len(runs) == 1:
            return False  # rq's loop ended on an error it met (Redis gone mid-job)
        if len(runs) == 2:
            raise RedisConnectionError("Connection closed by server")  # its teardown could not reach Redis
        return True  # stopped on request

    worker.keep_running("worker", run)
    assert runs == ["run", "run", "run"]
    assert redis.pings == 5  # it waited for Redis before each start


def test_a_stop_request_ends_it_at_once(app, monkeypatch, slept):
    monkeypatch.setattr(worker, "redis_connection", lambda: FlakyRedis(down=0))
    runs: list[str] = []
    worker.keep_running("scheduler", lambda: runs.append("run") or True)
    assert runs == ["run"] and slept == []
