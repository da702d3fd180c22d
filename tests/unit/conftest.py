from __future__ import annotations

import pytest

from adapters.console.session import ConsoleSession
from bot.context import Services
from bot.core import Core
from bot.i18n import Catalogs
from bot.language import LanguageResolver
from bot.network import Network
from tests.conftest import Clock
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def core(db: FakeDatabase, network: Network, clock: Clock) -> Core:
    services = Services(
        network=network,
        uow_factory=lambda: FakeUnitOfWork(db),
        resolver=LanguageResolver(network.languages, network.default_language),
        catalogs=Catalogs(),
        clock=clock,
        max_text_length=1000,
        link_code_minutes=10,
    )
    return Core(services)


@pytest.fixture
def chat(core: Core) -> ConsoleSession:
    return ConsoleSession(core)


@pytest.fixture
def core_services(core: Core) -> Services:
    return core.services
