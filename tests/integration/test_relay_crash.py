"""Kill -9 a relay in the middle of a broadcast, restart it: nobody is missed, and only the
messages in flight at the moment of the kill may arrive twice.

The relay runs in a subprocess (crash_relay_worker.py) that "delivers" by appending each
message's dedupe key to a file, fsynced line by line; the file is the platform's view.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, Table, select

from bot.delivery import OutboxItem, Status, Target, TargetKind
from bot.member_admin import import_members
from bot.network import Network
from bot.replies import Text
from storage.models import IdentityRow, OutboxRow

from .conftest import UowFactory

WORKER = Path(__file__).resolve().with_name("crash_relay_worker.py")
PLATFORM = "telegram"
MEMBERS = 1000
KILL_AFTER = 225  # lines in the output file; not a multiple of the batch size (50), so claims are open
CONCURRENCY = 4  # the worker's RelaySettings.concurrency

_outbox: Table = OutboxRow.__table__  # type: ignore[assignment]
_identities: Table = IdentityRow.__table__  # type: ignore[assignment]


def members_csv(count: int) -> str:
    chapters = ("lyon", "frankfurt", "yokohama")
    lines = ["display_name,home_chapter,languages,consent_at,identities"]
    lines += [
        f"Member {n},{chapters[n % 3]},en,2026-01-01T00:00:00+00:00,{PLATFORM}:{5_000_000 + n}" for n in range(count)
    ]
    return "\n".join(lines) + "\n"


def queue_broadcast(engine: Engine, uow_factory: UowFactory) -> set[str]:
    """One row per member, in one transaction; returns the dedupe keys."""
    with engine.connect() as connection:
        recipients = connection.execute(
            select(_identities.c.member_id, _identities.c.user_id).where(_identities.c.platform == PLATFORM)
        ).all()
    now = datetime.now(UTC)
    keys = set()
    with uow_factory() as uow:
        for member_id, user_id in recipients:
            key = f"crash:m{member_id}"
            uow.outbox.add(OutboxItem(key, Target(PLATFORM, TargetKind.USER, user_id), Text(key), now, member_id))
            keys.add(key)
        uow.commit()
    return keys


def worker(db_url: str, output: Path, mode: str) -> list[str]:
    return [sys.executable, str(WORKER), db_url, str(output), mode]


def line_count(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_a_relay_killed_mid_broadcast_resumes_without_losing_anyone(
    db_url: str, engine: Engine, uow_factory: UowFactory, network: Network, tmp_path: Path
) -> None:
    with uow_factory() as uow:
        assert import_members(uow, members_csv(MEMBERS), network) == MEMBERS
    keys = queue_broadcast(engine, uow_factory)
    assert len(keys) == MEMBERS
    output = tmp_path / "delivered.txt"

    first = subprocess.Popen(worker(db_url, output, "start"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while line_count(output) < KILL_AFTER:
            assert first.poll() is None, f"the worker ended before the kill: {first.communicate()}"
            assert time.monotonic() < deadline, "the worker delivers too slowly"
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL
    at_kill = line_count(output)
    assert KILL_AFTER <= at_kill < MEMBERS, "the kill must land mid-broadcast"
    with engine.connect() as connection:
        left = Counter(connection.execute(select(_outbox.c.status)).scalars())
    assert left[Status.SENDING.value] > 0  # the dead relay left claims behind
    assert left[Status.QUEUED.value] > 0

    second = subprocess.run(worker(db_url, output, "restart"), capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    assert summary["released"] == left[Status.SENDING.value]

    delivered = Counter(output.read_text(encoding="utf-8").splitlines())
    assert set(delivered) == keys  # everyone, and nothing else
    doubled = [key for key, n in delivered.items() if n == 2]
    assert len(doubled) <= CONCURRENCY, doubled
    assert max(delivered.values()) <= 2
    with engine.connect() as connection:
        statuses = Counter(connection.execute(select(_outbox.c.status)).scalars())
        claimed = connection.execute(select(_outbox.c.id).where(_outbox.c.claimed_by.is_not(None))).all()
    assert statuses == {Status.SENT.value: MEMBERS}
    assert claimed == []
