"""Fake platform senders for tests and benchmarks of delivery, all on a ``jobs.clock.Clock``.

``LimitEnforcingTransport`` plays a strict Telegram: it keeps its own sliding logs (written
independently of ``jobs.pacing`` so that the two check each other) and answers a send that would
break a limit with ``RetryAfter``, as the Bot API answers with HTTP 429.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.delivery import (
    TELEGRAM_PACE,
    PacePolicy,
    PermanentError,
    RetryAfter,
    Target,
    TargetKind,
    TransientError,
    Unreachable,
)
from bot.replies import File, Image, Reply, Text
from jobs.clock import Clock, RealClock


@dataclass(frozen=True)
class Delivery:
    """One message the fake platform accepted: when, to whom, and its text (or file name)."""

    at: float
    target: Target
    text: str


def reply_text(reply: Reply) -> str:
    """The text of a ``Text``, the file name of a ``File`` or ``Image``."""
    match reply:
        case Text(text=text):
            return text
        case File(filename=name) | Image(filename=name):
            return name
    raise TypeError(f"not a reply: {reply!r}")


def max_events_in_window(times: Iterable[float], period: float) -> int:
    """The most events that fall in any half-open interval ``[a, a + period)``, exactly.

    Two pointers over the sorted times: for each event as the right end, the left pointer skips
    events at least ``period`` older. (The comparison is the same ``t + period <= now`` that the
    limits use, so boundary cases agree to the last bit.)
    """
    if not period > 0:
        raise ValueError(f"period must be positive, not {period}")
    ordered = sorted(times)
    best = 0
    left = 0
    for right, t in enumerate(ordered):
        while ordered[left] + period <= t:
            left += 1
        best = max(best, right - left + 1)
    return best


class DeliveryLog:
    """Accepted deliveries and questions about them."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    def max_in_window(self, period: float, predicate: Callable[[Delivery], bool] | None = None) -> int:
        """The largest number of accepted deliveries (matching ``predicate``) in any ``period``."""
        chosen = self.deliveries if predicate is None else filter(predicate, self.deliveries)
        return max_events_in_window((d.at for d in chosen), period)

    def max_per_target_in_window(self, period: float, kind: TargetKind | None = None) -> int:
        """The largest ``max_in_window`` of any single target id (optionally of one kind)."""
        times: dict[str, list[float]] = {}
        for d in self.deliveries:
            if kind is None or d.target.kind is kind:
                times.setdefault(d.target.target_id, []).append(d.at)
        return max((max_events_in_window(ts, period) for ts in times.values()), default=0)

    def count_by_target(self) -> Counter[Target]:
        return Counter(d.target for d in self.deliveries)

    @property
    def texts(self) -> list[str]:
        return [d.text for d in self.deliveries]


class _Log:
    """A plain sliding log of every event still inside ``period`` (the fake's own limit check)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        times = self.times
        while times and times[0] + self.period <= now:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[len(times) - self.limit] + self.period - now


class LimitEnforcingTransport(DeliveryLog):
    """A ``Sender`` that enforces a platform's limits (Telegram's by default) and fails on demand.

    A send is handled in this order:

    1. during a flood wait (set by an injected 429) it raises ``RetryAfter`` for the rest of it;
    2. if it would exceed any limit -- ``policy.global_per_second`` per second overall,
       ``per_chat_per_second`` per second per target id, ``per_group_per_minute`` per minute per
       CHAT target -- it raises ``RetryAfter`` (seconds rounded up to whole seconds, as Telegram
       does) and the send counts nowhere;
    3. otherwise the call is admitted and counts against the limits whatever happens next;
       every ``inject_429_every``-th admitted call raises ``RetryAfter(inject_retry_after)`` and
       starts a flood wait of that length;
    4. targets in ``unreachable`` raise ``Unreachable``, in ``permanent`` ``PermanentError``;
       a target in ``transient_failures`` raises ``TransientError`` that many times first;
    5. the rest are accepted and recorded in ``deliveries``.

    ``limit_429s`` counts the 429s of steps 1-2 (a well-paced client never sees one);
    ``injected_429s`` those of step 3.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        platform: str = "telegram",
        policy: PacePolicy = TELEGRAM_PACE,
        inject_429_every: int | None = None,
        inject_retry_after: float = 3.0,
        unreachable: set[str] | None = None,
        permanent: set[str] | None = None,
        transient_failures: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        if inject_429_every is not None and inject_429_every < 1:
            raise ValueError("inject_429_every must be at least 1")
        self.platform = platform
        self.clock = clock
        self.policy = policy
        self.inject_429_every = inject_429_every
        self.inject_retry_after = inject_retry_after
        self.unreachable = set(unreachable or ())
        self.permanent = set(permanent or ())
        self.transient_failures = dict(transient_failures or {})
        self.calls = 0
        self.admitted = 0
        self.limit_429s = 0
        self.injected_429s = 0
        self.unreachable_raised = 0
        self.permanent_raised = 0
        self.transient_raised = 0
        self.blocked_until = -math.inf
        self._global = _Log(policy.global_per_second, 1.0)
        self._chats: dict[str, _Log] = {}
        self._groups: dict[str, _Log] = {}

    @property
    def retry_afters(self) -> int:
        """Every 429 raised, from the limits and injected."""
        return self.limit_429s + self.injected_429s

    async def send(self, target: Target, reply: Reply) -> None:
        self.calls += 1
        now = self.clock.monotonic()
        if now < self.blocked_until:
            self.limit_429s += 1
            raise RetryAfter(float(math.ceil(self.blocked_until - now)))
        chat = self._chats.get(target.target_id)
        if chat is None:
            chat = self._chats[target.target_id] = _Log(self.policy.per_chat_per_second, 1.0)
        logs = [self._global, chat]
        if target.kind is TargetKind.CHAT:
            group = self._groups.get(target.target_id)
            if group is None:
                group = self._groups[target.target_id] = _Log(self.policy.per_group_per_minute, 60.0)
            logs.append(group)
        wait = max(log.wait(now) for log in logs)
        if wait > 0:
            self.limit_429s += 1
            raise RetryAfter(float(math.ceil(wait)))
        for log in logs:
            log.times.append(now)
        self.admitted += 1
        if self.inject_429_every is not None and self.admitted % self.inject_429_every == 0:
            self.injected_429s += 1
            self.blocked_until = now + self.inject_retry_after
            raise RetryAfter(self.inject_retry_after)
        if target.target_id in self.unreachable:
            self.unreachable_raised += 1
            raise Unreachable(f"{target.target_id} blocked the bot")
        if target.target_id in self.permanent:
            self.permanent_raised += 1
            raise PermanentError(f"{target.target_id}: message refused")
        remaining = self.transient_failures.get(target.target_id, 0)
        if remaining > 0:
            self.transient_failures[target.target_id] = remaining - 1
            self.transient_raised += 1
            raise TransientError(f"{target.target_id}: server error")
        self.deliveries.append(Delivery(now, target, reply_text(reply)))


class NoopTransport:
    """A ``Sender`` that accepts everything and only counts (for benchmarks)."""

    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.count = 0

    async def send(self, target: Target, reply: Reply) -> None:
        self.count += 1


class RecordingTransport(DeliveryLog):
    """A ``Sender`` without limits that records every delivery, timed by ``clock``."""

    def __init__(self, clock: Clock | None = None, platform: str = "console") -> None:
        super().__init__()
        self.platform = platform
        self.clock: Clock = clock if clock is not None else RealClock()

    async def send(self, target: Target, reply: Reply) -> None:
        self.deliveries.append(Delivery(self.clock.monotonic(), target, reply_text(reply)))
