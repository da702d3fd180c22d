"""The relay on a real database (SQLite and PostgreSQL), against a strict fake Telegram.

Most tests run on a ``VirtualClock``: the relay drains what is due, then the clock jumps to the
next row that becomes due (a retry, a back-off), until nothing is left. Each message's text is
its dedupe key, so deliveries can be matched to rows.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, Engine, Table, select, update

from bot.delivery import (
    CONSOLE_PACE,
    TELEGRAM_PACE,
    DeliveryError,
    OutboxItem,
    Sender,
    Status,
    Target,
    TargetKind,
)
from bot.member_admin import import_members
from bot.network import Network
from bot.replies import Reply, Text
from jobs.clock import Clock, RealClock, VirtualClock
from jobs.pacing import Pacer
from jobs.relay import Relay, RelaySettings
from storage.db import make_engine, make_session_factory
from storage.models import IdentityRow, OutboxRow
from storage.outbox_store import OutboxStore
from storage.uow import SqlUnitOfWork
from tests.delivery_fakes import LimitEnforcingTransport, RecordingTransport, max_events_in_window

from .conftest import UowFactory

START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
TELEGRAM = "telegram"

_outbox: Table = OutboxRow.__table__  # type: ignore[assignment]
_identities: Table = IdentityRow.__table__  # type: ignore[assignment]


# --- building rows ----------------------------------------------------------------------------


def item(
    key: str,
    target_id: str,
    *,
    kind: TargetKind = TargetKind.USER,
    platform: str = TELEGRAM,
    member_id: int | None = None,
    at: datetime = START,
) -> OutboxItem:
    """A message whose text is its own dedupe key."""
    return OutboxItem(
        dedupe_key=key,
        target=Target(platform, kind, target_id),
        reply=Text(key),
        not_before=at,
        member_id=member_id,
    )


def queue(uow_factory: UowFactory, items: Iterable[OutboxItem]) -> int:
    """Queue ``items`` in one transaction; returns how many were new."""
    with uow_factory() as uow:
        added = sum(uow.outbox.add(i) for i in items)
        uow.commit()
    return added


@dataclass(frozen=True)
class RowState:
    status: str
    attempts: int
    last_error: str | None
    platform: str
    target_id: str
    member_id: int | None
    claimed_by: str | None


def rows(engine: Engine) -> dict[str, RowState]:
    """Every outbox row by dedupe key."""
    with engine.connect() as connection:
        result = connection.execute(
            select(
                _outbox.c.dedupe_key,
                _outbox.c.status,
                _outbox.c.attempts,
                _outbox.c.last_error,
                _outbox.c.platform,
                _outbox.c.target_id,
                _outbox.c.member_id,
                _outbox.c.claimed_by,
            )
        )
        return {r.dedupe_key: RowState(*r[1:]) for r in result}


def identity_flags(engine: Engine) -> dict[tuple[str, str], bool]:
    with engine.connect() as connection:
        result = connection.execute(select(_identities.c.platform, _identities.c.user_id, _identities.c.unreachable))
        return {(p, u): bool(flag) for p, u, flag in result}


# --- a spy on every call the relay makes --------------------------------------------------------


@dataclass(frozen=True)
class Call:
    at: float
    target_id: str
    text: str
    outcome: str  # "ok", or the DeliveryError's class name


class Spy:
    """Wraps a Sender and logs every call with its outcome, timed by ``clock``."""

    def __init__(self, inner: Sender, clock: Clock) -> None:
        self.inner = inner
        self.clock = clock
        self.platform = inner.platform
        self.calls: list[Call] = []

    async def send(self, target: Target, reply: Reply) -> None:
        at = self.clock.monotonic()
        text = reply.text if isinstance(reply, Text) else ""
        try:
            await self.inner.send(target, reply)
        except DeliveryError as exc:
            self.calls.append(Call(at, target.target_id, text, type(exc).__name__))
            raise
        self.calls.append(Call(at, target.target_id, text, "ok"))

    def of(self, text: str) -> list[Call]:
        return [c for c in self.calls if c.text == text]


@dataclass
class Harness:
    engine: Engine
    clock: VirtualClock
    transport: LimitEnforcingTransport
    spy: Spy
    pacer: Pacer
    store: OutboxStore
    relay: Relay
    rounds: int = field(default=0)

    async def run_to_completion(self, max_rounds: int = 10_000) -> None:
        """Drain; jump the virtual clock to the next due row; until nothing is queued."""
        platform = self.relay.platform
        while True:
            await self.relay.drain()
            due = self.store.next_due(platform)
            if due is None:
                return
            now = self.clock.now()
            if due > now:
                self.clock.advance((due - now).total_seconds())
                if self.clock.now() < due:  # rounding to microseconds
                    self.clock.advance(1e-6)
            self.rounds += 1
            assert self.rounds < max_rounds, "the relay makes no progress"


def harness(engine: Engine, *, settings: RelaySettings | None = None, **transport: Any) -> Harness:
    clock = VirtualClock(START)
    fake = LimitEnforcingTransport(clock, **transport)
    spy = Spy(fake, clock)
    pacer = Pacer(TELEGRAM_PACE, clock)
    store = OutboxStore(engine, "relay-test")
    relay = Relay(store, spy, pacer, clock, settings, rng=random.Random(7))
    return Harness(engine, clock, fake, spy, pacer, store, relay)


def member_ids(uow_factory: UowFactory, identities: Iterable[tuple[str, str]]) -> dict[str, int]:
    found: dict[str, int] = {}
    with uow_factory() as uow:
        for platform, user_id in identities:
            member = uow.members.by_identity(platform, user_id)
            assert member is not None and member.id is not None
            found[f"{platform}:{user_id}"] = member.id
    return found


# --- pacing ------------------------------------------------------------------------------------


async def test_a_broadcast_is_paced_to_the_global_limit_and_never_draws_a_429(
    engine: Engine, uow_factory: UowFactory
) -> None:
    n = 300
    queue(uow_factory, (item(f"b:{i}", f"u{i}") for i in range(n)))
    h = harness(engine)

    await h.run_to_completion()

    assert h.transport.limit_429s == 0
    assert h.transport.retry_afters == 0
    assert len(h.transport.deliveries) == n
    assert sorted(h.transport.texts) == sorted(f"b:{i}" for i in range(n))
    assert h.transport.max_in_window(1.0) <= TELEGRAM_PACE.global_per_second
    assert max_events_in_window((c.at for c in h.spy.calls), 1.0) <= 30
    # ...and not slower than it has to be: 300 messages at 30/s take just under 10 s.
    span = h.transport.deliveries[-1].at - h.transport.deliveries[0].at
    assert span == pytest.approx((n - 30) / 30, abs=1.0)
    assert {r.status for r in rows(engine).values()} == {Status.SENT.value}
    assert all(r.attempts == 1 and r.claimed_by is None for r in rows(engine).values())
    assert h.relay.outcomes == {Status.SENT: n}


async def test_several_rows_to_one_chat_go_at_most_one_a_second(engine: Engine, uow_factory: UowFactory) -> None:
    items = [item(f"dm:{i}", "u1") for i in range(6)]
    items += [item(f"group:{i}", "-1001", kind=TargetKind.CHAT) for i in range(25)]
    items += [item(f"other:{i}", f"u{100 + i}") for i in range(40)]
    queue(uow_factory, items)
    h = harness(engine)

    await h.run_to_completion()

    assert h.transport.limit_429s == 0
    assert len(h.transport.deliveries) == len(items)
    assert h.transport.max_per_target_in_window(1.0) == 1
    assert h.transport.max_per_target_in_window(60.0, TargetKind.CHAT) == TELEGRAM_PACE.per_group_per_minute
    dm_times = sorted(d.at for d in h.transport.deliveries if d.target.target_id == "u1")
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(dm_times))
    assert h.transport.max_in_window(1.0) <= 30


# --- a 429 --------------------------------------------------------------------------------------


async def test_an_injected_429_pauses_the_relay_and_the_row_is_sent_after_retry_after(
    engine: Engine, uow_factory: UowFactory
) -> None:
    n = 120
    queue(uow_factory, (item(f"b:{i}", f"u{i}") for i in range(n)))
    h = harness(engine, inject_429_every=50, inject_retry_after=3.0)

    await h.run_to_completion()

    fake = h.transport
    assert fake.injected_429s == 2
    assert fake.limit_429s == 0  # nothing was sent during a flood wait, nor too fast after it
    assert sorted(fake.texts) == sorted(f"b:{i}" for i in range(n))
    assert Counter(fake.texts).most_common(1)[0][1] == 1
    assert fake.max_in_window(1.0) <= 30
    assert max_events_in_window((c.at for c in h.spy.calls), 1.0) <= 30

    limited = [c for c in h.spy.calls if c.outcome == "RetryAfter"]
    assert len(limited) == 2
    for hit in limited:
        # The relay paused: no call at all during the flood wait...
        assert not [c for c in h.spy.calls if hit.at < c.at < hit.at + 3.0]
        # ...and the rate-limited row was retried after retry_after, and delivered.
        again = [c for c in h.spy.of(hit.text) if c.at > hit.at]
        assert again and again[0].outcome == "ok"
        assert again[0].at >= hit.at + 3.0
        # No burst once the pause is over: the next second holds no more than the limit.
        after = [c for c in h.spy.calls if hit.at + 3.0 <= c.at < hit.at + 4.0]
        assert len(after) <= 30
    state = rows(engine)
    assert {r.status for r in state.values()} == {Status.SENT.value}
    # A 429 is the platform's doing, not a failed attempt.
    assert all(state[c.text].attempts == 1 for c in limited)
    assert h.relay.outcomes["retry_after"] == 2


# --- transient errors, giving up, permanent errors -------------------------------------------------


async def test_a_transient_error_is_retried_with_back_off_then_sent(engine: Engine, uow_factory: UowFactory) -> None:
    queue(uow_factory, [item("flaky", "u1"), *(item(f"ok:{i}", f"u{10 + i}") for i in range(5))])
    h = harness(engine, transient_failures={"u1": 3})

    await h.run_to_completion()

    calls = h.spy.of("flaky")
    assert [c.outcome for c in calls] == ["TransientError"] * 3 + ["ok"]
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    # Equal jitter: retry n waits between half and all of base * 2**(n-1) (base 2 s).
    for n, gap in enumerate(gaps, start=1):
        ceiling = 2.0 * 2 ** (n - 1)
        assert ceiling / 2 <= gap <= ceiling + 0.1, (n, gap)
    state = rows(engine)["flaky"]
    assert state.status == Status.SENT.value
    assert state.attempts == 4
    assert len(h.transport.deliveries) == 6
    assert h.relay.outcomes["retry"] == 3


async def test_it_gives_up_after_max_attempts_and_keeps_the_last_error(engine: Engine, uow_factory: UowFactory) -> None:
    queue(uow_factory, [item("doomed", "u1"), item("fine", "u2")])
    h = harness(engine, settings=RelaySettings(max_attempts=4), transient_failures={"u1": 100})

    await h.run_to_completion()

    assert [c.outcome for c in h.spy.of("doomed")] == ["TransientError"] * 4
    state = rows(engine)
    assert state["doomed"].status == Status.FAILED.value
    assert state["doomed"].attempts == 4
    assert state["doomed"].last_error is not None
    assert "gave up after 4 attempts" in state["doomed"].last_error
    assert "u1: server error" in state["doomed"].last_error
    assert state["fine"].status == Status.SENT.value
    assert h.store.next_due(TELEGRAM) is None


async def test_a_permanent_error_fails_the_row_without_retrying(engine: Engine, uow_factory: UowFactory) -> None:
    queue(uow_factory, [item("refused", "u1"), item("fine", "u2")])
    h = harness(engine, permanent={"u1"})

    await h.run_to_completion()

    assert [c.outcome for c in h.spy.of("refused")] == ["PermanentError"]
    state = rows(engine)
    assert state["refused"].status == Status.FAILED.value
    assert state["refused"].attempts == 1
    assert state["refused"].last_error == "u1: message refused"
    assert state["fine"].status == Status.SENT.value


# --- unreachable ----------------------------------------------------------------------------------


MEMBERS_CSV = """display_name,home_chapter,languages,consent_at,identities
Anna,lyon,fr;en,2026-01-01T00:00:00+00:00,telegram:100;discord:200
Ben,frankfurt,de;en,2026-01-01T00:00:00+00:00,telegram:101
Chiyo,yokohama,ja;en,2026-01-01T00:00:00+00:00,telegram:102;discord:202
"""


async def test_an_unreachable_identity_is_flagged_and_the_member_reached_on_their_other_platform(
    engine: Engine, uow_factory: UowFactory, network: Network
) -> None:
    with uow_factory() as uow:
        import_members(uow, MEMBERS_CSV, network)
    ids = member_ids(uow_factory, [(TELEGRAM, "100"), (TELEGRAM, "101"), (TELEGRAM, "102")])
    queue(
        uow_factory,
        [
            item("ann:anna", "100", member_id=ids["telegram:100"]),
            item("ann:ben", "101", member_id=ids["telegram:101"]),
            item("ann:chiyo", "102", member_id=ids["telegram:102"]),
        ],
    )
    h = harness(engine, unreachable={"100", "101"})

    await h.run_to_completion()

    state = rows(engine)
    assert state["ann:anna"].status == Status.UNREACHABLE.value
    assert state["ann:anna"].last_error == "100 blocked the bot"
    assert state["ann:ben"].status == Status.UNREACHABLE.value
    assert state["ann:chiyo"].status == Status.SENT.value
    assert [c.outcome for c in h.spy.of("ann:anna")] == ["Unreachable"]  # not retried
    flags = identity_flags(engine)
    assert flags[(TELEGRAM, "100")] is True
    assert flags[(TELEGRAM, "101")] is True
    assert flags[(TELEGRAM, "102")] is False
    assert flags[("discord", "200")] is False
    # Anna linked Discord: the message is queued there, under a key of its own; Ben has nowhere else.
    rerouted = state["ann:anna:via:discord"]
    assert (rerouted.platform, rerouted.target_id, rerouted.member_id) == ("discord", "200", ids["telegram:100"])
    assert rerouted.status == Status.QUEUED.value
    assert set(state) == {"ann:anna", "ann:ben", "ann:chiyo", "ann:anna:via:discord"}

    # The Discord relay delivers it, with the original message.
    discord_clock = VirtualClock(START)
    discord = RecordingTransport(discord_clock, platform="discord")
    discord_relay = Relay(
        OutboxStore(engine, "discord-relay"), discord, Pacer(CONSOLE_PACE, discord_clock), discord_clock
    )
    assert await discord_relay.drain() == 1
    assert [(d.target.target_id, d.text) for d in discord.deliveries] == [("200", "ann:anna")]
    assert rows(engine)["ann:anna:via:discord"].status == Status.SENT.value


# --- dedupe, malformed payloads -----------------------------------------------------------------------


async def test_the_same_dedupe_key_is_queued_and_sent_once(engine: Engine, uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        uow.outbox.add(item("once", "u1"))
        uow.outbox.add(item("once", "u1"))  # in the same transaction
        uow.commit()
    queue(uow_factory, [item("once", "u1"), item("once", "u2")])  # and in a later one
    assert rows(engine)["once"].target_id == "u1"
    h = harness(engine)

    await h.run_to_completion()

    assert h.transport.texts == ["once"]
    assert [d.target.target_id for d in h.transport.deliveries] == ["u1"]
    assert h.store.counts(TELEGRAM) == {Status.SENT.value: 1}
    # Queued again after it was sent: still nothing new.
    queue(uow_factory, [item("once", "u1")])
    assert h.store.counts(TELEGRAM) == {Status.SENT.value: 1}


async def test_add_tells_whether_the_row_was_new(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        assert uow.outbox.add(item("once", "u1")) is True
        assert uow.outbox.add(item("once", "u1")) is False
        uow.commit()
    with uow_factory() as uow:
        assert uow.outbox.add(item("once", "u2")) is False
        assert uow.outbox.platforms == set()  # nothing new: no relay to wake
        uow.commit()


MALFORMED: list[Any] = [
    {"type": "video", "url": "x"},  # unknown type
    {"type": "text"},  # no text
    {"type": "file", "filename": "a.pdf", "data": "not base64!", "mime_type": "application/pdf"},
    {"type": "text", "text": "hi", "buttons": [[["only a label"]]]},
    {"type": "text", "text": "hi", "buttons": [[["label", "x" * 100]]]},  # action too long
]


async def test_a_malformed_payload_fails_its_row_without_stopping_the_relay(
    engine: Engine, uow_factory: UowFactory
) -> None:
    bad = [f"bad:{i}" for i in range(len(MALFORMED))]
    queue(uow_factory, [*(item(key, f"u{i}") for i, key in enumerate(bad)), item("good", "u99")])
    with engine.begin() as connection:
        for key, payload in zip(bad, MALFORMED, strict=True):
            connection.execute(update(_outbox).where(_outbox.c.dedupe_key == key).values(payload=payload))
    h = harness(engine)

    await h.run_to_completion()

    state = rows(engine)
    for key in bad:
        assert state[key].status == Status.FAILED.value, key
        assert (state[key].last_error or "").startswith("malformed payload"), key
    assert state["good"].status == Status.SENT.value
    assert h.transport.texts == ["good"]
    assert h.transport.calls == 1  # malformed rows never reach the platform


@pytest.mark.parametrize("payload", [["text", "hi"], "hi", 42, JSON.NULL], ids=["list", "string", "number", "null"])
async def test_a_payload_that_is_not_an_object_fails_its_row_without_stopping_the_relay(
    engine: Engine, uow_factory: UowFactory, payload: Any
) -> None:
    queue(uow_factory, [item("bad", "u1"), item("good", "u2")])
    with engine.begin() as connection:
        connection.execute(update(_outbox).where(_outbox.c.dedupe_key == "bad").values(payload=payload))
    h = harness(engine)

    await h.run_to_completion()

    state = rows(engine)
    assert state["bad"].status == Status.FAILED.value
    assert (state["bad"].last_error or "").startswith("malformed payload")
    assert state["good"].status == Status.SENT.value
    assert h.transport.texts == ["good"]


# --- claims: release at shutdown, stale claims, concurrent claimers -------------------------------------


class WatchedStore(OutboxStore):
    """Tells when the relay has gone idle (it asks for the next due row before it sleeps).

    Create it on the event loop: the relay calls the store from worker threads."""

    def __init__(self, engine: Engine, claimer: str) -> None:
        super().__init__(engine, claimer)
        self.idle = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def next_due(self, platform: str) -> datetime | None:
        due = super().next_due(platform)
        self._loop.call_soon_threadsafe(self.idle.set)
        return due


class Blocking:
    """A sender whose first call never returns (a send in flight when the relay stops)."""

    platform = TELEGRAM

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, target: Target, reply: Reply) -> None:
        self.started.set()
        await asyncio.Event().wait()


async def test_run_releases_its_own_claims_when_cancelled_mid_batch(engine: Engine, uow_factory: UowFactory) -> None:
    queue(uow_factory, (item(f"b:{i}", f"u{i}") for i in range(10)))
    clock = VirtualClock(START)
    store = OutboxStore(engine, "relay-a")
    sender = Blocking()
    relay = Relay(store, sender, Pacer(TELEGRAM_PACE, clock), clock, RelaySettings(concurrency=1))
    task = asyncio.create_task(relay.run(asyncio.Event()))
    await asyncio.wait_for(sender.started.wait(), timeout=2)
    assert store.counts(TELEGRAM) == {Status.SENDING.value: 10}

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert store.counts(TELEGRAM) == {Status.QUEUED.value: 10}
    assert all(r.claimed_by is None for r in rows(engine).values())


async def test_run_releases_only_its_own_claims_when_stopped(engine: Engine, uow_factory: UowFactory) -> None:
    queue(uow_factory, (item(f"b:{i}", f"u{i}") for i in range(6)))
    clock = VirtualClock(START)
    mine = WatchedStore(engine, "relay-a")
    other = OutboxStore(engine, "relay-b")
    # Claimed under this relay's name but never finished (e.g. by the previous run of it)...
    assert len(mine.claim(TELEGRAM, START, 2)) == 2
    # ...and claimed by another live relay.
    assert len(other.claim(TELEGRAM, START, 1)) == 1
    fake = LimitEnforcingTransport(clock)
    relay = Relay(mine, fake, Pacer(TELEGRAM_PACE, clock), clock)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    await asyncio.wait_for(mine.idle.wait(), timeout=2)  # drained what was queued
    stop.set()
    await asyncio.wait_for(task, timeout=2)

    assert len(fake.deliveries) == 3  # the three that were queued
    state = rows(engine)
    assert Counter(r.status for r in state.values()) == {
        Status.SENT.value: 3,
        Status.QUEUED.value: 2,  # released on the way out
        Status.SENDING.value: 1,  # not this relay's to release
    }
    assert [r.claimed_by for r in state.values() if r.status == Status.SENDING.value] == ["relay-b"]


async def test_stale_claims_of_a_dead_relay_are_released_and_sent_once(engine: Engine, uow_factory: UowFactory) -> None:
    queue(uow_factory, (item(f"b:{i}", f"u{i}") for i in range(8)))
    dead = OutboxStore(engine, "relay-dead")
    claimed = dead.claim(TELEGRAM, START, 5)
    assert len(claimed) == 5
    live = OutboxStore(engine, "relay-live")
    later = START + timedelta(minutes=10)
    live_claim = live.claim(TELEGRAM, later, 1)  # a live relay's fresh claim
    assert len(live_claim) == 1

    assert live.release(TELEGRAM, claimed_before=START) == 0  # strictly before
    assert live.release(TELEGRAM, claimed_before=START + timedelta(minutes=2)) == 5
    assert live.counts(TELEGRAM) == {Status.QUEUED.value: 2 + 5, Status.SENDING.value: 1}

    # The dead relay comes back to life: its late outcome no longer counts.
    dead.sent(claimed[0].id, START + timedelta(minutes=3))
    assert rows(engine)[claimed[0].dedupe_key].status == Status.QUEUED.value

    h = harness(engine)
    h.clock.advance(600)
    await h.run_to_completion()
    assert sorted(h.transport.texts) == sorted(f"b:{i}" for i in range(8) if f"b:{i}" != live_claim[0].dedupe_key)
    assert live.counts(TELEGRAM) == {Status.SENT.value: 7, Status.SENDING.value: 1}


def test_concurrent_claimers_never_take_the_same_row(db_url: str, uow_factory: UowFactory) -> None:
    """Two relays (two engines, two threads) claim at once: FOR UPDATE SKIP LOCKED on
    PostgreSQL, BEGIN IMMEDIATE on SQLite."""
    n = 3000
    queue(uow_factory, (item(f"b:{i}", f"u{i}") for i in range(n)))
    engines = [make_engine(db_url), make_engine(db_url)]
    stores = [OutboxStore(e, f"relay-{k}") for k, e in enumerate(engines)]
    taken: list[list[int]] = [[], []]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def claimer(k: int) -> None:
        try:
            barrier.wait()
            while batch := stores[k].claim(TELEGRAM, START, 7):
                taken[k].extend(row.id for row in batch)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for e in engines:
            e.dispose()

    assert not errors
    first, second = set(taken[0]), set(taken[1])
    assert len(first) == len(taken[0]) and len(second) == len(taken[1])
    assert not first & second
    assert len(first | second) == n
    assert taken[0] and taken[1]  # both really took part
    with engines[0].connect() as connection:
        claimers = Counter(connection.execute(select(_outbox.c.claimed_by)).scalars())
    assert claimers == {"relay-0": len(first), "relay-1": len(second)}


# --- waking ----------------------------------------------------------------------------------------


class Notifying(RecordingTransport):
    def __init__(self) -> None:
        super().__init__(RealClock(), platform=TELEGRAM)
        self.delivered = asyncio.Event()

    async def send(self, target: Target, reply: Reply) -> None:
        await super().send(target, reply)
        self.delivered.set()


async def test_run_wakes_at_once_when_a_commit_queues_a_row(engine: Engine) -> None:
    clock = RealClock()
    store = WatchedStore(engine, "relay-wake")
    transport = Notifying()
    relay = Relay(store, transport, Pacer(CONSOLE_PACE, clock), clock, RelaySettings(idle_poll=5.0))
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.wait_for(store.idle.wait(), timeout=2)  # nothing queued: it sleeps up to 5 s
        assert transport.deliveries == []

        unit_of_work = SqlUnitOfWork(
            make_session_factory(engine),
            after_commit=lambda platforms: relay.wake() if TELEGRAM in platforms else None,
        )
        with unit_of_work as uow:
            uow.outbox.add(item("hello", "u1", at=datetime.now(UTC)))
            uow.commit()

        await asyncio.wait_for(transport.delivered.wait(), timeout=2)  # far below the 5 s poll
        assert transport.texts == ["hello"]
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=2)
    assert store.counts(TELEGRAM) == {Status.SENT.value: 1}
