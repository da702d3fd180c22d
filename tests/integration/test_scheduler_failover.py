"""Two ``twinbot run --role scheduler`` processes on this machine's PostgreSQL: one leads
(it holds the advisory lock), the other stands by. Kill the leader: the standby leads within
10 s, and no job runs twice (nor is one lost)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from jobs.leader import LOCK_KEY
from jobs.scheduler import make_scheduler
from tests.integration.databases import PG_ENV
from tests.integration.leader_jobs import RUNS_TABLE

pytestmark = pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set")

ROOT = Path(__file__).resolve().parents[2]
ONE_SHOTS = 30  # one-shot jobs, every 0.5 s from 4 s after the start: they span the failover
TAKEOVER_LIMIT_S = 10.0


def _holder(engine: Engine) -> int | None:
    """The operating-system pid of the process holding the leader lock (from its session's
    application name, "twinbot-scheduler host:pid"), or None."""
    with engine.connect() as connection:
        name = connection.execute(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :high AND l.objid = :low"
                " AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFFFFFF},
        ).scalar()
    return int(name.rpartition(":")[2]) if name else None


def _contenders(engine: Engine) -> set[int]:
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'twinbot-scheduler %'")
        ).scalars()
        return {int(name.rpartition(":")[2]) for name in names}


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def _runs(engine: Engine) -> list[tuple[str, int, datetime]]:
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT job, pid, at FROM {RUNS_TABLE} ORDER BY at"))
        return [(r.job, r.pid, r.at) for r in rows]


@pytest.fixture
def scheduler_processes(db_url: str, tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINBOT_")}
    env |= {
        "TWINBOT_DATABASE_URL": db_url,
        "TWINBOT_CONFIG": str(config),
        "TWINBOT_SEED_DEMO": "false",
        "PYTHONPATH": str(ROOT),
    }
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "run", "--role", "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


async def _store_jobs(engine: Engine, start: datetime, tick: float = 1.0) -> None:
    """Put the test's jobs in the shared job store, as a leader would find them."""
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {RUNS_TABLE} (job text NOT NULL, pid integer NOT NULL, at timestamptz)"))
    scheduler = make_scheduler(engine)
    scheduler.start(paused=True)
    try:
        scheduler.add_job("tests.integration.leader_jobs:record", "interval", seconds=tick, id="tick", args=["tick"])
        for k in range(ONE_SHOTS):
            scheduler.add_job(
                "tests.integration.leader_jobs:record",
                "date",
                run_date=start + timedelta(seconds=4 + 0.5 * k),
                id=f"once-{k}",
                args=[f"once-{k}"],
            )
    finally:
        scheduler.shutdown(wait=False)


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
async def test_the_standby_leads_within_seconds_of_the_leaders_death_and_no_job_runs_twice(
    engine: Engine, scheduler_processes: Callable[[str], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    start = datetime.now(UTC)
    await _store_jobs(engine, start)

    first = scheduler_processes("first")
    _wait(lambda: _holder(engine) == first.pid, 30, "the first process to lead")
    second = scheduler_processes("second")
    _wait(lambda: second.pid in _contenders(engine), 30, "the second process to stand by")
    assert _holder(engine) == first.pid  # it stands by: the lock stays where it is

    # Kill the leader between two one-shot jobs (each takes milliseconds; they come 0.5 s apart).
    _wait(lambda: sum(job.startswith("once-") for job, _, _ in _runs(engine)) >= 4, 30, "the leader to run jobs")
    runs = _runs(engine)
    time.sleep(max(0.0, 0.15 - (datetime.now(UTC) - runs[-1][2]).total_seconds()))
    first.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    first.wait()
    _wait(lambda: _holder(engine) == second.pid, TAKEOVER_LIMIT_S, "the standby to take the lock")
    locked = time.monotonic() - killed
    # Leading is running jobs: the standby's first tick (they come every second).
    _wait(lambda: any(pid == second.pid for _, pid, _ in _runs(engine)), TAKEOVER_LIMIT_S, "the standby to lead")
    took = time.monotonic() - killed
    print(f"the standby took the lock {locked:.2f} s and ran its first job {took:.2f} s after the leader was killed")
    assert took < TAKEOVER_LIMIT_S

    last = start + timedelta(seconds=4 + 0.5 * (ONE_SHOTS - 1))
    _wait(lambda: datetime.now(UTC) > last + timedelta(seconds=2), 60, "the last one-shot job's time")
    _wait(lambda: sum(job.startswith("once-") for job, _, _ in _runs(engine)) >= ONE_SHOTS, 15, "every one-shot job")
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0
    runs = _runs(engine)

    once = sorted(job for job, _, _ in runs if job.startswith("once-"))
    assert once == sorted(f"once-{k}" for k in range(ONE_SHOTS)), "each one-shot job runs exactly once"
    by = {pid for job, pid, _ in runs if job.startswith("once-")}
    assert by == {first.pid, second.pid}  # some before the failover, the rest after
    _assert_one_leader_at_a_time(runs, first.pid, second.pid)
    log = (tmp_path / "second.log").read_text(encoding="utf-8")
    assert "this process leads the scheduler" in log and "Traceback" not in log


def _assert_one_leader_at_a_time(runs: list[tuple[str, int, datetime]], first: int, second: int) -> None:
    ticks = [(pid, at) for job, pid, at in runs if job == "tick"]
    assert {pid for pid, _ in ticks} == {first, second}
    last_of_first = max(at for pid, at in ticks if pid == first)
    assert all(at > last_of_first for pid, at in ticks if pid == second), "never two leaders at once"


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
async def test_a_leader_whose_session_ends_stops_before_the_standby_starts(
    engine: Engine, scheduler_processes: Callable[[str], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """The server ends the leader's session (a restart, an idle timeout) while the process
    lives on: the standby takes the lock at once, but starts scheduling only after the old
    leader, at its next check, has stopped. A tick every 0.2 s would show any overlap."""
    start = datetime.now(UTC)
    await _store_jobs(engine, start, tick=0.2)
    first = scheduler_processes("first")
    _wait(lambda: _holder(engine) == first.pid, 30, "the first process to lead")
    second = scheduler_processes("second")
    _wait(lambda: second.pid in _contenders(engine), 30, "the second process to stand by")
    _wait(lambda: sum(job.startswith("once-") for job, _, _ in _runs(engine)) >= 2, 30, "the leader to run jobs")
    runs = _runs(engine)
    time.sleep(max(0.0, 0.15 - (datetime.now(UTC) - runs[-1][2]).total_seconds()))
    with engine.connect() as connection:  # end the leader's lock session, not the process
        connection.execute(
            text(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
                " AND l.classid = :high AND l.objid = :low AND l.objsubid = 1"
            ),
            {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFFFFFF},
        )
    _wait(lambda: _holder(engine) == second.pid, TAKEOVER_LIMIT_S, "the standby to take the lock")
    assert first.poll() is None  # the old leader lives on, as a standby
    _wait(lambda: first.pid in _contenders(engine), 15, "the old leader to contend again")

    last = start + timedelta(seconds=4 + 0.5 * (ONE_SHOTS - 1))
    _wait(lambda: datetime.now(UTC) > last + timedelta(seconds=2), 60, "the last one-shot job's time")
    _wait(lambda: sum(job.startswith("once-") for job, _, _ in _runs(engine)) >= ONE_SHOTS, 15, "every one-shot job")
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    runs = _runs(engine)
    once = sorted(job for job, _, _ in runs if job.startswith("once-"))
    assert once == sorted(f"once-{k}" for k in range(ONE_SHOTS)), "each one-shot job runs exactly once"
    _assert_one_leader_at_a_time(runs, first.pid, second.pid)
    log = (tmp_path / "first.log").read_text(encoding="utf-8")
    assert "lost the scheduler lock: standing by" in log and "Traceback" not in log
