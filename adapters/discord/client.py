"""The Discord bot: slash commands, persistent buttons, forms, DMs; the core does the rest."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord.ext import commands

from adapters.discord.render import (
    MODAL_ID,
    PLATFORM,
    ActionButton,
    WriteButton,
    message_kwargs,
    submitted_answer,
)
from adapters.discord.slash import CatalogTranslator, all_commands
from bot.commands import Command
from bot.core import Core
from bot.events import AnyEvent, ButtonPressed, ChatRef, CommandReceived, TextReceived
from bot.notices import DM_CLOSED, DM_SENT, SORRY
from bot.replies import Reply, Text
from config import Settings

log = logging.getLogger(__name__)

#: Answer an interaction within Discord's 3 s: past this, defer and follow up.
DEFER_AFTER = 2.0


def make_twinbot(core: Core, settings: Settings, *, receive: bool = True, **options: Any) -> TwinBot:
    """The Discord client: sharded (AutoShardedBot) when the settings ask for it, with this
    process's shard ids and the total count if given. Without ``receive`` (a relay process:
    it only sends) it leaves the slash commands alone."""
    if not settings.discord_sharding:
        bot = TwinBot(core, settings, **options)
        bot.receive = receive
        return bot
    if settings.discord_shard_count is not None:
        options.setdefault("shard_count", settings.discord_shard_count)
    if settings.discord_shard_ids is not None:
        options.setdefault("shard_ids", settings.discord_shard_ids)
    sharded = ShardedTwinBot(core, settings, **options)
    sharded.receive = receive
    return sharded


class TwinBot(commands.Bot):
    """A discord.py Bot wired to the core; ``bot.twinbot`` is what the components call."""

    def __init__(self, core: Core, settings: Settings, **options: Any) -> None:
        intents = discord.Intents.default()  # DMs arrive with their content without the privileged intent
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, help_command=None, **options)
        self.core = core
        self.settings = settings
        self.twinbot = DiscordAdapter(self, core)
        self.receive = True  # False in a relay process: it sends, and syncs no commands

    async def setup_hook(self) -> None:
        if not self.receive:
            return
        self.add_dynamic_items(ActionButton, WriteButton)
        for slash in all_commands(self.twinbot.on_slash, self.twinbot.chapter_choices):
            self.tree.add_command(slash)
        network = self.core.services.network
        await self.tree.set_translator(CatalogTranslator(self.core.services.catalogs, network.languages))
        guild_id = self.settings.discord_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Form submissions, also for forms opened before a restart."""
        data: dict[str, Any] = dict(interaction.data or {})
        if interaction.type is discord.InteractionType.modal_submit and data.get("custom_id") == MODAL_ID:
            text = submitted_answer(data.get("components", []))
            if text is not None:
                await self.twinbot.on_text_answer(interaction, text)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is not None:
            return  # in servers we answer slash commands only; dialogs live in DMs
        await self.twinbot.on_dm_text(message)


