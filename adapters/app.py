"""Wiring: one asyncio loop runs this process's roles: the adapters, a relay per platform,
the scheduler (one leader among all processes)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import TextIO

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
from jobs.leader import Election, leader_lock
from jobs.relay import RelaySettings
from jobs.scheduler import start_scheduler, sync_coffee

log = logging.getLogger(__name__)

Front = Callable[[ConsoleSession, Callable[[], Awaitable[None]]], Awaitable[int]]


@contextlib.contextmanager
def _stop_on_signals(active: bool) -> Iterator[asyncio.Event]:
    """An event set by SIGINT/SIGTERM (when ``active``), from the very start: a signal that
    comes while the adapters connect still stops the process cleanly once they have."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if active else ()
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
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

    def start(self) -> AsyncIOScheduler:
        self.current = start_scheduler(self.app.engine, self.telemetry)
        return self.current

    def changed(self, leading: bool) -> None:
        if not leading:
            self.current = None
        set_leader = getattr(self.telemetry, "set_leader", None)
        if set_leader is not None:
            set_leader(leading)

    def check(self, task: asyncio.Task[None] | None) -> Check:
        election = self.election
        if election is None or task is None or task.done():
            return Check("scheduler", False, "the election stopped")
        return Check("scheduler", True, "leading" if election.leading else "standing by")

    def sync(self, schedules: list[tuple[str, str, str]]) -> None:
        if self.current is not None:
            sync_coffee(self.current, schedules)

    def run(self, stop: asyncio.Event) -> asyncio.Task[None]:
        self.election = Election(leader_lock(self.app.settings.database_url), self.start, on_change=self.changed)
        return asyncio.create_task(self.election.run(stop), name="scheduler-election")

    def close(self) -> None:
        if self.election is not None:
            close = getattr(self.election.lock, "close", None)
            if close is not None:
                close()


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
    from adapters.discord import DiscordSender, make_twinbot  # imported only when running
    from adapters.telegram import TelegramAdapter

    loop = asyncio.get_running_loop()
    receive, relaying = "adapters" in roles, "relay" in roles
    scheduling = "scheduler" in roles and scheduler_enabled
    telemetry = app.core.services.telemetry
    session = ConsoleSession(app.core)
    outgoing: list[tuple[Sender, PacePolicy]] = list(senders or [])
    if front is not None or roles == ALL_ROLES:
        outgoing.append((ConsoleSender(session, out), CONSOLE_PACE))
    token = app.settings.telegram_token
    telegram = TelegramAdapter(app.settings, app.core) if platforms and token and (receive or relaying) else None
    if telegram is not None:
        await telegram.start(receive=receive)
        outgoing.append((telegram.sender, TELEGRAM_PACE))
    discord_token = app.settings.discord_token if platforms and (receive or relaying) else None
    discord_bot = make_twinbot(app.core, app.settings, receive=receive) if discord_token else None
    discord_task: asyncio.Task[None] | None = None
    if discord_bot is not None and discord_token is not None:
        await discord_bot.login(discord_token.get_secret_value())
        if receive:  # the gateway; a relay alone sends over HTTP only
            discord_task = asyncio.create_task(discord_bot.connect(reconnect=True), name="discord")
        pace = dataclasses.replace(DISCORD_PACE, global_per_second=app.settings.discord_messages_per_second)
        outgoing.append((DiscordSender(discord_bot), pace))
    relays = Relays(app, outgoing if relaying else [], settings=relay_settings, telemetry=telemetry)
    relays.attach(loop)
    app.wakeup.connect(relays.wake)
    listener = OutboxListener(app.settings.database_url, relays) if relaying and _postgres(app) else None
    if listener is not None:
        listener.start()
    scheduler = Scheduling(app, telemetry)
    tasks.bind(tasks.Runtime(services=app.core.services, wake_relays=relays.wake, sync_schedules=scheduler.sync))
    stop = asyncio.Event()
    running = relays.run(stop)
    election = scheduler.run(stop) if scheduling else None
    running += [election] if election is not None else []

    def checks() -> list[Check]:
        """This process's parts (read from flags: no I/O, it runs on the loop)."""
        found = []
        if relaying:
            found.append(Check("relays", relays.running(), ", ".join(relays.by_platform) or "no platform"))
        if telegram is not None and receive:
            found.append(Check("telegram", telegram.receiving, "taking updates" if telegram.receiving else "stopped"))
        if discord_bot is not None and receive:
            ready = discord_bot.is_ready() and not discord_bot.is_closed()
            found.append(Check("discord", ready, "connected" if ready else "not connected"))
        if scheduling:
            found.append(scheduler.check(election))
        return found

    ops = None
    if app.settings.health_listen and isinstance(telemetry, PrometheusTelemetry):
        ops = OpsServer(app.settings.health_listen, telemetry.registry, checks, app.engine)
        await ops.start()
    try:
        if front is not None:
            return await front(session, relays.drain)
        await signalled.wait()
        return 0
    finally:
        stop.set()
        if ops is not None:
            await ops.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(*running), timeout=10)
        scheduler.close()
        if listener is not None:
            await asyncio.to_thread(listener.stop)
        if telegram is not None:
            await telegram.stop()
        if discord_bot is not None:
            await discord_bot.close()
        if discord_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await discord_task
        tasks.bind(None)


def _postgres(app: App) -> bool:
    return app.engine.dialect.name == "postgresql"
