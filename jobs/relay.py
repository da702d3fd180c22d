"""The relay: drains one platform's outbox through its Sender, at the platform's pace.

Rows are claimed in small batches and handed to a few worker tasks. Each worker waits for
the pacer, sends, and records the outcome at once: sent; retried later (429: after the
platform's retry_after, and the whole relay pauses; transient error: exponential back-off
with jitter); given up after ``max_attempts`` with the reason kept; unreachable (the
identity is flagged and the member's other platform is used if they linked one).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from bot.delivery import (
    DeliveryError,
    PermanentError,
    RetryAfter,
    Sender,
    Status,
    TransientError,
    Unreachable,
)
from bot.payload import from_json
from bot.telemetry import NO_TELEMETRY, Telemetry
from jobs.clock import Clock
from jobs.pacing import Pacer
from storage.outbox_store import LEASE, Claimed, OutboxStore

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RelaySettings:
    concurrency: int = 4
    batch_size: int = 50
    max_attempts: int = 6
    backoff_base: float = 2.0  # seconds before the first retry of a transient error
    backoff_cap: float = 900.0
    idle_poll: float = 5.0  # longest sleep when nothing is due and nobody wakes us


class Relay:
    def __init__(
        self,
        store: OutboxStore,
        sender: Sender,
        pacer: Pacer,
        clock: Clock,
        settings: RelaySettings | None = None,
        *,
        rng: random.Random | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.store = store
        self.sender = sender
        self.pacer = pacer
        self.clock = clock
        self.settings = settings or RelaySettings()
        self.platform = sender.platform
        self._rng = rng or random.Random()
        self._telemetry = telemetry
        self._wake = asyncio.Event()
        self.outcomes: dict[str, int] = {}
        # One thread for this relay's database work: its calls queue there instead of
        # contending for the connection pool (and SQLite's writer lock) among themselves.
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"relay-{self.platform}")
        self._unmarked: list[tuple[int, asyncio.Future[None]]] = []
        self._marking: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def drain(self) -> int:
        """Send everything due now (and what becomes due while sending); returns how many
        rows were handled."""
        handled = 0
        while True:
            pause = self.pacer.paused_until - self.clock.monotonic()
            if pause > 0:  # the platform asked us to wait (429): claim nothing until then
                await self.clock.sleep(pause)
            batch = await self._db(self.store.claim, self.platform, self.clock.now(), self.settings.batch_size)
            if not batch:
                return handled
            await self._send_batch(batch)
            handled += len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; claims left unsent are released on the way out."""
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    # Claims older than the lease belong to a relay that died (or to a failed
                    # write of ours); younger ones may be another process's: they stay.
                    released = await self._db(
                        self.store.release, self.platform, claimed_before=self.clock.now() - LEASE
                    )
                    if released:
                        log.info("re-queued %s %s messages claimed by a relay that stopped", released, self.platform)
                    await self.drain()
                    await self._idle(stop)
                except Exception:  # the database went away, a bug: log, wait, go on
                    log.exception("%s relay failed; retrying in %s s", self.platform, self.settings.idle_poll)
                    await self._sleep_unless(stop, self.settings.idle_poll)
        finally:
            await self._db(self.store.release, self.platform, mine=True)
            self._db_thread.shutdown(wait=False)

    async def _db(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Database work runs in this relay's thread: the loop (and the adapters on it)
        never waits for the database."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_thread, functools.partial(call, *args, **kwargs))

    async def _idle(self, stop: asyncio.Event) -> None:
        delay = self.settings.idle_poll
        due = await self._db(self.store.next_due, self.platform)
        if due is not None:
            delay = min(delay, max(0.0, (due - self.clock.now()).total_seconds()))
        await self._sleep_unless(stop, delay)

    async def _sleep_unless(self, stop: asyncio.Event, delay: float) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter

    async def _send_batch(self, batch: list[Claimed]) -> None:
        # The pacer serialises waiting: a second message to one chat (1/s) or a full group
        # window (20/min) would hold every worker. Such rows go back to the queue until
        # their chat is free, and the others flow on.
        queue: asyncio.Queue[Claimed] = asyncio.Queue()
        seen: set[tuple[str, str]] = set()
        for row in batch:
            key = (row.target.kind.value, row.target.target_id)
            wait = self.pacer.delay(row.target)
            if key in seen or wait > 1.0:
                later = self.clock.now() + timedelta(seconds=max(wait, 1.0))
                await self._db(self.store.defer, row.id, later)
                continue
            seen.add(key)
            queue.put_nowait(row)

        async def worker() -> None:
            while not queue.empty():
                await self._deliver(queue.get_nowait())

        workers = min(self.settings.concurrency, queue.qsize())
        await asyncio.gather(*(worker() for _ in range(workers)))

    async def _deliver(self, row: Claimed) -> None:
        try:
            reply = from_json(row.payload)
        except Exception as exc:  # whatever is stored there, one bad row must not stop the relay
            self._record(Status.FAILED)
            await self._db(self.store.give_up, row.id, f"malformed payload: {exc}")
            return
        await self.pacer.acquire(row.target)
        try:
            await self.sender.send(row.target, reply)
        except RetryAfter as exc:
            self.pacer.pause(exc.seconds)
            self._record("retry_after")
            when = self.clock.now() + timedelta(seconds=exc.seconds)
            await self._db(self.store.retry, row.id, when, str(exc), count_attempt=False)
        except Unreachable as exc:
            self._record(Status.UNREACHABLE)
            rerouted = await self._db(self.store.unreachable, row, str(exc) or "unreachable", self.clock.now())
            log.info(
                "%s %s unreachable (%s); rerouted to %s",
                self.platform,
                row.target.target_id,
                exc,
                rerouted,
                extra={"member_id": row.member_id},
            )
        except PermanentError as exc:
            self._record(Status.FAILED)
            await self._db(self.store.give_up, row.id, str(exc))
        except Exception as exc:  # TransientError, or anything unexpected from a sender
            self._record(await self._db(self._retry_or_give_up, row, exc))
        else:
            self._record(Status.SENT)
            await self._mark_sent(row.id)

    async def _mark_sent(self, row_id: int) -> None:
        """Record a send before the worker takes another message. Marks that pile up while
        one commit runs go together in the next: fewer commits, and still never more
        accepted-but-unmarked messages than there are workers."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unmarked.append((row_id, future))
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._flush_marks())
        await future

    async def _flush_marks(self) -> None:
        while self._unmarked:
            batch, self._unmarked = self._unmarked, []
            try:
                await self._db(self.store.sent_many, [row_id for row_id, _ in batch], self.clock.now())
            except Exception as exc:
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for _, future in batch:
                    future.set_result(None)

    def _retry_or_give_up(self, row: Claimed, exc: Exception) -> str:
        reason = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, TransientError):
            log.warning(
                "unexpected error sending outbox row %s on %s",
                row.id,
                self.platform,
                exc_info=exc,
                extra={"member_id": row.member_id},
            )
        attempts = row.attempts + 1
        if attempts >= self.settings.max_attempts:
            self.store.give_up(row.id, f"gave up after {attempts} attempts: {reason}")
            return Status.FAILED
        self.store.retry(row.id, self.clock.now() + timedelta(seconds=self.backoff(attempts)), reason)
        return "retry"

    def backoff(self, attempts: int) -> float:
        """Exponential back-off, capped, with "equal jitter": between half and all of it."""
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2.0 ** (attempts - 1))
        return float(ceiling / 2 + self._rng.uniform(0, ceiling / 2))

    def _record(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self._telemetry.message_outcome(self.platform, str(outcome))
