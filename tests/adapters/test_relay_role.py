"""``twinbot run --role relay`` with a Telegram token: it only sends. It logs in (getMe),
never takes updates (no getUpdates, no webhook, no command menu), and delivers what the
outbox holds for Telegram through the real python-telegram-bot against the local Bot API
server; SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from sqlalchemy import select

from bot.delivery import Status
from storage import migrate
from storage.db import make_engine
from storage.models import OutboxRow
from tests.adapters.conftest import twinbot_env
from tests.integration.relay_worker import queue_rows
from tests.telegram_server import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]


async def test_a_relay_process_sends_the_outbox_and_takes_no_updates(
    fake: FakeTelegram, empty_db_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    env = twinbot_env(fake, empty_db_url, tmp_path, seed_demo="false")
    err_path = tmp_path / "stderr.txt"
    try:
        queue_rows(engine, ["before the relay started"], platform="telegram", target_ids=["7301"])
        with err_path.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "adapters.cli", "run", "--role", "relay",
                cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=err,
            )  # fmt: skip
        try:
            await fake.wait_for(lambda: len(fake.sent) >= 1, timeout=30)
            # Rows queued while it runs go out too (on PostgreSQL the commit's NOTIFY wakes it;
            # on SQLite it looks every few seconds).
            postgres = engine.dialect.name == "postgresql"
            queue_rows(engine, ["while it runs"], platform="telegram", notify=postgres, target_ids=["7302"])
            await fake.wait_for(lambda: len(fake.sent) >= 2, timeout=15)
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), timeout=20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        with engine.connect() as connection:
            statuses = connection.execute(select(OutboxRow.status)).scalars().all()
    finally:
        engine.dispose()
    stderr = err_path.read_text(encoding="utf-8")
    assert code == 0, stderr
    assert sorted(m.text or "" for m in fake.sent) == ["before the relay started", "while it runs"]
    assert statuses == [Status.SENT.value, Status.SENT.value]
    assert fake.calls_to("getMe")
    for method in ("getUpdates", "setWebhook", "setMyCommands", "deleteWebhook"):
        assert not fake.calls_to(method), method
    assert "Traceback" not in stderr and fake.token not in stderr
