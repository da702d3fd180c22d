"""Property-based fuzzing of the core on real SQLite storage.

Hypothesis generates short event sequences (1-8 steps): commands (real names and garbage,
with numbers, huge numbers, unicode, control characters and 5,000-character arguments),
free text, presses of the buttons the bot really showed (so conversations move on), forged
button actions (random prefixes, ids and values, other users' dialog buttons), users and
unknown visitors interleaved in private and group chats, waits, and restarts (the app
disposed and bootstrapped again on the same database file).

Every example starts from the same seeded database (a pristine copy restored before each
one), with a fresh app and clock, so that a failure replays exactly and Hypothesis can
shrink it. After every event it checks that:

- ``Core.handle`` returned a list of replies without raising, with no traceback and no
  generic apology (the core's "something went wrong": an exception it caught);
- no meetup has more seats taken by members going (1 + guests each) than its capacity;
- a survey has at most one response per token and per member (anonymous: no more
  responses than invitations);
- every outbox dedupe key is queued once.

``FUZZ_EXAMPLES`` (default 10,000) sets the number of sequences.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, currently_in_test_context, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from adapters.bootstrap import App, bootstrap
from bot.audience import Audience
from bot.commands import COMMANDS
from bot.core import Core
from bot.events import AnyEvent, ButtonPressed, ChatRef, CommandReceived, TextReceived
from bot.meetups.model import Meetup
from bot.i18n import Catalogs
from bot.members import Member, Role
from bot.notices import SORRY
from bot.payload import from_json
from bot.replies import Button, File, Image, Reply, Text
from bot.surveys.dispatch import open_survey
from bot.surveys.model import Kind, Question, Survey
from config import load_settings
from tests.conftest import Clock

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10000"))
MAX_STEPS = 8
START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
TICK = timedelta(seconds=20)  # between two events: far below any flood limit
MESSAGES_KEPT = 4  # the latest messages with buttons each user can still press

#: What ran, over the whole test (examples replayed while shrinking included).
STATS: Counter[str] = Counter()


# --- the people ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    key: str
    platform: str
    user_id: str
    display_name: str
    locale: str | None = None

    def private(self) -> ChatRef:
        return ChatRef(self.platform, self.user_id, True)

    def group(self) -> ChatRef:
        return ChatRef(self.platform, GROUPS[self.platform], False)


GROUPS = {"console": "lyon-circle", "telegram": "-1001234567890"}

USERS = (
    Who("coord", "console", "coord", "Coord"),
    Who("alice", "console", "alice", "Alice", "fr-FR"),
    Who("alice@tg", "telegram", "5550001", "Alice B.", "fr"),
    Who("bob", "console", "bob", "Bob"),
    Who("carol", "console", "carol", "Carol", "en-GB"),
    Who("hans", "console", "hans", "Hans", "de-DE"),
    Who("fritz", "console", "fritz", "Fritz"),
    Who("yuki", "console", "yuki", "ユキ", "ja"),
    Who("ken@tg", "telegram", "5550002", "Ken"),
    Who("visitor", "console", "visitor", "Zoë 🌍"),
    Who("visitor@tg", "telegram", "5550999", "\u202eevil " + "Ω" * 300, "zz_ZZ.UTF-8"),
)
BY_KEY = {w.key: w for w in USERS}
BY_ACCOUNT = {(w.platform, w.user_id): w for w in USERS}


@dataclass(frozen=True)
class Seed:
    name: str
    chapter: str
    languages: tuple[str, ...]
    preferred: str | None
    role: Role | None = None
    accounts: tuple[str, ...] = ()  # keys in USERS
    extra: tuple[tuple[str, object], ...] = ()


SEEDS = (
    Seed("coord", "lyon", ("fr", "en"), "en", Role.COORDINATOR, ("coord",)),
    Seed("alice", "lyon", ("fr",), "fr", None, ("alice", "alice@tg"), (("coffee", True),)),
    Seed("bob", "lyon", ("en",), "en", None, ("bob",)),
    Seed(
        "carol", "lyon", ("en", "de"), None, None, ("carol",),
        (("is_mentee", True), ("interests", ["law"]), ("coffee", True)),
    ),
    Seed(
        "hans", "frankfurt", ("de", "en"), None, None, ("hans",),
        (("is_mentor", True), ("expertise", ["law"]), ("mentor_capacity", 1), ("coffee", True)),
    ),
    Seed("fritz", "frankfurt", ("de", "en"), "de", Role.ADMIN, ("fritz",)),
    Seed("yuki", "yokohama", ("ja", "en"), "ja", None, ("yuki",), (("coffee", True),)),
    Seed("ken", "yokohama", ("en",), "en", None, ("ken@tg",)),
)

QUESTIONS = (
    Question(Kind.RATING, {"en": "How was the exchange?", "fr": "Comment était l’échange ?"}),
    Question(Kind.NPS, {"en": "Would you recommend it?"}),
    Question(Kind.MULTI, {"en": "What did you enjoy?"}, options=({"en": "Food", "fr": "Cuisine"}, {"en": "Music"})),
    Question(Kind.TEXT, {"en": "Anything else?"}, required=False),
    Question(Kind.SINGLE, {"en": "Come again?"}, options=({"en": "Yes"}, {"en": "No"})),
)


@dataclass(frozen=True)
class Seeded:
    meetup: int
    named_survey: int
    anonymous_survey: int


def _seed(app: App) -> Seeded:
    """Eight members in three chapters, a meetup with two seats, a named survey for everyone
    and an anonymous one for Lyon."""
    now = app.core.services.clock()
    with app.uow_factory() as uow:
        for seed in SEEDS:
            member = uow.members.add(
                Member(
                    display_name=seed.name.capitalize(),
                    consent_at=now - timedelta(days=30),
                    home_chapter=seed.chapter,
                    languages=list(seed.languages),
                    preferred_language=seed.preferred,
                    **dict(seed.extra),  # type: ignore[arg-type]
                )
            )
            assert member.id is not None
            for key in seed.accounts:
                uow.members.add_identity(member.id, BY_KEY[key].platform, BY_KEY[key].user_id)
            if seed.role is not None:
                uow.members.grant(member.id, seed.role, None if seed.role is Role.ADMIN else seed.chapter)
        meetup = uow.meetups.add(
            Meetup(
                title="Winter picnic",
                description="Bring something warm.",
                chapter="lyon",
                starts_at=now + timedelta(days=30),
                duration=timedelta(hours=2),
                place="Parc de la Tête d'Or",
                audience=Audience(chapters=("lyon", "frankfurt")),
                created_at=now,
                capacity=2,
                checkin_code="FUZZ42",
            )
        )
        surveys = []
        for anonymous, audience in ((False, Audience()), (True, Audience(chapters=("lyon",)))):
            survey = uow.surveys.add(
                Survey(
                    title={"en": "Autumn exchange", "fr": "Échange d’automne"},
                    questions=QUESTIONS,
                    audience=audience,
                    created_at=now,
                    anonymous=anonymous,
                    closes_at=now + timedelta(days=40),
                    reminders=(timedelta(days=2),),
                )
            )
            open_survey(uow, app.network, app.core.services.catalogs, survey, now)
            surveys.append(survey.id)
        uow.commit()
    assert meetup.id is not None and surveys[0] is not None and surveys[1] is not None
    return Seeded(meetup.id, surveys[0], surveys[1])


# --- the steps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cmd:
    user: str
    group: bool
    name: str
    args: str
    locale: str | None = None


@dataclass(frozen=True)
class Say:
    user: str
    group: bool
    text: str
    locale: str | None = None


@dataclass(frozen=True)
class Press:
    """Press a button the bot showed: by ``user`` (None: whoever acted last, continuing),
    on their latest message, or with ``older`` on any of the last few."""

    user: str | None
    pick: int
    older: bool = False


@dataclass(frozen=True)
class PressOthers:
    """``user`` presses a button the bot showed someone else (a forged dialog seq, mostly)."""

    user: str
    pick: int


@dataclass(frozen=True)
class Forge:
    user: str
    group: bool
    action: str


@dataclass(frozen=True)
class Wait:
    hours: int


@dataclass(frozen=True)
class Restart:
    pass


Step = Cmd | Say | Press | PressOthers | Forge | Wait | Restart


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each chosen in proportion to its weight (shrinks to the first)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(table).flatmap(lambda strategy: strategy)


UTF8 = st.characters(codec="utf-8")  # any code point but the surrogates, which no text can store
USER_KEYS = st.sampled_from([w.key for w in USERS])
GROUP = st.integers(0, 4).map(lambda n: n == 0)  # one event in five in a group chat
LOCALES = weighted((6, st.none()), (1, st.sampled_from(["en", "fr-CA", "de_DE.UTF-8", "pt-BR", "", "zz", "\x00"])))

CONTROL = (
    "\x00", "a\x00b", "\r\n\r\n", "\u200b", "\u202eevil\u202c", "\x1b[2J", "\ufeff", "\t \n", "\x7f", "\u2028",
    "\U0010ffff", "e\u0301" * 60, "\x08\x08\x08", "%s %d {0} {name}", "' OR 1=1 --", "<b>hi</b>",
)
LONG = st.tuples(st.sampled_from(["a", "é", "😀", "ש", "\u0301", " ", "1", "字", "\x00"]), st.integers(990, 5000)).map(
    lambda pair: pair[0] * pair[1]
)
NUMBERS = st.one_of(
    st.integers(0, 4).map(str),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["01", "１", "²", "1e3", "0x1", " 1 ", "-0", "2147483647", "2147483648", "99999999999", "NaN"]),
)

COMMAND_NAMES = weighted(
    (8, st.sampled_from([c.name for c in COMMANDS])),
    (1, st.sampled_from(["", "/", "START", "Help@twinbot", "start@otherbot", "meetup@", "stаrt", "help\x00", "😀"])),
    (1, st.text(UTF8, max_size=20)),
)
VERBS = (
    "new", "list", "info", "edit", "cancel", "attendees", "checkin", "results", "export", "close", "status", "on",
    "off", "pause", "resume", "round", "schedule", "preview", "confirm", "run", "all", "lyon", "frankfurt", "yokohama",
    "fr", "de", "ja", "es", "en", "profile", "surveys-1", "meetup-info-1", "meetup-attendees-1", "announce-status-1",
    "survey-results-1", "coffee-on", "FUZZ42", "fuzz42",
)
ARGS = weighted(
    (2, st.just("")),
    (6, st.tuples(st.sampled_from(VERBS), NUMBERS).map(" ".join)),
    (3, st.sampled_from(VERBS)),
    (2, st.text(UTF8, max_size=30)),
    (1, st.sampled_from(CONTROL)),
    (1, LONG),
    (1, NUMBERS),
    (
        1,
        st.sampled_from(
            [
                "schedule lyon 0 9 * * mon", "schedule all 61 25 * * *", "schedule lyon off", "round lyon",
                "round all", "pause 2027-01-31", "pause 2020-01-01", "pause 9999-12-31", "status 1 2 3",
            ]
        ),
    ),
)
ANSWERS = (
    "1", "3", "5", "0", "10", "11", "-1", "Yes", "No", "Oui", "Lyon", "Frankfurt", "Winter picnic", "2026-12-24 18:30",
    "2027-01-15 19:00", "2h", "90 minutes", "Parc de la Tête d'Or", "design, jazz", "skip", "done", "Europe/Paris",
    "Mars/Olympus", "22-7", "25-99", "Jean Dupont", "ok", "English", "日本語", "/cancel", "FUZZ42",
)
MULTILINGUAL = (
    "Bonjour à tous, je suis ravie de participer à la rencontre",
    "Hallo zusammen, wie geht es euch heute?",
    "こんにちは、よろしくお願いします",
    "مرحبا بكم في الشبكة",
    "שלום לכולם, מה שלומכם?",
    "¡Hola! ¿Qué tal todo por allí?",
    "👍🎉🇫🇷🇩🇪🇯🇵",
)
FREE_TEXT = weighted(
    (5, st.sampled_from(ANSWERS)),
    (4, st.text(UTF8, max_size=40)),
    (2, st.sampled_from(MULTILINGUAL)),
    (1, st.sampled_from(CONTROL)),
    (1, LONG),
)
PREFIXES = ("d", "p", "lang", "rsvp", "mt", "sv", "mn", "cf", "open", "x", "", "D", "rsvp ", "d\x00")
VALUES = (
    "going", "maybe", "no", "g0", "g1", "g2", "g3", "g-1", "waitlist", "ics", "info", "start", "met", "fb", "end",
    "rematch", "set", "on", "off", "yes", "menu", "en", "fr", "xx", "name", "chapter", "languages", "interests",
    "timezone", "mentoring", "bio", "quiet", "mute", "dms", "5", "0", "6", "",
)
ACTION_PART = weighted((3, NUMBERS), (3, st.sampled_from(VALUES)), (1, st.text(UTF8, max_size=8)))
FORGED = weighted(
    (5, st.tuples(st.sampled_from(PREFIXES), st.lists(ACTION_PART, min_size=1, max_size=3)).map(
        lambda pair: ":".join((pair[0], *pair[1]))
    )),
    (2, st.tuples(st.integers(0, 40) | st.integers(0, 2**80), st.sampled_from(VALUES) | st.text(UTF8, max_size=8)).map(
        lambda pair: f"d:{pair[0]}:{pair[1]}"
    )),
    (2, st.text(UTF8, max_size=70)),
    (1, LONG),
)

STEPS = weighted(
    (30, st.builds(Press, weighted((3, st.none()), (1, USER_KEYS)), st.integers(0, 63), st.integers(0, 3).map(
        lambda n: n == 0
    ))),
    (22, st.builds(Cmd, USER_KEYS, GROUP, COMMAND_NAMES, ARGS, LOCALES)),
    (18, st.builds(Say, USER_KEYS, GROUP, FREE_TEXT, LOCALES)),
    (16, st.builds(Forge, USER_KEYS, GROUP, FORGED)),
    (6, st.builds(PressOthers, USER_KEYS, st.integers(0, 63))),
    (6, st.builds(Wait, st.integers(1, 72))),
    (2, st.just(Restart())),
)
SEQUENCES = st.lists(STEPS, min_size=1, max_size=MAX_STEPS)


# --- the harness --------------------------------------------------------------------------


class _Errors(logging.Handler):
    """Keeps what the core logged while apologising, for the failure message."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> str:
        formatter = logging.Formatter()
        found = "\n".join(formatter.format(r) for r in self.records)
        self.records.clear()
        return found


