"""The Discord adapter end to end: the real discord.py bot from ``create_discord_bot``, run by simcord against a
simulated Discord (no network, no token), on a fresh database. Members act as real users would (slash commands,
buttons, forms, DMs); the database is checked behind the bot's back, and the outbox is drained by a relay with the
adapter's ``DiscordSender``."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import discord
import pytest
from simcord import ChannelHandle, Env, GuildHandle, InteractionResult, MemberActor, UserHandle
from sqlalchemy import Engine, select

import adapters.discord.client
from adapters.console.session import ConsoleSession
from adapters.discord import DiscordSender, TwinBot, create_discord_bot
from bot import member_admin, member_csv
from bot.audience import Audience
from bot.delivery import PacePolicy
from bot.events import AnyEvent
from bot.members import Identity, Member
from bot.notices import DM_CLOSED, DM_SENT
from bot.replies import Button, Reply, Text
from bot.surveys.dispatch import open_survey
from bot.surveys.model import Kind, Question, Survey
from config import Settings, load_settings
from jobs.clock import RealClock
from jobs.pacing import Pacer
from jobs.relay import Relay
from storage.db import make_engine
from storage.models import OutboxRow
from storage.outbox_store import OutboxStore

CSV_COLUMNS = tuple(c for c in member_csv.COLUMNS if c != "id")
WELCOME = "Welcome to Lyon · Frankfurt · Yokohama Twinning Circle! Which language should I use with you?"
NAME_PROMPT = "What name should other members see? Send it, or keep the one you have."
CHAPTER_PROMPT = "Which city is your home chapter?"
LANGUAGES_PROMPT = "Which languages do you speak? Tap to select, then Done."
INTERESTS_PROMPT = "What are your interests?"
ZONE_PROMPT = "Which time zone are you in?"
MENTORING_PROMPT = "Would you like to mentor someone from a partner city, be mentored, both, or not now?"
STALE = "This button is no longer current."
WRITE = "✍️"  # the label of the button that opens a form for a free-text answer


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def settings(empty_db_url: str) -> Settings:
    return load_settings(database_url=empty_db_url)


@pytest.fixture
async def restarted() -> AsyncIterator[list[TwinBot]]:
    """Bots a test built to replace the first one; closed last, after simcord has shut down."""
    bots: list[TwinBot] = []
    yield bots
    for bot in bots:
        await bot.close()


@pytest.fixture
async def simcord_bot(settings: Settings, restarted: list[TwinBot]) -> AsyncIterator[TwinBot]:
    """The bot under test for simcord's ``simcord_env`` fixture; closed (its engine disposed) afterwards."""
    bot = create_discord_bot(settings)
    yield bot
    await bot.close()


@pytest.fixture
def guild(simcord_env: Env) -> GuildHandle:
    return simcord_env.create_guild("Twinning Circle")


@pytest.fixture
def channel(guild: GuildHandle) -> ChannelHandle:
    """The server's #lyon channel, where members run commands and Lyon's announcements are posted."""
    return guild.create_text_channel("lyon")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The test's own connection to the bot's database."""
    made = make_engine(settings.database_url)
    yield made
    made.dispose()


# ------------------------------------------------------------------------------------ helpers


def join(env: Env, guild: GuildHandle, name: str) -> tuple[UserHandle, MemberActor]:
    """A Discord user who is on the server: the user (acts in DMs) and the member (acts in the server)."""
    user = env.create_user(name)
    return user, guild.add_member(user)


def bot_of(env: Env) -> TwinBot:
    bot = env.bot
    assert isinstance(bot, TwinBot)
    return bot


def labels(message: discord.Message) -> list[str]:
    return [
        child.label
        for row in message.components
        if isinstance(row, discord.ActionRow)
        for child in row.children
        if isinstance(child, discord.Button) and child.label is not None
    ]


def dm_messages(user: UserHandle) -> list[discord.Message]:
    return user.dm_channel.history()


def last_dm(user: UserHandle) -> discord.Message:
    message = user.dm_channel.last_message
    assert message is not None, f"{user.name} has no direct message"
    return message


def with_button(user: UserHandle, label: str) -> discord.Message:
    """The latest DM from the bot that offers a button ``label``."""
    for message in reversed(dm_messages(user)):
        if label in labels(message):
            return message
    raise AssertionError(f"no DM to {user.name} has a button {label!r}; the latest: {labels(last_dm(user))}")


async def press(user: UserHandle, label: str, message: discord.Message | None = None) -> InteractionResult:
    """Click the button ``label`` in the user's DMs (on ``message``, default: the latest one offering it)."""
    result: InteractionResult = await user.click(message or with_button(user, label), label=label)
    return result


def said(result: InteractionResult) -> str:
    """The content of the bot's answer to an interaction."""
    response = result.response
    assert response is not None, f"no response: {result!r}"
    return response.content


def shown(result: InteractionResult) -> discord.Message:
    """The bot's answer to an interaction, as a message (with its buttons)."""
    response = result.response
    assert response is not None, f"no response: {result!r}"
    return response.message


