"""Wiring: one asyncio loop runs the adapters, a relay per platform and the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from adapters.bootstrap import App
from adapters.console.sender import ConsoleSender
from adapters.console.session import ConsoleSession
from bot.delivery import CONSOLE_PACE, DISCORD_PACE, TELEGRAM_PACE, PacePolicy, Sender
from jobs import tasks
from jobs.clock import Clock, RealClock
from jobs.pacing import Pacer
from jobs.relay import Relay
from jobs.scheduler import install_due_scan, make_scheduler, sync_coffee
from storage.outbox_store import OutboxStore

log = logging.getLogger(__name__)

Front = Callable[[ConsoleSession, Callable[[], Awaitable[None]]], Awaitable[int]]


class Relays:
    """One relay per platform, all woken when a commit queued rows for their platform."""

    def __init__(self, app: App, senders: list[tuple[Sender, PacePolicy]], clock: Clock | None = None) -> None:
        self.clock = clock or RealClock()
        claimer = f"{socket.gethostname()}:{os.getpid()}"
        self.by_platform = {
            sender.platform: Relay(
                OutboxStore(app.engine, claimer, app.network.dm_opt_in), sender, Pacer(policy, self.clock), self.clock
            )
            for sender, policy in senders
        }
        self._loop: asyncio.AbstractEventLoop | None = None

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
        return [asyncio.create_task(relay.run(stop), name=f"relay-{p}") for p, relay in self.by_platform.items()]


async def _until_signalled() -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    return 0


async def serve(
    app: App,
    front: Front | None,
    *,
    out: TextIO = sys.stdout,
    scheduler_enabled: bool = True,
    platforms: bool = True,
) -> int:
    """Run the relays, the scheduler and (with ``platforms``) the adapters whose tokens are
    configured. With ``front`` (the console), until it returns; else until SIGINT/SIGTERM."""
    from adapters.discord import DiscordSender, TwinBot  # imported only when running
    from adapters.telegram import TelegramAdapter

    loop = asyncio.get_running_loop()
    session = ConsoleSession(app.core)
    senders: list[tuple[Sender, PacePolicy]] = [(ConsoleSender(session, out), CONSOLE_PACE)]
    telegram = TelegramAdapter(app.settings, app.core) if platforms and app.settings.telegram_token else None
    if telegram is not None:
        await telegram.start()
        senders.append((telegram.sender, TELEGRAM_PACE))
    discord_bot = TwinBot(app.core, app.settings) if platforms and app.settings.discord_token else None
    discord_task: asyncio.Task[None] | None = None
    if discord_bot is not None and app.settings.discord_token is not None:
        await discord_bot.login(app.settings.discord_token.get_secret_value())
        discord_task = asyncio.create_task(discord_bot.connect(reconnect=True), name="discord")
        pace = dataclasses.replace(DISCORD_PACE, global_per_second=app.settings.discord_messages_per_second)
        senders.append((DiscordSender(discord_bot), pace))
    relays = Relays(app, senders)
    relays.attach(loop)
    app.wakeup.connect(relays.wake)
    scheduler = make_scheduler(app.engine) if scheduler_enabled else None
    sync = (lambda schedules: sync_coffee(scheduler, schedules)) if scheduler is not None else None
    tasks.bind(tasks.Runtime(services=app.core.services, wake_relays=relays.wake, sync_schedules=sync))
    stop = asyncio.Event()
    running = relays.run(stop)
    try:
        if scheduler is not None:
            scheduler.start()
            install_due_scan(scheduler)
        if front is not None:
            return await front(session, relays.drain)
        return await _until_signalled()
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(*running), timeout=10)
        if telegram is not None:
            await telegram.stop()
        if discord_bot is not None:
            await discord_bot.close()
        if discord_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await discord_task
        tasks.bind(None)
