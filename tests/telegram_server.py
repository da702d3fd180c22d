"""A small fake Telegram Bot API server for tests, served on 127.0.0.1 by aiohttp in the test's event loop.

The real python-telegram-bot talks HTTP to it::

    tg = FakeTelegram()
    await tg.start()
    app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url).build()

Tests then play the users (``tg.user(42).send("/start abc")``, ``.press("pick:yes")``) and assert on what the bot
did (``tg.sent``, ``tg.edits``, ``tg.answered_callbacks``, ``tg.commands``, ``tg.calls``).

Wire format, as PTB 22 sends it (``telegram.request``): ``POST {base_url}{token}/{method}``, parameters as form
fields (``application/x-www-form-urlencoded``, or ``multipart/form-data`` when a file is uploaded) whose values are
plain strings for ``str`` parameters and JSON for everything else. Answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}`` with the same HTTP status, which is what
PTB maps to its exceptions (403 ``Forbidden``, 400 ``BadRequest``, 409 ``Conflict``, 401/404 ``InvalidToken``,
``parameters.retry_after`` ``RetryAfter``).

Like Telegram, the fake rejects what a real bot would be rejected for: editing an unknown message, an edit that
changes nothing, HTML with unsupported or unbalanced tags, texts over 4096 (captions over 1024) characters, callback
data over 64 bytes, malformed bot commands, ``getUpdates`` while a webhook is set or while another ``getUpdates`` is
running. It is lenient about chats: any chat id is accepted (positive: a private chat, negative: a supergroup).
Markdown is not validated. Everything runs in one event loop and thread; drive it from the test's loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, Self

from aiohttp import web

JSONDict = dict[str, Any]

DEFAULT_TOKEN = "123456:TEST-TOKEN"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

# Parameters PTB sends as plain strings (not JSON): never JSON-decode them, so that a text "42" stays a string.
STRING_PARAMS = frozenset(
    {
        "action",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "certificate",
        "description",
        "document",
        "emoji",
        "file_id",
        "inline_message_id",
        "ip_address",
        "language_code",
        "message_effect_id",
        "name",
        "parse_mode",
        "photo",
        "secret_token",
        "short_description",
        "sticker",
        "text",
        "thumbnail",
        "title",
        "url",
        "video",
        "video_note",
        "voice",
    }
)
SEND_METHODS = frozenset({"sendmessage", "senddocument", "sendphoto"})
HTML_TAGS = frozenset(
    {"a", "b", "blockquote", "code", "del", "em", "i", "ins", "pre", "s", "span", "strike", "strong", "u"}
    | {"tg-emoji", "tg-spoiler"}
)
COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
CONFLICT_POLL = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API error answer: HTTP ``status`` and the same ``error_code``, ``description``, ``parameters``."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.status)


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as it appears in ``calls`` params."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class SentMessage:
    """A message the bot sent. ``text``/``caption``/``reply_markup`` read as the message currently does (edits
    update them); ``raw`` keeps the decoded parameters of the send call."""

    message_id: int
    chat_id: int
    method: str
    text: str | None
    caption: str | None
    reply_markup: JSONDict | None
    parse_mode: str | None
    document_name: str | None
    photo: bool
    raw: JSONDict
    file_bytes: bytes | None = None  # the uploaded (or re-sent) document or photo

    def buttons(self) -> list[tuple[str, str]]:
        """``(text, callback_data or url)`` of the inline keyboard, row by row, flattened."""
        return inline_buttons(self.reply_markup)


@dataclass
class Edit:
    method: str
    chat_id: int
    message_id: int
    text: str | None
    reply_markup: JSONDict | None


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class _StoredFile:
    file_id: str
    unique_id: str
    name: str | None
    content_type: str | None
    data: bytes
    path: str = field(default="")


def inline_buttons(markup: JSONDict | None) -> list[tuple[str, str]]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        (button.get("text", ""), button.get("callback_data") or button.get("url") or "")
        for row in markup["inline_keyboard"]
        for button in row
    ]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _HtmlChecker(HTMLParser):
    """Telegram's HTML parse mode: a few inline tags, properly nested; collects the plain text."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.stack: list[str] = []
        self.plain: list[str] = []
        self.error: str | None = None

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        lines = self.source.splitlines(keepends=True)
        prefix = "".join(lines[: line - 1]) + (lines[line - 1][:column] if line - 1 < len(lines) else "")
        return len(prefix.encode())

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = f"{message} at byte offset {self._byte_offset()}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self._fail(f'Unexpected end tag "{tag}"')
            return
        if self.stack[-1] != tag:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self.stack[-1]}"')
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.plain.append(data)

    def check(self) -> str:
        self.feed(self.source)
        self.close()
        if self.error is None and self.stack:
            self.error = f'Can\'t find end tag corresponding to start tag "{self.stack[-1]}"'
        if self.error is not None:
            raise bad_request(f"can't parse entities: {self.error}")
        return "".join(self.plain)


