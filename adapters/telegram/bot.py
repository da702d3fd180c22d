"""The PTB Application, run by us in the shared loop (not run_polling): long polling by
default, a webhook when TWINBOT_TELEGRAM_WEBHOOK_URL is set."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlparse

from telegram import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from adapters.telegram.sender import TelegramSender
from adapters.telegram.translate import PLATFORM, send_reply, to_event
from bot.core import Core
from config import Settings

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]


def file_base_url(base_url: str) -> str:
    """``https://host/bot`` -> ``https://host/file/bot``: files follow the API server."""
    head, _, tail = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}"


class TelegramAdapter:
    def __init__(self, settings: Settings, core: Core) -> None:
        if settings.telegram_token is None:
            raise ValueError("TWINBOT_TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.core = core
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(settings.telegram_token.get_secret_value())
            .base_url(settings.telegram_base_url)
            .base_file_url(file_base_url(settings.telegram_base_url))
            .job_queue(None)  # twinbot's scheduler is jobs/, one leader for every process
            .build()
        )
        self.application.add_handler(MessageHandler(filters.TEXT, self._on_update))
        self.application.add_handler(CallbackQueryHandler(self._on_update))
        self.application.add_error_handler(self._on_error)
        self.username = ""

    @property
    def sender(self) -> TelegramSender:
        return TelegramSender(self.application.bot, self.username)

    async def start(self, *, receive: bool = True) -> None:
        """Connect; with ``receive``, also take updates (polling or the webhook). Without it
        (a relay process) the bot only sends."""
        app = self.application
        await app.initialize()
        self.username = app.bot.username
        if not receive:
            log.info("Telegram sender ready as @%s", self.username)
            return
        await self.register_commands()
        await app.start()
        assert app.updater is not None
        if self.settings.telegram_webhook_url:
            host, _, port = self.settings.telegram_webhook_listen.rpartition(":")
            secret = self.settings.telegram_webhook_secret
            await app.updater.start_webhook(
                listen=host,
                port=int(port),
                url_path=urlparse(self.settings.telegram_webhook_url).path.lstrip("/"),
                webhook_url=self.settings.telegram_webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0.0, timeout=10)
        log.info("Telegram adapter running as @%s", self.username)

    @property
    def receiving(self) -> bool:
        """Taking updates (for the health check)."""
        updater = self.application.updater
        return self.application.running and updater is not None and updater.running

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def register_commands(self) -> None:
        """The command menu in every language with a catalog; coordinators get theirs in
        their own chat (Telegram's per-chat scope)."""
        bot = self.application.bot
        network = self.core.services.network

        def commands(lang: str, coordinator: bool) -> list[BotCommand]:
            return [BotCommand(n, d[:256]) for n, d in self.core.command_menu(lang, coordinator=coordinator)]

        private = BotCommandScopeAllPrivateChats()
        try:
            await bot.set_my_commands(commands(network.default_language, False), scope=private)
            for lang in network.languages:
                await bot.set_my_commands(commands(lang, False), scope=private, language_code=lang)
            for user_id, lang in await asyncio.to_thread(self.core.coordinators_on, PLATFORM):
                if user_id.lstrip("-").isdigit():
                    await bot.set_my_commands(commands(lang, True), scope=BotCommandScopeChat(int(user_id)))
        except TelegramError:
            log.warning("could not register the command menu with Telegram", exc_info=True)

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        event = to_event(update)
        if event is None or not self._for_us(update):
            return
        query = update.callback_query
        if query is not None:
            try:
                await query.answer()  # at once: the member's spinner stops whatever happens next
            except TelegramError:  # e.g. "query is too old" after downtime: still handle the press
                log.info("could not answer callback query %s", query.id)
        replies = await asyncio.to_thread(self.core.handle, event)
        pressed = query.message if query is not None and isinstance(query.message, Message) else None
        chat_id = event.chat.chat_id
        for reply in replies:
            try:
                await send_reply(context.bot, chat_id, reply, self.username, edit=pressed)
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    raise

    def _for_us(self, update: Update) -> bool:
        """False for ``/command@OtherBot`` in a group: that is another bot's command."""
        text = update.message.text if update.message is not None else None
        if not text or not text.startswith("/"):
            return True
        _, at, username = text.split(" ", 1)[0].partition("@")
        return not at or username.lower() == self.username.lower()

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        ident = update.update_id if isinstance(update, Update) else None
        log.error("Telegram update %s failed", ident, exc_info=context.error)
