"""Reminders: 10,000 due at the same minute, queued by the scheduler's due scan while the
event loop keeps serving (a heartbeat measures its longest stall, a relay drains the outbox
meanwhile, and a second scan runs at the same time to show nothing is queued twice).

Prints one JSON line: reminders, queued, doubled, max_loop_stall_ms, scan_s, and as a
baseline the stall of the same scan run directly on the loop (what one APScheduler job per
item, or a scan without chunks and threads, would do), with the ratio. Goal: stall < 100 ms.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.bootstrap import App, bootstrap
from bot.delivery import PacePolicy
from bot.due import run_due
from bot.member_admin import import_members
from config import load_settings
from jobs import tasks
from jobs.clock import RealClock
from jobs.pacing import Pacer
from jobs.relay import Relay
from storage.outbox_store import OutboxStore

REMINDERS = 10_000
MEMBERS = 2_000
TICK = 0.005


class NoopSender:
    platform = "console"

    async def send(self, target: object, reply: object) -> None:
        return None


def _prepare(directory: str, name: str) -> tuple[App, datetime]:
    app = bootstrap(load_settings(database_url=f"sqlite:///{directory}/{name}.db"))
    rows = ["display_name,home_chapter,languages,consent_at,identities"]
    rows += [f"M{n},lyon,fr;en,2026-01-01T00:00:00+00:00,console:m{n}" for n in range(MEMBERS)]
    with app.uow_factory() as uow:
        import_members(uow, "\n".join(rows) + "\n", app.network)
    due = datetime.now(UTC).replace(second=0, microsecond=0)
    with app.uow_factory() as uow:
        ids = [m.id for m in uow.members.list() if m.id is not None]
        for n in range(REMINDERS):
            uow.reminders.add(f"bench:{n}", ids[n % len(ids)], due, {"en": f"Reminder {n}", "fr": f"Rappel {n}"})
        uow.commit()
    return app, due


async def _heartbeat(stop: asyncio.Event, stalls: list[float]) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(TICK)
        now = time.perf_counter()
        stalls.append((now - last - TICK) * 1000)
        last = now


async def _scan_in_threads(app: App) -> tuple[float, float, int]:
    tasks.bind(tasks.Runtime(services=app.core.services))
    clock = RealClock()
    relay = Relay(OutboxStore(app.engine, "bench"), NoopSender(), Pacer(PacePolicy(100_000, 100_000), clock), clock)
    stop, stalls = asyncio.Event(), []
    beat = asyncio.create_task(_heartbeat(stop, stalls))
    relaying = asyncio.create_task(relay.run(stop))
    started = time.perf_counter()
    first, second = await asyncio.gather(tasks.due_scan(), tasks.due_scan())
    scan_s = time.perf_counter() - started
    await asyncio.sleep(0.2)
    stop.set()
    relay.wake()
    await asyncio.gather(beat, relaying)
    tasks.bind(None)
    return max(stalls), scan_s, first.reminders + second.reminders


async def _scan_on_loop(app: App, due: datetime) -> float:
    stop, stalls = asyncio.Event(), []
    beat = asyncio.create_task(_heartbeat(stop, stalls))
    await asyncio.sleep(TICK * 3)
    run_due(app.core.services, due + timedelta(seconds=1))  # blocks the loop: the baseline
    await asyncio.sleep(TICK * 3)
    stop.set()
    await beat
    return max(stalls)


def _outbox(app: App) -> tuple[int, int]:
    with app.engine.connect() as connection:
        queued = connection.exec_driver_sql("SELECT count(*) FROM outbox").scalar() or 0
        keys = connection.exec_driver_sql("SELECT count(DISTINCT dedupe_key) FROM outbox").scalar() or 0
    return int(queued), int(queued) - int(keys)


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        app, _ = _prepare(directory, "threads")
        stall, scan_s, scanned = asyncio.run(_scan_in_threads(app))
        queued, doubled = _outbox(app)
        app.close()
        baseline_app, due = _prepare(directory, "loop")
        baseline = asyncio.run(_scan_on_loop(baseline_app, due))
        baseline_app.close()
    print(
        json.dumps(
            {
                "bench": "reminders",
                "reminders": REMINDERS,
                "scanned": scanned,
                "queued": queued,
                "doubled": doubled,
                "max_loop_stall_ms": round(stall, 1),
                "scan_s": round(scan_s, 2),
                "baseline": "the same scan run directly on the event loop",
                "baseline_max_loop_stall_ms": round(baseline, 1),
                "ratio": round(stall / baseline, 3) if baseline else None,
            }
        )
    )


if __name__ == "__main__":
    main()
