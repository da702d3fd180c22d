"""Core throughput: simulated members send commands, text and button presses through the
real core and storage on SQLite, in one process.

Prints one JSON line: updates_per_s, p50_ms, p99_ms, and the same figures for a baseline
(a bare unit of work that only looks the member up and commits) with the ratio between them.
Goal: >= 1,000 updates/s and p99 < 20 ms.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.bootstrap import App, bootstrap
from bot.events import AnyEvent, ButtonPressed, ChatRef, CommandReceived, TextReceived
from bot.member_admin import import_members
from config import load_settings

MEMBERS = 500
UPDATES = 5000
WARMUP = 200


def _members_csv(count: int) -> str:
    chapters = ["lyon", "frankfurt", "yokohama"]
    langs = {"lyon": "fr;en", "frankfurt": "de;en", "yokohama": "ja;en"}
    rows = ["display_name,home_chapter,languages,interests,consent_at,identities,preferred_language"]
    for n in range(count):
        chapter = chapters[n % 3]
        preferred = "" if n % 4 == 0 else langs[chapter].split(";")[0]
        consent = "2026-01-01T00:00:00+00:00"
        rows.append(f"Member {n},{chapter},{langs[chapter]},jazz;cycling,{consent},bench:{n},{preferred}")
    return "\n".join(rows) + "\n"


def _chat_lines() -> list[str]:
    """Real-looking chat messages in five languages (the language bench's labelled set)."""
    path = Path(__file__).resolve().parent.parent / "tests" / "data" / "language_samples.tsv"
    rows = path.read_text(encoding="utf-8").splitlines()[1:]
    return [row.split("\t")[2] for row in rows if row.count("\t") >= 2]


def _events(rng: random.Random, count: int) -> list[AnyEvent]:
    """A realistic mix: help and profile views, profile edits (button, then free text in
    the member's language), language picks."""
    lines = _chat_lines()
    events: list[AnyEvent] = []
    while len(events) < count:
        user = str(rng.randrange(MEMBERS))
        who = {"chat": ChatRef("bench", user), "user_id": user, "display_name": f"Member {user}", "locale": "en"}
        kind = rng.random()
        if kind < 0.3:
            events.append(CommandReceived(**who, command="help"))  # type: ignore[arg-type]
        elif kind < 0.55:
            events.append(CommandReceived(**who, command="profile"))  # type: ignore[arg-type]
        elif kind < 0.85:
            events.append(ButtonPressed(**who, action="p:bio"))  # type: ignore[arg-type]
            events.append(TextReceived(**who, text=rng.choice(lines)))  # type: ignore[arg-type]
        else:
            events.append(ButtonPressed(**who, action=f"lang:{rng.choice(['en', 'fr', 'de'])}"))  # type: ignore[arg-type]
    return events[:count]


def _measure(app: App, events: list[AnyEvent]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for event in events:
        t0 = time.perf_counter()
        app.core.handle(event)
        latencies.append((time.perf_counter() - t0) * 1000)
    return len(events) / (time.perf_counter() - start), latencies


def _baseline(app: App, events: list[AnyEvent]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for event in events:
        t0 = time.perf_counter()
        with app.uow_factory() as uow:
            uow.members.by_identity(event.chat.platform, event.user_id)
            uow.dialogs.get(event.chat)
            uow.commit()
        latencies.append((time.perf_counter() - t0) * 1000)
    return len(events) / (time.perf_counter() - start), latencies


def _p(latencies: list[float], q: int) -> float:
    return round(statistics.quantiles(latencies, n=100)[q - 1], 3)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite:///{tmp}/bench.db")
        app = bootstrap(settings)
        with app.uow_factory() as uow:
            import_members(uow, _members_csv(MEMBERS), app.network)
        rng = random.Random(7)
        _measure(app, _events(rng, WARMUP))
        events = _events(rng, UPDATES)
        rate, latencies = _measure(app, events)
        base_rate, base_latencies = _baseline(app, events)
        app.close()
    print(
        json.dumps(
            {
                "bench": "core_throughput",
                "backend": "sqlite",
                "members": MEMBERS,
                "updates": UPDATES,
                "updates_per_s": round(rate, 1),
                "p50_ms": _p(latencies, 50),
                "p99_ms": _p(latencies, 99),
                "baseline": "bare unit of work: member and dialog lookup + commit",
                "baseline_per_s": round(base_rate, 1),
                "baseline_p99_ms": _p(base_latencies, 99),
                "ratio": round(rate / base_rate, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
