"""Files and pictures through the relay's Telegram sender: a calendar file, a CSV, a chart."""

from __future__ import annotations

import html

import pytest
from telegram import Bot

from adapters.telegram import TelegramSender
from bot import delivery
from bot.delivery import Target, TargetKind
from bot.replies import File, Image, Text
from tests.telegram_server import FakeTelegram

# The smallest valid PNG: a 1x1 transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside PTB on a 429
async def test_documents_photos_and_refusals(fake: FakeTelegram) -> None:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        sender = TelegramSender(bot, "twinbot_test_bot")
        user = Target("telegram", TargetKind.USER, "4242")
        ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
        await sender.send(user, File("meetup-3.ics", ics, "text/calendar", caption="Apéro <jeudi> & co"))
        await sender.send(user, File("survey-1.csv", b"question,answer\r\n", "text/csv"))
        await sender.send(user, Image("chart.png", PNG, caption="Results"))
        documents = [m for m in fake.sent if m.method == "sendDocument"]
        assert [(d.document_name, d.file_bytes) for d in documents] == [
            ("meetup-3.ics", ics),
            ("survey-1.csv", b"question,answer\r\n"),
        ]
        caption = documents[0].caption
        assert caption == "Apéro &lt;jeudi&gt; &amp; co"  # escaped for the HTML parse mode
        assert html.unescape(caption) == "Apéro <jeudi> & co"  # shown as written
        [photo] = [m for m in fake.sent if m.method == "sendPhoto"]
        assert photo.photo and photo.caption == "Results"

        fake.fail_next(4242, status=403, description="Forbidden: bot was blocked by the user")
        with pytest.raises(delivery.Unreachable):
            await sender.send(user, Text("hello"))
        fake.fail_next(4242, status=400, description="Bad Request: chat not found")
        with pytest.raises(delivery.Unreachable):
            await sender.send(user, Text("hello"))
        fake.fail_next(4242, status=400, description="Bad Request: can't parse entities")
        with pytest.raises(delivery.PermanentError):
            await sender.send(user, Text("hello"))
        fake.fail_next(4242, status=429, description="Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(delivery.RetryAfter) as waited:
            await sender.send(user, Text("hello"))
        assert waited.value.seconds == 7
