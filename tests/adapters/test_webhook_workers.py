"""Telegram in webhook mode can run behind several workers.

Two ``twinbot run --role adapters`` processes share one database and one webhook URL, each listening on its own port
on 127.0.0.1, as behind a load-balancing reverse proxy. The test plays the proxy: it posts one member's successive
updates to the workers in turn, and the dialog goes on from one worker to the other, because its state lives in the
database and not in a process. Both talk to the fake Bot API server served by the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from storage import migrate
from storage.db import make_engine
from storage.models import IdentityRow, MemberRow
from tests.adapters.conftest import twinbot_env
from tests.adapters.test_telegram_adapter import labels, shown, tap
from tests.telegram_server import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_URL = "https://bot.example.org/tg"
SECRET = "workers-webhook-secret-42"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
READY = "Telegram adapter running as @"
#: What the bot may do to answer an update in the member's chat.
ANSWERS = frozenset({"sendmessage", "editmessagetext", "editmessagereplymarkup", "senddocument", "sendphoto"})
MEMBER, STRANGER = 7201, 7202


# ------------------------------------------------------------------------------------ the workers


@dataclass
class Worker:
    """One ``twinbot run --role adapters`` subprocess; its output goes to files (a pipe nobody reads can fill)."""

    name: str
    port: int
    process: asyncio.subprocess.Process
    out_path: Path
    err_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tg"

    def output(self) -> str:
        return self.out_path.read_text(encoding="utf-8") + self.err_path.read_text(encoding="utf-8")

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8")


def _free_ports(count: int) -> list[int]:
    """Distinct free ports on 127.0.0.1 (all probes held open together, so no port is handed out twice)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


async def _start_worker(name: str, port: int, fake: FakeTelegram, database_url: str, tmp_path: Path) -> Worker:
    env = twinbot_env(
        fake,
        database_url,
        tmp_path,
        telegram_webhook_url=WEBHOOK_URL,
        telegram_webhook_listen=f"127.0.0.1:{port}",
        telegram_webhook_secret=SECRET,
        log_level="INFO",
    )
    out_path, err_path = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", "run", "--role", "adapters", cwd=ROOT, env=env, stdout=out, stderr=err
        )
    return Worker(name, port, process, out_path, err_path)


