"""The functions persistent jobs call. A stored job keeps only a reference to its function,
so these find the running bot through ``bind()``, which the wiring calls once at start-up."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar

from bot.context import Services
from bot.due import DueReport, run_due
from bot.mentoring.coffee import scheduled_round
from bot.mentoring.matchmaking import scheduled_match
from bot.telemetry import NO_TELEMETRY

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    services: Services
    #: Given when this process runs the scheduler: coordinators' coffee schedules are kept in
    #: step with its jobs after each due scan.
    sync_schedules: Callable[[list[tuple[str, str, str]]], None] | None = None


_runtime: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def _current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("jobs.tasks is not bound to a running bot; call jobs.tasks.bind() first")
    return _runtime


def _observed(job: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Count the job's runs and time them (telemetry: "ok" or "error")."""

    @functools.wraps(job)
    async def observed(*args: P.args, **kwargs: P.kwargs) -> R:
        telemetry = _runtime.services.telemetry if _runtime is not None else NO_TELEMETRY
        started = time.perf_counter()
        try:
            result = await job(*args, **kwargs)
        except BaseException:
            telemetry.job_run(job.__name__, "error", time.perf_counter() - started)
            raise
        telemetry.job_run(job.__name__, "ok", time.perf_counter() - started)
        return result

    return observed


@_observed
async def due_scan() -> DueReport:
    """Queue what is due. The database work runs in a thread, in short transactions, so the
    event loop (and the adapters on it) never waits for a large batch."""
    runtime = _current()
    report = await asyncio.to_thread(run_due, runtime.services, runtime.services.clock())
    queued = report.queued()
    if queued:  # the commits that queued them have woken the relays
        log.info("due scan queued %s", ", ".join(f"{count} {kind}" for kind, count in queued.items()))
    if report.forgotten:
        months = runtime.services.retention_months
        log.info("retention: %s members not seen for %s months were erased", report.forgotten, months)
    if runtime.sync_schedules is not None:
        runtime.sync_schedules(await asyncio.to_thread(_schedules, runtime.services))
    return report


def _schedules(services: Services) -> list[tuple[str, str, str]]:
    with services.uow_factory() as uow:
        return uow.mentoring.schedules()


async def _scheduled(what: str, run: Callable[[Services, str, datetime], int], scope: str) -> int:
    """Run a coordinator's scheduled job in a worker thread (its commit wakes the relays)."""
    runtime = _current()
    made = await asyncio.to_thread(run, runtime.services, scope, runtime.services.clock())
    log.info("%s in %s: %s", what, scope, made)
    return made


@_observed
async def match_round(scope: str) -> int:
    """A coordinator's scheduled matching run for the mentees of ``scope`` (a chapter, or "*");
    returns the mentorships made."""
    return await _scheduled("matching run", scheduled_match, scope)


@_observed
async def coffee_round(scope: str) -> int:
    """A coordinator's scheduled coffee round for ``scope`` (a chapter, or "*"); returns the groups."""
    return await _scheduled("coffee round", scheduled_round, scope)
