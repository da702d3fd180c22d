"""Wiring: one asyncio loop runs this process's roles: the adapters, a relay per platform,
the scheduler (one leader among all processes)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from adapters.bootstrap import App
from adapters.console.sender import ConsoleSender
from adapters.console.session import ConsoleSession
from adapters.ops.health import Check
from adapters.ops.http import OpsServer
from adapters.ops.metrics import PrometheusTelemetry
from adapters.relays import OutboxListener, Relays
from bot.delivery import CONSOLE_PACE, DISCORD_PACE, TELEGRAM_PACE, PacePolicy, Sender
from bot.telemetry import Telemetry
from jobs import tasks
from jobs.leader import Election, PostgresLeaderLock, leader_lock
from jobs.relay import RelaySettings
from jobs.scheduler import start_scheduler, sync_coffee
from storage.db import make_engine

log = logging.getLogger(__name__)

Front = Callable[[ConsoleSession, Callable[[], Awaitable[None]]], Awaitable[int]]


@contextlib.contextmanager
def _stop_on_signals(active: bool) -> Iterator[asyncio.Event]:
    """An event set by SIGINT/SIGTERM (when ``active``), from the very start: a signal that
    comes while the adapters connect still stops the process cleanly once they have."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if active else ()

    def stopping() -> None:
        if stop.is_set():  # a second signal: the orderly stop hangs, or the operator is in a hurry
            log.warning("stopping at once")
            os._exit(1)
        log.info("stopping (signal again to stop at once)")
        stop.set()

    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping)
    try:
        yield stop
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


ROLES = ("adapters", "relay", "scheduler")
ALL_ROLES = frozenset(ROLES)