class DiscordAdapter:
    def __init__(self, client: discord.Client, core: Core) -> None:
        self.client = client
        self.core = core

    # --- events in --------------------------------------------------------------------------

    @staticmethod
    def chat_of(channel: Any) -> ChatRef:
        private = isinstance(channel, discord.DMChannel)
        return ChatRef(PLATFORM, str(channel.id if channel is not None else 0), private=private)

    def _who(self, interaction: discord.Interaction[Any]) -> dict[str, Any]:
        return {
            "chat": self.chat_of(interaction.channel),
            "user_id": str(interaction.user.id),
            "display_name": interaction.user.display_name,
            "locale": str(interaction.locale.value),
        }

    def chapter_choices(self, current: str) -> list[tuple[str, str]]:
        wanted = current.casefold()
        return [
            (c.code, c.name)
            for c in self.core.services.network.chapters
            if wanted in c.name.casefold() or wanted in c.code
        ]

    async def on_slash(self, interaction: discord.Interaction[Any], command: Command, values: dict[str, Any]) -> None:
        args = " ".join(str(values[p.name]) for p in command.params if values.get(p.name) not in (None, ""))
        event = CommandReceived(**self._who(interaction), command=command.name, args=args)
        await self._answer(interaction, event)

    async def on_button(self, interaction: discord.Interaction[Any], action: str) -> None:
        await self._answer(interaction, ButtonPressed(**self._who(interaction), action=action))

    async def on_text_answer(self, interaction: discord.Interaction[Any], text: str) -> None:
        await self._answer(interaction, TextReceived(**self._who(interaction), text=text))

    async def on_dm_text(self, message: discord.Message) -> None:
        text = message.content
        who: dict[str, Any] = {
            "chat": self.chat_of(message.channel),
            "user_id": str(message.author.id),
            "display_name": message.author.display_name,
            "locale": None,
        }
        if text.startswith("/") and len(text) > 1:
            head, _, args = text[1:].partition(" ")
            event: AnyEvent = CommandReceived(**who, command=head, args=args.strip())
        else:
            event = TextReceived(**who, text=text)
        for reply in await self._handle(event):
            await message.channel.send(**message_kwargs(reply))

    # --- replies out --------------------------------------------------------------------------

    async def _handle(self, event: AnyEvent) -> list[Reply]:
        return await asyncio.to_thread(self.core.handle, event)

    def mapped_chapters(self, interaction: discord.Interaction[Any]) -> set[str] | None:
        """Chapters whose configured coordinator role this member has on the network's
        server; None when the interaction is not from that server (nothing to sync)."""
        settings = getattr(self.client, "settings", None)
        guild_id = settings.discord_guild_id if settings else None
        if settings is None or guild_id is None or interaction.guild_id != guild_id:
            return None
        if not isinstance(interaction.user, discord.Member):
            return None
        names = {role.name for role in interaction.user.roles}
        return {c.code for c in settings.chapters if c.discord_coordinator_role in names}

    async def _answer(self, interaction: discord.Interaction[Any], event: AnyEvent) -> None:
        """Reply within 3 s: answer directly when the core is quick, else defer first."""
        ephemeral = not event.chat.private
        chapters = self.mapped_chapters(interaction)

        async def handle() -> list[Reply]:
            try:
                if chapters is not None:
                    await asyncio.to_thread(self.core.sync_platform_roles, PLATFORM, event.user_id, chapters)
                replies = await self._handle(event)
                return await self._continue_in_dm(interaction, event, replies)
            except Exception:  # the core never raises; this is the adapter's own trouble
                log.exception("Discord interaction %s failed", interaction.id)
                return [Text(await asyncio.to_thread(self.core.translate_for, event, SORRY))]

        work = asyncio.ensure_future(handle())
        done, _ = await asyncio.wait({work}, timeout=DEFER_AFTER)
        deferred = not done
        if deferred:
            # A button's message is edited later (no "thinking" message); a command's
            # answer follows the "thinking…" placeholder.
            component = interaction.type is discord.InteractionType.component
            await interaction.response.defer(ephemeral=ephemeral, thinking=not component)
        await self._send(interaction, await work, ephemeral=ephemeral, deferred=deferred)

    async def _continue_in_dm(
        self, interaction: discord.Interaction[Any], event: AnyEvent, replies: list[Reply]
    ) -> list[Reply]:
        """A private command asked in a server: run it in the member's DMs, and say so here."""
        link = next(
            (b.private_start for r in replies if isinstance(r, Text) for b in r.all_buttons if b.private_start),
            None,
        )
        if link is None or event.chat.private:
            return replies
        try:
            dm = interaction.user.dm_channel or await interaction.user.create_dm()
            follow = CommandReceived(
                chat=self.chat_of(dm),
                user_id=event.user_id,
                display_name=event.display_name,
                locale=event.locale,
                command="start",
                args=link,
            )
            for reply in await self._handle(follow):
                await dm.send(**message_kwargs(reply))
        except discord.Forbidden:
            return [Text(await asyncio.to_thread(self.core.translate_for, event, DM_CLOSED))]
        return [Text(await asyncio.to_thread(self.core.translate_for, event, DM_SENT))]

    async def _send(
        self, interaction: discord.Interaction[Any], replies: list[Reply], *, ephemeral: bool, deferred: bool
    ) -> None:
        if not replies:
            if not interaction.response.is_done():
                await interaction.response.defer()
            return
        first, rest = replies[0], replies[1:]
        kwargs = message_kwargs(first)
        component = interaction.type is discord.InteractionType.component
        if isinstance(first, Text) and first.replace and component:
            edit = {k: v for k, v in kwargs.items() if k in ("content", "view")}
            edit.setdefault("view", None)
            if deferred:
                await interaction.edit_original_response(**edit)
            else:
                await interaction.response.edit_message(**edit)
        elif deferred:
            await interaction.followup.send(ephemeral=ephemeral, **kwargs)
        else:
            await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
        for reply in rest:
            await interaction.followup.send(ephemeral=ephemeral, **message_kwargs(reply))


class ShardedTwinBot(TwinBot, commands.AutoShardedBot):
    """TwinBot on several gateway connections (discord.py's AutoShardedBot): needed from
    2,500 servers, and a way to spread one bot's gateway over several processes."""
