"""Time for the background jobs: a real clock, and a virtual one that never waits.

The relay and its pacer read time only through a ``Clock`` so that tests and benchmarks can run
minutes of traffic in milliseconds on a ``VirtualClock``.

A virtual clock advances by the full amount whenever any task sleeps on it, so it is only
consistent while at most one task at a time sleeps on it. The ``Pacer`` respects that: it holds a
lock while it waits, so concurrent workers queue on the lock, not on the clock.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def now(self) -> datetime:
        """The wall time as an aware UTC datetime, consistent with ``monotonic()``."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (zero or less: just yield to other tasks)."""
        ...


class RealClock:
    """The process's clocks: ``time.monotonic``, ``datetime.now(UTC)``, ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """A clock that only moves when told to or slept on; sleeping costs no real time.

    ``monotonic()`` starts at 0.0; ``now()`` is ``start`` plus the virtual seconds elapsed.
    ``start`` defaults to the real time at construction, so items queued "now" by other code
    are due at once; pass a fixed aware datetime for reproducible tests.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime.now(UTC)
        elif start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("VirtualClock needs an aware start datetime")
        self._start = start.astimezone(UTC)
        self._elapsed = 0.0

    def monotonic(self) -> float:
        return self._elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (which must not be negative)."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards ({seconds} s)")
        self._elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        """Advance by ``max(0, seconds)`` at once, then yield once to the event loop."""
        if seconds > 0:
            self._elapsed += seconds
        await asyncio.sleep(0)
