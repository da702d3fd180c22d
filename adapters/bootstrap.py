"""bootstrap(): build the object graph once, every dependency passed by argument."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bot.context import Services
from bot.core import Core
from bot.i18n import Catalogs
from bot.language import LanguageResolver
from bot.meetups.model import MeetupPolicy
from bot.network import Network
from bot.ports import UnitOfWork
from bot.surveys.definition import SurveyFileError, load_survey_file
from bot.telemetry import NO_TELEMETRY, Telemetry
from config import ConfigError, Settings
from config.settings import CONFIG_DIR
from jobs.scheduler import cron_problem
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Wakeup:
    """Called after a commit that queued outbox rows; the running loop connects its relays.
    Thread-safe: the core may commit from a worker thread."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[set[str]], None]] = []

    def connect(self, listener: Callable[[set[str]], None]) -> None:
        self._listeners.append(listener)

    def notify(self, platforms: set[str]) -> None:
        for listener in self._listeners:
            listener(platforms)


@dataclass(frozen=True)
class App:
    settings: Settings
    network: Network
    engine: Engine
    core: Core
    uow_factory: Callable[[], UnitOfWork]
    wakeup: Wakeup

    def close(self) -> None:
        self.engine.dispose()


def _meetup_policy(settings: Settings, network: Network, now: datetime) -> MeetupPolicy:
    """The meetup settings, with the follow-up survey's template read and checked."""
    followup = None
    if settings.network.meetup_followup:
        path = Path(settings.network.meetup_followup)
        path = path if path.is_absolute() else CONFIG_DIR / path
        try:
            followup = load_survey_file(path, network, now)
        except SurveyFileError as exc:
            raise ConfigError(f"network.meetup_followup ({path}):\n{exc}") from None
    return MeetupPolicy(
        reminders=tuple(timedelta(hours=h) for h in settings.network.meetup_reminder_hours),
        remind_maybe=settings.network.meetup_remind_maybe,
        followup=followup,
    )


def pool_options(settings: Settings) -> dict[str, Any]:
    """The configured connection pool, for a server database (SQLite keeps its defaults)."""
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        return {}
    pool = settings.database_pool
    return {
        "pool_size": pool.size,
        "max_overflow": pool.max_overflow,
        "pool_timeout": pool.timeout,
        "pool_recycle": pool.recycle,
        "pool_pre_ping": pool.pre_ping,
    }


def bootstrap(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    migrate: bool = True,
    catalogs: Catalogs | None = None,
    telemetry: Telemetry = NO_TELEMETRY,
) -> App:
    """Migrate the database (unless told not to) and wire the core to it."""
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url, **pool_options(settings))
    session_factory = make_session_factory(engine)
    network = settings.network_model()
    catalogs = catalogs or Catalogs()
    missing = [lang for lang in network.languages if lang not in catalogs.available()]
    if missing:
        log.warning("no message catalog for %s: those members will read English", ", ".join(missing))

    wakeup = Wakeup()

    postgres = engine.dialect.name == "postgresql"

    def uow_factory() -> UnitOfWork:
        return SqlUnitOfWork(session_factory, after_commit=wakeup.notify, notify=postgres)

    services = Services(
        network=network,
        uow_factory=uow_factory,
        resolver=LanguageResolver(network.languages, network.default_language),
        catalogs=catalogs,
        clock=clock,
        max_text_length=settings.network.max_text_length,
        link_code_minutes=settings.network.link_code_minutes,
        survey_min_group=settings.network.survey_min_group,
        meetups=_meetup_policy(settings, network, clock()),
        check_cron=cron_problem,
        mentoring_partner_city=settings.network.mentor_partner_city_required,
        retention_months=settings.network.retention_months,
        flood_limit=settings.network.flood_limit,
        flood_seconds=settings.network.flood_seconds,
        announcements_per_day=settings.network.announcements_per_day,
        telemetry=telemetry,
    )
    return App(
        settings=settings,
        network=network,
        engine=engine,
        core=Core(services),
        uow_factory=uow_factory,
        wakeup=wakeup,
    )
