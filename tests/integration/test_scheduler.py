"""The scheduler: persistent recurring jobs, and a due scan that never queues twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.bootstrap import App, bootstrap
from bot.member_admin import import_members
from config import load_settings
from jobs import tasks
from jobs.scheduler import (
    DUE_SCAN,
    add_recurring,
    cron_problem,
    cron_trigger,
    install_due_scan,
    make_scheduler,
    sync_coffee,
)
from storage import migrate
from tests.conftest import Clock

MEMBERS = (
    "display_name,home_chapter,languages,consent_at,identities\n"
    + "".join(f"M{n},lyon,fr,2026-01-01T00:00:00+00:00,console:m{n}\n" for n in range(30))
)


@pytest.fixture
def app(empty_db_url: str, clock: Clock) -> Iterator[App]:
    application = bootstrap(load_settings(database_url=empty_db_url), clock=clock)
    with application.uow_factory() as uow:
        import_members(uow, MEMBERS, application.network)
    try:
        yield application
    finally:
        tasks.bind(None)
        application.close()


def _add_reminders(app: App, due: datetime, count: int) -> None:
    with app.uow_factory() as uow:
        members = uow.members.list()
        for n in range(count):
            member = members[n % len(members)]
            assert member.id is not None
            uow.reminders.add(f"test:{n}", member.id, due, {"en": f"Reminder {n}", "fr": f"Rappel {n}"})
        uow.commit()


def _outbox_count(app: App) -> int:
    with app.engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT count(*) FROM outbox").scalar() or 0)


async def test_jobs_survive_a_restart(app: App) -> None:
    first = make_scheduler(app.engine)
    first.start(paused=True)
    install_due_scan(first, seconds=30)
    add_recurring(first, "coffee:lyon", "jobs.tasks:due_scan", "0 9 * * mon", "Europe/Berlin")
    first.shutdown(wait=False)

    second = make_scheduler(app.engine)
    second.start(paused=True)
    install_due_scan(second, seconds=30)  # installing again replaces, never duplicates
    try:
        jobs = {job.id: job for job in second.get_jobs()}
        assert set(jobs) == {DUE_SCAN, "coffee:lyon"}
        coffee = jobs["coffee:lyon"]
        assert str(coffee.trigger.timezone) == "Europe/Berlin"
        local = coffee.next_run_time.astimezone(coffee.trigger.timezone)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
    finally:
        second.shutdown(wait=False)


async def test_due_scan_twice_queues_nothing_twice(app: App, clock: Clock) -> None:
    _add_reminders(app, clock() + timedelta(minutes=5), 50)
    woken: list[int] = []
    app.wakeup.connect(lambda platforms: woken.append(1))  # what the relays listen to
    tasks.bind(tasks.Runtime(services=app.core.services))
    assert (await tasks.due_scan()).reminders == 0  # not due yet
    clock.advance(minutes=5)
    first, second = await asyncio.gather(tasks.due_scan(), tasks.due_scan())
    assert first.reminders + second.reminders == 50
    assert (await tasks.due_scan()).reminders == 0
    assert _outbox_count(app) == 50
    assert woken


async def test_scheduler_runs_the_due_scan(app: App, clock: Clock) -> None:
    _add_reminders(app, clock() - timedelta(seconds=1), 10)
    tasks.bind(tasks.Runtime(services=app.core.services))
    scheduler = make_scheduler(app.engine)
    scheduler.start()
    try:
        install_due_scan(scheduler, seconds=0.2)
        for _ in range(100):
            if _outbox_count(app) == 10:
                break
            await asyncio.sleep(0.1)
        assert _outbox_count(app) == 10
    finally:
        scheduler.shutdown(wait=False)


async def test_job_table_is_not_migration_drift(app: App) -> None:
    scheduler = make_scheduler(app.engine)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    migrate.check(app.settings.database_url)  # raises if alembic sees drift


async def test_coffee_schedules_set_in_chat_become_scheduler_jobs(app: App, clock: Clock) -> None:
    """A coordinator's /coffee schedule is stored; the due scan brings the scheduler's jobs in
    step (added, kept, changed, removed), and the job runs a round."""
    scheduler = make_scheduler(app.engine)
    scheduler.start(paused=True)
    woken: list[int] = []
    app.wakeup.connect(lambda platforms: woken.append(1))  # what the relays listen to
    tasks.bind(
        tasks.Runtime(
            services=app.core.services,
            sync_schedules=lambda schedules: sync_coffee(scheduler, schedules),
        )
    )
    try:
        with app.uow_factory() as uow:
            uow.mentoring.set_schedule("lyon", "0 9 * * mon", "Europe/Paris")
            uow.commit()
        await tasks.due_scan()
        job = scheduler.get_job("coffee:lyon")
        assert job is not None and str(job.trigger.timezone) == "Europe/Paris"
        first_run = job.next_run_time
        await tasks.due_scan()  # unchanged: the job keeps its next run
        kept = scheduler.get_job("coffee:lyon")
        assert kept is not None and kept.next_run_time == first_run
        with app.uow_factory() as uow:
            uow.mentoring.set_schedule("lyon", "30 18 * * fri", "Europe/Paris")
            uow.commit()
        await tasks.due_scan()
        changed = scheduler.get_job("coffee:lyon")
        assert changed is not None
        local = changed.next_run_time.astimezone(changed.trigger.timezone)
        assert (local.weekday(), local.hour, local.minute) == (4, 18, 30)
        with app.uow_factory() as uow:
            uow.mentoring.clear_schedule("lyon")
            uow.commit()
        await tasks.due_scan()
        assert scheduler.get_job("coffee:lyon") is None
        assert await tasks.coffee_round("lyon") == 0  # the job's function: nobody opted in yet
        with app.uow_factory() as uow:  # a matching schedule becomes a job of its own
            uow.mentoring.set_schedule("match:*", "0 9 1 * *", "UTC")
            uow.commit()
        await tasks.due_scan()
        matching = scheduler.get_job("match:*")
        assert matching is not None and matching.kwargs == {"scope": "*"}
        assert await tasks.match_round("*") == 0  # the job's function: no mentees yet
    finally:
        scheduler.shutdown(wait=False)
        tasks.bind(None)


def test_cron_weekday_numbers_mean_what_cron_means() -> None:
    """APScheduler 3 counts 0 as Monday; a coordinator's "0 9 * * 1" means Monday, as in cron."""
    start = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # a Sunday
    for crontab, weekday in [("0 9 * * 1", 0), ("0 9 * * 0", 6), ("0 9 * * 7", 6), ("0 9 * * 5", 4)]:
        fire = cron_trigger(crontab, "Europe/Paris").get_next_fire_time(None, start)
        assert fire is not None and fire.weekday() == weekday, crontab
    assert cron_problem("0 9 31 2 *", "Europe/Paris") == "it never fires"
    assert cron_problem("every monday", "Europe/Paris") is not None
    assert cron_problem("0 9 * * mon", "Mars/Olympus") is not None
