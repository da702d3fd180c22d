"""The core's command table as Discord slash commands, with typed, described options."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Optional

import discord
from discord import app_commands

from bot.commands import COMMANDS, Command, Param
from bot.i18n import Catalogs

SlashHandler = Callable[[discord.Interaction[Any], Command, dict[str, Any]], Awaitable[None]]
ChapterChoices = Callable[[str], list[tuple[str, str]]]


def _annotation(param: Param) -> Any:
    if param.kind == "int":
        base: Any = app_commands.Range[int, 1, 2_000_000_000]
    elif param.kind == "choice" and param.choices:
        base = Literal[param.choices]
    else:
        base = app_commands.Range[str, 1, 200]
    return base if param.required else Optional[base]  # noqa: UP045 (discord.py reads typing.Optional)


def build(command: Command, handler: SlashHandler, chapters: ChapterChoices) -> app_commands.Command[Any, Any, Any]:
    async def callback(interaction: discord.Interaction[Any], /, **values: Any) -> None:
        await handler(interaction, command, values)

    parameters = [
        inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)
    ]
    parameters += [
        inspect.Parameter(
            p.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=_annotation(p),
            default=inspect.Parameter.empty if p.required else None,
        )
        for p in command.params
    ]
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    if command.params:
        app_commands.describe(**{p.name: app_commands.locale_str(p.description) for p in command.params})(callback)
    slash: app_commands.Command[Any, Any, Any] = app_commands.Command(
        name=command.name,
        description=app_commands.locale_str(command.description),
        callback=callback,
    )
    for param in command.params:
        if param.kind == "chapter":

            async def complete(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
                return [app_commands.Choice(name=name, value=code) for code, name in chapters(current)][:25]

            slash.autocomplete(param.name)(complete)
    return slash


def all_commands(handler: SlashHandler, chapters: ChapterChoices) -> list[app_commands.Command[Any, Any, Any]]:
    return [build(command, handler, chapters) for command in COMMANDS]


class CatalogTranslator(app_commands.Translator):
    """Command and option descriptions from the core's catalogs, for each Discord locale
    whose language the network has."""

    def __init__(self, catalogs: Catalogs, languages: tuple[str, ...]) -> None:
        self._catalogs = catalogs
        self._languages = languages

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        if context.location not in (
            app_commands.TranslationContextLocation.command_description,
            app_commands.TranslationContextLocation.parameter_description,
        ):
            return None
        lang = str(locale.value).split("-", 1)[0]
        if lang not in self._languages or lang == "en":
            return None
        translated = self._catalogs.translator(lang)(string.message)
        return translated[:100] if translated != string.message else None
