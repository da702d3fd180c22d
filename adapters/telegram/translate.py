"""Telegram updates to core events, core replies to Bot API calls."""

from __future__ import annotations

import html
import io

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.constants import MessageLimit, ParseMode

from bot.events import AnyEvent, ButtonPressed, ChatRef, CommandReceived, TextReceived
from bot.replies import Button, File, Image, Reply, Text

PLATFORM = "telegram"


def to_event(update: Update) -> AnyEvent | None:
    """The core event for an update, or None for what the core does not handle."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    who = {
        "chat": ChatRef(PLATFORM, str(chat.id), private=chat.type == chat.PRIVATE),
        "user_id": str(user.id),
        "display_name": user.full_name,
        "locale": user.language_code,
    }
    if update.callback_query is not None:
        return ButtonPressed(**who, action=update.callback_query.data or "")  # type: ignore[arg-type]
    message = update.message
    if message is None or message.text is None:
        return None
    text = message.text
    if text.startswith("/") and len(text) > 1:
        head, _, args = text[1:].partition(" ")
        return CommandReceived(**who, command=head.split("@", 1)[0], args=args.strip())  # type: ignore[arg-type]
    return TextReceived(**who, text=text)  # type: ignore[arg-type]


def deep_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


def keyboard(buttons: tuple[tuple[Button, ...], ...], bot_username: str) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.label, url=deep_link(bot_username, b.private_start))
                if b.private_start is not None
                else InlineKeyboardButton(b.label, callback_data=b.action)
                for b in row
            ]
            for row in buttons
        ]
    )


def html_text(text: str) -> str:
    """Everything the core says is plain text (members write much of it): escape it all for
    HTML, the parse mode used, and keep within Telegram's length limit."""
    limit = MessageLimit.MAX_TEXT_LENGTH
    while True:  # cut the text, never an escape sequence; escaping lengthens it
        escaped = html.escape(text, quote=False)
        if len(escaped) <= limit:
            return escaped
        text = text[: max(0, len(text) - (len(escaped) - limit) - 1)] + "…"


async def send_reply(
    bot: Bot,
    chat_id: int | str,
    reply: Reply,
    bot_username: str,
    *,
    edit: Message | None = None,
) -> None:
    """Send one reply; a Text marked ``replace`` edits ``edit`` (the message whose button
    was pressed) when there is one."""
    if isinstance(reply, Text):
        markup = keyboard(reply.buttons, bot_username)
        if reply.replace and edit is not None:
            await bot.edit_message_text(
                chat_id=chat_id,
                message_id=edit.message_id,
                text=html_text(reply.text),
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
            return
        await bot.send_message(
            chat_id=chat_id, text=html_text(reply.text), parse_mode=ParseMode.HTML, reply_markup=markup
        )
    elif isinstance(reply, File):
        await bot.send_document(
            chat_id=chat_id,
            document=InputFile(io.BytesIO(reply.data), filename=reply.filename),
            caption=html_text(reply.caption) if reply.caption else None,
            parse_mode=ParseMode.HTML,
        )
    else:
        assert isinstance(reply, Image)
        await bot.send_photo(
            chat_id=chat_id,
            photo=InputFile(io.BytesIO(reply.data), filename=reply.filename),
            caption=html_text(reply.caption) if reply.caption else None,
            parse_mode=ParseMode.HTML,
        )