Offered = list[tuple[ChatRef, tuple[Button, ...]]]


class Harness:
    """Runs one example at a time on the same database file, restored to the seeded state
    (with SQLite's backup API, so the engine and its statement cache are kept) under a
    fresh core before each example."""

    def __init__(self, root: Path) -> None:
        self.settings = load_settings(database_url=f"sqlite:///{root / 'twinbot.db'}")
        self.clock = Clock(START)
        self.catalogs = Catalogs()  # parsed once; every app started here shares them
        self.errors = _Errors()
        app = bootstrap(self.settings, clock=self.clock, catalogs=self.catalogs)
        self.app = app
        self.core = app.core
        self.sorry = {self.catalogs.translator(lang)(SORRY) for lang in app.network.languages}
        self.seeded = _seed(app)
        self.offered: dict[str, Offered] = {w.key: [] for w in USERS}
        self.outbox_seen = 0
        self.last_user: str | None = None
        with app.engine.connect() as conn:
            self._deliver(conn)  # the invitations the seeding queued
        meetup = self.seeded.meetup
        rsvp = tuple(Button(v, f"rsvp:{meetup}:{v}") for v in ("going", "maybe", "no", "g1", "g2", "g0"))
        for seed in SEEDS:  # the meetup's announcement, as the relay would have delivered it
            who = BY_KEY[seed.accounts[0]]
            self.offered[who.key].append((who.private(), (*rsvp, Button("📅", f"mt:ics:{meetup}"))))
        # Alice took one of the two seats; Bob started the named survey.
        alice, bob = BY_KEY["alice"], BY_KEY["bob"]
        self._send(alice, self._press_event(alice, alice.private(), f"rsvp:{meetup}:going"))
        self._send(bob, self._press_event(bob, bob.private(), f"sv:start:{self.seeded.named_survey}"))
        self.snapshot = sqlite3.connect(":memory:")
        with self._raw() as live:
            live.backup(self.snapshot)
        self.seed_state = ({k: list(v) for k, v in self.offered.items()}, self.outbox_seen)

    @contextmanager
    def _raw(self) -> Iterator[sqlite3.Connection]:
        connection = self.app.engine.raw_connection()
        try:
            driver = connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            yield driver
        finally:
            connection.close()

    def close(self) -> None:
        self.app.close()
        self.snapshot.close()

    # -- one example --

    def reset(self) -> None:
        """The seeded database, a fresh core (nothing in memory), the start time."""
        with self._raw() as live:
            self.snapshot.backup(live)
        self.core = Core(self.app.core.services)
        self.clock.now = START + timedelta(minutes=5)
        offered, self.outbox_seen = self.seed_state
        self.offered = {k: list(v) for k, v in offered.items()}
        self.last_user = None
        self.errors.records.clear()

    def run(self, steps: list[Step]) -> None:
        self.reset()
        STATS["sequences"] += 1
        for n, step in enumerate(steps):
            note(f"step {n}: {step!r}")
            STATS[type(step).__name__] += 1
            self.step(step)

    def step(self, step: Step) -> None:
        if isinstance(step, Restart):
            self.app.close()
            self.app = bootstrap(self.settings, clock=self.clock, catalogs=self.catalogs)  # migrations run too
            self.core = self.app.core
            return
        if isinstance(step, Wait):
            self.clock.advance(hours=step.hours)
            return
        if isinstance(step, Cmd | Say | Forge):
            who = BY_KEY[step.user]
            chat = who.group() if step.group else who.private()
            if isinstance(step, Cmd):
                event: AnyEvent = CommandReceived(
                    chat=chat, user_id=who.user_id, display_name=who.display_name, locale=step.locale,
                    command=step.name, args=step.args,
                )
            elif isinstance(step, Say):
                event = TextReceived(
                    chat=chat, user_id=who.user_id, display_name=who.display_name, locale=step.locale, text=step.text
                )
            else:
                event = self._press_event(who, chat, step.action)
            self._send(who, event)
            return
        if isinstance(step, Press):
            key = step.user if step.user is not None else self.last_user
            if key is None or not self.offered[key]:
                key = next((w.key for w in USERS if self.offered[w.key]), None)
            if key is None:
                return
            messages = self.offered[key]
            chat, buttons = messages[step.pick % len(messages)] if step.older else messages[-1]
            who = BY_KEY[key]
        else:
            everyone = [(k, chat, b) for k, messages in self.offered.items() if k != step.user for chat, b in messages]
            if not everyone:
                return
            owner, chat, buttons = everyone[step.pick % len(everyone)]
            who = BY_KEY[step.user]
            chat = who.group() if not chat.private and chat.platform == who.platform else who.private()
        button = buttons[step.pick % len(buttons)]
        if button.private_start is not None:  # a deep link: the platform sends /start PAYLOAD in private
            event = CommandReceived(
                chat=who.private(), user_id=who.user_id, display_name=who.display_name, locale=who.locale,
                command="start", args=button.private_start,
            )
        else:
            event = self._press_event(who, chat, button.action)
        self._send(who, event)

    # -- sending and checking --

    def _press_event(self, who: Who, chat: ChatRef, action: str) -> ButtonPressed:
        return ButtonPressed(
            chat=chat, user_id=who.user_id, display_name=who.display_name, locale=who.locale, action=action
        )

    def _send(self, who: Who, event: AnyEvent) -> None:
        self.clock.now += TICK
        if currently_in_test_context():  # not while seeding
            note(f"  -> {event!r}")
            STATS["events"] += 1
        try:
            replies = self.core.handle(event)
        except Exception as exc:  # the core promises never to raise
            raise AssertionError(f"Core.handle raised on {event!r}") from exc
        assert isinstance(replies, list), f"Core.handle returned {replies!r}"
        for reply in replies:
            self._check_reply(event, reply)
            if isinstance(reply, Text) and reply.buttons:
                self._offer(who.key, event.chat, reply.buttons)
        self.last_user = who.key
        self._check_database(event)

    def _check_reply(self, event: AnyEvent, reply: Reply) -> None:
        assert isinstance(reply, Text | File | Image), f"not a reply: {reply!r}"
        body = reply.text if isinstance(reply, Text) else reply.caption
        assert "Traceback" not in body, f"a traceback in a reply to {event!r}:\n{body}"
        apologised = body in self.sorry or "Sorry, something went wrong on my side" in body
        assert not apologised, f"the core apologised for {event!r}; it logged:\n{self.errors.take()}"

    def _offer(self, key: str, chat: ChatRef, buttons: tuple[tuple[Button, ...], ...]) -> None:
        flat = tuple(b for row in buttons for b in row)
        messages = self.offered[key]
        messages.append((chat, flat))
        del messages[:-MESSAGES_KEPT]

    def _deliver(self, conn: Connection) -> None:
        """What the relays would deliver from the outbox: messages with buttons to a user's
        DMs become buttons that user can press."""
        rows = conn.execute(
            text("SELECT id, platform, target_kind, target_id, payload FROM outbox WHERE id > :seen ORDER BY id"),
            {"seen": self.outbox_seen},
        ).all()  # the primary key's index: cheap when nothing is new
        for row_id, platform, kind, target_id, payload in rows:
            self.outbox_seen = max(self.outbox_seen, row_id)
            who = BY_ACCOUNT.get((platform, target_id))
            reply = from_json(json.loads(payload) if isinstance(payload, str) else payload)
            if kind == "user" and who is not None and isinstance(reply, Text) and reply.buttons:
                self._offer(who.key, who.private(), reply.buttons)

    def _check_database(self, event: AnyEvent) -> None:
        """The invariants, in one query when they hold; the offending rows when not."""
        with self.app.engine.connect() as conn:
            counts = conn.execute(text(f"SELECT {', '.join(f'(SELECT COUNT(*) FROM ({q}))' for q in BROKEN.values())}"))
            for (what, query), count in zip(BROKEN.items(), counts.one(), strict=True):
                assert not count, f"{what} after {event!r}: {conn.execute(text(query)).all()}"
            self._deliver(conn)


