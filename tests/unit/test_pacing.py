"""The pacer keeps every platform limit in every window, also right after a pause."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery import CONSOLE_PACE, TELEGRAM_PACE, PacePolicy, RetryAfter, Target, TargetKind
from bot.replies import Text
from jobs.clock import RealClock, VirtualClock
from jobs.pacing import Pacer, SlidingWindow
from tests.delivery_fakes import LimitEnforcingTransport, NoopTransport, max_events_in_window

START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def user(i: int | str) -> Target:
    return Target("telegram", TargetKind.USER, f"u{i}")


def group(i: int | str) -> Target:
    return Target("telegram", TargetKind.CHAT, f"-100{i}")


def telegram_pacer() -> Pacer:
    return Pacer(TELEGRAM_PACE, VirtualClock(START))


async def acquire_all(pacer: Pacer, targets: list[Target]) -> list[float]:
    """Acquire for each target in turn; the times the pacer let each one go."""
    times = []
    for target in targets:
        await pacer.acquire(target)
        times.append(pacer.clock.monotonic())
    return times


def per_target_max(sent: list[tuple[float, Target]], period: float, kind: TargetKind | None = None) -> int:
    by_target: dict[str, list[float]] = {}
    for at, target in sent:
        if kind is None or target.kind is kind:
            by_target.setdefault(target.target_id, []).append(at)
    return max((max_events_in_window(ts, period) for ts in by_target.values()), default=0)


# --- clocks -------------------------------------------------------------------------------------


async def test_virtual_clock_moves_only_when_told_and_keeps_wall_time_in_step() -> None:
    clock = VirtualClock(START)
    assert clock.monotonic() == 0.0
    assert clock.now() == START
    clock.advance(1.5)
    await clock.sleep(2.5)
    await clock.sleep(-1)  # only yields
    assert clock.monotonic() == 4.0
    assert clock.now() == START + timedelta(seconds=4)
    assert clock.now().tzinfo is not None


def test_virtual_clock_refuses_to_go_back_or_a_naive_start() -> None:
    with pytest.raises(ValueError):
        VirtualClock(START).advance(-0.1)
    with pytest.raises(ValueError):
        VirtualClock(datetime(2026, 1, 1))


def test_virtual_clock_defaults_to_the_real_time() -> None:
    before = datetime.now(UTC)
    now = VirtualClock().now()
    assert before <= now <= datetime.now(UTC)


async def test_real_clock() -> None:
    clock = RealClock()
    start = clock.monotonic()
    await clock.sleep(0.01)
    assert clock.monotonic() - start >= 0.009
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
    await clock.sleep(-1)  # a negative sleep does not raise


# --- SlidingWindow -----------------------------------------------------------------------------


def test_window_fills_then_waits_for_its_oldest_event() -> None:
    window = SlidingWindow(3, 1.0)
    for at in (0.0, 0.25, 0.5):
        assert window.wait(at) == 0.0
        window.record(at)
    assert window.wait(0.5) == 0.5
    assert window.wait(0.75) == 0.25
    assert window.wait(1.0) == 0.0  # the event at 0.0 has left [0.0, 1.0)
    assert len(window) == 2
    assert window.last == 0.5


def test_window_idle_and_bounded() -> None:
    window = SlidingWindow(2, 60.0)
    assert window.idle(0.0)
    for at in range(10):  # recording past the limit never grows the log
        window.record(float(at))
    assert len(window) == 2
    assert not window.idle(68.0)
    assert window.idle(69.0)


@pytest.mark.parametrize(("limit", "period"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_window_rejects_nonsense(limit: int, period: float) -> None:
    with pytest.raises(ValueError):
        SlidingWindow(limit, period)


@pytest.mark.parametrize(("limit", "period"), [(1, 1.0), (3, 1.0), (30, 1.0), (20, 60.0), (7, 0.1)])
def test_window_never_holds_more_than_its_limit(limit: int, period: float) -> None:
    rng = random.Random(limit)
    window = SlidingWindow(limit, period)
    now = 0.0
    times = []
    for _ in range(2000):
        now += rng.expovariate(3 * limit / period)  # arrivals three times faster than allowed
        wait = window.wait(now)
        while wait > 0:
            now += wait
            wait = window.wait(now)
        window.record(now)
        times.append(now)
    assert max_events_in_window(times, period) == limit
    # ...and it is not needlessly slow: full use of the limit, less the last partial window.
    assert len(times) / (times[-1] - times[0] + period) >= 0.95 * limit / period


# --- Pacer: the three Telegram limits ----------------------------------------------------------


async def test_distinct_users_go_at_the_full_global_rate_and_never_faster() -> None:
    pacer = telegram_pacer()
    times = await acquire_all(pacer, [user(i) for i in range(200)])
    assert max_events_in_window(times, 1.0) == 30
    assert times[-1] - times[0] <= 200 / (0.95 * 30)


async def test_one_user_gets_at_most_one_message_per_second() -> None:
    pacer = telegram_pacer()
    times = await acquire_all(pacer, [user(1)] * 5)
    for earlier, later in itertools.pairwise(times):
        assert earlier + 1.0 <= later
    assert times[-1] - times[0] == pytest.approx(4.0)


async def test_a_group_gets_at_most_twenty_per_minute_and_one_per_second() -> None:
    pacer = telegram_pacer()
    times = await acquire_all(pacer, [group(1)] * 25)
    assert max_events_in_window(times, 60.0) == 20
    assert max_events_in_window(times, 1.0) == 1
    assert times[20] >= times[0] + 60.0
    assert pacer.tracked_groups == 1


async def test_limits_of_one_target_do_not_hold_back_others_waiting_behind_nothing() -> None:
    pacer = telegram_pacer()
    await pacer.acquire(user(1))
    assert pacer.delay(user(1)) == pytest.approx(1.0)
    assert pacer.delay(user(2)) == 0.0
    assert pacer.delay(group(1)) == 0.0


async def test_a_user_and_a_group_with_the_same_id_share_the_per_chat_window() -> None:
    pacer = telegram_pacer()
    await pacer.acquire(Target("telegram", TargetKind.USER, "42"))
    assert pacer.delay(Target("telegram", TargetKind.CHAT, "42")) == pytest.approx(1.0)


def test_a_policy_with_a_zero_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        Pacer(PacePolicy(global_per_second=30, per_chat_per_second=0), VirtualClock(START))


# --- Pacer: pauses -------------------------------------------------------------------------------


async def test_after_a_pause_sends_start_late_and_never_burst() -> None:
    pacer = telegram_pacer()
    before = await acquire_all(pacer, [user(i) for i in range(30)])  # the window is full at t=0
    pacer.pause(3)
    paused_at = pacer.clock.monotonic()
    after = await acquire_all(pacer, [user(i) for i in range(30, 230)])  # a backlog of 200
    assert after[0] >= paused_at + 3
    assert sum(1 for t in after if t < after[0] + 1.0) <= 30
    assert max_events_in_window(before + after, 1.0) == 30


async def test_a_pause_shorter_than_the_window_does_not_reopen_it() -> None:
    pacer = telegram_pacer()
    await acquire_all(pacer, [user(i) for i in range(30)])
    pacer.pause(0.5)
    times = await acquire_all(pacer, [user(i) for i in range(30, 90)])
    assert times[0] == 1.0  # the window, not the pause, decides
    assert max_events_in_window(times, 1.0) == 30


async def test_a_later_shorter_pause_does_not_shorten_an_earlier_one() -> None:
    pacer = telegram_pacer()
    pacer.pause(5)
    pacer.pause(2)
    assert pacer.paused_until == 5.0
    await pacer.acquire(user(1))
    assert pacer.clock.monotonic() == 5.0
    pacer.pause(1)  # extends from now: 6.0
    await pacer.acquire(user(2))
    assert pacer.clock.monotonic() == 6.0


async def test_a_pause_during_a_wait_is_honoured_before_sending() -> None:
    clock = VirtualClock(START)
    pacer = Pacer(TELEGRAM_PACE, clock)
    await pacer.acquire(user(1))
    waiting = asyncio.create_task(pacer.acquire(user(1)))  # must wait 1 s for the chat window
    await asyncio.sleep(0)  # it advanced the clock to 1.0 and yielded before re-checking
    pacer.pause(2)
    await waiting
    assert clock.monotonic() == 3.0


# --- Pacer: concurrency, cancellation, memory ---------------------------------------------------


async def test_concurrent_workers_never_overshoot_any_limit() -> None:
    pacer = telegram_pacer()
    sent: list[tuple[float, Target]] = []
    rng = random.Random(7)

    async def worker(n: int) -> None:
        for i in range(50):
            target = group(rng.randrange(3)) if (n + i) % 5 == 0 else user(rng.randrange(40))
            await pacer.acquire(target)
            sent.append((pacer.clock.monotonic(), target))

    await asyncio.gather(*(worker(n) for n in range(10)))
    assert len(sent) == 500
    assert max_events_in_window([at for at, _ in sent], 1.0) <= 30
    assert per_target_max(sent, 1.0) == 1
    assert per_target_max(sent, 60.0, TargetKind.CHAT) == 20


async def test_concurrent_workers_to_distinct_users_get_the_full_rate() -> None:
    pacer = telegram_pacer()
    sent: list[float] = []

    async def worker(n: int) -> None:
        for i in range(50):
            await pacer.acquire(user(f"{n}-{i}"))
            sent.append(pacer.clock.monotonic())

    await asyncio.gather(*(worker(n) for n in range(10)))
    assert max_events_in_window(sent, 1.0) == 30
    assert max(sent) - min(sent) <= 500 / (0.95 * 30)


async def test_a_cancelled_acquire_counts_nothing() -> None:
    pacer = Pacer(PacePolicy(global_per_second=2), RealClock())
    await pacer.acquire(user(1))
    waiting = asyncio.create_task(pacer.acquire(user(1)))  # waits about a second, really
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    start = time.monotonic()
    await pacer.acquire(user(2))  # the cancelled one took no global slot, and freed the lock
    assert time.monotonic() - start < 0.5


async def test_idle_per_chat_windows_are_dropped() -> None:
    clock = VirtualClock(START)
    pacer = Pacer(TELEGRAM_PACE, clock)
    await acquire_all(pacer, [user(i) for i in range(3000)])  # 100 s at 30/s, all distinct
    assert pacer.tracked_chats <= 31
    await acquire_all(pacer, [group(i) for i in range(600)])  # 20 s at 30/s
    clock.advance(61)
    await pacer.acquire(group("x"))
    assert pacer.tracked_groups == 1
    assert pacer.tracked_chats == 1


# --- Pacer with a transport that enforces Telegram's limits itself ------------------------------


async def relay(pacer: Pacer, transport: LimitEnforcingTransport, items: list[Target], workers: int = 10) -> None:
    """A minimal relay: workers acquire, send at once, and on 429 pause the pacer and retry."""
    queue: asyncio.Queue[tuple[int, Target]] = asyncio.Queue()
    for n, target in enumerate(items):
        queue.put_nowait((n, target))

    async def worker() -> None:
        while not queue.empty():
            n, target = queue.get_nowait()
            while True:
                await pacer.acquire(target)
                try:
                    await transport.send(target, Text(f"m{n}"))
                except RetryAfter as e:
                    pacer.pause(e.seconds)
                    continue
                break

    await asyncio.gather(*(worker() for _ in range(workers)))


def mixed_targets(n: int, seed: int = 3) -> list[Target]:
    rng = random.Random(seed)
    return [group(rng.randrange(4)) if rng.random() < 0.1 else user(rng.randrange(150)) for _ in range(n)]


async def test_a_paced_relay_never_triggers_the_platforms_429() -> None:
    clock = VirtualClock(START)
    transport = LimitEnforcingTransport(clock)
    items = mixed_targets(600)
    await relay(Pacer(TELEGRAM_PACE, clock), transport, items)
    assert transport.retry_afters == 0
    assert len(transport.deliveries) == 600
    assert sorted(transport.texts) == sorted(f"m{n}" for n in range(600))
    assert transport.max_in_window(1.0) == 30
    assert transport.max_per_target_in_window(1.0) == 1
    assert transport.max_per_target_in_window(60.0, TargetKind.CHAT) <= 20


async def test_a_paced_relay_honours_injected_429s_without_bursting_after_them() -> None:
    clock = VirtualClock(START)
    transport = LimitEnforcingTransport(clock, inject_429_every=50, inject_retry_after=3.0)
    items = [user(i) for i in range(400)]
    await relay(Pacer(TELEGRAM_PACE, clock), transport, items)
    assert transport.injected_429s >= 7
    assert transport.limit_429s == 0  # every flood wait was respected
    assert len(transport.deliveries) == 400
    assert transport.count_by_target() == {user(i): 1 for i in range(400)}
    assert transport.max_in_window(1.0) <= 30
    # The first second after each flood wait holds at most 30 (python-telegram-bot let 99 out).
    times = [d.at for d in transport.deliveries]
    gaps = [later for earlier, later in itertools.pairwise(times) if later - earlier >= 3.0]
    assert len(gaps) == transport.injected_429s
    for resumed in gaps:
        assert sum(1 for t in times if resumed <= t < resumed + 1.0) <= 30


# --- speed --------------------------------------------------------------------------------------


async def test_acquire_is_fast_enough_for_2000_messages_a_second() -> None:
    clock = VirtualClock(START)
    pacer = Pacer(CONSOLE_PACE, clock)
    transport = NoopTransport()
    n = 20_000

    async def worker(k: int) -> None:
        for i in range(n // 10):
            target = user(k * n + i) if i % 10 else group(k)
            await pacer.acquire(target)
            await transport.send(target, Text("x"))

    start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(10)))
    elapsed = time.perf_counter() - start
    assert transport.count == n
    assert n / elapsed >= 2000, f"{n / elapsed:.0f} acquisitions per second"
