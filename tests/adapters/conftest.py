"""Fixtures for the Telegram adapter's end-to-end tests: the fake Bot API server, the bot bootstrapped on a fresh
database and pointed at it, and the whole stack (``adapters.app.serve``: the PTB application, the relays, the
scheduler) running as a task in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, select

from adapters.app import serve
from adapters.bootstrap import App, bootstrap
from bot import member_admin
from config import Settings, load_settings
from storage.models import IdentityRow, MemberRow, OutboxRow
from tests.telegram_server import FakeTelegram

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def twinbot_env(fake: FakeTelegram, database_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a ``twinbot`` subprocess talking to ``fake``: no TWINBOT_* or proxy
    variable of ours, an empty local config, and ``settings`` as TWINBOT_<NAME> variables."""
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINBOT_") and k not in PROXY_VARIABLES}
    env |= {
        "TWINBOT_TELEGRAM_TOKEN": fake.token,
        "TWINBOT_TELEGRAM_BASE_URL": fake.base_url,
        "TWINBOT_DATABASE_URL": database_url,
        "TWINBOT_CONFIG": str(config),
    }
    return env | {f"TWINBOT_{name.upper()}": value for name, value in settings.items()}

#: The Lyon chapter's Telegram group (a supergroup: negative id), configured as its announcement chat.
LYON_GROUP = -1001234567890

#: Members with Telegram identities. The coordinator of Lyon, five Lyon members (one writes French, one Spanish)
#: and one member in Frankfurt, who is outside a Lyon announcement's audience.
COORDINATOR = 5001
LYON_MEMBERS = (5002, 5003, 5005, 5006, 5007)
FRANKFURT_MEMBER = 5004
MEMBERS_CSV = """\
display_name,home_chapter,languages,interests,time_zone,bio,mentor,mentee,preferred_language,consent_at,identities,roles
Claire Martin,lyon,fr;en,civic tech,Europe/Paris,,yes,no,en,2026-01-10T09:00:00+00:00,telegram:5001,coordinator@lyon
Marie Dubois,lyon,fr;en,jazz,Europe/Paris,,no,yes,fr,2026-02-03T18:30:00+00:00,telegram:5002,
Paul Girard,lyon,en,cycling,Europe/Paris,,no,no,en,2026-02-04T10:00:00+00:00,telegram:5003,
Jonas Weber,frankfurt,de;en,football,Europe/Berlin,,yes,no,de,2026-02-14T12:00:00+00:00,telegram:5004,
Lucía García,lyon,es;fr;en,dance,Europe/Paris,,no,yes,es,2026-04-20T16:45:00+00:00,telegram:5005,
Anna Roux,lyon,fr;en,choirs,Europe/Paris,,no,no,en,2026-04-21T16:45:00+00:00,telegram:5006,
Omar Haddad,lyon,fr;en,chess,Europe/Paris,,no,no,en,2026-04-22T16:45:00+00:00,telegram:5007,
"""


