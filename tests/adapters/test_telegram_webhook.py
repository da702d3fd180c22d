"""Webhook mode: Telegram calls us over HTTPS (here plain HTTP on 127.0.0.1, as behind a proxy)."""

from __future__ import annotations

import socket
import time

import aiohttp
from telegram.ext import Application

from adapters.bootstrap import bootstrap
from adapters.telegram import TelegramAdapter
from config import load_settings
from tests.telegram_server import FakeTelegram

SECRET = "webhook-secret-123"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _update(update_id: int, user_id: int, text: str) -> dict[str, object]:
    message: dict[str, object] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Wanda"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Wanda", "language_code": "de"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


async def test_webhook_mode_registers_the_url_and_serves_updates(fake: FakeTelegram, empty_db_url: str) -> None:
    port = _free_port()
    settings = load_settings(
        database_url=empty_db_url,
        telegram_token=fake.token,
        telegram_base_url=fake.base_url,
        telegram_webhook_url="https://bot.example.org/tg",
        telegram_webhook_listen=f"127.0.0.1:{port}",
        telegram_webhook_secret=SECRET,
    )
    app = bootstrap(settings)
    adapter = TelegramAdapter(settings, app.core)
    await adapter.start()
    try:
        assert isinstance(adapter.application, Application)
        assert fake.webhook_url == "https://bot.example.org/tg"
        assert not fake.calls_to("getUpdates")  # no polling in webhook mode
        async with aiohttp.ClientSession() as http:
            url = f"http://127.0.0.1:{port}/tg"
            forged = await http.post(url, json=_update(1, 777, "/start"))
            assert forged.status == 403  # no secret: refused, nothing handled
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            accepted = await http.post(url, json=_update(2, 777, "/start"), headers=headers)
            assert accepted.status == 200
        await fake.wait_for(lambda: any(m.chat_id == 777 for m in fake.sent))
        [reply] = [m for m in fake.sent if m.chat_id == 777]
        assert reply.text is not None and "In welcher Sprache" in reply.text  # language_code de
    finally:
        await adapter.stop()
        app.close()
