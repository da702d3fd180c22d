"""Relay throughput on PostgreSQL with 1, 2 and 4 relay processes and a no-op transport.

Each process is tests/integration/relay_worker.py: the real ``serve(app, None, roles={"relay"})``
(what ``twinbot run --role relay`` runs) with a sender that only appends each message's text
to a file of its own, a pace that never binds, no per-send delay, and the default
``RelaySettings``. For each count, on a fresh database of its own (see bench/pgtools.py):

1. start the processes on an empty outbox; wait until each prints its ready line and its
   outbox listener shows up in ``pg_stat_activity`` (LISTEN);
2. queue ``--rows`` rows (distinct targets, unique texts) in one transaction that sends the
   NOTIFY a unit of work's commit sends; the clock starts when that commit returns;
3. wait until nothing is queued or sending; the clock stops at the latest ``sent_at``
   (``msgs_per_s``); ``first_send_ms`` is how long the first send took to follow the commit,
   and ``msgs_per_s_after_first_send`` leaves that wake-up out;
4. SIGTERM the processes and check the files: every text exactly once, every row sent at its
   first attempt.

Baseline: the 1-process run; ``speedup`` is each count's msgs/s over it. PostgreSQL runs on the
same machine as the relays, so they share its cores (``cpus``): expect modest scaling.

Prints one JSON line. Run from the repository root: ``.venv/bin/python bench/scale.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pgtools import postgres_database, postgres_server
from sqlalchemy import Engine, Table, func, select, text

from bot.delivery import Status
from storage import migrate
from storage.db import make_engine
from storage.models import OutboxRow
from storage.uow import OUTBOX_CHANNEL
from tests.integration import relay_worker
from tests.integration.relay_worker import PLATFORM, READY, queue_rows, unfinished

RELAYS = (1, 2, 4)
ROWS = 10_000
START_DEADLINE = 60.0  # seconds for the processes to start and listen
DRAIN_DEADLINE = 600.0
POLL = 0.02

_outbox: Table = OutboxRow.__table__  # type: ignore[assignment]


@dataclass
class Worker:
    process: subprocess.Popen[str]
    output: Path
    stderr: IO[str]


def _start(url: str, directory: Path, count: int) -> list[Worker]:
    workers = []
    for n in range(count):
        output = directory / f"relay-{n}.txt"
        stderr = (directory / f"relay-{n}.err").open("w", encoding="utf-8")
        command = [sys.executable, relay_worker.__file__, url, str(output)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
        workers.append(Worker(process, output, stderr))
    return workers


def _stop(workers: list[Worker]) -> list[int]:
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    codes = []
    for worker in workers:
        try:
            codes.append(worker.process.wait(timeout=30))
        except subprocess.TimeoutExpired:
            worker.process.kill()
            codes.append(worker.process.wait())
        assert worker.process.stdout is not None
        worker.process.stdout.close()
        worker.stderr.close()
    return codes


def _listening(engine: Engine) -> int:
    """Backends of this database whose last statement was the outbox LISTEN (idle listeners)."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = :q"),
                {"q": f"LISTEN {OUTBOX_CHANNEL}"},
            ).scalar_one()
        )


def _wait_ready(engine: Engine, workers: list[Worker], started: float) -> None:
    for worker in workers:
        assert worker.process.stdout is not None
        line = worker.process.stdout.readline()
        if not line.startswith(READY):
            raise RuntimeError(f"a relay process did not start: {line!r}, see {worker.stderr.name}")
    while _listening(engine) < len(workers):
        if time.monotonic() - started > START_DEADLINE:
            raise RuntimeError(f"only {_listening(engine)} of {len(workers)} relay processes listen")
        time.sleep(POLL)


