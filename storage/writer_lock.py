"""A first-come-first-served lock for SQLite transactions within one process.

SQLite lets one writer in at a time and makes the others poll (busy_timeout), with no
queue: a thread that commits and begins again at once (a large batch in chunks) can starve
the others past their timeout. Every transaction here starts with BEGIN IMMEDIATE, so this
lock, taken on BEGIN and released on COMMIT or ROLLBACK, hands the database to the threads of
this process in the order they asked. Other processes still meet SQLite's own locking.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import OperationalError


class FairLock:
    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._condition = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._abandoned: set[int] = set()
        self._owner: int | None = None

    def acquire(self) -> bool:
        """Wait for our turn; False if this thread holds the lock already (SQLite will say)."""
        me = threading.get_ident()
        with self._condition:
            if self._owner == me:
                return False
            ticket = self._next_ticket
            self._next_ticket += 1
            if not self._condition.wait_for(lambda: self._serving == ticket, timeout=self._timeout):
                self._abandoned.add(ticket)  # those behind us must not wait for our turn
                raise OperationalError("BEGIN", {}, TimeoutError("waited too long for the database"))
            self._owner = me
            return True

    def release(self) -> None:
        with self._condition:
            if self._owner != threading.get_ident():
                return
            self._owner = None
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._condition.notify_all()


def install(engine: Engine, begin_sql: str, timeout: float) -> FairLock:
    """Emit ``begin_sql`` at every BEGIN, in turn; release at COMMIT or ROLLBACK."""
    lock = FairLock(timeout)

    def on_begin(connection: Connection) -> None:
        took = lock.acquire()
        try:
            connection.exec_driver_sql(begin_sql)
        except BaseException:
            if took:
                lock.release()
            raise
        if took:
            connection.info["fair_lock"] = True

    def on_end(connection: Connection) -> None:
        if connection.info.pop("fair_lock", False):
            lock.release()

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "commit", on_end)
    event.listen(engine, "rollback", on_end)
    return lock