async def _until(predicate: Callable[[], bool], timeout: float, explain: Callable[[], str]) -> None:
    """Poll ``predicate`` (every 20 ms) until it is true; on timeout fail with ``explain()``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s:\n{explain()}")
        await asyncio.sleep(0.02)


async def _ready(worker: Worker, timeout: float = 30.0) -> None:
    """Until the worker logs that its adapter runs (after the webhook server listens and the URL is registered), or
    exits early."""

    def done() -> bool:
        if worker.process.returncode is not None:
            raise AssertionError(f"{worker.name} exited with {worker.process.returncode}:\n{worker.output()[-3000:]}")
        return READY in worker.stderr()

    await _until(done, timeout, lambda: f"{worker.name} is not ready; its output:\n{worker.output()[-3000:]}")


async def _terminate(worker: Worker, timeout: float = 20.0) -> int:
    worker.process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(worker.process.wait(), timeout=timeout)


@pytest.fixture
def database_url(empty_db_url: str) -> str:
    """A fresh database migrated to head: ``--role adapters`` never migrates (tests/integration's ``db_url`` is not
    visible from this suite)."""
    migrate.upgrade(empty_db_url)
    return empty_db_url


@pytest.fixture
async def workers(fake: FakeTelegram, database_url: str, tmp_path: Path) -> AsyncIterator[list[Worker]]:
    """Two ready workers on the same database and webhook URL; killed at the end if the test left them running."""
    started: list[Worker] = []
    try:
        for index, port in enumerate(_free_ports(2), start=1):
            started.append(await _start_worker(f"worker{index}", port, fake, database_url, tmp_path))
        await asyncio.gather(*(_ready(worker) for worker in started))  # they start side by side
        yield started
    finally:
        for worker in started:
            if worker.process.returncode is None:
                worker.process.kill()
                await worker.process.wait()


# ------------------------------------------------------------------------------------ playing the proxy


def _take_update(fake: FakeTelegram) -> dict[str, Any]:
    """The update the fake just queued for ``user.send``/``user.press``: in webhook mode nobody polls for it, so the
    test takes it out of the queue and posts it to a worker itself, as Telegram would."""
    assert fake.webhook_url == WEBHOOK_URL  # else getUpdates could fetch it too
    return fake._updates.pop()


def _answers(fake: FakeTelegram, chat_id: int) -> list[str]:
    """The calls the fake received that speak in ``chat_id`` (sends and edits), in order."""
    return [name for name, params in fake.calls if name.lower() in ANSWERS and params.get("chat_id") == chat_id]


async def _post(http: aiohttp.ClientSession, worker: Worker, update: dict[str, Any], secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with http.post(worker.url, json=update, headers=headers) as response:
        return response.status


async def test_a_dialog_goes_on_from_one_webhook_worker_to_the_other(
    fake: FakeTelegram, workers: list[Worker], database_url: str
) -> None:
    first, second = workers
    # Both registered the one public URL, with the secret, for the updates the bot handles.
    registrations = fake.calls_to("setWebhook")
    assert [(call["url"], call.get("secret_token")) for call in registrations] == [(WEBHOOK_URL, SECRET)] * 2
    assert all(set(call.get("allowed_updates") or []) == {"message", "callback_query"} for call in registrations)
    assert not fake.calls_to("getUpdates") and not fake.calls_to("deleteWebhook")

    member = fake.user(MEMBER, "Wanda", language_code="en")
    stranger = fake.user(STRANGER, "Mallory", language_code="en")
    queries: list[str] = []
    handled = 0

    async with aiohttp.ClientSession() as http:
        # Without the secret, or with a wrong one, either worker refuses the update before handling it.
        stranger.send("/start")
        forged = _take_update(fake)
        for worker in workers:
            assert await _post(http, worker, forged, None) == 403, worker.name
            assert await _post(http, worker, forged, "not-the-secret") == 403, worker.name

        async def step(worker: Worker, act: Callable[[], Any], fragment: str) -> None:
            """One update of the member's, through ``worker``: exactly one more answer in the chat, whose text or
            buttons read ``fragment`` (a toggle edits the prompt in place, other steps send the next one)."""
            nonlocal handled
            act()
            assert await _post(http, worker, _take_update(fake), SECRET) == 200, worker.name
            handled += 1
            await fake.wait_for(lambda: len(_answers(fake, MEMBER)) >= handled, timeout=10)
            assert len(_answers(fake, MEMBER)) == handled, (worker.name, fragment, fake.dump())
            await fake.wait_for(lambda: fragment in shown(member.last()) or fragment in labels(member.last()))

        def press(label: str) -> Callable[[], str]:
            def act() -> str:
                query = tap(member, label)
                queries.append(query)
                return query

            return act

        # /start through worker 1, its question answered through worker 2, and so on, turn about.
        await step(first, lambda: member.send("/start"), "Which language should I use with you?")
        await step(second, press("English"), "Do you agree?")
        await step(first, press("I agree"), "What name should other members see?")
        await step(second, lambda: member.send("Wanda W."), "Which city is your home chapter?")
        await step(first, press("Lyon"), "Which languages do you speak?")
        languages = member.last()
        sent_before = len(member.messages())
        # Toggles edit the prompt in place; each worker reads the other's toggle from the database.
        await step(second, press("English"), "✓ English")
        await step(first, press("Français"), "✓ Français")
        assert len(member.messages()) == sent_before and member.last() is languages
        assert labels(languages)[:2] == ["✓ English", "✓ Français"]
        await step(second, press("Done"), "What are your interests?")

    # Every press answered once (the spinner stops): only the worker that got the update can have answered it.
    await fake.wait_for(lambda: len(fake.answered_callbacks) >= len(queries))
    assert sorted(fake.answered_callbacks) == sorted(queries)

    codes = await asyncio.gather(*(_terminate(worker) for worker in workers))
    outputs = {worker.name: worker.output() for worker in workers}
    for worker, code in zip(workers, codes, strict=True):
        output = outputs[worker.name]
        assert code == 0, f"{worker.name} exited with {code}:\n{output[-3000:]}"
        assert "twinbot is running as adapters" in output
        assert "Traceback" not in output, f"{worker.name}:\n{output[-3000:]}"
        assert fake.token not in output, f"{worker.name} wrote the bot token"
        assert fake.token.split(":", 1)[1] not in output, f"{worker.name} wrote the token's secret part"

    # After both stopped (PTB finishes the updates it took before it exits): one answer per update, nothing late,
    # nothing for the forged update, and the webhook left in place for the workers that remain in a rolling restart.
    assert len(_answers(fake, MEMBER)) == handled == 8
    assert _answers(fake, STRANGER) == [] and stranger.messages() == []
    assert len(fake.answered_callbacks) == len(set(fake.answered_callbacks)) == len(queries) == 6
    assert not fake.calls_to("deleteWebhook") and not fake.calls_to("getUpdates")
    assert fake.webhook_url == WEBHOOK_URL

    # The dialog's answers, given to two processes, are in the one database.
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            identity = connection.execute(select(IdentityRow).where(IdentityRow.user_id == str(MEMBER))).one()
            row = connection.execute(select(MemberRow).where(MemberRow.id == identity.member_id)).one()
    finally:
        engine.dispose()
    assert (row.display_name, row.preferred_language, row.home_chapter) == ("Wanda W.", "en", "lyon")
    assert row.languages == ["en", "fr"]