def all_said(result: InteractionResult) -> list[str]:
    return [said(result), *(followup.content for followup in result.followups)]


def csv_rows(*rows: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                "home_chapter": "lyon",
                "languages": "fr;en",
                "time_zone": "Europe/Paris",
                "mentor": "no",
                "mentee": "no",
                "preferred_language": "en",
                "consent_at": "2026-01-10T09:00:00+00:00",
                **row,
            }
        )
    return out.getvalue()


def import_members(bot: TwinBot, *rows: dict[str, str]) -> None:
    """Members imported by an operator (``twinbot members import``), straight into the bot's database."""
    with bot.core.services.uow_factory() as uow:
        member_admin.import_members(uow, csv_rows(*rows), bot.core.services.network)


def coordinator_row(user: UserHandle, name: str = "Claire Martin") -> dict[str, str]:
    return {"display_name": name, "identities": f"discord:{user.id}", "roles": "coordinator@lyon"}


def member_of(bot: TwinBot, platform: str, user_id: str | int) -> Member | None:
    with bot.core.services.uow_factory() as uow:
        return uow.members.by_identity(platform, str(user_id))


def identities_of(bot: TwinBot, member: Member) -> list[Identity]:
    assert member.id is not None
    with bot.core.services.uow_factory() as uow:
        return uow.members.identities(member.id)


def opt_in_to_dms(bot: TwinBot, user: UserHandle) -> None:
    """The member asked for announcements by DM on Discord (as the profile card's 📬 button does)."""
    with bot.core.services.uow_factory() as uow:
        member = uow.members.by_identity("discord", str(user.id))
        assert member is not None
        member.announcement_dms = True
        uow.members.save(member)
        uow.commit()


def outbox(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(OutboxRow).order_by(OutboxRow.id)).all())


async def drain(bot: TwinBot, engine: Engine) -> Relay:
    """Run the Discord relay once over everything queued, as ``twinbot run`` does after a commit."""
    clock = RealClock()
    pacer = Pacer(PacePolicy(1000, 1000, 1000), clock)
    relay = Relay(OutboxStore(engine, "discord-test"), DiscordSender(bot), pacer, clock)
    await relay.drain()
    return relay


def lyon_channel_settings(settings: Settings, channel: ChannelHandle) -> Settings:
    """The same settings with the Lyon chapter posting its announcements in ``channel``."""
    chapters = [chapter.model_dump() for chapter in settings.chapters]
    assert [c["code"] for c in chapters] == ["lyon", "frankfurt", "yokohama"]
    chapters[0]["discord_channel_id"] = channel.id
    return load_settings(database_url=settings.database_url, chapters=chapters)


async def configure_lyon_channel(
    env: Env, settings: Settings, channel: ChannelHandle, restarted: list[TwinBot]
) -> TwinBot:
    """The operator sets Lyon's announcement channel once the channel exists, and restarts the bot."""
    old = bot_of(env)
    bot = create_discord_bot(lyon_channel_settings(settings, channel))
    restarted.append(bot)
    await env.restart_bot(bot)
    await old.close()
    return bot


async def announce(coordinator: UserHandle, text: str) -> str:
    """/announce in the coordinator's DMs: English, the text (as a DM), Continue, Lyon, all members, Now, Send."""
    started = await coordinator.slash("announce")
    assert said(started) == "In which language will you write the announcement?"
    assert said(await press(coordinator, "English")).startswith("Send the text in English")
    await coordinator.send_dm(text)
    assert last_dm(coordinator).content == "Texts so far: English."
    assert said(await press(coordinator, "Continue")) == "Who should receive it?"
    assert said(await press(coordinator, "Lyon")) == "Which of their members?"
    assert said(await press(coordinator, "all members")) == "Send it now, or at a time you choose?"
    preview = said(await press(coordinator, "Now"))
    assert preview.startswith("Preview:") and text in preview
    return said(await press(coordinator, "Send"))


async def onboard_until(user: UserHandle, prompt: str) -> discord.Message:
    """Run /start in the user's DMs and answer with buttons until the bot asks ``prompt``; returns that message."""
    steps: list[tuple[str, str]] = [
        ("English", "To take part, I keep the profile you give me"),
        ("I agree", NAME_PROMPT),
        (f"Keep “{user.name}”", CHAPTER_PROMPT),
        ("Lyon", LANGUAGES_PROMPT),
        ("English", LANGUAGES_PROMPT),  # a toggle: the same message, edited
        ("Done", INTERESTS_PROMPT),
        ("Skip", ZONE_PROMPT),
        ("Europe/Paris", MENTORING_PROMPT),
    ]
    result = await user.slash("start")
    assert said(result) == WELCOME
    for label, expected in steps:
        if last_dm(user).content.startswith(prompt):
            break
        result = await press(user, label)
        assert said(result).startswith(expected), all_said(result)
    message = last_dm(user)
    assert message.content.startswith(prompt), message.content
    return message


