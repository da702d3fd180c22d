"""APScheduler 3 in the adapters' asyncio loop, with its jobs in the project's database.

Only recurring jobs live here: the due scan (which asks the core what is due and queues
outbox rows) and coordinators' recurring schedules (cron, in a time zone). Per-item deadlines
are rows in the database, never one APScheduler job each.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from bot.telemetry import NO_TELEMETRY, Telemetry

DUE_SCAN = "twinbot.due_scan"
JOB_TABLE = "apscheduler_jobs"


def make_scheduler(engine: Engine) -> AsyncIOScheduler:
    """A scheduler whose jobs persist in ``engine``'s database; not started."""
    return AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600},
        timezone=ZoneInfo("UTC"),
    )


def start_scheduler(
    engine: Engine, telemetry: Telemetry = NO_TELEMETRY, due_scan_seconds: float = 30.0
) -> AsyncIOScheduler:
    """The leader's scheduler, started in the running loop with the due scan installed.
    Runs that came too late to be made up for are counted as missed."""
    scheduler = make_scheduler(engine)

    def missed(event: JobExecutionEvent) -> None:  # on the loop: no database lookup here
        telemetry.job_run(job_name(event.job_id), "missed", None)

    scheduler.add_listener(missed, EVENT_JOB_MISSED)
    scheduler.start()
    install_due_scan(scheduler, due_scan_seconds)
    return scheduler


def job_name(job_id: str) -> str:
    """The function a job of ours runs, from its id (bounded label values for metrics)."""
    if job_id == DUE_SCAN:
        return "due_scan"
    if job_id.startswith(COFFEE_JOB):
        return "coffee_round"
    if job_id.startswith(MATCH_JOB):
        return "match_round"
    return "other"


def install_due_scan(scheduler: AsyncIOScheduler, seconds: float = 30.0) -> Job:
    """The recurring job that queues whatever is due; idempotent across restarts."""
    return scheduler.add_job(
        "jobs.tasks:due_scan",
        trigger="interval",
        seconds=seconds,
        id=DUE_SCAN,
        name="queue what is due",
        replace_existing=True,
    )


def add_recurring(
    scheduler: AsyncIOScheduler,
    job_id: str,
    func: str,
    crontab: str,
    time_zone: str,
    kwargs: dict[str, Any] | None = None,
) -> Job:
    """A coordinator's recurring schedule, e.g. ``0 9 * * mon`` in Europe/Berlin. ``func`` is
    a textual reference (``module:function``) so the job survives a restart."""
    trigger = cron_trigger(crontab, time_zone)
    return scheduler.add_job(func, trigger=trigger, id=job_id, kwargs=kwargs or {}, replace_existing=True)


COFFEE_JOB = "coffee:"
MATCH_JOB = "match:"


def sync_coffee(scheduler: AsyncIOScheduler, schedules: list[tuple[str, str, str]]) -> None:
    """Make the coffee-round and matching jobs match the schedules coordinators set:
    (scope, cron, zone), a matching run's scope being "match:<chapter or *>".
    A schedule that no longer parses is skipped (it was checked when it was set)."""
    wanted: dict[str, tuple[str, str, str]] = {}
    for scope, cron, zone in schedules:
        if scope.startswith(MATCH_JOB):  # a matching run: "match:lyon"
            wanted[scope] = (cron, zone, scope.removeprefix(MATCH_JOB))
        else:
            wanted[f"{COFFEE_JOB}{scope}"] = (cron, zone, scope)
    for job in scheduler.get_jobs():
        if job.id.startswith((COFFEE_JOB, MATCH_JOB)) and job.id not in wanted:
            job.remove()
    for job_id, (cron, zone, scope) in wanted.items():
        try:
            trigger = cron_trigger(cron, zone)
        except (ValueError, KeyError):
            continue
        existing = scheduler.get_job(job_id)
        if existing is not None and repr(existing.trigger) == repr(trigger):
            continue  # unchanged: its next run stays as it was
        func = "jobs.tasks:match_round" if job_id.startswith(MATCH_JOB) else "jobs.tasks:coffee_round"
        scheduler.add_job(func, trigger=trigger, id=job_id, kwargs={"scope": scope}, replace_existing=True)


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def standard_cron(crontab: str) -> str:
    """Weekday numbers as cron means them (0 and 7 Sunday, 1 Monday...) turned into names:
    APScheduler 3 counts 0 as Monday."""
    fields = crontab.split()
    if len(fields) == 5:
        fields[4] = re.sub(r"\d+", lambda m: _WEEKDAYS[int(m.group())] if int(m.group()) < 8 else m.group(), fields[4])
    return " ".join(fields)


def cron_trigger(crontab: str, time_zone: str) -> CronTrigger:
    return CronTrigger.from_crontab(standard_cron(crontab), timezone=ZoneInfo(time_zone))


def cron_problem(crontab: str, time_zone: str) -> str | None:
    """Why ``crontab`` in ``time_zone`` is not a schedule APScheduler can run, or None."""
    try:
        trigger = cron_trigger(crontab, time_zone)
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            return "it never fires"
    except (ValueError, KeyError) as exc:
        return str(exc) or "not a cron schedule"
    return None
