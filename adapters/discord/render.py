"""Core replies as Discord messages: buttons that survive a restart, forms for free text."""

from __future__ import annotations

import io
import re
from typing import Any

import discord

from bot.replies import File, Image, Reply, Text

PLATFORM = "discord"
MAX_CONTENT = 2000
NO_MENTIONS = discord.AllowedMentions.none()


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"^tb:(?P<action>.+)$"):
    """Every core button: its custom_id carries the core's action string, so a press is
    understood after a restart (no View kept in memory)."""

    def __init__(self, label: str, action: str) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=label[:80], custom_id=f"tb:{action}", style=discord.ButtonStyle.secondary
        )
        super().__init__(button)
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ActionButton:
        return cls(getattr(item, "label", None) or "…", match["action"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        adapter = getattr(interaction.client, "twinbot", None)
        if adapter is not None:
            await adapter.on_button(interaction, self.action)


class WriteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"^tbw$"):
    """Opens a form for a free-text answer (a button cannot carry a chat box)."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="✍️", custom_id="tbw", style=discord.ButtonStyle.primary))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> WriteButton:
        return cls()

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        prompt = interaction.message.content if interaction.message else ""
        await interaction.response.send_modal(AnswerModal(prompt))


MODAL_ID = "tbw:modal"
ANSWER_ID = "tbw:answer"


class AnswerModal(discord.ui.Modal):
    """The form for a free-text answer. Its submission is handled from the raw interaction
    (``TwinBot.on_interaction``), not here, so that a form opened before a restart still
    arrives after it."""

    def __init__(self, prompt: str) -> None:
        title = (prompt.splitlines()[0] if prompt else "twinbot")[:45] or "twinbot"
        super().__init__(title=title, timeout=None, custom_id=MODAL_ID)
        self.answer: discord.ui.TextInput[AnswerModal] = discord.ui.TextInput(
            label="✍️", style=discord.TextStyle.paragraph, max_length=4000, custom_id=ANSWER_ID
        )
        self.add_item(self.answer)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        return None  # see TwinBot.on_interaction


def submitted_answer(data: Any) -> str | None:
    """The text of the answer field in a modal submission's data, wherever it is nested."""
    if isinstance(data, dict):
        if data.get("custom_id") == ANSWER_ID and isinstance(data.get("value"), str):
            return str(data["value"])
        children = [v for k, v in data.items() if k in ("components", "component")]
    elif isinstance(data, list):
        children = data
    else:
        return None
    for child in children:
        found = submitted_answer(child)
        if found is not None:
            return found
    return None


def view_for(reply: Text) -> discord.ui.View | None:
    """The buttons of a reply, in its rows (Discord allows 5 rows of 5)."""
    buttons = [b for b in reply.all_buttons if b.private_start is None]
    if not buttons and not reply.expects_text:
        return None
    view = discord.ui.View(timeout=None)
    rows = [[b for b in row if b.private_start is None] for row in reply.buttons]
    rows = [row for row in rows if row]
    fits = len(rows) <= 5 and all(len(row) <= 5 for row in rows)
    for index, row in enumerate(rows):
        for button in row:
            item = ActionButton(button.label, button.action)
            if fits:
                item.row = min(index, 4)
            view.add_item(item)
    if reply.expects_text:
        view.add_item(WriteButton())
    return view


def message_kwargs(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for ``send``/``send_message``: content, view or file; nobody is
    ever pinged by what members wrote."""
    kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
    if isinstance(reply, Text):
        text = reply.text if len(reply.text) <= MAX_CONTENT else reply.text[: MAX_CONTENT - 1] + "…"
        kwargs["content"] = text
        view = view_for(reply)
        if view is not None:
            kwargs["view"] = view
    else:
        assert isinstance(reply, File | Image)
        kwargs["content"] = reply.caption[:MAX_CONTENT] or None
        kwargs["file"] = discord.File(io.BytesIO(reply.data), filename=reply.filename)
    return kwargs
