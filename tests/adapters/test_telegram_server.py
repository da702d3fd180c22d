"""The fake Telegram Bot API server, driven by the real python-telegram-bot over loopback HTTP."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from tests.telegram_server import FakeTelegram

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Yes", callback_data="pick:yes"), InlineKeyboardButton("No", callback_data="pick:no")],
        [InlineKeyboardButton("Docs", url="https://example.org/docs")],
    ]
)

App = Application[Any, Any, Any, Any, Any, Any]
MakeApp = Callable[..., Awaitable[App]]


@pytest.fixture
async def tg(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTelegram]:
    for variable in PROXY_VARIABLES:  # loopback only, whatever the environment says
        monkeypatch.delenv(variable, raising=False)
    async with FakeTelegram() as server:
        yield server


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    context.bot_data.setdefault("args", []).append(list(context.args or []))
    await update.effective_message.reply_text(f"Welcome! args={context.args}", reply_markup=KEYBOARD)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    context.bot_data.setdefault("pressed_on", []).append(query.message.message_id)
    await query.answer()
    await query.edit_message_text(f"You picked {query.data.removeprefix('pick:')}")


@pytest.fixture
async def make_app(tg: FakeTelegram) -> AsyncIterator[MakeApp]:
    """Builds, starts and polls a real PTB Application against the fake; shuts all of them down afterwards."""
    apps: list[App] = []

    async def make(poll_timeout: int = 1) -> App:
        app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url).build()
        app.add_handler(CommandHandler("start", start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        app.add_handler(CallbackQueryHandler(pressed, pattern="^pick:"))
        await app.initialize()
        apps.append(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout)
        return app

    yield make
    for app in apps:
        assert app.updater is not None
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()


@pytest.fixture
async def app(make_app: MakeApp) -> App:
    return await make_app()


# ------------------------------------------------------------------------------------ the bot, end to end


async def test_start_with_args_replies_with_an_inline_keyboard(tg: FakeTelegram, app: App) -> None:
    alice = tg.user(1001, "Alice", "fr")
    sent_id = alice.send("/start hello")

    await tg.wait_for(lambda: len(alice.messages()) == 1)
    assert app.bot_data["args"] == [["hello"]]
    reply = alice.last()
    assert (reply.method, reply.chat_id, reply.text) == ("sendMessage", 1001, "Welcome! args=['hello']")
    assert reply.message_id > sent_id
    assert alice.buttons() == [("Yes", "pick:yes"), ("No", "pick:no"), ("Docs", "https://example.org/docs")]
    assert reply.reply_markup == KEYBOARD.to_dict()
    # PTB's reply_text sets reply_parameters; the call params arrive decoded.
    (params,) = tg.calls_to("sendMessage")
    assert params["chat_id"] == 1001 and params["text"] == reply.text
    assert params["reply_markup"]["inline_keyboard"][0][0] == {"text": "Yes", "callback_data": "pick:yes"}
    assert tg.calls[0][0] == "getMe"
    assert any(name == "deleteWebhook" for name, _ in tg.calls)


async def test_pressing_a_button_answers_and_edits(tg: FakeTelegram, app: App) -> None:
    alice = tg.user(1001)
    alice.send("/start")
    await tg.wait_for(lambda: alice.buttons() != [])
    menu = alice.last()

    query_id = alice.press("pick:yes")

    await tg.wait_for(lambda: query_id in tg.answered_callbacks and len(tg.edits) == 1)
    assert app.bot_data["pressed_on"] == [menu.message_id]  # callback_query.message is the bot's message
    (edit,) = tg.edits
    assert (edit.method, edit.chat_id, edit.message_id, edit.text) == (
        "editMessageText",
        1001,
        menu.message_id,
        "You picked yes",
    )
    assert edit.reply_markup is None  # the edit did not repeat the keyboard, so it is gone, as on Telegram
    assert alice.last() is menu and menu.text == "You picked yes" and alice.buttons() == []
    assert menu.raw["text"] == "Welcome! args=[]"
    with pytest.raises(LookupError, match="pick:no"):
        alice.press("pick:no")  # no keyboard left to press


async def test_echo_in_private_and_commands_in_a_group(tg: FakeTelegram, app: App) -> None:
    alice = tg.user(1001)
    lyon = tg.group(-100123, "Lyon chapter")

    alice.send("bonjour 42")
    alice.send_in(lyon, "/start@twinbot_test_bot from-the-group")

    await tg.wait_for(lambda: len(alice.messages()) == 1 and len(lyon.messages()) == 1)
    assert alice.last().text == "bonjour 42"
    assert lyon.last().text == "Welcome! args=['from-the-group']"
    assert tg.calls_to("sendMessage")[0]["text"] == "bonjour 42"  # a numeric-looking text stays a string


async def test_long_polling_returns_as_soon_as_an_update_arrives(tg: FakeTelegram, make_app: MakeApp) -> None:
    await make_app(poll_timeout=30)  # a poll that waited out its timeout would take 30 s
    alice = tg.user(1001)
    await tg.wait_for(lambda: tg.waiting_polls == 1)
    await asyncio.sleep(0.1)  # the poll is held

    loop = asyncio.get_running_loop()
    started = loop.time()
    alice.send("ping")
    await tg.wait_for(lambda: alice.last().text == "ping", timeout=1.0)
    assert loop.time() - started < 1.0


# ------------------------------------------------------------------------------------ error answers


async def test_429_raises_retry_after(tg: FakeTelegram, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = tg.user(1001)
    tg.fail_next(alice.id, status=429, description="Too Many Requests: retry after 1", retry_after=1)
    # PTB 22 keeps a timedelta and hands out an int with a PTBDeprecationWarning, unless PTB_TIMEDELTA opts in.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")

    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(alice.id, "hi")

    assert caught.value.retry_after == timedelta(seconds=1)
    monkeypatch.delenv("PTB_TIMEDELTA")
    with pytest.warns(PTBDeprecationWarning):
        assert caught.value.retry_after == 1
    assert alice.messages() == []
    assert tg.calls[-1][0] == "sendMessage"  # the refused call is recorded

    await app.bot.send_message(alice.id, "hi again")  # one failure only
    assert [message.text for message in alice.messages()] == ["hi again"]


async def test_403_raises_forbidden_as_many_times_as_asked(tg: FakeTelegram, app: App) -> None:
    bob = tg.user(1002, "Bob")
    tg.fail_next(bob.id, status=403, description="Forbidden: bot was blocked by the user", times=2)

    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(bob.id, "hi")
    await app.bot.send_message(bob.id, "hi")
    assert len(bob.messages()) == 1


async def test_failures_apply_to_their_chat_only(tg: FakeTelegram, app: App) -> None:
    tg.fail_next(1002, status=403, description="Forbidden: bot was blocked by the user")
    await app.bot.send_message(1001, "to alice")
    with pytest.raises(Forbidden):
        await app.bot.send_document(1002, document=b"x", filename="x.txt")


async def test_edit_errors_like_telegram(tg: FakeTelegram, app: App) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await app.bot.edit_message_text("new", chat_id=1001, message_id=999)

    message = await app.bot.send_message(1001, "same", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await app.bot.edit_message_text("same", chat_id=1001, message_id=message.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await message.edit_reply_markup(KEYBOARD)

    edited = await message.edit_reply_markup(None)
    assert isinstance(edited, type(message)) and edited.reply_markup is None
    assert tg.edits[-1].method == "editMessageReplyMarkup" and tg.edits[-1].reply_markup is None

    document = await app.bot.send_document(1001, document=b"x", filename="x.txt")
    with pytest.raises(BadRequest, match=r"(?i)there is no text in the message to edit"):
        await document.edit_text("text")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": "<b>bold</b> <br> line", "parse_mode": "HTML"}, 'unsupported start tag "br" at byte offset 12'),
        ({"text": "<b>bold", "parse_mode": "HTML"}, 'end tag corresponding to start tag "b"'),
        ({"text": "x" * 4097}, "message is too long"),
        ({"text": "   "}, "message text is empty"),
        (
            {"text": "x", "reply_markup": InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="d" * 65)]])},
            "button_data_invalid",
        ),
    ],
)
async def test_sends_telegram_would_refuse(tg: FakeTelegram, app: App, kwargs: dict[str, Any], error: str) -> None:
    with pytest.raises(BadRequest, match=f"(?i){error}"):  # PTB drops "Bad Request: " and capitalizes the rest
        await app.bot.send_message(1001, **kwargs)
    assert tg.sent == []


async def test_html_is_accepted_and_shown_as_plain_text(tg: FakeTelegram, app: App) -> None:
    message = await app.bot.send_message(1001, "<b>Lyon</b> &amp; <i>Birmingham</i>", parse_mode="HTML")
    assert message.text == "Lyon & Birmingham"
    assert tg.sent[0].text == "<b>Lyon</b> &amp; <i>Birmingham</i>" and tg.sent[0].parse_mode == "HTML"


# ------------------------------------------------------------------------------------ files and commands


async def test_send_document_records_name_and_bytes(tg: FakeTelegram, app: App) -> None:
    content = b"name,city\nAlice,Lyon\n"
    message = await app.bot.send_document(1001, document=io.BytesIO(content), filename="members.csv", caption="Members")

    sent = tg.sent[-1]
    assert (sent.method, sent.document_name, sent.file_bytes, sent.caption) == (
        "sendDocument",
        "members.csv",
        content,
        "Members",
    )
    assert message.document is not None and message.document.file_name == "members.csv"
    assert message.document.file_size == len(content) and message.caption == "Members"
    assert tg.calls_to("sendDocument")[0]["document"].data == content

    # Re-sending by file_id resolves to the same file; getFile + download serve it back.
    await app.bot.send_document(1002, document=message.document.file_id)
    assert tg.sent[-1].document_name == "members.csv" and tg.sent[-1].file_bytes == content
    file = await app.bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == content


async def test_send_photo(tg: FakeTelegram, app: App) -> None:
    message = await app.bot.send_photo(1001, photo=b"\x89PNG fake", filename="map.png", caption="Map")
    sent = tg.sent[-1]
    assert sent.photo and sent.document_name is None and sent.file_bytes == b"\x89PNG fake"
    assert message.photo and message.caption == "Map"


async def test_set_my_commands_records_scope_and_language(tg: FakeTelegram, app: App) -> None:
    commands = [BotCommand("start", "Start"), BotCommand("profile", "Votre profil")]
    scope = BotCommandScopeChat(chat_id=1001)

    assert await app.bot.set_my_commands(commands, scope=scope, language_code="fr")
    await app.bot.set_my_commands([BotCommand("start", "Start")])

    assert tg.commands == [
        {
            "commands": [
                {"command": "start", "description": "Start"},
                {"command": "profile", "description": "Votre profil"},
            ],
            "scope": {"type": "chat", "chat_id": 1001},
            "language_code": "fr",
        },
        {"commands": [{"command": "start", "description": "Start"}], "scope": None, "language_code": None},
    ]
    assert await app.bot.get_my_commands(scope=scope, language_code="fr") == tuple(commands)
    assert await app.bot.get_my_commands(scope=scope, language_code="de") == ()
    assert await app.bot.delete_my_commands(scope=scope, language_code="fr")
    assert await app.bot.get_my_commands(scope=scope, language_code="fr") == ()
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await app.bot.set_my_commands([BotCommand("Start-Now", "x")])
    assert await app.bot.send_chat_action(1001, "typing")


# ------------------------------------------------------------------------------------ the protocol itself


async def test_get_updates_offset_limit_and_allowed_updates(tg: FakeTelegram) -> None:
    app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).updater(None).build()
    async with app:  # no polling: this test plays the poller
        alice = tg.user(1001)
        for text in ("one", "two", "three"):
            alice.send(text)

        first = await app.bot.get_updates(limit=2)
        assert [u.message.text for u in first if u.message] == ["one", "two"]
        again = await app.bot.get_updates()  # not confirmed yet: delivered again
        assert [u.update_id for u in again] == [u.update_id for u in first] + [first[-1].update_id + 1]

        rest = await app.bot.get_updates(offset=first[-1].update_id + 1)
        assert [u.message.text for u in rest if u.message] == ["three"]
        assert len(tg.pending_updates) == 1

        # Only callback queries, please: the pending message is held back.
        message = await app.bot.send_message(1001, "menu", reply_markup=KEYBOARD)
        query_id = alice.press("pick:no", message_id=message.message_id)
        (update,) = await app.bot.get_updates(offset=rest[-1].update_id, allowed_updates=["callback_query"])
        assert update.callback_query is not None and update.callback_query.id == query_id
        assert update.callback_query.message is not None
        assert update.callback_query.message.message_id == message.message_id
        assert update.callback_query.from_user.id == 1001
        assert await update.callback_query.answer("ok")
        assert tg.answered_callbacks == [query_id]

        # A poll with a timeout and nothing to deliver waits it out, then answers []. allowed_updates sticks
        # until changed, as on Telegram: [] means all kinds again.
        loop = asyncio.get_running_loop()
        started = loop.time()
        offset = update.update_id + 1
        assert await app.bot.get_updates(offset=offset, timeout=timedelta(seconds=0.3), allowed_updates=[]) == ()
        assert 0.25 <= loop.time() - started < 2

        # A held poll answers as soon as an update comes.
        poll = asyncio.create_task(app.bot.get_updates(offset=offset, timeout=20))
        await tg.wait_for(lambda: tg.waiting_polls == 1)
        started = loop.time()
        alice.send("four")
        (four,) = await asyncio.wait_for(poll, 2)
        assert four.message is not None and four.message.text == "four" and loop.time() - started < 1


async def test_two_pollers_and_webhooks_conflict(tg: FakeTelegram) -> None:
    app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).updater(None).build()
    other = ApplicationBuilder().token(tg.token).base_url(tg.base_url).updater(None).build()
    async with app, other:  # two instances of one bot: the newer poll wins, as on Telegram
        first = asyncio.create_task(app.bot.get_updates(timeout=20))
        await tg.wait_for(lambda: tg.waiting_polls == 1)
        assert await other.bot.get_updates() == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 2)

        tg.user(1001).send("queued")
        assert await app.bot.set_webhook("https://example.org/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await app.bot.get_updates()
        info = await app.bot.get_webhook_info()
        assert info.url == "https://example.org/hook" and info.pending_update_count == 1
        assert await app.bot.delete_webhook(drop_pending_updates=True)
        assert await app.bot.get_updates() == ()


async def test_unknown_method_and_wrong_token(tg: FakeTelegram) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{tg.base_url}{tg.token}/sendCarrierPigeon", data={"chat_id": "1"}) as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with session.post(f"{tg.base_url}999:WRONG/getMe") as response:
            assert response.status == 401
            assert (await response.json())["description"] == "Unauthorized"
        # Form values are JSON unless they are string parameters.
        markup = json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
        form = {"chat_id": "-100", "text": "true", "reply_markup": markup, "disable_notification": "true"}
        async with session.post(f"{tg.base_url}{tg.token}/sendMessage", data=form) as response:
            body = await response.json()
            assert response.status == 200 and body["ok"] is True
            assert body["result"]["chat"] == {"id": -100, "type": "supergroup", "title": "Group -100"}
    assert tg.calls[-1] == (
        "sendMessage",
        {
            "chat_id": -100,
            "text": "true",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
            "disable_notification": True,
        },
    )
    assert [name for name, _ in tg.calls] == ["sendCarrierPigeon", "sendMessage"]  # the 401 is not a call

    bot = Bot("999:WRONG", base_url=tg.base_url)
    try:
        with pytest.raises(InvalidToken):
            await bot.initialize()
    finally:
        await bot.shutdown()  # a failed initialize leaves the HTTP clients open


async def test_wait_for_explains_what_happened(tg: FakeTelegram, app: App) -> None:
    alice = tg.user(1001)
    await app.bot.send_message(alice.id, "something else", reply_markup=KEYBOARD)
    with pytest.raises(AssertionError) as caught:
        await tg.wait_for(lambda: alice.last().text == "expected", timeout=0.05)
    report = str(caught.value)
    assert "condition not met within 0.05s" in report
    assert "'something else'" in report and "pick:yes" in report and "getUpdates" in report
