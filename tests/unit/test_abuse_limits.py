"""The per-user flood limit and the per-coordinator daily announcement limit."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from adapters.console.session import ConsoleSession
from bot.core import Core
from bot.flood import FloodGate, Verdict
from bot.members import Role
from tests.conftest import Clock
from tests.unit.fakes import FakeDatabase
from tests.unit.helpers import onboard_english, texts


def test_flood_gate_warns_once_then_drops_until_the_window_has_room() -> None:
    gate = FloodGate(limit=3, seconds=10)
    start = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    key = ("console", "alice")
    assert [gate.check(key, start) for _ in range(3)] == [Verdict.OK] * 3
    assert gate.check(key, start) is Verdict.WARN
    assert gate.check(key, start + timedelta(seconds=1)) is Verdict.DROP
    assert gate.check(("console", "bob"), start) is Verdict.OK  # per user
    assert gate.check(key, start + timedelta(seconds=10)) is Verdict.OK  # the window moved on


def test_a_flooding_user_gets_one_polite_message_in_their_language(core: Core, clock: Clock) -> None:
    flooded = Core(dataclasses.replace(core.services, flood_limit=5, flood_seconds=60))
    chat = ConsoleSession(flooded)
    chat.push("marie", "/language fr")
    replies = [texts(chat.push("marie", "/help")) for _ in range(6)]
    assert "Voici ce que vous pouvez faire" in replies[3]
    assert replies[4].startswith("Vous envoyez beaucoup de messages très vite.")
    assert replies[5] == ""  # then silence, not a message per message
    clock.advance(seconds=61)
    assert "Voici ce que vous pouvez faire" in texts(chat.push("marie", "/help"))


def test_a_coordinator_cannot_announce_more_than_the_daily_limit(core: Core, db: FakeDatabase, clock: Clock) -> None:
    limited = Core(dataclasses.replace(core.services, announcements_per_day=2))
    chat = ConsoleSession(limited)
    onboard_english(chat, "claire")
    (claire,) = [m for m in db.members.values()]
    assert claire.id is not None
    db.roles.add((claire.id, Role.COORDINATOR, "lyon"))
    for n in range(2):
        for line in ["/announce", "[English]", f"Picnic {n}", "[Continue]", "[Lyon]", "[all members]", "[Now]"]:
            chat.push("claire", line)
        assert "is on its way" in texts(chat.push("claire", "[Send]"))
    refused = texts(chat.push("claire", "/announce"))
    assert "You have made 2 announcements in the last 24 hours" in refused
    clock.advance(hours=24, seconds=1)
    assert "In which language" in texts(chat.push("claire", "/announce"))
