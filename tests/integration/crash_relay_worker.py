"""A relay in a process of its own, for test_relay_crash.py to kill and restart.

Usage: crash_relay_worker.py DATABASE_URL OUTPUT_FILE MODE

MODE is ``start`` (relay what is queued; the test kills it mid-way) or ``restart`` (first put
back the claims a dead relay left behind, then relay everything and exit). The fake sender
"delivers" a message by appending its dedupe key and a newline to OUTPUT_FILE, flushed and
fsynced line by line, so the file is exactly what the platform received before the kill.
The worker prints one JSON line on stdout when it finishes: the rows it released and its outcomes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.delivery import PacePolicy, Target
from bot.replies import Reply, Text
from jobs.clock import RealClock
from jobs.pacing import Pacer
from jobs.relay import Relay, RelaySettings
from storage.db import make_engine
from storage.outbox_store import OutboxStore

PLATFORM = "telegram"
PACE = PacePolicy(global_per_second=2000, per_chat_per_second=10, per_group_per_minute=600)
CONCURRENCY = 4
SEND_DELAY = 0.0015  # seconds a "send" takes, so that sends overlap and a kill lands mid-broadcast
MODES = ("start", "restart")


class FileSender:
    """Appends each message's text (its dedupe key) to a file, one fsynced line per message."""

    platform = PLATFORM

    def __init__(self, out: IO[str], delay: float) -> None:
        self._out = out
        self._delay = delay

    async def send(self, target: Target, reply: Reply) -> None:
        await asyncio.sleep(self._delay)
        assert isinstance(reply, Text)
        self._out.write(reply.text + "\n")
        self._out.flush()
        os.fsync(self._out.fileno())


async def relay_all(database_url: str, output: Path, mode: str) -> dict[str, object]:
    engine = make_engine(database_url)
    try:
        store = OutboxStore(engine, f"crash-worker-{os.getpid()}")
        released = 0
        if mode == "restart":
            if engine.dialect.name == "sqlite":
                released = store.release(PLATFORM)  # one relay only: whatever is claimed is a dead one's
            else:
                released = store.release(PLATFORM, claimed_before=datetime.now(UTC))
        clock = RealClock()
        with output.open("a", encoding="utf-8") as out:
            relay = Relay(
                store,
                FileSender(out, SEND_DELAY),
                Pacer(PACE, clock),
                clock,
                RelaySettings(concurrency=CONCURRENCY),
            )
            while True:
                await relay.drain()
                due = store.next_due(PLATFORM)
                if due is None:
                    break
                await clock.sleep((due - clock.now()).total_seconds())
        return {"mode": mode, "released": released, "outcomes": relay.outcomes, "counts": store.counts(PLATFORM)}
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[2] not in MODES:
        print(f"usage: crash_relay_worker.py DATABASE_URL OUTPUT_FILE {{{'|'.join(MODES)}}}", file=sys.stderr)
        return 2
    database_url, output, mode = argv
    summary = asyncio.run(relay_all(database_url, Path(output), mode))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
