"""The unit of work: one session, one transaction, per event or job."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from storage.repositories import (
    SqlDialogRepository,
    SqlLinkCodeRepository,
    SqlMemberRepository,
)
from storage.repositories.delivery import (
    SqlAnnouncementRepository,
    SqlAuditLog,
    SqlOutboxRepository,
    SqlReminderRepository,
)
from storage.repositories.meetups import SqlMeetupRepository
from storage.repositories.mentoring import SqlMentoringRepository
from storage.repositories.privacy import SqlPrivacyRepository
from storage.repositories.surveys import SqlSurveyRepository

#: The PostgreSQL channel on which a commit that queued outbox rows names their platform.
OUTBOX_CHANNEL = "twinbot_outbox"
_NOTIFY = text("SELECT pg_notify(:channel, :platform)")


class SqlUnitOfWork:
    """``bot.ports.UnitOfWork`` on SQLAlchemy; use once per ``with`` block.

    Whatever is not committed by the end of the block is rolled back.
    """

    members: SqlMemberRepository
    dialogs: SqlDialogRepository
    link_codes: SqlLinkCodeRepository
    outbox: SqlOutboxRepository
    announcements: SqlAnnouncementRepository
    reminders: SqlReminderRepository
    audit: SqlAuditLog
    surveys: SqlSurveyRepository
    meetups: SqlMeetupRepository
    mentoring: SqlMentoringRepository
    privacy: SqlPrivacyRepository

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        after_commit: Callable[[set[str]], None] | None = None,
        *,
        notify: bool = False,
    ) -> None:
        """``after_commit`` is called with the platforms a commit queued outbox rows for,
        so their relays wake at once instead of at their next tick. With ``notify``
        (PostgreSQL), the commit also sends NOTIFY on OUTBOX_CHANNEL for each of them: relays
        in other processes wake too."""
        self._session_factory = session_factory
        self._after_commit = after_commit
        self._notify = notify
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """The open session, for the odd query no repository offers yet."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use it in a with block")
        return self._session

    def __enter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("this unit of work is open already")
        session = self._session_factory()
        self._session = session
        self.members = SqlMemberRepository(session)
        self.dialogs = SqlDialogRepository(session)
        self.link_codes = SqlLinkCodeRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.announcements = SqlAnnouncementRepository(session)
        self.reminders = SqlReminderRepository(session)
        self.audit = SqlAuditLog(session)
        self.surveys = SqlSurveyRepository(session)
        self.meetups = SqlMeetupRepository(session)
        self.mentoring = SqlMentoringRepository(session)
        self.privacy = SqlPrivacyRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        # Repositories kept from a closed unit of work must not quietly open a new transaction.
        del self.members, self.dialogs, self.link_codes, self.outbox, self.announcements, self.reminders, self.audit
        del self.surveys, self.meetups, self.mentoring, self.privacy
        try:
            session.rollback()
        finally:
            session.close()

    def commit(self) -> None:
        if self._notify:
            for platform in sorted(self.outbox.platforms):  # delivered when (and if) the commit succeeds
                self.session.execute(_NOTIFY, {"channel": OUTBOX_CHANNEL, "platform": platform})
        self.session.commit()
        queued, self.outbox.platforms = self.outbox.platforms, set()
        if queued and self._after_commit is not None:
            self._after_commit(queued)

    def rollback(self) -> None:
        self.session.rollback()


if TYPE_CHECKING:
    from bot.ports import UnitOfWork

    def _implements_port(factory: sessionmaker[Session]) -> UnitOfWork:
        return SqlUnitOfWork(factory)
