"""One scheduler leader among several processes.

On PostgreSQL the leader holds a session advisory lock on a connection of its own. Standbys
try for it every ``poll`` seconds; the leader checks every ``check`` seconds that it still
holds it. The lock goes with the leader's session: if the process dies, the server ends the
session at once and a standby leads at its next try; if the leader's host drops off the
network, the server ends the silent session after ``idle_session_timeout`` (set on the lock's
connection), and the leader, whose checks fail meanwhile, has already stopped its scheduler.

On SQLite (one machine) the lock is an exclusive ``flock`` on a file beside the database,
released by the kernel when the process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage.db import make_engine

log = logging.getLogger(__name__)

#: The advisory lock the scheduler leader holds for as long as it leads ("twinbot\0" as a
#: big-endian bigint). In pg_locks: classid = LOCK_KEY >> 32, objid = LOCK_KEY & 0xFFFFFFFF,
#: objsubid = 1.
LOCK_KEY = int.from_bytes(b"twinbot\0", "big")

#: The server ends a leader's session that has said nothing for this long (its checks come
#: every few seconds), which frees the lock when the leader's host is cut off.
IDLE_SESSION_TIMEOUT = "10s"


class LeaderLock(Protocol):
    """Blocking calls, run in a worker thread."""

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


def process_name() -> str:
    return f"twinbot-scheduler {socket.gethostname()}:{os.getpid()}"


class PostgresLeaderLock:
    def __init__(self, url: str, name: str | None = None) -> None:
        connect_args = {
            "application_name": (name or process_name())[:63],
            "connect_timeout": 5,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
        }
        self._engine = make_engine(url, poolclass=NullPool, connect_args=connect_args)
        self._connection: Connection | None = None

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            with contextlib.suppress(Exception):  # PostgreSQL before 14 has no such setting
                connection.execute(text(f"SET idle_session_timeout = '{IDLE_SESSION_TIMEOUT}'"))
            self._connection = connection
        return self._connection

    def try_acquire(self) -> bool:
        try:
            got = self._connect().execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar()
        except Exception:
            self._discard()
            raise
        return bool(got)

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1"
                ),
                {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFFFFFF},
            ).scalar()
        except Exception:
            self._discard()
            return False
        return bool(held)

    def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        self._discard()

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        self._discard()
        self._engine.dispose()


class FileLeaderLock:
    """An exclusive flock on ``path``: one leader among the processes of one machine."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()

    def close(self) -> None:
        self.release()


class AlwaysLeader:
    """An in-memory database lives in one process: that process leads."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


def leader_lock(url: str) -> PostgresLeaderLock | FileLeaderLock | AlwaysLeader:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return PostgresLeaderLock(url)
    database = parsed.database
    sqlite_file = parsed.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
    if sqlite_file and database is not None and not database.startswith("file:"):
        return FileLeaderLock(Path(database).expanduser().with_name(Path(database).name + ".scheduler-lock"))
    return AlwaysLeader()


class Stoppable(Protocol):
    def shutdown(self, wait: bool = ...) -> None: ...


class Election:
    """Lead while holding ``lock``: ``start()`` the scheduler on winning, shut it down on
    losing the lock or on stop. ``on_change(True/False)`` tells the rest of the process."""

    def __init__(
        self,
        lock: LeaderLock,
        start: Callable[[], Stoppable],
        *,
        poll: float = 1.0,
        check: float = 2.0,
        timeout: float = 5.0,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.lock = lock
        self._start = start
        self.poll = poll
        self.check = check
        self.timeout = timeout
        self._on_change = on_change
        self.leading = False

    async def run(self, stop: asyncio.Event) -> None:
        """Contend, lead, step down, contend again, until ``stop`` is set."""
        while not stop.is_set():
            if not await self._ask(self.lock.try_acquire):
                await _wait(stop, self.poll)
                continue
            scheduler = self._lead()
            try:
                while not stop.is_set():
                    await _wait(stop, self.check)
                    if not stop.is_set() and not await self._ask(self.lock.still_held):
                        log.warning("lost the scheduler lock: standing by")
                        break
            finally:
                self._step_down(scheduler)
                await self._ask(self.lock.release)

    def _lead(self) -> Stoppable:
        scheduler = self._start()
        self.leading = True
        log.info("this process leads the scheduler")
        if self._on_change is not None:
            self._on_change(True)
        return scheduler

    def _step_down(self, scheduler: Stoppable) -> None:
        with contextlib.suppress(Exception):
            scheduler.shutdown(wait=False)
        self.leading = False
        if self._on_change is not None:
            self._on_change(False)

    async def _ask(self, call: Callable[[], bool | None]) -> bool:
        """A lock call in a worker thread, bounded in time; an error or a hang counts as no."""
        try:
            return bool(await asyncio.wait_for(asyncio.to_thread(call), self.timeout))
        except Exception as exc:
            log.warning("scheduler lock: %s: %s", type(exc).__name__, exc)
            return False


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

