"""What a handler sees while the core handles one event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.dialogs.engine import DialogEngine
from bot.events import AnyEvent, ChatRef
from bot.i18n import Catalogs, Translator
from bot.language import LanguageResolver
from bot.meetups.model import MeetupPolicy
from bot.members import Member, Role, RoleGrant
from bot.network import Network
from bot.ports import Clock, UnitOfWork, UnitOfWorkFactory
from bot.telemetry import NO_TELEMETRY, Telemetry


@dataclass(frozen=True)
class Services:
    """The long-lived dependencies of the core, injected once by bootstrap()."""

    network: Network
    uow_factory: UnitOfWorkFactory
    resolver: LanguageResolver
    catalogs: Catalogs
    clock: Clock
    max_text_length: int = 1000
    link_code_minutes: int = 10
    survey_min_group: int = 5
    meetups: MeetupPolicy = field(default_factory=MeetupPolicy)
    #: At most this many events per user within ``flood_seconds`` (0: no limit).
    flood_limit: int = 0
    flood_seconds: float = 30.0
    #: Announcements a coordinator may send within 24 hours.
    announcements_per_day: int = 20
    #: Network rule: a mentor must live in a partner city of the mentee's chapter.
    mentoring_partner_city: bool = False
    #: Members not seen for this many months are erased by the due scan (0: never).
    retention_months: int = 0
    #: Why a cron schedule (and time zone) will not do, or None; the scheduler's own rules,
    #: passed in by bootstrap() so the core needs no scheduler.
    check_cron: Callable[[str, str], str | None] = field(default=lambda cron, zone: None)
    #: Where the core reports what it did (updates handled, matching runs); nothing by default.
    telemetry: Telemetry = NO_TELEMETRY


@dataclass
class Context:
    """One event being handled: who, where, in which language, inside which transaction."""

    event: AnyEvent
    uow: UnitOfWork
    services: Services
    dialogs: DialogEngine
    member: Member | None
    lang: str
    _: Translator
    _grants: list[RoleGrant] | None = field(default=None, repr=False)

    @property
    def chat(self) -> ChatRef:
        return self.event.chat

    @property
    def network(self) -> Network:
        return self.services.network

    def now(self) -> datetime:
        return self.services.clock()

    def set_language(self, lang: str) -> None:
        """Switch the language of the replies still to come for this event."""
        self.lang = lang
        self._ = self.services.catalogs.translator(lang)

    @property
    def grants(self) -> list[RoleGrant]:
        if self._grants is None:
            member_id = self.member.id if self.member else None
            self._grants = self.uow.members.roles(member_id) if member_id is not None else []
        return self._grants

    def has_role(self, role: Role, chapter: str | None = None) -> bool:
        return self.member is not None and self.member.has_role(self.grants, role, chapter)
