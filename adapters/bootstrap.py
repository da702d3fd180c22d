"""bootstrap(): build the object graph once, every dependency passed by argument."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.context import Services
from bot.core import Core
from bot.i18n import Catalogs
from bot.language import LanguageResolver
from bot.network import Network
from bot.ports import UnitOfWork
from config import Settings
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


def bootstrap(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    migrate: bool = True,
    catalogs: Catalogs | None = None,
) -> App:
    """Migrate the database (unless told not to) and wire the core to it."""
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    network = settings.network_model()
    catalogs = catalogs or Catalogs()
    missing = [lang for lang in network.languages if lang not in catalogs.available()]
    if missing:
        log.warning("no message catalog for %s: those members will read English", ", ".join(missing))

    wakeup = Wakeup()

    def uow_factory() -> UnitOfWork:
        return SqlUnitOfWork(session_factory, after_commit=wakeup.notify)

    services = Services(
        network=network,
        uow_factory=uow_factory,
        resolver=LanguageResolver(network.languages, network.default_language),
        catalogs=catalogs,
        clock=clock,
        max_text_length=settings.network.max_text_length,
        link_code_minutes=settings.network.link_code_minutes,
        survey_min_group=settings.network.survey_min_group,
    )
    return App(
        settings=settings,
        network=network,
        engine=engine,
        core=Core(services),
        uow_factory=uow_factory,
        wakeup=wakeup,
    )
