"""Jobs for test_scheduler_failover.py: run by ``twinbot run --role scheduler`` processes,
which load them from the shared job store. Each run is one row in ``leader_runs``."""

from __future__ import annotations

import os

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from storage.db import make_engine

RUNS_TABLE = "leader_runs"


def record(name: str) -> None:
    engine = make_engine(os.environ["TWINBOT_DATABASE_URL"], poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(f"INSERT INTO {RUNS_TABLE} (job, pid, at) VALUES (:job, :pid, clock_timestamp())"),
                {"job": name, "pid": os.getpid()},
            )
    finally:
        engine.dispose()
