"""The relays of one process: one per platform, woken by commits in this process and, on
PostgreSQL, by NOTIFY from commits in any other (adapters and scheduler processes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.pool import NullPool

from adapters.bootstrap import App
from bot.delivery import PacePolicy, Sender
from bot.telemetry import NO_TELEMETRY, Telemetry
from jobs.clock import Clock, RealClock
from jobs.pacing import Pacer
from jobs.relay import Relay, RelaySettings
from storage.db import make_engine
from storage.outbox_store import OutboxStore
from storage.uow import OUTBOX_CHANNEL

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


class Relays:
    """One relay per platform, all woken when a commit queued rows for their platform."""

    def __init__(
        self,
        app: App,
        senders: list[tuple[Sender, PacePolicy]],
        clock: Clock | None = None,
        *,
        settings: RelaySettings | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.clock = clock or RealClock()
        claimer = f"{socket.gethostname()}:{os.getpid()}"
        self.by_platform = {
            sender.platform: Relay(
                OutboxStore(app.engine, claimer, app.network.dm_opt_in),
                sender,
                Pacer(policy, self.clock),
                self.clock,
                settings,
                telemetry=telemetry,
            )
            for sender, policy in senders
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Listen for commits (each relay takes back stale claims itself, on every pass)."""
        self._loop = loop

    def wake(self, platforms: set[str] | None = None) -> None:
        """Thread-safe: called after a commit, from whichever thread committed."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        for platform, relay in self.by_platform.items():
            if platforms is None or platform in platforms:
                loop.call_soon_threadsafe(relay.wake)

    async def drain(self) -> None:
        for relay in self.by_platform.values():
            await relay.drain()

    def run(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        self.tasks = [asyncio.create_task(relay.run(stop), name=f"relay-{p}") for p, relay in self.by_platform.items()]
        return self.tasks

    def running(self) -> bool:
        return bool(self.tasks) and not any(task.done() for task in self.tasks)


class OutboxListener:
    """LISTEN on the outbox channel in a thread of its own; each notification wakes the
    relay of the platform it names. Reconnects after a lost connection; relays still poll
    meanwhile, so a missed notification delays a message by one poll at most."""

    def __init__(self, url: str, relays: Relays, *, reconnect_after: float = 2.0, probe_every: float = 30.0) -> None:
        keepalives = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
        self._engine = make_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10, **keepalives})
        self._probe_every = probe_every
        self._relays = relays
        self._reconnect_after = reconnect_after
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="outbox-listener", daemon=True)
        self.listening = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._engine.dispose()

    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                raw = self._engine.raw_connection()
            except Exception as exc:
                log.warning("outbox listener cannot connect (%s); relays poll meanwhile", type(exc).__name__)
                self._stopping.wait(self._reconnect_after)
                continue
            try:
                connection = cast("psycopg.Connection[Any]", raw.driver_connection)
                connection.autocommit = True
                connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
                self.listening.set()
                self._relays.wake()  # rows committed while nobody listened
                probed = time.monotonic()
                while not self._stopping.is_set():
                    # stop_after: hand each notification on at once (without it, the
                    # generator holds them until its timeout ends).
                    for notification in connection.notifies(timeout=1.0, stop_after=1):
                        self._relays.wake({notification.payload})
                    if time.monotonic() - probed > self._probe_every:  # a silent, half-open connection
                        connection.execute("SELECT 1")
                        probed = time.monotonic()
            except Exception as exc:
                log.warning("outbox listener lost its connection (%s); reconnecting", type(exc).__name__)
                self._stopping.wait(self._reconnect_after)
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    raw.close()
