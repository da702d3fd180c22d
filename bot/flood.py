"""A per-user flood limit: more than ``limit`` events within ``seconds`` and the user is
told once, politely, then ignored until the window has room again. Kept in memory per process:
it protects the bot and the other members from one runaway client or script."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta
from enum import Enum


class Verdict(Enum):
    OK = "ok"
    WARN = "warn"  # just went over: say so once
    DROP = "drop"  # still over: say nothing


class FloodGate:
    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.window = timedelta(seconds=seconds)
        self._seen: dict[tuple[str, str], deque[datetime]] = {}
        self._warned: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def check(self, key: tuple[str, str], now: datetime) -> Verdict:
        if self.limit <= 0:
            return Verdict.OK
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and now - seen[0] >= self.window:
                seen.popleft()
            if len(seen) < self.limit:
                seen.append(now)
                self._warned.discard(key)
                return Verdict.OK
            if key in self._warned:
                return Verdict.DROP
            self._warned.add(key)
            return Verdict.WARN
