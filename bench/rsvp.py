"""RSVP presses per second through the real core and storage: 2,000 members of one chapter
press Going / Maybe / Can't go / guests on 20 meetups (some with few seats, so the waitlist
and promotions work too), one press after another, on SQLite (a temporary file) and on
PostgreSQL (a database of its own, created and dropped here) when one answers; see
bench/pgtools.py for how a server is found.

Baseline: the same number of presses on a meetup that does not exist (the core finds the
member, reads the action, answers; no seat is counted), with the ratio ours / baseline.
Also, on PostgreSQL, 8 threads pressing at once on the same meetups (the meetup row lock
makes presses on one meetup take turns).

Prints one JSON line: rsvp_per_s_sqlite, rsvp_per_s_postgres (null when not run), p99 ms,
baselines and ratios, and a check that seats were never oversold.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pgtools import postgres_database, postgres_server

from adapters.bootstrap import App, bootstrap
from bot.audience import Audience
from bot.events import ButtonPressed, ChatRef
from bot.meetups.model import Meetup, Rsvp
from bot.meetups.seats import seats_taken
from bot.member_admin import import_members
from config import load_settings

MEMBERS = 2_000
MEETUPS = 20
PRESSES = 5_000
THREADS = 8
ACTIONS = ("going", "going", "going", "maybe", "no", "g1", "g0")
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _prepare(url: str) -> App:
    app = bootstrap(load_settings(database_url=url), clock=lambda: NOW)
    rows = ["display_name,home_chapter,languages,consent_at,identities"]
    rows += [f"M{n},lyon,fr;en,2026-01-01T00:00:00+00:00,console:m{n}" for n in range(MEMBERS)]
    with app.uow_factory() as uow:
        import_members(uow, "\n".join(rows) + "\n", app.network)
    with app.uow_factory() as uow:
        for n in range(MEETUPS):
            uow.meetups.add(
                Meetup(
                    title=f"Meetup {n}",
                    description="",
                    chapter="lyon",
                    starts_at=NOW + timedelta(days=7 + n),
                    duration=timedelta(hours=2),
                    place="Lyon",
                    audience=Audience(chapters=("lyon",)),
                    created_at=NOW,
                    capacity=(10, 50, 200, None)[n % 4],
                    checkin_code=f"BENCH{n:02d}",
                )
            )
        uow.commit()
    return app


def _presses(rng: random.Random, count: int, meetup_ids: list[int]) -> list[ButtonPressed]:
    events = []
    for _ in range(count):
        user = f"m{rng.randrange(MEMBERS)}"
        action = f"rsvp:{rng.choice(meetup_ids)}:{rng.choice(ACTIONS)}"
        chat = ChatRef("console", user, True)
        events.append(ButtonPressed(chat=chat, user_id=user, display_name=user, action=action))
    return events


def _run(app: App, events: list[ButtonPressed], threads: int = 1) -> dict[str, float]:
    latencies: list[float] = []

    def one(event: ButtonPressed) -> None:
        started = time.perf_counter()
        replies = app.core.handle(event)
        latencies.append(time.perf_counter() - started)
        if any("Sorry" in getattr(r, "text", "") for r in replies):
            raise RuntimeError(f"the core apologised for {event.action}")

    started = time.perf_counter()
    if threads == 1:
        for event in events:
            one(event)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, events))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"per_s": len(events) / elapsed, "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def _oversold(app: App, meetup_ids: list[int]) -> int:
    """Meetups with more seats taken than they have (must be 0)."""
    bad = 0
    with app.uow_factory() as uow:
        for meetup_id in meetup_ids:
            meetup = uow.meetups.get(meetup_id)
            everyone = uow.meetups.attendances(meetup_id)
            assert meetup is not None
            if meetup.capacity is not None and seats_taken(everyone) > meetup.capacity:
                bad += 1
            if any(a.status is Rsvp.WAITLIST for a in everyone) and meetup.capacity is None:
                bad += 1
    return bad


def measure(url: str, *, concurrent: bool) -> dict[str, Any]:
    app = _prepare(url)
    try:
        rng = random.Random(20261129)
        ids = list(range(1, MEETUPS + 1))
        _run(app, _presses(rng, 200, ids))  # warm-up
        ours = _run(app, _presses(rng, PRESSES, ids))
        baseline = _run(app, _presses(rng, PRESSES, [999_999]))
        figures: dict[str, Any] = {"ours": ours, "baseline": baseline}
        if concurrent:
            figures["threads"] = _run(app, _presses(rng, PRESSES, ids), threads=THREADS)
        figures["oversold"] = _oversold(app, ids)
        return figures
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to create the bench database on")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        lite = measure(f"sqlite:///{directory}/rsvp.db", concurrent=False)
    server, skipped = (None, "--no-postgres") if args.no_postgres else postgres_server(args.postgres)
    pg = None
    if server is not None:
        with postgres_database(server) as url:
            pg = measure(url, concurrent=True)

    def r(value: float | None, digits: int = 0) -> float | None:
        return None if value is None else round(value, digits) if digits else round(value)

    print(
        json.dumps(
            {
                "bench": "rsvp",
                "members": MEMBERS,
                "meetups": MEETUPS,
                "presses": PRESSES,
                "rsvp_per_s_sqlite": r(lite["ours"]["per_s"]),
                "p50_ms_sqlite": r(lite["ours"]["p50_ms"], 2),
                "p99_ms_sqlite": r(lite["ours"]["p99_ms"], 2),
                "baseline_per_s_sqlite": r(lite["baseline"]["per_s"]),
                "ratio_sqlite": r(lite["ours"]["per_s"] / lite["baseline"]["per_s"], 2),
                "rsvp_per_s_postgres": r(pg["ours"]["per_s"]) if pg else None,
                "p99_ms_postgres": r(pg["ours"]["p99_ms"], 2) if pg else None,
                "baseline_per_s_postgres": r(pg["baseline"]["per_s"]) if pg else None,
                "ratio_postgres": r(pg["ours"]["per_s"] / pg["baseline"]["per_s"], 2) if pg else None,
                "rsvp_per_s_postgres_8_threads": r(pg["threads"]["per_s"]) if pg else None,
                "p99_ms_postgres_8_threads": r(pg["threads"]["p99_ms"], 2) if pg else None,
                "oversold": lite["oversold"] + (pg["oversold"] if pg else 0),
                "postgres_skipped": skipped,
            }
        )
    )


if __name__ == "__main__":
    main()
