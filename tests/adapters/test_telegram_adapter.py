"""The Telegram adapter end to end: the real PTB application, run by ``adapters.app.serve`` with the relays and the
scheduler, talking HTTP to the fake Bot API server (tests/telegram_server.py); members play their part through the
fake, and the database is checked behind the bot's back."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from adapters.bootstrap import App
from bot.commands import BY_NAME
from bot.context import Context
from bot.replies import Reply
from jobs.relay import RelaySettings
from storage.models import IdentityRow, MemberRow
from tests.adapters.conftest import (
    COORDINATOR,
    FRANKFURT_MEMBER,
    LYON_GROUP,
    LYON_MEMBERS,
    CallClock,
    Stack,
    identity_row,
    member_rows,
    outbox_row,
    outbox_rows,
    twinbot_env,
)
from tests.telegram_server import FakeTelegram, FakeUser, SentMessage, inline_buttons

ROOT = Path(__file__).resolve().parents[2]
RunBot = Callable[[], Any]  # the run_bot fixture: an async callable returning a started Stack

NAME = '<b>Ann & "Bo"</b>'  # what a member may write: valid HTML, so only escaping keeps it as typed
STALE = "This button is no longer current."
APOLOGY = "Sorry, something went wrong on my side. Nothing was changed; please try again."
#: For tests of the adapter's own behaviour, which no database changes: SQLite only, to keep the suite fast.
SQLITE_ONLY = pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)

ANNOUNCEMENT = "Picnic at the Parc de la Tête d'Or on Sunday <12:00> & games for everyone"


# ------------------------------------------------------------------------------------ helpers


def shown(message: SentMessage) -> str:
    """The text as the member reads it: HTML parsed (the fake checks it on the way in), entities resolved."""
    assert message.text is not None
    return FakeTelegram._plain(message.text, message.parse_mode)


def labels(message: SentMessage) -> list[str]:
    return [text for text, _ in message.buttons()]


async def expect(fake: FakeTelegram, chat: FakeUser, fragment: str, timeout: float = 5.0) -> SentMessage:
    """Wait until the latest message the bot sent to ``chat`` reads with ``fragment``; return it."""
    await fake.wait_for(lambda: fragment in shown(chat.last()), timeout=timeout)
    return chat.last()


async def expect_since(fake: FakeTelegram, chat: FakeUser, start: int, fragment: str) -> SentMessage:
    """Wait until a message the bot sent to ``chat`` after its first ``start`` ones reads with ``fragment`` (when
    the relay may send to the same chat meanwhile); return it."""

    def found() -> list[SentMessage]:
        return [message for message in chat.messages()[start:] if fragment in shown(message)]

    await fake.wait_for(lambda: bool(found()))
    return found()[-1]


def tap(user: FakeUser, label: str, message: SentMessage | None = None) -> str:
    """Press the button labelled ``label`` on ``message`` (default: the latest message that has one); returns the
    callback query id."""
    candidates = [message] if message is not None else list(reversed(user.messages()))
    for candidate in candidates:
        for text, data in candidate.buttons():
            if text == label:
                return user.press(data, message_id=candidate.message_id)
    raise LookupError(f"no button {label!r}; the latest buttons: {labels(user.last()) if user.messages() else []}")


async def answered(fake: FakeTelegram, *queries: str) -> None:
    await fake.wait_for(lambda: all(query in fake.answered_callbacks for query in queries))


def statuses(app: App) -> list[str]:
    """The status of every outbox row, in the order they were queued."""
    return [row.status for row in outbox_rows(app)]


async def settled(fake: FakeTelegram, app: App, count: int, timeout: float = 10.0) -> None:
    """Wait until the outbox holds ``count`` rows and none is queued or being sent."""
    await fake.wait_for(
        lambda: len(found := statuses(app)) == count and not {"queued", "sending"} & set(found),
        timeout=timeout,
    )


async def announce_to_lyon(fake: FakeTelegram, coordinator: FakeUser, text: str = ANNOUNCEMENT) -> SentMessage:
    """Run /announce as the coordinator: English, the text, Continue, Lyon, all members, Now, Send."""
    coordinator.send("/announce")
    await expect(fake, coordinator, "In which language will you write the announcement?")
    queries = [tap(coordinator, "English")]
    await expect(fake, coordinator, "Send the text in English")
    coordinator.send(text)
    await expect(fake, coordinator, "Texts so far: English.")
    queries.append(tap(coordinator, "Continue"))
    await expect(fake, coordinator, "Who should receive it?")
    queries.append(tap(coordinator, "Lyon"))
    await expect(fake, coordinator, "Which of their members?")
    queries.append(tap(coordinator, "all members"))
    await expect(fake, coordinator, "Send it now, or at a time you choose?")
    queries.append(tap(coordinator, "Now"))
    preview = await expect(fake, coordinator, "Preview:")
    assert text in shown(preview)
    start = len(coordinator.messages())
    queries.append(tap(coordinator, "Send"))
    # The relay may deliver the coordinator's own copy before or after this confirmation.
    confirmation = await expect_since(fake, coordinator, start, "is on its way to")
    await answered(fake, *queries)
    return confirmation


# ------------------------------------------------------------------------------------ 1. onboarding


async def test_onboarding_with_buttons_from_start_to_the_profile_card(
    fake: FakeTelegram, app: App, run_bot: RunBot
) -> None:
    await run_bot()
    ann = fake.user(7001, "Ann", language_code="fr")
    queries: list[str] = []

    ann.send("/start")
    first = await expect(fake, ann, "Dans quelle langue")  # the Telegram client's language_code, until she picks
    assert labels(first) == ["English", "Français", "Deutsch", "Español", "日本語"]

    queries.append(tap(ann, "English"))
    consent = await expect(fake, ann, "Do you agree?")
    assert labels(consent) == ["I agree", "No, thanks"]
    queries.append(tap(ann, "I agree"))
    await expect(fake, ann, "What name should other members see?")
    assert labels(ann.last()) == ["Keep “Ann”"]

    ann.send(NAME)
    chapters = await expect(fake, ann, "Which city is your home chapter?")
    assert labels(chapters) == ["Lyon", "Frankfurt am Main", "Yokohama"]
    queries.append(tap(ann, "Lyon"))

    # The languages step: each toggle edits the prompt in place (editMessageText), with fresh buttons.
    languages = await expect(fake, ann, "Which languages do you speak?")
    sent_before = len(fake.sent)
    queries.append(tap(ann, "English"))
    await fake.wait_for(lambda: "✓ English" in labels(languages))
    queries.append(tap(ann, "Français", languages))
    await fake.wait_for(lambda: "✓ Français" in labels(languages))
    assert len(fake.sent) == sent_before, "a toggle sent a new message instead of editing the prompt"
    toggles = [edit for edit in fake.edits if edit.chat_id == ann.id]
    assert [(edit.method, edit.message_id) for edit in toggles] == [("editMessageText", languages.message_id)] * 2
    assert [text for text, _ in inline_buttons(toggles[0].reply_markup)][:2] == ["✓ English", "Français"]
    assert labels(languages) == ["✓ English", "✓ Français", "Deutsch", "Español", "日本語", "Done"]
    assert ann.last() is languages

    queries.append(tap(ann, "Done"))
    await expect(fake, ann, "What are your interests?")
    queries.append(tap(ann, "Skip"))
    zone = await expect(fake, ann, "Which time zone are you in?")
    assert labels(zone) == ["Europe/Paris"]  # the home chapter's zone
    queries.append(tap(ann, "Europe/Paris"))
    mentoring = await expect(fake, ann, "Would you like to mentor someone")
    assert labels(mentoring) == ["Mentor", "Mentee", "Mentor and mentee", "Not now"]
    queries.append(tap(ann, "Mentor"))
    await expect(fake, ann, "Which topics can you help with")
    queries.append(tap(ann, "Skip"))
    await expect(fake, ann, "How many mentees")
    queries.append(tap(ann, "2"))
    await expect(fake, ann, "Are you learning any of these languages?")
    queries.append(tap(ann, "Done"))

    card = await expect(fake, ann, "Member since:")
    await answered(fake, *queries)
    assert len(set(fake.answered_callbacks)) == len(queries) == 12  # every press answered, once

    welcome = ann.messages()[-2]
    assert shown(welcome) == f"Welcome aboard, {NAME}! Send /help to see what you can do."
    lines = shown(card).splitlines()
    assert lines[:6] == [
        f"👤 {NAME}",
        "Home chapter: Lyon",
        "Languages: English, Français",
        "Interests: not set",
        "Time zone: Europe/Paris",
        "Mentoring: Mentor",
    ]
    assert "Reply language: English" in lines
    # What the member typed goes out escaped under parse_mode HTML, so it reads as typed.
    assert card.parse_mode == welcome.parse_mode == "HTML"
    assert card.text is not None and card.text.startswith('👤 &lt;b&gt;Ann &amp; "Bo"&lt;/b&gt;\n')
    assert "✏️ Name" in labels(card) and "🌐 Reply language" in labels(card)

    # ... and is stored as typed.
    (member,) = member_rows(app)
    assert member.display_name == NAME
    assert (member.preferred_language, member.home_chapter, member.languages) == ("en", "lyon", ["en", "fr"])
    assert (member.time_zone, member.is_mentor, member.is_mentee) == ("Europe/Paris", True, False)
    assert identity_row(app, "telegram", ann.id).member_id == member.id


# ------------------------------------------------------------------------------------ 2. stale buttons


@SQLITE_ONLY
async def test_a_stale_button_says_so_and_changes_nothing(fake: FakeTelegram, app: App, run_bot: RunBot) -> None:
    await run_bot()
    bo = fake.user(7002, "Bo", language_code="en")
    bo.send("/start")
    first = await expect(fake, bo, "Which language should I use with you?")
    tap(bo, "English")
    consent = await expect(fake, bo, "Do you agree?")

    # Buttons of the earlier prompt: pressed again, or another one of them.
    stale = [tap(bo, "English", first), tap(bo, "Français", first)]
    await fake.wait_for(lambda: [shown(m) for m in bo.messages()[-2:]] == [STALE, STALE])
    await answered(fake, *stale)  # the spinner stops even for a stale button
    assert [edit for edit in fake.edits if edit.chat_id == bo.id] == []  # the old prompt is left alone

    # The dialog is where it was: the consent prompt still works, in English.
    tap(bo, "I agree", consent)
    await expect(fake, bo, "What name should other members see?")
    assert [m.display_name for m in member_rows(app)] == ["Bo"]


# ------------------------------------------------------------------------------------ 3. deep links


async def test_profile_in_a_group_links_to_the_private_chat(
    fake: FakeTelegram, app: App, members: int, run_bot: RunBot
) -> None:
    await run_bot()
    lyon = fake.group(LYON_GROUP, "Lyon")
    paul = fake.user(5003, "Paul", language_code="en")

    paul.send_in(lyon, "/profile")
    await fake.wait_for(lambda: len(lyon.messages()) == 1)
    link = lyon.last()
    assert shown(link) == "Let's continue this in a private chat."
    url = f"https://t.me/{fake.bot_username}?start=profile"
    assert link.buttons() == [("Open a private chat", url)]
    assert link.reply_markup == {"inline_keyboard": [[{"text": "Open a private chat", "url": url}]]}
    assert paul.messages() == []  # nothing personal in the group, nothing unasked in private

    paul.send("/start profile")  # what Telegram sends when the link is opened
    card = await expect(fake, paul, "Member since:")
    assert shown(card).startswith("👤 Paul Girard\nHome chapter: Lyon\n")
    assert len(lyon.messages()) == 1


@SQLITE_ONLY
async def test_a_deep_link_from_a_newcomer_starts_onboarding(fake: FakeTelegram, app: App, run_bot: RunBot) -> None:
    await run_bot()
    newcomer = fake.user(7003, "Cleo", language_code="de")
    newcomer.send("/start profile")
    prompt = await expect(fake, newcomer, "In welcher Sprache soll ich dir schreiben?")
    assert "Deutsch" in labels(prompt)


@SQLITE_ONLY
async def test_a_group_command_with_arguments_links_with_a_valid_start_parameter(
    fake: FakeTelegram, app: App, members: int, run_bot: RunBot
) -> None:
    await run_bot()
    lyon = fake.group(LYON_GROUP, "Lyon")
    claire = fake.user(COORDINATOR, "Claire", language_code="en")

    claire.send_in(lyon, "/announce status 1")  # the link is made before /announce looks for announcement 1
    await fake.wait_for(lambda: len(lyon.messages()) == 1)
    assert shown(lyon.last()) == "Let's continue this in a private chat."
    ((_, url),) = lyon.last().buttons()
    prefix = f"https://t.me/{fake.bot_username}?start="
    assert url.startswith(prefix)
    payload = url.removeprefix(prefix)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload), f"invalid start parameter {payload!r}"
    claire.send(f"/start {payload}")  # what Telegram sends when the link is opened
    await expect(fake, claire, "There is no announcement 1 of yours.")


# ------------------------------------------------------------------------------------ 4. command menus


async def test_command_menus_per_language_and_for_coordinators(
    fake: FakeTelegram, app: App, members: int, run_bot: RunBot
) -> None:
    await run_bot()
    private = {"type": "all_private_chats"}

    def menu(lang: str, coordinator: bool) -> list[dict[str, str]]:
        return [{"command": n, "description": d} for n, d in app.core.command_menu(lang, coordinator=coordinator)]

    by_language = {c["language_code"]: c["commands"] for c in fake.commands if c["scope"] == private}
    assert set(by_language) == {None, "en", "fr", "de", "es", "ja"}  # a default, then one per network language
    for lang in ("en", "fr", "de", "es", "ja"):
        assert by_language[lang] == menu(lang, coordinator=False), lang
    assert by_language[None] == menu("en", coordinator=False)
    assert by_language["fr"] != by_language["en"]  # translated descriptions
    names = [c["command"] for c in by_language["en"]]
    members_menu = ["start", "profile", "language", "link", "help", "cancel", "surveys", "meetups", "meetup", "checkin"]
    members_menu += ["mentor", "mentee", "mentorship", "coffee", "mydata", "forget"]
    assert names == members_menu

    # The coordinator's own chat gets the menu with the coordinators' commands; nobody else's chat is touched.
    chat_scoped = [c for c in fake.commands if c["scope"] != private]
    assert [c["scope"] for c in chat_scoped] == [{"type": "chat", "chat_id": COORDINATOR}]
    (coordinator_menu,) = chat_scoped
    assert coordinator_menu["commands"] == menu("en", coordinator=True)
    assert {"members", "announce", "survey"} <= {c["command"] for c in coordinator_menu["commands"]}
    assert all(len(c["description"]) <= 256 for c in fake.commands for c in c["commands"])


# ------------------------------------------------------------------------------------ 5. announcements


async def test_an_announcement_reaches_members_and_the_chapter_group(
    fake: FakeTelegram, app: App, members: int, run_bot: RunBot
) -> None:
    await run_bot()
    lyon = fake.group(LYON_GROUP, "Lyon")
    claire = fake.user(COORDINATOR, "Claire", language_code="en")
    lyonnais = [fake.user(user_id, f"Member {user_id}") for user_id in LYON_MEMBERS]
    jonas = fake.user(FRANKFURT_MEMBER, "Jonas", language_code="de")

    confirmation = await announce_to_lyon(fake, claire)
    assert shown(confirmation).startswith("Announcement 1 is on its way to 6 members.")

    def announced(chat: FakeUser | Any) -> bool:
        return any(shown(m).startswith("📣") for m in chat.messages())

    await fake.wait_for(lambda: all(announced(chat) for chat in [*lyonnais, lyon, claire]))
    for chat in [*lyonnais, lyon]:
        (message,) = chat.messages()
        assert message.parse_mode == "HTML"
        assert shown(message).endswith(f"\n\n{ANNOUNCEMENT}")  # the <12:00> and & arrive as written
    assert shown(lyon.last()).startswith("📣 Announcement from Claire Martin:")  # Lyon's first language with a text
    marie = lyonnais[0]
    assert shown(marie.last()).startswith("📣 Annonce de Claire Martin")  # her language, the English text
    assert jonas.messages() == []  # Frankfurt is not in the audience

    await settled(fake, app, count=7)  # six members and the group, each marked sent once Telegram accepted it
    assert set(statuses(app)) == {"sent"}
    claire.send("/announce status 1")
    status = await expect(fake, claire, "Announcement 1:")
    assert shown(status) == "Announcement 1: sent to 6 members\n• telegram: sent 7"


# TelegramSender.retry_seconds reads RetryAfter.retry_after, which PTB 22.2+ deprecates as an int (it becomes a
# timedelta in PTB 23, which retry_seconds already handles); Python's default filters hide the warning in production.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_429_is_answered_by_waiting(
    fake: FakeTelegram,
    app: App,
    members: int,
    run_bot: RunBot,
    call_clock: CallClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One relay worker, so that the pause is observable exactly: with several, the sends other workers had already
    # started when the 429 came back go out during the pause, as they should, and which ones those are is a race.
    monkeypatch.setattr("jobs.relay.RelaySettings", functools.partial(RelaySettings, concurrency=1))
    await run_bot()
    claire = fake.user(COORDINATOR, "Claire", language_code="en")
    marie = fake.user(LYON_MEMBERS[0], "Marie", language_code="fr")  # the second row queued, after Claire's own
    fake.fail_next(marie.id, status=429, description="Too Many Requests: retry after 1", retry_after=1)

    await announce_to_lyon(fake, claire)
    await fake.wait_for(lambda: len(marie.messages()) == 1, timeout=10)
    await settled(fake, app, count=7)

    refused, delivered = call_clock.to(marie.id)  # exactly two tries: no hammering of the chat
    assert (refused.outcome, delivered.outcome) == ("429", "ok")
    assert delivered.at - refused.at >= 1.0, f"retried after {delivered.at - refused.at:.3f} s, before retry_after"
    # The whole relay paused, not just Marie's row: every announcement sent after the 429 went out a second later.
    relayed = [send for send in call_clock.sends if send.text.startswith("📣")]
    after = [send for send in relayed if send.at > refused.at]
    assert [send.chat_id for send in relayed if send.at < refused.at] == [COORDINATOR]
    assert len(after) == 6 and all(send.at >= refused.at + 1.0 for send in after), [
        (send.chat_id, round(send.at - refused.at, 3)) for send in after
    ]
    assert len(fake.calls_to("sendMessage")) == len(fake.sent) + 1  # one refused call, nothing sent twice
    assert sorted(m.chat_id for m in fake.sent if shown(m).startswith("📣")) == sorted(
        [LYON_GROUP, COORDINATOR, *LYON_MEMBERS]
    )

    row = outbox_row(app, marie.id)
    assert row.status == "sent" and row.sent_at is not None
    # The 429 is recorded, but does not count against max_attempts (Relay: retry(count_attempt=False)).
    assert row.attempts == 1
    assert row.last_error == "rate limited; retry after 1 s"
    assert set(statuses(app)) == {"sent"}


async def test_a_403_marks_the_member_unreachable(fake: FakeTelegram, app: App, members: int, run_bot: RunBot) -> None:
    await run_bot()
    claire = fake.user(COORDINATOR, "Claire", language_code="en")
    paul = fake.user(LYON_MEMBERS[1], "Paul")
    fake.fail_next(paul.id, status=403, description="Forbidden: bot was blocked by the user")

    await announce_to_lyon(fake, claire)
    await settled(fake, app, count=7)

    row = outbox_row(app, paul.id)
    assert (row.status, row.attempts) == ("unreachable", 1)
    assert row.last_error == "Forbidden: bot was blocked by the user"
    assert identity_row(app, "telegram", paul.id).unreachable is True
    assert paul.messages() == []
    assert sorted(statuses(app)) == ["sent"] * 6 + ["unreachable"]

    claire.send("/announce status 1")
    status = await expect(fake, claire, "Announcement 1:")
    assert shown(status) == "Announcement 1: sent to 6 members\n• telegram: sent 6, unreachable 1"

    # The next announcement does not try him again.
    confirmation = await announce_to_lyon(fake, claire, "Second announcement")
    assert shown(confirmation).startswith("Announcement 2 is on its way to 5 members.")
    await settled(fake, app, count=13)
    assert paul.messages() == []


# ------------------------------------------------------------------------------------ 8. failures


@SQLITE_ONLY
async def test_a_failing_update_gets_an_apology_and_the_next_is_served(
    fake: FakeTelegram, app: App, run_bot: RunBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await run_bot()
    dee = fake.user(7004, "Dee", language_code="en")

    def broken(ctx: Context, args: str) -> list[Reply]:
        raise RuntimeError("a bug in /help")

    monkeypatch.setitem(BY_NAME, "help", dataclasses.replace(BY_NAME["help"], handler=broken))
    with caplog.at_level(logging.ERROR, logger="bot.core"):
        dee.send("/help")
        await expect(fake, dee, APOLOGY)
    assert any(record.exc_info and "a bug in /help" in str(record.exc_info[1]) for record in caplog.records)

    dee.send("/start")
    await expect(fake, dee, "Which language should I use with you?")
    tap(dee, "English")
    await expect(fake, dee, "Do you agree?")


@SQLITE_ONLY
async def test_an_update_whose_reply_fails_does_not_stop_the_application(
    fake: FakeTelegram, app: App, run_bot: RunBot, caplog: pytest.LogCaptureFixture
) -> None:
    stack: Stack = await run_bot()
    eve = fake.user(7005, "Eve", language_code="en")
    fake.fail_next(eve.id, status=400, description="Bad Request: can't parse entities: unexpected end tag")

    with caplog.at_level(logging.ERROR, logger="adapters.telegram.bot"):
        eve.send("/start")
        await fake.wait_for(lambda: any("failed" in r.getMessage() for r in caplog.records))
    assert eve.messages() == []
    (record,) = [r for r in caplog.records if r.name == "adapters.telegram.bot"]
    assert record.getMessage().startswith("Telegram update ") and record.exc_info is not None

    eve.send("/start")  # the application is still polling and serving
    await expect(fake, eve, "Which language should I use with you?")
    assert stack.task is not None and not stack.task.done()


# ------------------------------------------------------------------------------------ 9. `twinbot run`


async def run_twinbot(
    fake: FakeTelegram, tmp_path: Path, log_level: str, script: Callable[[FakeUser], Any], log_format: str = "text"
) -> tuple[int, str, str, Path]:
    """``python -m adapters.cli run`` against the fake (served by this test's loop): wait until it polls, play
    ``script``, SIGTERM it; returns (exit code, stdout, stderr, database file)."""
    database = tmp_path / "data" / "bot.db"
    env = twinbot_env(fake, f"sqlite:///{database}", tmp_path, log_level=log_level, log_format=log_format)
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:  # files: a chatty DEBUG log never fills a pipe
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", "run", cwd=ROOT, env=env, stdout=out, stderr=err
        )
    try:
        await fake.wait_for(lambda: fake.waiting_polls >= 1 or process.returncode is not None, timeout=30)
        assert process.returncode is None, f"twinbot run exited early:\n{err_path.read_text(encoding='utf-8')}"
        await script(fake.user(7009, "Fay", language_code="fr"))
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return code, out_path.read_text(encoding="utf-8"), err_path.read_text(encoding="utf-8"), database


async def test_twinbot_run_serves_telegram_until_sigterm_and_never_logs_the_token(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async def join(fay: FakeUser) -> None:
        fay.send("/start")
        prompt = await expect(fake, fay, "Dans quelle langue", timeout=10)
        assert labels(prompt)[:2] == ["English", "Français"]
        await answered(fake, tap(fay, "English"))
        await expect(fake, fay, "Do you agree?")
        await answered(fake, tap(fay, "I agree"))
        await expect(fake, fay, "What name should other members see?")

    code, out, err, database = await run_twinbot(fake, tmp_path, "DEBUG", join)

    assert code == 0, err[-3000:]
    assert "twinbot is running on Telegram" in out
    assert "Traceback" not in out + err
    assert "Telegram adapter running as @twinbot_test_bot" in err
    # At DEBUG, PTB logs the API URL and httpx every request URL, both with the token in them; none may reach the
    # log (adapters/logs.py redacts secrets and quiets httpx).
    assert re.search(r"DEBUG\W+telegram\.ext", err), "no DEBUG log from PTB: the check below would prove nothing"
    leaks = [line for line in (out + err).splitlines() if fake.token in line]
    assert leaks == [], f"{len(leaks)} log lines hold the bot token, e.g. {leaks[0]!r}"
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            identity = connection.execute(select(IdentityRow).where(IdentityRow.user_id == "7009")).one()
            member = connection.execute(select(MemberRow).where(MemberRow.id == identity.member_id)).one()
    finally:
        engine.dispose()
    assert (identity.platform, member.display_name, member.preferred_language) == ("telegram", "Fay", "en")
    # The updater confirmed what it fetched on the way out: a restart would not replay these updates.
    assert fake.pending_updates == []


async def test_twinbot_run_with_json_logs_writes_one_object_per_line_and_never_the_token(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    async def start(fay: FakeUser) -> None:
        fay.send("/start")
        await expect(fake, fay, "Dans quelle langue", timeout=10)

    code, out, err, _ = await run_twinbot(fake, tmp_path, "DEBUG", start, log_format="json")

    assert code == 0, err[-3000:]
    assert fake.token not in out + err
    # Every log line is ours and JSON: no handler of a library's own writes text beside it.
    assert not [line for line in err.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", line)]
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message", "process"} <= record.keys() for record in records)
    assert any(r["level"] == "DEBUG" and r["logger"].startswith("telegram.ext") for r in records), "no DEBUG from PTB"
    assert any(r["message"] == "Telegram adapter running as @twinbot_test_bot" for r in records)


# ------------------------------------------------------------------------------------ 9. forged actions


async def test_forged_privileged_actions_through_telegram_are_refused(
    fake: FakeTelegram, app: App, members: int, run_bot: RunBot
) -> None:
    """Callback data is the client's to forge: a Frankfurt member (Jonas) sends Lyon's
    privileged actions by hand, and a plain member tries coordinator commands."""
    from datetime import timedelta

    from bot.audience import Audience
    from bot.meetups.model import Meetup

    now = app.core.services.clock()
    with app.uow_factory() as uow:
        meetup = uow.meetups.add(
            Meetup(
                "Picnic",
                "",
                "lyon",
                now + timedelta(days=3),
                timedelta(hours=2),
                "Parc",
                Audience(("lyon",)),
                now,
                capacity=5,
                checkin_code="PICNIC",
            )
        )
        uow.commit()
    await run_bot()
    jonas = fake.user(5004, "Jonas", language_code="en")
    paul = fake.user(5003, "Paul", language_code="en")
    jonas.send("/help")
    await fake.wait_for(lambda: len(jonas.messages()) == 1)
    de = app.core.services.catalogs.translator("de")  # Jonas reads German
    before = statuses(app)
    queries = []
    for data in (f"rsvp:{meetup.id}:going", f"mt:ics:{meetup.id}", "mn:end:1:yes", "sv:start:1", "d:999:send"):
        queries.append(jonas.forge(data))
        expected = 1 + len(queries)
        await fake.wait_for(lambda expected=expected: len(jonas.messages()) == expected)
    await answered(fake, *queries)
    said = [shown(m) for m in jonas.messages()[1:]]
    assert said == [
        de("This meetup is for members of other chapters."),
        de(STALE),
        de(STALE),
        de("There is no survey {id} for you.", id=1),
        de(STALE),
    ]
    for command in (f"/meetup cancel {meetup.id}", "/announce", "/match preview", "/audit"):
        paul.send(command)
        await expect(fake, paul, "This command is for")
    with app.uow_factory() as uow:
        assert uow.meetups.attendances(meetup.id or 0) == []
        found = uow.meetups.get(meetup.id or 0)
        assert found is not None and found.status.value == "published"
    assert statuses(app) == before  # nothing queued for anyone


async def test_the_whole_permission_table_through_telegram(fake: FakeTelegram, app: App, run_bot: RunBot) -> None:
    """bot/permissions.py walked through the real python-telegram-bot: each privileged command
    sent, each button action forged as callback data, by a plain member, a coordinator of
    another chapter and a revoked coordinator: refused, and no row of any table changes."""
    from bot.permissions import PRIVILEGES
    from tests.e2e.test_permissions import PERSONAS, REFUSALS, TELEGRAM_IDS, refused_for, snapshot, world

    ids = world(app, "telegram")
    await run_bot()
    queued = len(outbox_rows(app))
    await settled(fake, app, queued)  # the survey invitation is delivered before anything is tried
    users = {persona: fake.user(TELEGRAM_IDS[persona], persona, language_code="en") for persona in PERSONAS}
    for user in users.values():
        user.send("/help")
        await fake.wait_for(lambda user=user: len(user.messages()) == 1)
    tried = 0
    for privilege in PRIVILEGES:
        for persona in refused_for(privilege):
            user, before = users[persona], snapshot(app)
            count = len(user.messages())
            action = privilege.action.format(**ids)
            if privilege.kind == "button":
                user.forge(action)
            else:
                user.send(action)
            await fake.wait_for(lambda user=user, count=count: len(user.messages()) > count)
            said = shown(user.messages()[-1])
            assert any(refusal in said for refusal in REFUSALS), (persona, action, said)
            assert snapshot(app) == before, (persona, action)
            tried += 1
    assert tried == 71
