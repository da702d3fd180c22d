"""The fake transports themselves: their limits, their failures, and their measurements."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from bot.delivery import (
    PacePolicy,
    PermanentError,
    RetryAfter,
    Sender,
    Target,
    TargetKind,
    TransientError,
    Unreachable,
)
from bot.replies import File, Image, Text
from jobs.clock import VirtualClock
from tests.delivery_fakes import (
    Delivery,
    LimitEnforcingTransport,
    NoopTransport,
    RecordingTransport,
    max_events_in_window,
    reply_text,
)

START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
HELLO = Text("hello")


def user(i: int | str) -> Target:
    return Target("telegram", TargetKind.USER, f"u{i}")


def group(i: int | str) -> Target:
    return Target("telegram", TargetKind.CHAT, f"-100{i}")


def fake(**kwargs: object) -> tuple[VirtualClock, LimitEnforcingTransport]:
    clock = VirtualClock(START)
    return clock, LimitEnforcingTransport(clock, **kwargs)  # type: ignore[arg-type]


# --- max_events_in_window ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "period", "expected"),
    [
        ([], 1.0, 0),
        ([5.0], 1.0, 1),
        ([0.0, 1.0, 2.0], 1.0, 1),  # a window is half-open: [0, 1) does not hold 1.0
        ([0.0, 0.999, 1.0], 1.0, 2),
        ([0.0, 0.5, 0.999, 1.0, 1.5, 1.999], 1.0, 3),
        ([0.0, 0.0, 0.0], 1.0, 3),
        ([2.0, 0.1, 1.05, 0.2, 1.0], 1.0, 4),  # unsorted input; [0.1, 1.1) holds four
        ([0.0, 10.0, 20.0, 59.9, 60.0], 60.0, 4),
    ],
)
def test_max_in_window_on_hand_made_times(times: list[float], period: float, expected: int) -> None:
    assert max_events_in_window(times, period) == expected


def brute_force(times: list[float], period: float) -> int:
    # Some best window can always start at an event, so trying those starts is enough.
    return max((sum(1 for u in times if t <= u < t + period) for t in times), default=0)


@pytest.mark.parametrize("seed", range(20))
def test_max_in_window_agrees_with_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    times = [round(rng.uniform(0, 10), rng.choice([0, 1, 2])) for _ in range(rng.randrange(1, 80))]
    for period in (0.5, 1.0, 3.0):
        assert max_events_in_window(times, period) == brute_force(times, period)


def test_max_in_window_refuses_a_zero_period() -> None:
    with pytest.raises(ValueError):
        max_events_in_window([1.0], 0.0)


def test_delivery_log_questions() -> None:
    log = RecordingTransport(VirtualClock(START))
    log.deliveries += [
        Delivery(0.0, user(1), "a"),
        Delivery(0.2, user(1), "b"),
        Delivery(0.4, group(1), "c"),
        Delivery(0.6, group(1), "d"),
        Delivery(0.8, group(1), "e"),
        Delivery(5.0, user(2), "f"),
    ]
    assert log.max_in_window(1.0) == 5
    assert log.max_in_window(1.0, lambda d: d.target.kind is TargetKind.USER) == 2
    assert log.max_per_target_in_window(1.0) == 3
    assert log.max_per_target_in_window(1.0, TargetKind.USER) == 2
    assert log.count_by_target() == Counter({group(1): 3, user(1): 2, user(2): 1})
    assert log.texts == ["a", "b", "c", "d", "e", "f"]


# --- the limits ----------------------------------------------------------------------------------


async def test_thirty_a_second_overall_then_429() -> None:
    clock, transport = fake()
    for i in range(30):
        await transport.send(user(i), HELLO)
    with pytest.raises(RetryAfter) as caught:
        await transport.send(user(30), HELLO)
    assert caught.value.seconds == 1.0
    assert (len(transport.deliveries), transport.limit_429s, transport.injected_429s) == (30, 1, 0)
    clock.advance(0.5)
    with pytest.raises(RetryAfter):
        await transport.send(user(30), HELLO)
    clock.advance(0.5)
    await transport.send(user(30), HELLO)  # the refused sends did not count
    assert len(transport.deliveries) == 31
    assert transport.calls == 33


async def test_one_a_second_per_chat() -> None:
    clock, transport = fake()
    await transport.send(user(1), HELLO)
    clock.advance(0.1)
    with pytest.raises(RetryAfter) as caught:
        await transport.send(user(1), HELLO)
    assert caught.value.seconds == 1.0  # 0.9 s, rounded up as Telegram does
    await transport.send(user(2), HELLO)
    clock.advance(0.9)
    await transport.send(user(1), HELLO)
    assert transport.count_by_target() == {user(1): 2, user(2): 1}


async def test_twenty_a_minute_per_group() -> None:
    clock, transport = fake()
    for _ in range(20):
        await transport.send(group(1), HELLO)
        clock.advance(1.0)
    with pytest.raises(RetryAfter) as caught:
        await transport.send(group(1), HELLO)  # at t=20: the first left at t=0, free at t=60
    assert caught.value.seconds == 40.0
    await transport.send(group(2), HELLO)  # another group is not affected
    clock.advance(40.0)
    await transport.send(group(1), HELLO)
    assert transport.max_in_window(60.0, lambda d: d.target == group(1)) == 20


async def test_other_policies() -> None:
    clock = VirtualClock(START)
    transport = LimitEnforcingTransport(clock, platform="discord", policy=PacePolicy(2, 2, 3))
    await transport.send(user(1), HELLO)
    await transport.send(user(1), HELLO)
    with pytest.raises(RetryAfter):
        await transport.send(user(1), HELLO)
    assert transport.platform == "discord"


async def test_driven_too_fast_without_a_pacer_it_answers_429s() -> None:
    clock, transport = fake()
    refused = 0
    for i in range(300):  # 100 a second, as a naive loop after a flood wait would
        try:
            await transport.send(user(i), HELLO)
        except RetryAfter:
            refused += 1
        clock.advance(0.01)
    assert refused == transport.limit_429s == 300 - 90
    assert transport.max_in_window(1.0) == 30


# --- injected failures ---------------------------------------------------------------------------


async def test_every_nth_admitted_call_gets_an_injected_429_and_a_flood_wait() -> None:
    clock, transport = fake(inject_429_every=3)
    await transport.send(user(1), HELLO)
    await transport.send(user(2), HELLO)
    with pytest.raises(RetryAfter) as caught:
        await transport.send(user(3), HELLO)
    assert caught.value.seconds == 3.0
    assert transport.injected_429s == 1
    clock.advance(2.5)
    with pytest.raises(RetryAfter) as caught:  # still in the flood wait
        await transport.send(user(3), HELLO)
    assert caught.value.seconds == 1.0
    assert transport.limit_429s == 1
    clock.advance(0.5)
    await transport.send(user(3), HELLO)
    assert [d.target for d in transport.deliveries] == [user(1), user(2), user(3)]
    assert transport.retry_afters == 2


async def test_a_custom_injected_retry_after() -> None:
    _, transport = fake(inject_429_every=1, inject_retry_after=7.0)
    with pytest.raises(RetryAfter) as caught:
        await transport.send(user(1), HELLO)
    assert caught.value.seconds == 7.0
    assert transport.blocked_until == 7.0


async def test_unreachable_permanent_and_transient_targets() -> None:
    clock, transport = fake(unreachable={"u1"}, permanent={"u2"}, transient_failures={"u3": 2})
    with pytest.raises(Unreachable):
        await transport.send(user(1), HELLO)
    with pytest.raises(PermanentError):
        await transport.send(user(2), HELLO)
    for _ in range(2):
        with pytest.raises(TransientError):
            await transport.send(user(3), HELLO)
        clock.advance(1.0)
    await transport.send(user(3), HELLO)
    assert transport.count_by_target() == {user(3): 1}
    assert (transport.unreachable_raised, transport.permanent_raised, transport.transient_raised) == (1, 1, 2)


async def test_failed_calls_still_count_against_the_limits() -> None:
    _, transport = fake(unreachable={"u1"})
    with pytest.raises(Unreachable):
        await transport.send(user(1), HELLO)
    with pytest.raises(RetryAfter):
        await transport.send(user(1), HELLO)


def test_inject_every_must_be_positive() -> None:
    with pytest.raises(ValueError):
        fake(inject_429_every=0)


# --- the other fakes -----------------------------------------------------------------------------


def test_reply_text() -> None:
    assert reply_text(Text("hi")) == "hi"
    assert reply_text(File("list.csv", b"a,b", "text/csv")) == "list.csv"
    assert reply_text(Image("map.png", b"\x89PNG")) == "map.png"


async def test_noop_and_recording_transports() -> None:
    clock = VirtualClock(START)
    noop = NoopTransport()
    recording = RecordingTransport(clock, platform="telegram")
    senders: list[Sender] = [noop, recording, LimitEnforcingTransport(clock)]
    assert [s.platform for s in senders] == ["console", "telegram", "telegram"]
    for _ in range(100):  # no limits at all
        await noop.send(user(1), HELLO)
        await recording.send(user(1), HELLO)
    clock.advance(2.0)
    await recording.send(group(1), Image("map.png", b""))
    assert noop.count == 100
    assert len(recording.deliveries) == 101
    assert recording.max_in_window(1.0) == 100
    assert recording.deliveries[-1] == Delivery(2.0, group(1), "map.png")
