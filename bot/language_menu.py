"""/language: choose the language of every reply."""

from __future__ import annotations

from bot import onboarding
from bot.context import Context
from bot.i18n import language_name
from bot.private_chat import continue_in_private
from bot.replies import Button, Reply, Text, rows

ACTION_PREFIX = "lang"


def menu(ctx: Context) -> list[Reply]:
    buttons = [Button(language_name(code), f"{ACTION_PREFIX}:{code}") for code in ctx.network.languages]
    return [Text(ctx._("Which language should I use with you?"), rows(*buttons, per_row=3))]


def on_button(ctx: Context, value: str) -> list[Reply]:
    if value == "menu":
        return menu(ctx)
    if value not in ctx.network.languages:
        return [Text(ctx._("This button is no longer current."))]
    if ctx.member is None:
        if not ctx.chat.private:  # joining is personal: continue in the private chat
            return continue_in_private(ctx, f"language-{value}")
        return onboarding.start(ctx, language=value)
    ctx.member.preferred_language = value
    ctx.uow.members.save(ctx.member)
    ctx.set_language(value)
    return [Text(ctx._("From now on I will write to you in {language}.", language=language_name(value)))]