#: Each invariant as a query for the rows that break it.
BROKEN = {
    "seats over capacity (meetup, capacity, taken)": (
        "SELECT m.id, m.capacity, SUM(1 + a.guests) FROM meetups m JOIN meetup_attendance a ON a.meetup_id = m.id"
        " WHERE m.capacity IS NOT NULL AND a.status = 'going'"
        " GROUP BY m.id, m.capacity HAVING SUM(1 + a.guests) > m.capacity"
    ),
    "a second survey response with the same token (survey, token, count)": (
        "SELECT survey_id, token, COUNT(*) FROM survey_responses GROUP BY survey_id, token HAVING COUNT(*) > 1"
    ),
    "a second survey response of one member (survey, member, count)": (
        "SELECT survey_id, member_id, COUNT(*) FROM survey_responses WHERE member_id IS NOT NULL"
        " GROUP BY survey_id, member_id HAVING COUNT(*) > 1"
    ),
    "more anonymous responses than invitations (survey, responses, invited)": (
        "SELECT s.id, (SELECT COUNT(*) FROM survey_responses r WHERE r.survey_id = s.id) AS responses,"
        " (SELECT COUNT(*) FROM survey_invites i WHERE i.survey_id = s.id) AS invited"
        " FROM surveys s WHERE s.anonymous AND responses > invited"
    ),
    "an outbox key queued twice (key, count)": (
        "SELECT dedupe_key, COUNT(*) FROM outbox GROUP BY dedupe_key HAVING COUNT(*) > 1"
    ),
}


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    errors = logging.getLogger("bot.core")
    made = Harness(tmp_path)
    errors.addHandler(made.errors)
    try:
        yield made
    finally:
        errors.removeHandler(made.errors)
        made.close()


def test_random_event_sequences_keep_the_core_sound(harness: Harness) -> None:
    before = STATS.copy()
    started = time.monotonic()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ],
    )
    @given(steps=SEQUENCES)
    def sequences(steps: list[Step]) -> None:
        harness.run(steps)

    sequences()
    ran = STATS - before
    print(
        f"\ncore fuzz: {ran['sequences']} sequences, {ran['events']} events, {ran['Restart']} restarts,"
        f" {ran['Wait']} waits in {time.monotonic() - started:.0f} s; steps: "
        + ", ".join(f"{k} {ran[k]}" for k in ("Press", "Cmd", "Say", "Forge", "PressOthers"))
    )
    assert ran["sequences"] >= EXAMPLES