class FakeChat:
    """Something that has a chat with the bot: a user's private chat or a group."""

    def __init__(self, server: FakeTelegram, chat_id: int) -> None:
        self._server = server
        self.chat_id = chat_id

    def messages(self) -> list[SentMessage]:
        """What the bot sent to this chat, in order."""
        return [message for message in self._server.sent if message.chat_id == self.chat_id]

    def last(self) -> SentMessage:
        messages = self.messages()
        if not messages:
            raise AssertionError(f"the bot sent nothing to chat {self.chat_id}")
        return messages[-1]

    def buttons(self, message: SentMessage | None = None) -> list[tuple[str, str]]:
        """``(text, callback_data or url)`` of the latest (or given) message's inline keyboard, flattened."""
        return (message or self.last()).buttons()


class FakeGroup(FakeChat):
    def __init__(self, server: FakeTelegram, chat_id: int, title: str) -> None:
        super().__init__(server, chat_id)
        self.id = chat_id
        self.title = title

    def as_chat(self) -> JSONDict:
        return {"id": self.id, "type": "supergroup", "title": self.title}


class FakeUser(FakeChat):
    def __init__(self, server: FakeTelegram, user_id: int, first_name: str, language_code: str | None) -> None:
        super().__init__(server, user_id)
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code

    def as_from(self) -> JSONDict:
        user: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code is not None:
            user["language_code"] = self.language_code
        return user

    def as_chat(self) -> JSONDict:
        return {"id": self.id, "type": "private", "first_name": self.first_name}

    def send(self, text: str) -> int:
        """Queue a message from this user in the private chat; returns its message_id."""
        return self._server._queue_message(self, self.as_chat(), text)

    def send_in(self, group: FakeGroup, text: str) -> int:
        """Queue a message from this user in ``group``; returns its message_id."""
        return self._server._queue_message(self, group.as_chat(), text)

    def press(self, callback_data: str, message_id: int | None = None) -> str:
        """Queue a callback query for a button of a bot message in this user's private chat (default: the latest
        one whose inline keyboard has ``callback_data``); returns the callback query id."""
        candidates = self.messages()
        if message_id is not None:
            candidates = [message for message in candidates if message.message_id == message_id]
            if not candidates:
                raise LookupError(f"the bot sent no message {message_id} to user {self.id}")
        for message in reversed(candidates):
            if any(button.get("callback_data") == callback_data for button in _flat_buttons(message.reply_markup)):
                return self._server._queue_callback(self, message, callback_data)
        raise LookupError(
            f"no button with callback_data {callback_data!r} in "
            + (f"message {message_id}" if message_id is not None else f"the bot's messages to user {self.id}")
            + f"; buttons of the latest: {self.buttons() if self.messages() else []}"
        )


    def forge(self, callback_data: str) -> str:
        """Queue a callback query with any ``callback_data`` on the bot's latest message to this
        user, as a modified client can; returns the callback query id."""
        if not self.messages():
            raise LookupError(f"the bot sent nothing to user {self.id} to attach a callback to")
        return self._server._queue_callback(self, self.messages()[-1], callback_data)


def _flat_buttons(markup: JSONDict | None) -> list[JSONDict]:
    if not markup or "inline_keyboard" not in markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]


