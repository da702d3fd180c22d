"""jobs.leader.Election with a lock that does what each test says, and the file lock."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from jobs.leader import Election, FileLeaderLock


class ScriptedLock:
    """Grants the lock while ``free``; ``hang`` makes still_held block until released."""

    def __init__(self) -> None:
        self.free = True
        self.held = False
        self.hang = threading.Event()
        self.unhang = threading.Event()
        self.released = 0
        self.abandoned = 0

    def try_acquire(self) -> bool:
        if self.free and not self.held:
            self.held = True
        return self.held

    def still_held(self) -> bool:
        if self.hang.is_set():
            self.unhang.wait(5)
        return self.held

    def release(self) -> None:
        self.held = False
        self.released += 1

    def abandon(self) -> None:
        self.abandoned += 1
        self.held = False


class Scheduler:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        log.append("start")

    def shutdown(self, wait: bool = True) -> None:
        self.log.append("stop")


def _election(lock: ScriptedLock, log: list[str], **options: float) -> Election:
    changes: list[bool] = []
    election = Election(
        lock,
        lambda: Scheduler(log),
        poll=options.get("poll", 0.01),
        check=options.get("check", 0.01),
        timeout=options.get("timeout", 0.5),
        fence=options.get("fence", 0.0),
        on_change=changes.append,
    )
    election.changes = changes  # type: ignore[attr-defined]
    return election


async def _until(condition: object, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.005)


async def test_leads_steps_down_when_the_lock_is_lost_and_leads_again() -> None:
    lock, log = ScriptedLock(), []
    election, stop = _election(lock, log), asyncio.Event()
    task = asyncio.create_task(election.run(stop))
    await _until(lambda: election.leading)
    lock.held, lock.free = False, False  # the server ended the session; someone else has it
    await _until(lambda: not election.leading)
    assert log == ["start", "stop"]
    lock.free = True
    await _until(lambda: election.leading)
    stop.set()
    await task
    assert log == ["start", "stop", "start", "stop"]
    assert election.changes == [True, False, True, False]  # type: ignore[attr-defined]
    assert not lock.held


async def test_waits_the_fence_before_starting_and_gives_up_if_the_lock_went_meanwhile() -> None:
    lock, log = ScriptedLock(), []
    election, stop = _election(lock, log, fence=0.3), asyncio.Event()
    task = asyncio.create_task(election.run(stop))
    await _until(lambda: lock.held)
    await asyncio.sleep(0.1)
    assert log == []  # holding the lock, not yet scheduling
    lock.held, lock.free = False, False  # lost within the fence
    await asyncio.sleep(0.4)
    assert log == [] and not election.leading
    stop.set()
    await task


async def test_a_scheduler_that_fails_to_start_gives_the_lead_back() -> None:
    lock, attempts = ScriptedLock(), []

    def start() -> Scheduler:
        attempts.append("try")
        if len(attempts) == 1:
            raise RuntimeError("job store hiccup")
        return Scheduler([])

    election = Election(lock, start, poll=0.01, check=0.01, timeout=0.5, fence=0.0)
    stop = asyncio.Event()
    task = asyncio.create_task(election.run(stop))
    await _until(lambda: election.leading)
    assert attempts == ["try", "try"] and lock.released >= 1  # released, contended, led
    stop.set()
    await task


async def test_a_hung_check_counts_as_lost_and_drops_the_connection() -> None:
    lock, log = ScriptedLock(), []
    election, stop = _election(lock, log, timeout=0.2), asyncio.Event()
    task = asyncio.create_task(election.run(stop))
    await _until(lambda: election.leading)
    lock.hang.set()
    await _until(lambda: not election.leading)
    assert lock.abandoned == 1 and log == ["start", "stop"]
    # The loop was never held up, and other threads are free: asyncio's own pool answers.
    assert await asyncio.wait_for(asyncio.to_thread(lambda: 42), 1) == 42
    lock.unhang.set()
    stop.set()
    await task


def test_the_file_lock_admits_one_holder(tmp_path: Path) -> None:
    first, second = FileLeaderLock(tmp_path / "db.scheduler-lock"), FileLeaderLock(tmp_path / "db.scheduler-lock")
    assert first.try_acquire() and first.still_held()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.close()


@pytest.mark.parametrize("calls", [1, 3])
def test_the_file_lock_is_reentrant_for_its_holder(tmp_path: Path, calls: int) -> None:
    lock = FileLeaderLock(tmp_path / "x.lock")
    assert all(lock.try_acquire() for _ in range(calls))
    lock.close()