def modal_input(result: InteractionResult) -> str:
    """The custom_id of the only text input of the form the bot opened."""
    modal = result.modal
    assert modal is not None, f"no form was opened: {result!r}"
    found = [
        child["custom_id"]
        for row in modal["components"]
        for child in ([row["component"]] if "component" in row else row.get("components", []))
        if child.get("type") == discord.ComponentType.text_input.value
    ]
    assert len(found) == 1, modal
    return str(found[0])


def slow_down(simcord_env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The core takes longer than the adapter waits before deferring (scaled down: 10 ms instead of 2 s)."""
    adapter = bot_of(simcord_env).twinbot
    handle = adapter._handle

    async def slow(event: AnyEvent) -> list[Reply]:
        await asyncio.sleep(0.05)
        return await handle(event)

    monkeypatch.setattr(adapters.discord.client, "DEFER_AFTER", 0.01)
    monkeypatch.setattr(adapter, "_handle", slow)


def callbacks(env: Env) -> list[dict[str, Any]]:
    """The bodies of every interaction response the bot made, in order."""
    return [e.json for e in env.http_requests if e.path.endswith("/callback") and isinstance(e.json, dict)]


def requests_with(env: Env, fragment: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, message body) of every REST call whose message content contains ``fragment``."""
    found = []
    for entry in env.http_requests:
        body = entry.json if isinstance(entry.json, dict) else None
        message = body.get("data") if body is not None and isinstance(body.get("data"), dict) else body
        if isinstance(message, dict) and fragment in str(message.get("content") or ""):
            found.append((entry.method, entry.path, message))
    return found


# ------------------------------------------------------------------------------------ 1. onboarding in DMs


async def test_onboarding_by_slash_command_and_buttons_in_dms(simcord_env: Env, guild: GuildHandle) -> None:
    alice, _ = join(simcord_env, guild, "alice")
    bot = bot_of(simcord_env)

    started = await alice.slash("start")
    assert not started.ephemeral  # a DM is private anyway
    assert said(started) == WELCOME
    assert labels(shown(started)) == ["English", "Français", "Deutsch", "Español", "日本語"]

    consent = await press(alice, "English")
    assert said(consent).startswith("To take part, I keep the profile you give me")
    assert member_of(bot, "discord", alice.id) is None  # nothing stored before consent

    name = await press(alice, "I agree")
    assert said(name) == NAME_PROMPT
    assert labels(shown(name)) == ["Keep “alice”", WRITE]
    assert said(await press(alice, "Keep “alice”")) == CHAPTER_PROMPT
    assert said(await press(alice, "Lyon")) == LANGUAGES_PROMPT

    # A language toggle edits the prompt in place: the same message, now with a tick; no new message.
    prompt = with_button(alice, "English")
    count = len(dm_messages(alice))
    toggled = await press(alice, "English", prompt)
    assert toggled.response is not None and toggled.response.id == prompt.id
    assert len(dm_messages(alice)) == count
    (edited,) = [m for m in dm_messages(alice) if m.id == prompt.id]
    assert edited.content == LANGUAGES_PROMPT
    assert "✓ English" in labels(edited) and "English" not in labels(edited)

    interests = await press(alice, "Done")
    assert said(interests).startswith(INTERESTS_PROMPT)
    assert labels(shown(interests)) == ["Skip", WRITE]
    zone = await press(alice, "Skip")
    assert said(zone).startswith(ZONE_PROMPT)
    assert "Europe/Paris" in labels(shown(zone))
    mentoring = await press(alice, "Europe/Paris")
    assert said(mentoring) == MENTORING_PROMPT
    assert labels(shown(mentoring)) == ["Mentor", "Mentee", "Mentor and mentee", "Not now"]

    assert said(await press(alice, "Mentor")).startswith("Which topics can you help with")
    assert said(await press(alice, "Skip")) == "How many mentees can you take at the same time?"
    assert said(await press(alice, "2")).startswith("Are you learning any of these languages?")
    done = await press(alice, "Done")
    welcome, card = all_said(done)
    assert welcome == "Welcome aboard, alice! Send /help to see what you can do."
    assert card.startswith("👤 alice\nHome chapter: Lyon\nLanguages: English\n")
    assert "Time zone: Europe/Paris" in card and "Mentoring: Mentor" in card
    assert not done.ephemeral
    assert all(m.channel.id == alice.dm_channel.id for m in dm_messages(alice))

    member = member_of(bot, "discord", str(alice.id))
    assert member is not None
    assert (member.display_name, member.home_chapter, member.languages) == ("alice", "lyon", ["en"])
    assert (member.time_zone, member.is_mentor, member.is_mentee) == ("Europe/Paris", True, False)
    assert member.preferred_language == "en"
    assert identities_of(bot, member) == [Identity("discord", str(alice.id))]


# ------------------------------------------------------------------------------------ 2. a button after a restart


async def test_button_pressed_after_a_restart_continues_the_dialog(
    simcord_env: Env, guild: GuildHandle, settings: Settings, restarted: list[TwinBot]
) -> None:
    alice, _ = join(simcord_env, guild, "alice")
    name_prompt = await onboard_until(alice, NAME_PROMPT)
    old = bot_of(simcord_env)

    # A new process: a new bot object from the factory, on the same database; the old one is gone.
    bot = create_discord_bot(settings)
    restarted.append(bot)
    await simcord_env.restart_bot(bot)
    await old.close()
    assert bot_of(simcord_env) is bot and not bot.persistent_views  # no View kept in memory: DynamicItems

    # The button on the message the old bot sent still works: its custom_id carries the core's action.
    result = await press(alice, "Keep “alice”", name_prompt)
    assert said(result) == CHAPTER_PROMPT
    assert said(await press(alice, "Frankfurt am Main")) == LANGUAGES_PROMPT
    member = member_of(bot, "discord", alice.id)
    assert member is not None and member.home_chapter == "frankfurt"

    # Pressed again, the old button is stale and changes nothing.
    again = await press(alice, "Keep “alice”", name_prompt)
    assert said(again) == STALE
    assert last_dm(alice).content == STALE


async def test_form_opened_before_a_restart_is_answered_after_it(
    simcord_env: Env, guild: GuildHandle, settings: Settings, restarted: list[TwinBot]
) -> None:
    alice, _ = join(simcord_env, guild, "alice")
    prompt = await onboard_until(alice, INTERESTS_PROMPT)
    form = await press(alice, WRITE, prompt)
    old = bot_of(simcord_env)
    bot = create_discord_bot(settings)
    restarted.append(bot)
    await simcord_env.restart_bot(bot)
    await old.close()

    answered = await alice.submit_modal(form, {modal_input(form): "jazz"})
    assert answered.acknowledged, "the form's submission was dropped"
    assert said(answered).startswith(ZONE_PROMPT)


# ------------------------------------------------------------------------------------ 3. a form for free text


async def test_text_step_answered_in_a_modal(simcord_env: Env, guild: GuildHandle) -> None:
    alice, _ = join(simcord_env, guild, "alice")
    prompt = await onboard_until(alice, INTERESTS_PROMPT)
    assert WRITE in labels(prompt)

    form = await press(alice, WRITE, prompt)
    assert form.modal is not None
    assert form.modal["title"] == prompt.content.splitlines()[0][:45]
    answered = await alice.submit_modal(form, {modal_input(form): "jazz, urban gardening"})
    assert said(answered).startswith(ZONE_PROMPT)
    assert not answered.ephemeral

    member = member_of(bot_of(simcord_env), "discord", alice.id)
    assert member is not None and member.interests == ["jazz", "urban gardening"]


async def test_name_answered_in_a_modal(simcord_env: Env, guild: GuildHandle) -> None:
    alice, _ = join(simcord_env, guild, "alice")
    prompt = await onboard_until(alice, NAME_PROMPT)

    form = await press(alice, WRITE, prompt)
    answered = await alice.submit_modal(form, {modal_input(form): "  Alice   Durand "})
    assert said(answered) == CHAPTER_PROMPT
    member = member_of(bot_of(simcord_env), "discord", alice.id)
    assert member is not None and member.display_name == "Alice Durand"


# ------------------------------------------------------------------------------------ 4. ephemeral in a channel


async def test_replies_in_a_server_channel_are_ephemeral(
    simcord_env: Env, guild: GuildHandle, channel: ChannelHandle
) -> None:
    ann_user, ann = join(simcord_env, guild, "ann")
    _, onlooker = join(simcord_env, guild, "onlooker")
    import_members(bot_of(simcord_env), {"display_name": "Ann Roux", "identities": f"discord:{ann.id}"})

    help_ = await ann.slash(channel, "help")
    assert help_.ephemeral and said(help_).startswith("Here is what you can do:\n/start — join the network")
    assert "/profile — see and edit your profile" in said(help_)  # a member sees the member commands

    language = await ann.slash(channel, "language")
    assert language.ephemeral and said(language) == "Which language should I use with you?"
    assert "Français" in labels(shown(language))

    # /profile is private: the server gets an ephemeral notice, the profile arrives in DMs.
    profile = await ann.slash(channel, "profile")
    assert profile.ephemeral and said(profile) == DM_SENT
    card = last_dm(ann_user)
    assert card.content.startswith("👤 Ann Roux\nHome chapter: Lyon")
    assert "✏️ Name" in labels(card)

    # Nobody else sees any of it in the channel.
    assert channel.history(viewer=onlooker) == []


async def test_start_in_a_server_continues_in_dms(simcord_env: Env, guild: GuildHandle, channel: ChannelHandle) -> None:
    alice_user, alice = join(simcord_env, guild, "alice")

    result = await alice.slash(channel, "start")
    assert result.ephemeral and said(result) == DM_SENT
    (welcome,) = dm_messages(alice_user)
    assert welcome.content == WELCOME and "English" in labels(welcome)
    assert said(await press(alice_user, "English", welcome)).startswith("To take part, I keep the profile")
    assert channel.history() == [m for m in channel.history() if m.flags.ephemeral]  # nothing public in the server


async def test_language_menu_in_a_server_does_not_onboard_in_the_shared_channel(
    simcord_env: Env, guild: GuildHandle, channel: ChannelHandle
) -> None:
    alice_user, alice = join(simcord_env, guild, "alice")
    bob_user, bob = join(simcord_env, guild, "bob")
    alice_menu = await alice.slash(channel, "language")
    bob_menu = await bob.slash(channel, "language")
    assert alice_menu.response is not None and bob_menu.response is not None

    # Choosing a language in the shared channel continues the joining in each one's DMs,
    # in the chosen language; the channel itself never holds anyone's dialog.
    alice_choice = await alice.click(alice_menu.response, label="English")
    bob_choice = await bob.click(bob_menu.response, label="Deutsch")
    assert alice_choice.ephemeral and said(alice_choice) == "I have sent you a direct message."
    assert bob_choice.ephemeral
    assert "Do you agree?" in last_dm(alice_user).content
    assert "Einverstanden" in labels(last_dm(bob_user))
    answered = await press(alice_user, "I agree")
    assert said(answered) == NAME_PROMPT, said(answered)


# ------------------------------------------------------------------------------------ 5. an announcement


async def test_announcement_to_the_chapter_channel_and_by_dm(
    simcord_env: Env,
    guild: GuildHandle,
    channel: ChannelHandle,
    settings: Settings,
    engine: Engine,
    restarted: list[TwinBot],
) -> None:
    claire, _ = join(simcord_env, guild, "claire")
    marie, _ = join(simcord_env, guild, "marie")
    paul, _ = join(simcord_env, guild, "paul")
    bot = await configure_lyon_channel(simcord_env, settings, channel, restarted)
    import_members(
        bot,
        coordinator_row(claire),
        {"display_name": "Marie Dubois", "identities": f"discord:{marie.id}"},
        {"display_name": "Paul Girard", "identities": f"discord:{paul.id}"},
        {"display_name": "Jonas Weber", "home_chapter": "frankfurt", "identities": "console:jonas"},
    )
    # Marie asks for announcements by DM on her profile card (the toggle edits the card in place).
    await marie.slash("profile")
    toggled = await press(marie, "📬 Announcements by DM")
    assert "📬 No announcements by DM" in labels(shown(toggled))

    confirmation = await announce(claire, "Picnic at the Parc de la Tête d'Or on Sunday!")
    assert confirmation == "Announcement 1 is on its way to 1 members. /announce status 1 shows the delivery."
    before = len(dm_messages(paul))

    relay = await drain(bot, engine)
    await simcord_env.settle()

    assert relay.outcomes == {"sent": 2}
    post = channel.last_message
    assert post is not None and bot.user is not None and post.author.id == bot.user.id
    assert post.content == "📣 Announcement from Claire Martin:\n\nPicnic at the Parc de la Tête d'Or on Sunday!"
    assert last_dm(marie).content == post.content
    assert len(dm_messages(paul)) == before  # Paul did not opt in: the channel carries it for him
    rows = {(row.platform, row.target_kind, row.target_id): row.status for row in outbox(engine)}
    assert rows == {("discord", "chat", str(channel.id)): "sent", ("discord", "user", str(marie.id)): "sent"}

    status = await claire.slash("announce", action="status", id=1)
    assert said(status) == "Announcement 1: sent to 1 members\n• discord: sent 2"


# ------------------------------------------------------------------------------------ 6. closed DMs


def close_dms(env: Env, user: UserHandle) -> None:
    """The user does not accept DMs from server members: Discord refuses every message to them (50007)."""
    env.inject_error(
        "POST",
        f"/channels/{user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
        times=None,
    )


async def test_start_in_a_server_with_closed_dms_says_so(
    simcord_env: Env, guild: GuildHandle, channel: ChannelHandle
) -> None:
    bob_user, bob = join(simcord_env, guild, "bob")
    close_dms(simcord_env, bob_user)

    result = await bob.slash(channel, "start")
    assert result.ephemeral
    assert said(result) == DM_CLOSED
    assert dm_messages(bob_user) == []
    assert simcord_env.errors == []


async def test_relayed_dm_to_closed_dms_is_unreachable(
    simcord_env: Env,
    guild: GuildHandle,
    channel: ChannelHandle,
    settings: Settings,
    engine: Engine,
    restarted: list[TwinBot],
) -> None:
    claire, _ = join(simcord_env, guild, "claire")
    bob, _ = join(simcord_env, guild, "bob")
    bot = await configure_lyon_channel(simcord_env, settings, channel, restarted)
    import_members(bot, coordinator_row(claire), {"display_name": "Bob Martin", "identities": f"discord:{bob.id}"})
    opt_in_to_dms(bot, bob)
    close_dms(simcord_env, bob)

    assert (await announce(claire, "Choir rehearsal moved to Thursday.")).startswith("Announcement 1 is on its way")
    relay = await drain(bot, engine)
    await simcord_env.settle()

    assert relay.outcomes == {"sent": 1, "unreachable": 1}
    (row,) = [row for row in outbox(engine) if row.target_id == str(bob.id)]
    assert row.status == "unreachable" and "Cannot send messages to this user" in (row.last_error or "")
    member = member_of(bot, "discord", bob.id)
    assert member is not None
    assert identities_of(bot, member) == [Identity("discord", str(bob.id), unreachable=True)]
    assert channel.last_message is not None and "Choir rehearsal" in channel.last_message.content

    status = await claire.slash("announce", action="status", id=1)
    assert "• discord: sent 1, unreachable 1" in said(status)


# ------------------------------------------------------------------------------------ 7. allowed mentions


async def test_member_written_mentions_never_ping(
    simcord_env: Env,
    guild: GuildHandle,
    channel: ChannelHandle,
    settings: Settings,
    engine: Engine,
    restarted: list[TwinBot],
) -> None:
    role = guild.create_role("Lyon members", mentionable=True)
    claire, _ = join(simcord_env, guild, "claire")
    dan, _ = join(simcord_env, guild, "dan")
    bot = await configure_lyon_channel(simcord_env, settings, channel, restarted)
    assert guild.me is not None and guild.me.guild_permissions.mention_everyone  # the bot could ping everyone
    import_members(bot, coordinator_row(claire, name="@everyone Claire"))

    text = f"@everyone @here <@&{role.id}> <@{dan.id}> picnic on Sunday"
    await announce(claire, text)
    await drain(bot, engine)
    await simcord_env.settle()

    post = channel.last_message
    assert post is not None and text in post.content
    assert not post.mention_everyone  # Discord would have pinged everyone with the default allowed mentions
    sent = requests_with(simcord_env, "@everyone")
    assert ("POST", f"/channels/{channel.id}/messages") in [(method, path) for method, path, _ in sent]
    for method, path, message in sent:
        assert message.get("allowed_mentions") == {"parse": []}, (method, path)


# ------------------------------------------------------------------------------------ 8. /link across platforms


async def test_link_a_console_member_to_discord(simcord_env: Env, guild: GuildHandle) -> None:
    alice, _ = join(simcord_env, guild, "alice")
    bot = bot_of(simcord_env)
    import_members(bot, {"display_name": "Alice Durand", "identities": "console:alice"})
    console = ConsoleSession(bot.core)

    (issued,) = console.push("alice", "/link")
    assert isinstance(issued, Text)
    found = re.search(r"Your link code is ([A-Z0-9]{4}-[A-Z0-9]{4})\.", issued.text)
    assert found is not None, issued.text

    linked = await alice.slash("link", code=found.group(1))
    assert said(linked) == "Linked! This account now belongs to the profile of Alice Durand."
    member = member_of(bot, "discord", alice.id)
    assert member is not None and member.display_name == "Alice Durand"
    assert {(i.platform, i.user_id) for i in identities_of(bot, member)} == {
        ("console", "alice"),
        ("discord", str(alice.id)),
    }
    again = await alice.slash("link", code=found.group(1))
    assert said(again).startswith("This account already belongs to the profile of Alice Durand.")


async def test_link_code_given_in_a_server_channel(
    simcord_env: Env, guild: GuildHandle, channel: ChannelHandle
) -> None:
    alice_user, alice = join(simcord_env, guild, "alice")
    bot = bot_of(simcord_env)
    import_members(bot, {"display_name": "Alice Durand", "identities": "console:alice"})
    (issued,) = ConsoleSession(bot.core).push("alice", "/link")
    assert isinstance(issued, Text)
    found = re.search(r"Your link code is ([A-Z0-9]{4}-[A-Z0-9]{4})\.", issued.text)
    assert found is not None, issued.text

    result = await alice.slash(channel, "link", code=found.group(1))
    assert result.ephemeral and said(result) == DM_SENT
    assert last_dm(alice_user).content == "Linked! This account now belongs to the profile of Alice Durand."
    member = member_of(bot, "discord", alice.id)
    assert member is not None and member.display_name == "Alice Durand"


# ------------------------------------------------------------------------------------ 9. slash command options


async def test_members_chapter_option_autocompletes_for_a_coordinator(
    simcord_env: Env, guild: GuildHandle, channel: ChannelHandle
) -> None:
    claire_user, claire = join(simcord_env, guild, "claire")
    _, marie = join(simcord_env, guild, "marie")
    bot = bot_of(simcord_env)
    import_members(
        bot,
        coordinator_row(claire_user),
        {"display_name": "Marie Dubois", "identities": f"discord:{marie.id}", "mentee": "yes"},
    )

    offered = await claire_user.autocomplete("members", "chapter", "")
    assert [(c["name"], c["value"]) for c in offered] == [
        ("Lyon", "lyon"),
        ("Frankfurt am Main", "frankfurt"),
        ("Yokohama", "yokohama"),
    ]
    assert await claire.autocomplete(channel, "members", "chapter", "frank") == [
        {"name": "Frankfurt am Main", "value": "frankfurt"}
    ]

    listed = await claire_user.slash("members", chapter="lyon")
    assert said(listed) == "Lyon: 2 members\n• Claire Martin (fr, en)\n• Marie Dubois (fr, en, mentee)"
    refused = await marie.slash(channel, "members", chapter="lyon")
    assert refused.ephemeral and said(refused) == "This command is for coordinators."


async def test_slash_commands_have_typed_and_translated_options(simcord_env: Env) -> None:
    (synced,) = [e for e in simcord_env.http_requests if e.method == "PUT" and e.path.endswith("/commands")]
    assert isinstance(synced.json, list)
    commands = {command["name"]: command for command in synced.json}
    assert list(commands) == [
        "start", "profile", "language", "link", "help", "cancel", "members", "announce", "surveys", "survey",
        "meetups", "meetup", "checkin", "mentor", "mentee", "mentorship", "coffee", "match", "audit",
        "mydata", "forget",
    ]

    action, ident = commands["announce"]["options"]
    assert action["type"] == discord.AppCommandOptionType.string.value and not action.get("required")
    assert [c["value"] for c in action["choices"]] == ["list", "status", "cancel"]
    assert ident["type"] == discord.AppCommandOptionType.integer.value
    assert ident["min_value"] == 1
    (chapter,) = commands["members"]["options"]
    assert chapter["autocomplete"] is True
    (code,) = commands["link"]["options"]
    assert code["description"] == "the code you got on your other platform"

    # Descriptions come from the core's catalogs, for each Discord locale of the network's languages.
    localized = commands["help"].get("description_localizations") or {}
    assert {"fr", "de", "es-ES", "ja"} <= set(localized), localized
    assert "en-US" not in localized


# ------------------------------------------------------------------------------------ 10. a slow core: deferring


async def test_slow_answer_is_deferred_then_delivered(
    simcord_env: Env, guild: GuildHandle, channel: ChannelHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, alice = join(simcord_env, guild, "alice")
    slow_down(simcord_env, monkeypatch)

    result = await alice.slash(channel, "help")
    assert callbacks(simcord_env)[-1] == {
        "type": discord.InteractionResponseType.deferred_channel_message.value,
        "data": {"flags": discord.MessageFlags(ephemeral=True).value},
    }
    assert result.ephemeral and said(result).startswith("Here is what you can do:")
    assert channel.history() == [m for m in channel.history() if m.flags.ephemeral]


async def test_slow_toggle_still_edits_the_message_in_place(
    simcord_env: Env, guild: GuildHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, _ = join(simcord_env, guild, "alice")
    prompt = await onboard_until(alice, LANGUAGES_PROMPT)
    count = len(dm_messages(alice))
    slow_down(simcord_env, monkeypatch)

    await press(alice, "Français", prompt)
    assert len(dm_messages(alice)) == count, [m.content[:30] for m in dm_messages(alice)[-2:]]
    (edited,) = [m for m in dm_messages(alice) if m.id == prompt.id]
    assert "✓ Français" in labels(edited)


# ------------------------------------------------------------------------------------ role mapping


async def test_a_discord_role_grants_and_revokes_the_coordinator_role(
    simcord_env: Env, guild: GuildHandle, channel: ChannelHandle, settings: Settings, restarted: list[TwinBot]
) -> None:
    """A chapter's Discord role makes its holders coordinators of it, in the core; only on
    the network's own server; taking the role away takes the grant away at the next use."""
    role = guild.create_role("Coordinators Lyon")
    user = simcord_env.create_user("claire")
    member = guild.add_member(user, roles=[role])
    chapters = [chapter.model_dump() for chapter in settings.chapters]
    chapters[0]["discord_coordinator_role"] = "Coordinators Lyon"
    configured = load_settings(database_url=settings.database_url, chapters=chapters, discord_guild_id=guild.id)
    old = bot_of(simcord_env)
    bot = create_discord_bot(configured)
    restarted.append(bot)
    await simcord_env.restart_bot(bot)
    await old.close()
    import_members(bot, {"display_name": "Claire Martin", "identities": f"discord:{user.id}"})

    listing = await member.slash(channel, "members")  # in the server: the role is synced, then checked
    assert "for coordinators" not in said(listing)
    direct = await user.slash("members")  # in DMs the grant holds: it is in the core's database
    assert "for coordinators" not in said(direct)
    with bot.core.services.uow_factory() as uow:
        claire = uow.members.by_identity("discord", str(user.id))
        assert claire is not None and claire.id is not None
        grants = uow.members.roles(claire.id)
    assert [(g.role.value, g.chapter, g.source) for g in grants] == [("coordinator", "lyon", "discord")]

    guild.remove_member(member)  # simcord has no role removal: leave and rejoin without the role
    member = guild.add_member(user)
    refused = await member.slash(channel, "members")
    assert "for coordinators" in said(refused)
    assert "for coordinators" in said(await user.slash("members"))


# ------------------------------------------------------------------------------------ files


async def test_files_and_pictures_reach_a_channel(simcord_env: Env, channel: ChannelHandle) -> None:
    """A calendar file, a CSV and a chart go out as attachments, captions without pings."""
    from bot.delivery import Target, TargetKind
    from bot.replies import File, Image

    sender = DiscordSender(bot_of(simcord_env))
    target = Target("discord", TargetKind.CHAT, str(channel.id))
    ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    await sender.send(target, File("meetup-3.ics", ics, "text/calendar", caption="@everyone see you there"))
    await sender.send(target, Image("chart.png", b"\x89PNG\r\n\x1a\n", caption="Results"))
    await simcord_env.settle()
    messages = channel.history()
    assert [a.filename for m in messages for a in m.attachments] == ["meetup-3.ics", "chart.png"]
    assert messages[0].content == "@everyone see you there" and not messages[0].mention_everyone


# ------------------------------------------------------------------------------------ 12. a survey


async def test_survey_invitation_in_the_channel_answered_in_dms_with_a_form_for_text(
    simcord_env: Env,
    guild: GuildHandle,
    channel: ChannelHandle,
    settings: Settings,
    engine: Engine,
    restarted: list[TwinBot],
) -> None:
    marie_user, marie = join(simcord_env, guild, "marie")
    bot = await configure_lyon_channel(simcord_env, settings, channel, restarted)
    import_members(bot, {"display_name": "Marie Dubois", "identities": f"discord:{marie_user.id}"})
    services = bot.core.services
    with services.uow_factory() as uow:
        survey = uow.surveys.add(
            Survey(
                title={"en": "Picnic feedback"},
                questions=(
                    Question(Kind.RATING, {"en": "How was the picnic?"}),
                    Question(Kind.TEXT, {"en": "What should we change?"}),
                ),
                audience=Audience(chapters=("lyon",)),
                created_at=services.clock(),
            )
        )
        assert open_survey(uow, services.network, services.catalogs, survey, services.clock()) == 1
        uow.commit()
    relay = await drain(bot, engine)
    await simcord_env.settle()
    assert relay.outcomes == {"sent": 1}  # Marie did not opt in to DMs: the channel carries the invitation
    post = channel.last_message
    assert post is not None and post.content.startswith("📋 New survey for the members of Lyon: Picnic feedback")
    assert labels(post) == ["Start"]

    started = await marie.click(post, label="Start")
    assert started.ephemeral and said(started) == DM_SENT
    question = last_dm(marie_user)
    assert "Picnic feedback · 1/2" in question.content
    assert labels(question) == ["1", "2", "3", "4", "5"]  # buttons only: no form for a scale
    answered = await press(marie_user, "4", question)
    assert "2/2" in said(answered)
    form = await press(marie_user, WRITE)
    assert form.modal is not None
    done = await marie_user.submit_modal(form, {modal_input(form): "More shade, please"})
    assert said(done) == "Thank you! Your answers are saved."
    with services.uow_factory() as uow:
        assert survey.id is not None
        assert [(t.question, t.value) for t in uow.surveys.tallies(survey.id)] == [(0, 4), (1, None)]


# ------------------------------------------------------------------------------------ 13. permissions


def _slash_options(command: str, args: str) -> dict[str, Any]:
    """A command line's arguments as the slash command's typed options, in the table's order."""
    from bot.commands import BY_NAME

    params = BY_NAME[command].params
    words = args.split()
    options: dict[str, Any] = {}
    for n, param in enumerate(params):
        if n >= len(words):
            break
        value = " ".join(words[n:]) if n == len(params) - 1 else words[n]
        options[param.name] = int(value) if param.kind == "int" else value
    return options


async def test_the_whole_permission_table_through_discord(simcord_env: Env, engine: Engine) -> None:
    """bot/permissions.py walked through discord.py under simcord: each privileged command as a
    slash command with typed options, each button action forged as a component's custom_id,
    by a plain member, a coordinator of another chapter and a revoked coordinator, in DMs:
    refused, and no row of any table changes."""
    from types import SimpleNamespace

    from adapters.discord.render import message_kwargs
    from bot.permissions import PRIVILEGES
    from tests.e2e.test_permissions import PERSONAS, REFUSALS, refused_for, snapshot, world

    bot = bot_of(simcord_env)
    users = {name: simcord_env.create_user(name) for name in ("owner", "lea", "yui", *PERSONAS)}
    services = bot.core.services  # world() needs only these parts of an App
    app = SimpleNamespace(engine=engine, uow_factory=services.uow_factory, core=bot.core, network=services.network)
    ids = world(app, "discord", {name: str(user.id) for name, user in users.items()})  # type: ignore[arg-type]
    tried = 0
    for privilege in PRIVILEGES:
        for persona in refused_for(privilege):
            user, before = users[persona], snapshot(app)  # type: ignore[arg-type]
            action = privilege.action.format(**ids)
            if privilege.kind == "button":
                # Discord only delivers presses of buttons a message has: the button is put on a
                # message the member can see, as a privileged button in a shared channel would be.
                recipient = await bot.fetch_user(user.id)
                await recipient.send(**message_kwargs(Text("A button", ((Button("Press", action),),))))
                await simcord_env.settle()
                result = await user.click(last_dm(user), label="Press")
            else:
                command, _, args = action[1:].partition(" ")
                result = await user.slash(command, **_slash_options(command, args))
            assert result.response is not None, (persona, action, result)
            said = "\n".join(all_said(result))
            assert any(refusal in said for refusal in REFUSALS), (persona, action, said)
            assert snapshot(app) == before, (persona, action)  # type: ignore[arg-type]
            tried += 1
    assert tried == 71
