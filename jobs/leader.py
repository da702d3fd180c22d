"""One scheduler leader among several processes.

On PostgreSQL the leader holds a session advisory lock on a connection of its own. Standbys
try for it every ``poll`` seconds; the leader checks every ``check`` seconds that it still
holds it. The lock goes with the leader's session: if the process dies, the server ends the
session at once and a standby takes the lock at its next try; if the leader's host drops off
the network, the server ends the silent session after ``idle_session_timeout`` (set on the
lock's connection), and the leader, whose checks fail meanwhile, has already stopped its
scheduler. A new leader starts its scheduler only after a fence (see ``Election``), so that a
leader which lost its session while still running has stopped first.

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
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Protocol

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
    """Blocking calls, run in the election's own worker thread."""

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...

    def abandon(self) -> None:
        """A call did not come back in time: drop the connection without waiting for it
        (called from the event loop; must not block)."""

    def close(self) -> None:
        """Release everything for good (the process is stopping)."""


def process_name() -> str:
    return f"twinbot-scheduler {socket.gethostname()}:{os.getpid()}"


_HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1"
)


class PostgresLeaderLock:
    def __init__(self, url: str, name: str | None = None) -> None:
        connect_args = {
            "application_name": (name or process_name())[:63],
            "connect_timeout": 5,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "tcp_user_timeout": 10_000,  # ms: unacknowledged data ends the connection
        }
        self._engine = make_engine(url, poolclass=NullPool, connect_args=connect_args)
        self._connection: Connection | None = None

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            connection.execute(text("SET statement_timeout = '3s'"))
            with contextlib.suppress(Exception):  # PostgreSQL before 14 has no such setting
                connection.execute(text(f"SET idle_session_timeout = '{IDLE_SESSION_TIMEOUT}'"))
            self._connection = connection
        return self._connection

    def try_acquire(self) -> bool:
        connection = self._connect()
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar()
        except Exception:
            self._drop(connection)
            raise
        return bool(got)

    def still_held(self) -> bool:
        connection = self._connection
        if connection is None:
            return False
        try:
            held = connection.execute(_HELD, {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFFFFFF}).scalar()
        except Exception:
            self._drop(connection)
            return False
        return bool(held)

    def release(self) -> None:
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            self._drop(connection)

    def abandon(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:  # cancel what hangs and close, in a thread nobody waits for
            threading.Thread(target=_cancel_and_close, args=(connection,), daemon=True).start()

    def _drop(self, connection: Connection) -> None:
        """Close ``connection`` and forget it, unless it was already replaced (a late call
        from a thread that was given up on must not close its successor)."""
        if self._connection is connection:
            self._connection = None
        with contextlib.suppress(Exception):
            connection.close()

    def close(self) -> None:
        if self._connection is not None:
            self._drop(self._connection)
        self._engine.dispose()


def _cancel_and_close(connection: Connection) -> None:
    with contextlib.suppress(Exception):
        driver: Any = connection.connection.driver_connection
        cancel = getattr(driver, "cancel_safe", None) or driver.cancel  # psycopg 3.2+: cancel_safe
        cancel()
    with contextlib.suppress(Exception):
        connection.close()


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

    def abandon(self) -> None:
        pass

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

    def abandon(self) -> None:
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
    losing the lock or on stop. ``on_change(True/False)`` tells the rest of the process.

    A new leader waits ``fence`` seconds after taking the lock before it starts: a leader
    whose session the server ended (a restart, an idle timeout) but which still runs finds
    out at its next check, at most ``check`` + ``timeout`` seconds later, and stops first.
    Lock calls run in a thread of the election's own, so a hung connection never holds up
    the rest of the process; a call that does not answer within ``timeout`` counts as a no
    and its connection is dropped.
    """

    def __init__(
        self,
        lock: LeaderLock,
        start: Callable[[], Stoppable],
        *,
        poll: float = 1.0,
        check: float = 1.0,
        timeout: float = 3.0,
        fence: float | None = None,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.lock = lock
        self._start = start
        self.poll = poll
        self.check = check
        self.timeout = timeout
        self.fence = check + timeout if fence is None else fence
        self._on_change = on_change
        self.leading = False
        self._executor = _lock_thread()

    async def run(self, stop: asyncio.Event) -> None:
        """Contend, lead, step down, contend again, until ``stop`` is set."""
        try:
            while not stop.is_set():
                if await self._ask(self.lock.try_acquire):
                    await _wait(stop, self.fence)
                    if not stop.is_set() and await self._ask(self.lock.still_held):
                        await self._lead_while_held(stop)
                    await self._ask(self.lock.release)
                await _wait(stop, self.poll)
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _lead_while_held(self, stop: asyncio.Event) -> None:
        scheduler: Stoppable | None = None
        try:
            scheduler = self._start()
            self._changed(True)
            log.info("this process leads the scheduler")
            while not stop.is_set():
                await _wait(stop, self.check)
                if not stop.is_set() and not await self._ask(self.lock.still_held):
                    log.warning("lost the scheduler lock: standing by")
                    return
        except Exception:
            log.exception("the scheduler failed; standing by")
        finally:
            if scheduler is not None:
                with contextlib.suppress(Exception):
                    scheduler.shutdown(wait=False)
            if self.leading:
                self._changed(False)

    def _changed(self, leading: bool) -> None:
        self.leading = leading
        if self._on_change is not None:
            self._on_change(leading)

    async def _ask(self, call: Callable[[], bool | None]) -> bool:
        """A lock call in the election's thread, bounded in time; an error or a hang counts as no."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, call)
        try:
            return bool(await asyncio.wait_for(future, self.timeout))
        except TimeoutError:
            log.warning("scheduler lock: no answer within %s s; dropping its connection", self.timeout)
            self.lock.abandon()
            self._executor.shutdown(wait=False, cancel_futures=True)  # its thread ends when the call does
            self._executor = _lock_thread()
            return False
        except Exception as exc:
            log.warning("scheduler lock: %s: %s", type(exc).__name__, exc)
            return False


def _lock_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="leader-lock")


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