def chapters_with_group() -> list[dict[str, Any]]:
    """The default chapters, with Lyon's Telegram group set."""
    chapters = [chapter.model_dump() for chapter in load_settings().chapters]
    for chapter in chapters:
        if chapter["code"] == "lyon":
            chapter["telegram_chat_id"] = LYON_GROUP
    return chapters


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTelegram]:
    """The fake Bot API server, started in the test's loop."""
    for variable in PROXY_VARIABLES:  # loopback only, whatever the environment says
        monkeypatch.delenv(variable, raising=False)
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def settings(fake: FakeTelegram, empty_db_url: str) -> Settings:
    return load_settings(
        database_url=empty_db_url,
        telegram_token=fake.token,
        telegram_base_url=fake.base_url,
        chapters=chapters_with_group(),
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    """The bot on a fresh database, with the real clock: the relay compares ``not_before`` with real time."""
    application = bootstrap(settings)
    try:
        yield application
    finally:
        application.close()


def import_members(app: App, text: str = MEMBERS_CSV) -> int:
    with app.uow_factory() as uow:
        return member_admin.import_members(uow, text, app.network)


@pytest.fixture
def members(app: App) -> int:
    """The members of MEMBERS_CSV, imported before the bot starts (the command menus are set at start-up)."""
    return import_members(app)


# ------------------------------------------------------------------------------------ reading the database


def outbox_rows(app: App) -> list[Row[Any]]:
    """Every outbox row (columns as attributes), in the order queued."""
    with app.engine.connect() as connection:
        return list(connection.execute(select(OutboxRow).order_by(OutboxRow.id)).all())


def outbox_row(app: App, target_id: int | str) -> Row[Any]:
    (row,) = [row for row in outbox_rows(app) if row.target_id == str(target_id)]
    return row


def identity_row(app: App, platform: str, user_id: int | str) -> Row[Any]:
    with app.engine.connect() as connection:
        return connection.execute(
            select(IdentityRow).where(IdentityRow.platform == platform, IdentityRow.user_id == str(user_id))
        ).one()


def member_rows(app: App) -> list[Row[Any]]:
    with app.engine.connect() as connection:
        return list(connection.execute(select(MemberRow).order_by(MemberRow.id)).all())


# ------------------------------------------------------------------------------------ timing the fake's calls


@dataclass(frozen=True)
class TimedSend:
    at: float  # time.monotonic() when the fake received it
    chat_id: int
    text: str
    outcome: str  # "ok", or the HTTP status the fake answered with ("429", "403", ...)


@dataclass
class CallClock:
    """Every sendMessage the fake received, in order, with when and how it was answered."""

    sends: list[TimedSend] = field(default_factory=list)

    def to(self, chat_id: int) -> list[TimedSend]:
        return [send for send in self.sends if send.chat_id == chat_id]


@pytest.fixture
def call_clock(fake: FakeTelegram) -> CallClock:
    """Timestamps of every sendMessage the fake receives: wraps its handler and its failure injection."""
    clock = CallClock()
    deliver = fake._methods["sendmessage"]
    inject = fake._inject_failure

    def record(params: dict[str, Any], outcome: str) -> None:
        clock.sends.append(TimedSend(time.monotonic(), int(params["chat_id"]), str(params.get("text")), outcome))

    async def timed_send(params: dict[str, Any]) -> Any:
        result = await deliver(params)
        record(params, "ok")
        return result

    def timed_inject(params: dict[str, Any]) -> None:
        try:
            inject(params)
        except Exception as error:
            record(params, str(getattr(error, "status", "?")))
            raise

    fake._methods["sendmessage"] = timed_send
    fake._inject_failure = timed_inject  # type: ignore[method-assign]
    return clock


# ------------------------------------------------------------------------------------ the running stack


class Stack:
    """``serve(app, None)`` as a background task, as ``twinbot run`` runs it with a token (minus the signals)."""

    def __init__(self, app: App, fake: FakeTelegram) -> None:
        self.app = app
        self.fake = fake
        self.task: asyncio.Task[int] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(serve(self.app, None), name="twinbot-serve")
        # Polling is the last thing the adapter starts; the relays and the scheduler follow without waiting.
        await self.fake.wait_for(lambda: self.fake.waiting_polls >= 1 or self.task is None or self.task.done())
        if self.task.done():
            self.task.result()  # serve() failed: raise its error here
        await asyncio.sleep(0)

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is None:
            return
        task.cancel()  # serve() waits for a signal; cancelling it runs its finally (relays, scheduler, adapter)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=15)


def _leftover_tasks() -> list[asyncio.Task[Any]]:
    """Tasks of the bot still alive (the fake server's own request handlers are not the bot's)."""
    current = asyncio.current_task()
    found = []
    for task in asyncio.all_tasks():
        if task is current or task.done():
            continue
        code = getattr(task.get_coro(), "cr_code", None)
        where = code.co_filename if code is not None else ""
        if "aiohttp" in where or where.endswith("telegram_server.py"):
            continue
        found.append(task)
    return found


@pytest.fixture
async def run_bot(app: App, fake: FakeTelegram) -> AsyncIterator[Callable[[], Awaitable[Stack]]]:
    """Start the stack when the test is ready (after seeding members); stop it cleanly afterwards and check that
    nothing of it (PTB's updater and update tasks, relays, scheduler) is left running."""
    stacks: list[Stack] = []

    async def start() -> Stack:
        stack = Stack(app, fake)
        stacks.append(stack)
        await stack.start()
        return stack

    yield start
    for stack in stacks:
        await stack.stop()
    for _ in range(20):  # tasks cancelled during the shutdown get a few loop turns to finish
        if not _leftover_tasks():
            break
        await asyncio.sleep(0.01)
    leftovers = _leftover_tasks()
    assert not leftovers, f"tasks left running after the bot stopped: {leftovers}"