def run(url: str, count: int, rows: int) -> dict[str, Any]:
    """``count`` relay processes drain ``rows`` rows on the migrated database at ``url``."""
    engine = make_engine(url)
    texts = [f"scale {count}:{n:07d}" for n in range(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        workers = _start(url, Path(tmp), count)
        try:
            _wait_ready(engine, workers, started)
            ready_s = time.monotonic() - started
            go = queue_rows(engine, texts, platform=PLATFORM, notify=True)
            drain_started = time.monotonic()
            while unfinished(engine):
                if any(w.process.poll() is not None for w in workers):
                    raise RuntimeError(f"a relay process ended early, see {tmp}")
                if time.monotonic() - drain_started > DRAIN_DEADLINE:
                    raise RuntimeError(f"{unfinished(engine)} rows still unsent after {DRAIN_DEADLINE:g} s")
                time.sleep(POLL)
        finally:
            codes = _stop(workers)
        shares = [len(w.output.read_text(encoding="utf-8").splitlines()) if w.output.exists() else 0 for w in workers]
        delivered: Counter[str] = Counter()
        for worker in workers:
            if worker.output.exists():
                delivered.update(worker.output.read_text(encoding="utf-8").splitlines())
        errors = sum(1 for w in workers if "Traceback" in Path(w.stderr.name).read_text(encoding="utf-8"))
    with engine.connect() as connection:
        first, last = connection.execute(select(func.min(_outbox.c.sent_at), func.max(_outbox.c.sent_at))).one()
        not_first_try = connection.execute(
            select(func.count()).where((_outbox.c.status != Status.SENT.value) | (_outbox.c.attempts != 1))
        ).scalar_one()
    engine.dispose()
    elapsed = (last - go).total_seconds()
    return {
        "msgs_per_s": rows / elapsed,
        "seconds": elapsed,
        "first_send_ms": (first - go).total_seconds() * 1000,
        "msgs_per_s_after_first_send": rows / (last - first).total_seconds(),
        "start_s": ready_s,
        "shares": shares,
        "lost": sum(1 for t in texts if t not in delivered),
        "doubled": sum(1 for n in delivered.values() if n > 1),
        "not_sent_first_try": int(not_first_try),
        "exit_codes": codes,
        "tracebacks": errors,
    }


def _server_version(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS, help=f"rows per run (default {ROWS:,})")
    parser.add_argument("--relays", default=",".join(map(str, RELAYS)), help="process counts (default 1,2,4)")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to create the bench database on")
    args = parser.parse_args()
    counts = [int(c) for c in args.relays.split(",")]
    server, skipped = postgres_server(args.postgres)
    result: dict[str, Any] = {"bench": "scale", "database": "postgresql", "rows": args.rows, "relays": counts}
    result["cpus"] = os.cpu_count()
    if server is None:
        print(json.dumps({**result, "skipped": skipped}))
        return
    runs = []
    version = None
    for count in counts:
        with postgres_database(server) as url:
            migrate.upgrade(url)
            version = version or _server_version(url)
            runs.append(run(url, count, args.rows))
    base = runs[0]["msgs_per_s"]
    result.update(
        {
            "postgres_version": version,
            "transport": "no-op (appends the text to a file), unlimited pace, no delay, default RelaySettings",
            "msgs_per_s": [round(r["msgs_per_s"], 1) for r in runs],
            "speedup": [round(r["msgs_per_s"] / base, 3) for r in runs],
            "baseline": f"{counts[0]} relay process(es)",
            "baseline_msgs_per_s": round(base, 1),
            "seconds": [round(r["seconds"], 3) for r in runs],
            "first_send_ms": [round(r["first_send_ms"], 1) for r in runs],
            "msgs_per_s_after_first_send": [round(r["msgs_per_s_after_first_send"], 1) for r in runs],
            "speedup_after_first_send": [
                round(r["msgs_per_s_after_first_send"] / runs[0]["msgs_per_s_after_first_send"], 3) for r in runs
            ],
            "start_s": [round(r["start_s"], 2) for r in runs],
            "shares": [r["shares"] for r in runs],
            "lost": sum(r["lost"] for r in runs),
            "doubled": sum(r["doubled"] for r in runs),
            "not_sent_first_try": sum(r["not_sent_first_try"] for r in runs),
            "exit_codes": [r["exit_codes"] for r in runs],
            "tracebacks": sum(r["tracebacks"] for r in runs),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
