"""A relay process of its own, as ``twinbot run --role relay`` runs it, with a no-op transport.

Usage: relay_worker.py DATABASE_URL OUTPUT_FILE [--delay SECONDS] [--platform NAME]

It bootstraps the app on DATABASE_URL (no migration, no demo) and runs the real
``adapters.app.serve(app, None, roles={"relay"}, senders=[(NoopSender, UNLIMITED)])`` until
SIGTERM or SIGINT, when serve releases its claims and the worker exits 0. The sender
"delivers" a message by appending its text and a newline to OUTPUT_FILE (line-buffered),
after ``--delay`` seconds (default 0). Once serve is running (signal handlers in place, the
relay task started) the worker prints ``ready <pid>`` on stdout.

For test_scale_relays.py and bench/scale.py, which also use ``queue_rows`` to fill the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import Engine, Table, func, insert, select, text

from adapters.app import serve
from adapters.bootstrap import bootstrap
from bot.delivery import PacePolicy, Status, Target, TargetKind
from bot.payload import to_json
from bot.replies import Reply, Text
from config import load_settings
from storage.models import OutboxRow
from storage.uow import OUTBOX_CHANNEL

PLATFORM = "noop"
READY = "ready"
#: No limit the relay could reach: the pacer never makes a send wait.
UNLIMITED = PacePolicy(global_per_second=10_000_000, per_chat_per_second=10_000_000, per_group_per_minute=10_000_000)

_outbox: Table = OutboxRow.__table__  # type: ignore[assignment]


class NoopSender:
    """Accepts every message: appends its text to ``out`` (line-buffered), after ``delay`` s."""

    def __init__(self, platform: str, out: IO[str], delay: float = 0.0) -> None:
        self.platform = platform
        self._out = out
        self._delay = delay
        self.count = 0

    async def send(self, target: Target, reply: Reply) -> None:
        if self._delay > 0:
            await asyncio.sleep(self._delay)
        assert isinstance(reply, Text), reply
        self._out.write(reply.text + "\n")
        self.count += 1


def queue_rows(
    engine: Engine,
    texts: Sequence[str],
    *,
    platform: str = PLATFORM,
    notify: bool = False,
    target_ids: Sequence[str] | None = None,
) -> datetime:
    """Queue one row per text (dedupe key and target derived from it, so all distinct), due
    now, in one transaction; with ``notify`` it also sends the NOTIFY a unit of work's commit
    sends (PostgreSQL). ``target_ids``: one user id per text (default ``u<n>``). Returns the
    time just after the commit."""
    now = datetime.now(UTC)
    rows = [
        {
            "dedupe_key": f"{platform}:{body}",
            "platform": platform,
            "target_kind": TargetKind.USER.value,
            "target_id": target_ids[n] if target_ids is not None else f"u{n}",
            "payload": to_json(Text(body)),
            "status": Status.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for n, body in enumerate(texts)
    ]
    with engine.begin() as connection:
        if rows:
            connection.execute(insert(_outbox), rows)
        if notify:
            connection.execute(
                text("SELECT pg_notify(:channel, :platform)"), {"channel": OUTBOX_CHANNEL, "platform": platform}
            )
    return datetime.now(UTC)


def unfinished(engine: Engine) -> int:
    """Outbox rows still queued or being sent."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).where(_outbox.c.status.in_([Status.QUEUED.value, Status.SENDING.value]))
            ).scalar_one()
        )


async def _serve_until_signalled(database_url: str, output: Path, platform: str, delay: float) -> int:
    settings = load_settings(
        database_url=database_url, seed_demo=False, telegram_token=None, discord_token=None, health_listen=None
    )
    app = bootstrap(settings, migrate=False)
    try:
        with output.open("a", encoding="utf-8", buffering=1) as out:
            sender = NoopSender(platform, out, delay)
            serving = asyncio.create_task(serve(app, None, roles=frozenset({"relay"}), senders=[(sender, UNLIMITED)]))
            # serve installs its SIGTERM handler first; the bench also waits for each listener.
            while signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and not serving.done():
                await asyncio.sleep(0.005)
            if not serving.done():
                print(f"{READY} {os.getpid()}", flush=True)
            return await serving
    finally:
        app.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A relay process with a no-op transport (runs until SIGTERM).")
    parser.add_argument("database_url")
    parser.add_argument("output", type=Path, help="each delivered message's text is appended here, one per line")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each send takes (default 0)")
    parser.add_argument("--platform", default=PLATFORM, help=f"the sender's platform name (default {PLATFORM})")
    args = parser.parse_args(argv)
    return asyncio.run(_serve_until_signalled(args.database_url, args.output, args.platform, args.delay))


if __name__ == "__main__":
    sys.exit(main())
