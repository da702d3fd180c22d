"""Pacing outgoing messages so a platform's rate limits are never exceeded.

Every limit is an exact sliding log: a send at time ``t`` is allowed only if fewer than ``limit``
earlier sends lie in ``(t - period, t]``. Equivalently, for sends ``t_0 <= t_1 <= ...`` it holds
that ``t_i + period <= t_(i + limit)``, so no half-open interval ``[a, a + period)`` ever contains
more than ``limit`` sends -- not in steady state, and not right after a pause either (a pause only
delays; the windows keep counting, so a backlog drains at the limit instead of in a burst).
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict, deque

from bot.delivery import PacePolicy, Target, TargetKind
from jobs.clock import Clock

#: The windows a ``Pacer`` keeps, in seconds.
SECOND = 1.0
MINUTE = 60.0


class SlidingWindow:
    """At most ``limit`` events in any interval of length ``period`` (an exact sliding log).

    Only the last ``limit`` timestamps can ever matter, so the log is a deque bounded to
    ``limit`` entries; entries older than ``period`` are dropped as time passes.
    """

    __slots__ = ("_events", "limit", "period")

    def __init__(self, limit: int, period: float) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        if not period > 0:
            raise ValueError(f"period must be positive, not {period}")
        self.limit = limit
        self.period = period
        self._events: deque[float] = deque(maxlen=limit)

    def __len__(self) -> int:
        """How many recorded events the log still holds (at most ``limit``)."""
        return len(self._events)

    @property
    def last(self) -> float | None:
        """When the latest event was recorded, or None if the log is empty."""
        return self._events[-1] if self._events else None

    def prune(self, now: float) -> None:
        """Forget the events that can no longer count against a send at ``now``."""
        events, period = self._events, self.period
        while events and events[0] + period <= now:
            events.popleft()

    def wait(self, now: float) -> float:
        """Seconds from ``now`` until one more event fits; 0.0 if it fits at ``now``."""
        self.prune(now)
        events = self._events
        if len(events) < self.limit:
            return 0.0
        # The deque holds exactly the last ``limit`` events; the oldest must leave the window.
        return events[0] + self.period - now

    def record(self, now: float) -> None:
        """Count one event at ``now`` (callers check ``wait`` first)."""
        self._events.append(now)

    def idle(self, now: float) -> bool:
        """True if no recorded event still counts at ``now`` (the window equals a fresh one)."""
        last = self.last
        return last is None or last + self.period <= now


def _drop_idle(windows: OrderedDict[str, SlidingWindow], now: float) -> None:
    """Drop idle windows from the front of ``windows`` (kept in order of last use)."""
    while windows:
        key = next(iter(windows))
        if not windows[key].idle(now):
            return
        del windows[key]


class Pacer:
    """Waits before each send until it fits every limit of ``policy``, then counts it.

    Limits: ``global_per_second`` over all targets, ``per_chat_per_second`` per target id (users
    and chats alike), and ``per_group_per_minute`` per ``TargetKind.CHAT`` target. Acquisitions
    are served one at a time, in order of arrival, by a lock held while waiting; the lock is also
    what keeps a ``VirtualClock`` consistent (only one task sleeps on it at a time).

    A target that waits holds up everyone queued behind it, so a relay should avoid handing many
    messages for the same chat to its workers at once (``delay`` tells how long one would wait).

    Per-target windows are dropped once idle (nothing sent within their period), so memory stays
    bounded by the targets active in the last minute.
    """

    def __init__(self, policy: PacePolicy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock
        self._lock = asyncio.Lock()
        self._global = SlidingWindow(policy.global_per_second, SECOND)
        self._per_chat_limit = policy.per_chat_per_second
        self._per_group_limit = policy.per_group_per_minute
        if self._per_chat_limit < 1 or self._per_group_limit < 1:
            raise ValueError(f"every limit must be at least 1: {policy}")
        # Both in order of last use, so idle windows collect at the front.
        self._chats: OrderedDict[str, SlidingWindow] = OrderedDict()
        self._groups: OrderedDict[str, SlidingWindow] = OrderedDict()
        self._paused_until = -math.inf

    # --- the relay's interface ----------------------------------------------------------------

    async def acquire(self, target: Target) -> None:
        """Wait until a send to ``target`` fits every limit and no pause is on, then count it."""
        clock = self.clock
        async with self._lock:
            while True:
                now = clock.monotonic()
                delay = self._delay(target, now)
                if delay <= 0.0:
                    break
                await clock.sleep(delay)
            self._record(target, now)

    def pause(self, seconds: float) -> None:
        """Let nothing through before ``seconds`` from now; a shorter later pause changes nothing."""
        until = self.clock.monotonic() + seconds
        if until > self._paused_until:
            self._paused_until = until

    # --- inspection ---------------------------------------------------------------------------

    def delay(self, target: Target) -> float:
        """Seconds a send to ``target`` would wait if it were the next to acquire (0.0 if none)."""
        return max(0.0, self._delay(target, self.clock.monotonic()))

    @property
    def paused_until(self) -> float:
        """The ``clock.monotonic()`` time before which nothing is acquired (-inf if never paused)."""
        return self._paused_until

    @property
    def tracked_chats(self) -> int:
        """How many per-chat windows are kept (idle ones are dropped as sends go on)."""
        return len(self._chats)

    @property
    def tracked_groups(self) -> int:
        """How many per-group windows are kept (idle ones are dropped as sends go on)."""
        return len(self._groups)

    # --- internals ----------------------------------------------------------------------------

    def _delay(self, target: Target, now: float) -> float:
        delay = self._paused_until - now
        wait = self._global.wait(now)
        if wait > delay:
            delay = wait
        chat = self._chats.get(target.target_id)
        if chat is not None:
            wait = chat.wait(now)
            if wait > delay:
                delay = wait
        if target.kind is TargetKind.CHAT:
            group = self._groups.get(target.target_id)
            if group is not None:
                wait = group.wait(now)
                if wait > delay:
                    delay = wait
        return delay

    def _record(self, target: Target, now: float) -> None:
        self._global.record(now)
        key = target.target_id
        _record_in(self._chats, key, self._per_chat_limit, SECOND, now)
        if target.kind is TargetKind.CHAT:
            _record_in(self._groups, key, self._per_group_limit, MINUTE, now)


def _record_in(windows: OrderedDict[str, SlidingWindow], key: str, limit: int, period: float, now: float) -> None:
    """Record a send to ``key`` at ``now``, keeping ``windows`` in order of last use."""
    _drop_idle(windows, now)
    window = windows.get(key)
    if window is None:
        window = windows[key] = SlidingWindow(limit, period)
    else:
        windows.move_to_end(key)
    window.record(now)
