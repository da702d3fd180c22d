"""Three relay processes drain one PostgreSQL outbox together: every message goes out exactly
once, each row is sent at its first attempt, and the work is really shared.

Each process is relay_worker.py: the real ``serve(app, None, roles={"relay"})`` with a no-op
sender that appends each message's text to a file of its own; the files are the platform's view.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, Table, func, select

from bot.delivery import Status
from storage.models import OutboxRow

from .relay_worker import READY, queue_rows, unfinished

WORKER = Path(__file__).resolve().with_name("relay_worker.py")
ROWS = 5_000
PROCESSES = 3
SEND_DELAY = 0.0005  # seconds per send: a little time in the "platform", as a real one takes
DEADLINE = 120.0  # seconds for the three processes to start and drain everything (a few here)

_outbox: Table = OutboxRow.__table__  # type: ignore[assignment]

pytestmark = pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)  # SKIP LOCKED: PostgreSQL only


def _stop(workers: list[subprocess.Popen[str]]) -> list[tuple[str, str]]:
    """SIGTERM every worker still running, then wait for all; returns their (stdout, stderr)."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    outputs = []
    for worker in workers:
        try:
            outputs.append(worker.communicate(timeout=20))
        except subprocess.TimeoutExpired:
            worker.kill()
            outputs.append(worker.communicate())
    return outputs


def test_three_relay_processes_share_the_outbox_and_send_each_row_once(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    texts = [f"scale message {n:05d}" for n in range(ROWS)]
    queue_rows(engine, texts)
    outputs = [tmp_path / f"relay-{n}.txt" for n in range(PROCESSES)]

    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), db_url, str(out), "--delay", str(SEND_DELAY)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outputs
    ]
    try:
        while unfinished(engine):
            for worker in workers:
                assert worker.poll() is None, f"a relay process ended early: {worker.communicate()}"
            assert time.monotonic() - started < DEADLINE, f"{unfinished(engine)} rows still unsent"
            time.sleep(0.05)
    finally:
        results = _stop(workers)

    for worker, (stdout, stderr) in zip(workers, results, strict=True):
        assert worker.returncode == 0, stderr  # stopped by SIGTERM as a relay is: cleanly
        assert stdout.startswith(READY), (stdout, stderr)
        assert "Traceback" not in stderr, stderr

    per_process = [out.read_text(encoding="utf-8").splitlines() if out.exists() else [] for out in outputs]
    delivered = Counter(line for lines in per_process for line in lines)
    assert set(delivered) == set(texts)  # everyone, and nothing else
    assert [t for t, n in delivered.items() if n > 1] == []  # no message twice
    shares = [len(lines) for lines in per_process]
    assert sum(shares) == ROWS
    assert sum(1 for share in shares if share > 0) > 1, f"one process did all the work: {shares}"

    with engine.connect() as connection:
        states = Counter(
            (status, attempts) for status, attempts in connection.execute(select(_outbox.c.status, _outbox.c.attempts))
        )
        claimed = connection.execute(select(func.count()).where(_outbox.c.claimed_by.is_not(None))).scalar_one()
    assert states == {(Status.SENT.value, 1): ROWS}
    assert claimed == 0