class FakeTelegram:
    """The fake Bot API server. See the module docstring."""

    def __init__(self, token: str = DEFAULT_TOKEN, bot_username: str = "twinbot_test_bot") -> None:
        self.token = token
        self.bot_username = bot_username
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 1
        self.port = 0

        self.sent: list[SentMessage] = []
        self.edits: list[Edit] = []
        self.answered_callbacks: list[str] = []
        self.commands: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.webhook_url: str | None = None

        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._updates: list[JSONDict] = []
        self._allowed_updates: list[str] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], JSONDict] = {}  # (chat_id, message_id) -> Message as it reads now
        self._sent_by_key: dict[tuple[int, int], SentMessage] = {}
        self._callbacks: set[str] = set()
        self._files: dict[str, _StoredFile] = {}
        self._my_commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._failures: dict[int, list[_Failure]] = {}
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self.waiting_polls = 0  # getUpdates requests being held right now
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[JSONDict], Awaitable[Any]]] = {
            "getme": self._get_me,
            "logout": self._ok,
            "close": self._ok,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
        }

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 at a free port (``self.port``)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.+}", self._handle_file)
        self._closing = False
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release held long polls (they answer ``[]``) and close the server."""
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ----------------------------------------------------------------- driving the bot

    def user(self, user_id: int, first_name: str = "Alice", language_code: str | None = "en") -> FakeUser:
        user = FakeUser(self, user_id, first_name, language_code)
        self._users[user_id] = user
        return user

    def group(self, chat_id: int, title: str = "Lyon chapter") -> FakeGroup:
        group = FakeGroup(self, chat_id, title)
        self._groups[chat_id] = group
        return group

    def fail_next(
        self, chat_id: int, *, status: int, description: str, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` sends (sendMessage, sendDocument, sendPhoto) to ``chat_id`` with this error
        instead of delivering them. With ``retry_after`` the answer carries ``parameters.retry_after``."""
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures.setdefault(chat_id, []).append(_Failure(status, description, retry_after, times))

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The params of every call of ``method`` (case-insensitive), in order."""
        return [params for name, params in self.calls if name.lower() == method.lower()]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll ``predicate`` until it is true. An exception in it counts as false (``user.last()`` before the
        bot has answered). On timeout: ``AssertionError`` with what the bot sent and called."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last_error: BaseException | None = None
        while True:
            try:
                if predicate():
                    return
                last_error = None
            except Exception as exc:
                last_error = exc
            if loop.time() >= deadline:
                break
            await asyncio.sleep(0.005)
        reason = f" (last attempt raised {last_error!r})" if last_error is not None else ""
        raise AssertionError(f"condition not met within {timeout}s{reason}\n{self.dump()}")

    def dump(self) -> str:
        """A readable account of the fake's state, for failure messages."""
        lines = [f"sent ({len(self.sent)}):"]
        for message in self.sent[-20:]:
            body = message.text if message.text is not None else message.caption
            extra = f" document={message.document_name!r}" if message.document_name else ""
            extra += " photo" if message.photo else ""
            extra += f" buttons={message.buttons()}" if message.buttons() else ""
            lines.append(f"  #{message.message_id} chat={message.chat_id} {message.method} {body!r}{extra}")
        lines.append(f"edits ({len(self.edits)}): {self.edits[-5:]}")
        lines.append(f"answered callbacks: {self.answered_callbacks}")
        polls = sum(1 for name, _ in self.calls if name.lower() == "getupdates")
        others = [(name, params) for name, params in self.calls if name.lower() != "getupdates"]
        lines.append(f"calls: {len(self.calls)} ({polls} getUpdates); the last others:")
        lines.extend(f"  {name} {params!r}"[:300] for name, params in others[-15:])
        lines.append(f"pending updates ({len(self._updates)}): {[u['update_id'] for u in self._updates]}")
        lines.append(f"long polls held now: {self.waiting_polls}; webhook: {self.webhook_url!r}")
        return "\n".join(lines)

    # ----------------------------------------------------------------- updates

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _push_update(self, kind: str, payload: JSONDict) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        self._wake()

    def _queue_message(self, user: FakeUser, chat: JSONDict, text: str) -> int:
        message_id = next(self._message_ids)
        message: JSONDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": user.as_from(),
            "text": text,
        }
        command = COMMAND_RE.match(text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}]
        self._push_update("message", message)
        return message_id

    def _queue_callback(self, user: FakeUser, message: SentMessage, data: str) -> str:
        query_id = str(4_000_000_000_000_000_000 + next(self._callback_ids))
        self._callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": user.as_from(),
            "chat_instance": f"-{abs(message.chat_id) * 7919 + 13}",
            "data": data,
            "message": json.loads(json.dumps(self._messages[(message.chat_id, message.message_id)])),
        }
        self._push_update("callback_query", query)
        return query_id

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _deliverable(self, limit: int) -> list[JSONDict]:
        allowed = set(self._allowed_updates)
        ready = [update for update in self._updates if not allowed or allowed & update.keys()]
        return ready[:limit]

    # ----------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        method = request.match_info["method"]
        try:
            params = await self._decode(request)
        except ApiError as error:
            return error.response()
        self.calls.append((method, params))
        handler = self._methods.get(method.lower())
        if handler is None:
            return ApiError(404, "Not Found").response()
        try:
            if method.lower() in SEND_METHODS:
                self._inject_failure(params)
            result = await handler(params)
        except ApiError as error:
            return error.response()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        for stored in self._files.values():
            if stored.path == request.match_info["path"]:
                return web.Response(body=stored.data, content_type=stored.content_type or "application/octet-stream")
        return ApiError(404, "Not Found").response()

    async def _decode(self, request: web.Request) -> JSONDict:
        params: JSONDict = {}
        for key, value in request.query.items():
            params[key] = _decode_value(key, value)
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise bad_request("can't parse JSON object") from exc
            if not isinstance(body, dict):
                raise bad_request("JSON object expected")
            params.update(body)
            return params
        if request.body_exists:
            form = await request.post()
            files: dict[str, UploadedFile] = {}
            for key, part in form.items():
                if isinstance(part, web.FileField):
                    files[key] = UploadedFile(part.filename, part.content_type, part.file.read())
                elif isinstance(part, bytes | bytearray):
                    params[key] = _decode_value(key, bytes(part).decode())
                else:
                    params[key] = _decode_value(key, part)
            for key, value in list(params.items()):  # InputMedia-style "attach://<part name>" references
                if isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
                    params[key] = files.pop(value[9:])
            params.update(files)
        return params

    def _inject_failure(self, params: JSONDict) -> None:
        try:
            chat_id = self._chat_id(params)
        except ApiError:
            return
        queue = self._failures.get(chat_id)
        if not queue:
            return
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        extra = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
        raise ApiError(failure.status, failure.description, extra)

    # ----------------------------------------------------------------- helpers for methods

    def _bot_user(self) -> JSONDict:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Twinbot Test", "username": self.bot_username}

    def _chat(self, chat_id: int) -> JSONDict:
        if chat_id in self._users:
            return self._users[chat_id].as_chat()
        if chat_id in self._groups:
            return self._groups[chat_id].as_chat()
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    @staticmethod
    def _chat_id(params: JSONDict) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise bad_request("chat not found")
        try:
            return int(value)
        except ValueError:
            raise bad_request("chat not found") from None

    @staticmethod
    def _markup(params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise bad_request("can't parse reply keyboard markup JSON object") from None
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for button in _flat_buttons(markup):
            data = button.get("callback_data")
            if not button.get("text"):
                raise bad_request("BUTTON_TEXT_EMPTY")  # hedged: Telegram's wording for this varies
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _plain(text: str, parse_mode: str | None) -> str:
        """The text as Telegram shows it: HTML is checked and stripped; Markdown is taken as is."""
        if parse_mode is not None and parse_mode.lower() == "html":
            return _HtmlChecker(text).check()
        return text

    def _text(self, params: JSONDict) -> tuple[str, str]:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request("message text is empty")
        plain = self._plain(text, params.get("parse_mode"))
        if not plain.strip():
            raise bad_request("message text is empty")
        if utf16_len(plain) > MAX_TEXT:
            raise bad_request("message is too long")
        return text, plain

    def _caption(self, params: JSONDict) -> tuple[str | None, str | None]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None, None
        plain = self._plain(str(caption), params.get("parse_mode"))
        if utf16_len(plain) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return str(caption), plain

    def _new_message(self, chat_id: int, content: JSONDict, markup: JSONDict | None) -> JSONDict:
        message: JSONDict = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            **content,
        }
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _record(self, method: str, chat_id: int, message: JSONDict, params: JSONDict, **fields: Any) -> None:
        sent = SentMessage(
            message_id=message["message_id"],
            chat_id=chat_id,
            method=method,
            text=fields.get("text"),
            caption=fields.get("caption"),
            reply_markup=fields.get("reply_markup"),
            parse_mode=params.get("parse_mode"),
            document_name=fields.get("document_name"),
            photo=fields.get("photo", False),
            raw=params,
            file_bytes=fields.get("file_bytes"),
        )
        self.sent.append(sent)
        self._sent_by_key[(chat_id, sent.message_id)] = sent

    def _store_file(self, value: Any, kind: str) -> _StoredFile:
        """The file of a send: an upload, or a file_id this fake handed out, or an http(s) URL."""
        if isinstance(value, UploadedFile):
            number = next(self._file_ids)
            stored = _StoredFile(
                file_id=f"{kind.upper()}-FILE-{number:06d}",
                unique_id=f"U{kind[:1].upper()}{number:06d}",
                name=value.filename,
                content_type=value.content_type,
                data=value.data,
            )
            stored.path = f"{kind}s/file_{number}" + (f"_{value.filename}" if value.filename else "")
            self._files[stored.file_id] = stored
            return stored
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            number = next(self._file_ids)
            name = value.rstrip("/").rsplit("/", 1)[-1] or None
            return _StoredFile(f"{kind.upper()}-URL-{number:06d}", f"V{number:06d}", name, None, b"")
        if value is None or value == "":
            raise bad_request(f"there is no {kind} in the request")
        raise bad_request("wrong file identifier/HTTP URL specified")

    # ----------------------------------------------------------------- methods

    async def _ok(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = params.get("url")
        self.webhook_url = str(url) if url else None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._wake()
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        try:
            offset = int(params.get("offset") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise bad_request("wrong parameter value") from None
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = list(allowed) if isinstance(allowed, list) else []
        self._confirm(offset)

        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older poll still held gets its 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.waiting_polls += 1
        try:
            while True:
                changed = self._changed
                if generation != self._poll_generation:
                    raise ApiError(409, CONFLICT_POLL)
                ready = self._deliverable(limit)
                remaining = deadline - loop.time()
                if ready or self._closing or remaining <= 0:
                    return ready
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        finally:
            self.waiting_polls -= 1

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        text, plain = self._text(params)
        markup = self._markup(params)
        message = self._new_message(chat_id, {"text": plain}, markup)
        self._record("sendMessage", chat_id, message, params, text=text, reply_markup=markup)
        return message

    async def _send_document(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        caption, plain = self._caption(params)
        markup = self._markup(params)
        stored = self._store_file(params.get("document"), "document")
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
        }
        if stored.name:
            document["file_name"] = stored.name
        if stored.content_type:
            document["mime_type"] = stored.content_type
        content: JSONDict = {"document": document} | ({"caption": plain} if plain else {})
        message = self._new_message(chat_id, content, markup)
        self._record(
            "sendDocument",
            chat_id,
            message,
            params,
            caption=caption,
            reply_markup=markup,
            document_name=stored.name,
            file_bytes=stored.data,
        )
        return message

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        caption, plain = self._caption(params)
        markup = self._markup(params)
        stored = self._store_file(params.get("photo"), "photo")
        size = {"file_id": stored.file_id, "file_unique_id": stored.unique_id, "file_size": len(stored.data)}
        content: JSONDict = {"photo": [{**size, "width": 640, "height": 480}]} | ({"caption": plain} if plain else {})
        message = self._new_message(chat_id, content, markup)
        self._record(
            "sendPhoto",
            chat_id,
            message,
            params,
            caption=caption,
            reply_markup=markup,
            photo=True,
            file_bytes=stored.data,
        )
        return message

    def _editable(self, params: JSONDict) -> tuple[int, int, JSONDict, SentMessage]:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID (inline messages are not supported by this fake)")
        chat_id = self._chat_id(params)
        try:
            message_id = int(params.get("message_id") or 0)
        except (TypeError, ValueError):
            raise bad_request("message identifier is not specified") from None
        if not message_id:
            raise bad_request("message identifier is not specified")
        key = (chat_id, message_id)
        if key not in self._messages:
            raise bad_request("message to edit not found")
        return chat_id, message_id, self._messages[key], self._sent_by_key[key]

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        chat_id, message_id, message, sent = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, plain = self._text(params)
        markup = self._markup(params)  # Telegram drops the inline keyboard of an edit that does not repeat it
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        if plain == message["text"] and text == sent.text and inline == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = plain
        self._set_markup(message, inline)
        message["edit_date"] = int(time.time())
        sent.text, sent.reply_markup = text, inline
        self.edits.append(Edit("editMessageText", chat_id, message_id, text, inline))
        return message

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        chat_id, message_id, message, sent = self._editable(params)
        markup = self._markup(params)
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        if inline == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        self._set_markup(message, inline)
        message["edit_date"] = int(time.time())
        sent.reply_markup = inline
        self.edits.append(Edit("editMessageReplyMarkup", chat_id, message_id, None, inline))
        return message

    @staticmethod
    def _set_markup(message: JSONDict, markup: JSONDict | None) -> None:
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callbacks:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        self.answered_callbacks.append(query_id)
        return True

    @staticmethod
    def _scope_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else "can't parse commands")
        for command in commands:
            if not isinstance(command, dict) or not BOT_COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands.append(
            {"commands": commands, "scope": params.get("scope"), "language_code": params.get("language_code")}
        )
        self._my_commands[self._scope_key(params)] = commands
        return True

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self._my_commands.pop(self._scope_key(params), None)
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        scope, language = self._scope_key(params)
        return self._my_commands.get((scope, language)) or self._my_commands.get((scope, ""), [])

    async def _send_chat_action(self, params: JSONDict) -> bool:
        self._chat_id(params)
        if not params.get("action"):
            raise bad_request("action is empty")  # hedged wording
        return True

    async def _get_file(self, params: JSONDict) -> JSONDict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }


def _decode_value(key: str, value: str) -> Any:
    """A form value as PTB meant it: strings as they are, everything else JSON-decoded."""
    if key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