class Scheduling:
    """The scheduler of this process while it leads; nothing while it stands by."""

    def __init__(self, app: App, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry
        self.current: AsyncIOScheduler | None = None
        self.election: Election | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> AsyncIOScheduler:
        # On PostgreSQL the job store gets an engine of its own, as APScheduler disposes of it
        # each time this process steps down; SQLite's writers share the app's (its writer lock).
        engine = (
            make_engine(self.app.settings.database_url, pool_size=2, max_overflow=2)
            if _postgres(self.app)
            else self.app.engine
        )
        self.current = start_scheduler(engine, self.telemetry)
        return self.current

    def changed(self, leading: bool) -> None:
        if not leading:
            self.current = None
        self.telemetry.set_leader(leading)

    def check(self) -> Check:
        election, task = self.election, self.task
        if election is None or task is None or task.done():
            return Check("scheduler", False, "the election stopped")
        return Check("scheduler", True, "leading" if election.leading else "standing by")

    def sync(self, schedules: list[tuple[str, str, str]]) -> None:
        if self.current is not None:
            sync_coffee(self.current, schedules)

    def run(self, stop: asyncio.Event) -> asyncio.Task[None]:
        lock = leader_lock(self.app.settings.database_url)
        # Only a PostgreSQL session can be ended under a running leader: a flock cannot.
        fence = None if isinstance(lock, PostgresLeaderLock) else 0.0
        self.election = Election(lock, self.start, fence=fence, on_change=self.changed)
        self.task = asyncio.create_task(self.election.run(stop), name="scheduler-election")
        return self.task

    def close(self) -> None:
        if self.election is not None:
            self.election.lock.close()


async def serve(
    app: App,
    front: Front | None,
    *,
    out: TextIO = sys.stdout,
    roles: frozenset[str] = ALL_ROLES,
    scheduler_enabled: bool = True,
    platforms: bool = True,
    senders: list[tuple[Sender, PacePolicy]] | None = None,
    relay_settings: RelaySettings | None = None,
) -> int:
    """Run this process's ``roles``: the adapters whose tokens are configured (with
    ``platforms``), a relay per platform, the scheduler (leading or standing by). With
    ``front`` (the console), until it returns; else until SIGINT/SIGTERM. ``senders`` adds
    senders of other platforms (tests and benchmarks: a no-op transport)."""
    with _stop_on_signals(front is None) as signalled:
        return await _serve(app, front, signalled, out, roles, scheduler_enabled, platforms, senders, relay_settings)


async def _serve(
    app: App,
    front: Front | None,
    signalled: asyncio.Event,
    out: TextIO,
    roles: frozenset[str],
    scheduler_enabled: bool,
    platforms: bool,
    senders: list[tuple[Sender, PacePolicy]] | None,
    relay_settings: RelaySettings | None,
) -> int:
    from adapters.discord import DiscordSender, TwinBot, make_twinbot  # imported only when running
    from adapters.telegram import TelegramAdapter

    loop = asyncio.get_running_loop()
    receive, relaying = "adapters" in roles, "relay" in roles
    scheduling = "scheduler" in roles and scheduler_enabled
    telemetry = app.core.services.telemetry
    session = ConsoleSession(app.core)
    outgoing: list[tuple[Sender, PacePolicy]] = list(senders or [])
    if front is not None or roles == ALL_ROLES:
        outgoing.append((ConsoleSender(session, out), CONSOLE_PACE))
    stop = asyncio.Event()
    scheduler = Scheduling(app, telemetry)
    telegram: TelegramAdapter | None = None
    discord_bot: TwinBot | None = None
    relays: Relays | None = None
    critical: list[asyncio.Task[None]] = []  # if one of these ends, the process is not whole

    def checks() -> list[Check]:
        """This process's parts (read from flags: no I/O, it runs on the loop)."""
        found = []
        if relaying:
            running = relays is not None and relays.running()
            names = ", ".join(relays.by_platform) if relays is not None else ""
            found.append(Check("relays", running, names or "no platform"))
        if telegram is not None and receive:
            found.append(Check("telegram", telegram.receiving, "taking updates" if telegram.receiving else "stopped"))
        if discord_bot is not None and receive:
            ready = discord_bot.is_ready() and not discord_bot.is_closed()
            found.append(Check("discord", ready, "connected" if ready else "not connected"))
        if scheduling:
            found.append(scheduler.check())
        return found

    # Each part's stop is registered as soon as it has started: a failure half-way through
    # start-up stops what had started, in reverse order.
    async with contextlib.AsyncExitStack() as parts:
        parts.callback(tasks.bind, None)
        if app.settings.health_listen and isinstance(telemetry, PrometheusTelemetry):
            ops = OpsServer(app.settings.health_listen, telemetry.registry, checks, app.engine)
            await ops.start()  # first: a port that cannot be bound stops us before anything runs
            parts.push_async_callback(ops.stop)
        if platforms and app.settings.telegram_token and (receive or relaying):
            telegram = TelegramAdapter(app.settings, app.core)
            parts.push_async_callback(telegram.stop)
            await telegram.start(receive=receive)
            pace = dataclasses.replace(TELEGRAM_PACE, global_per_second=app.settings.telegram_messages_per_second)
            outgoing.append((telegram.sender, pace))
        discord_token = app.settings.discord_token if platforms and (receive or relaying) else None
        if discord_token is not None:
            discord_bot = make_twinbot(app.core, app.settings, receive=receive)
            await discord_bot.login(discord_token.get_secret_value())
            parts.push_async_callback(_close_discord, discord_bot, critical)
            if receive:  # the gateway; a relay alone sends over HTTP only
                critical.append(asyncio.create_task(discord_bot.connect(reconnect=True), name="discord"))
            pace = dataclasses.replace(DISCORD_PACE, global_per_second=app.settings.discord_messages_per_second)
            outgoing.append((DiscordSender(discord_bot), pace))
        relays = Relays(app, outgoing if relaying else [], settings=relay_settings, telemetry=telemetry)
        relays.attach(loop)
        app.wakeup.connect(relays.wake)
        if relaying and _postgres(app):
            listener = OutboxListener(app.settings.database_url, relays)
            listener.start()
            parts.push_async_callback(asyncio.to_thread, listener.stop)
        tasks.bind(tasks.Runtime(services=app.core.services, sync_schedules=scheduler.sync))
        parts.callback(scheduler.close)
        running = relays.run(stop)
        if scheduling:
            running.append(scheduler.run(stop))
        critical += running
        parts.push_async_callback(_stop_tasks, stop, running)
        if front is not None:
            return await front(session, relays.drain)
        return await _until_stopped(signalled, critical)
    raise AssertionError("unreachable")  # for type checkers: the block returns or raises


async def _until_stopped(signalled: asyncio.Event, critical: list[asyncio.Task[None]]) -> int:
    """0 when signalled; 1 when a part that should run until then ended (a supervisor such
    as systemd then restarts the whole process)."""
    waiter = asyncio.create_task(signalled.wait())
    try:
        done, _ = await asyncio.wait([waiter, *critical], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if waiter in done:
        return 0
    for task in done:
        error = task.exception() if not task.cancelled() else None
        log.error("%s stopped (%s): stopping the process", task.get_name(), error or "without an error")
    return 1


async def _stop_tasks(stop: asyncio.Event, running: list[asyncio.Task[None]]) -> None:
    stop.set()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(asyncio.gather(*running, return_exceptions=True), timeout=10)


async def _close_discord(bot: Any, critical: list[asyncio.Task[None]]) -> None:
    await bot.close()
    for task in critical:
        if task.get_name() == "discord":
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _postgres(app: App) -> bool:
    return app.engine.dialect.name == "postgresql"
