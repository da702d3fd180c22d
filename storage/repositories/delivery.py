"""The outbox, announcements, reminders and the audit log, as the core sees them."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.announcements import Announcement, AnnouncementStatus
from bot.audience import Audience
from bot.delivery import OutboxItem, Status
from bot.payload import to_json
from bot.ports import AuditEntry, DueReminder
from storage.models import AnnouncementRow, AuditRow, OutboxRow, ReminderRow


def _insert(session: Session, table: Any) -> Any:
    """An INSERT that can do nothing on conflict, for the session's dialect."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


class SqlOutboxRepository:
    def __init__(self, session: Session) -> None:
        self._session = session
        self.platforms: set[str] = set()  # what this unit of work queued for, to wake relays

    def add(self, item: OutboxItem) -> bool:
        statement = (
            _insert(self._session, OutboxRow)
            .values(
                dedupe_key=item.dedupe_key,
                platform=item.target.platform,
                target_kind=item.target.kind.value,
                target_id=item.target.target_id,
                member_id=item.member_id,
                batch=item.batch,
                payload=to_json(item.reply),
                status=Status.QUEUED.value,
                attempts=0,
                next_attempt_at=item.not_before,
                created_at=item.not_before,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxRow.id)
        )
        # RETURNING says whether a row went in; rowcount cannot be trusted here on PostgreSQL.
        added = self._session.execute(statement).first() is not None
        if added:
            self.platforms.add(item.target.platform)
        return added

    def withdraw(self, key_prefix: str) -> int:
        escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        result = self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.dedupe_key.like(escaped + "%", escape="\\"), OutboxRow.status == Status.QUEUED.value)
            .values(status=Status.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def report(self, batch: str) -> dict[tuple[str, str], int]:
        rows = self._session.execute(
            select(OutboxRow.platform, OutboxRow.status, func.count())
            .where(OutboxRow.batch == batch)
            .group_by(OutboxRow.platform, OutboxRow.status)
        )
        return {(platform, status): count for platform, status, count in rows}


class SqlAnnouncementRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, announcement: Announcement) -> Announcement:
        row = AnnouncementRow()
        _copy(announcement, row)
        self._session.add(row)
        self._session.flush()
        announcement.id = row.id
        return announcement

    def get(self, announcement_id: int) -> Announcement | None:
        row = self._session.get(AnnouncementRow, announcement_id)
        return None if row is None else _announcement(row)

    def save(self, announcement: Announcement) -> None:
        row = self._session.get(AnnouncementRow, announcement.id)
        if row is None:
            raise LookupError(f"no announcement {announcement.id}")
        _copy(announcement, row)
        self._session.flush()

    def due(self, now: datetime, limit: int) -> builtins.list[Announcement]:
        rows = self._session.scalars(
            select(AnnouncementRow)
            .where(AnnouncementRow.status == AnnouncementStatus.SCHEDULED.value, AnnouncementRow.send_at <= now)
            .order_by(AnnouncementRow.send_at, AnnouncementRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # concurrent scans take different rows (PostgreSQL)
        )
        return [_announcement(row) for row in rows]

    def cancel(self, announcement_id: int) -> bool:
        result = self._session.execute(
            update(AnnouncementRow)
            .where(
                AnnouncementRow.id == announcement_id,
                AnnouncementRow.status == AnnouncementStatus.SCHEDULED.value,
            )
            .values(status=AnnouncementStatus.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def recent(self, author_id: int | None, limit: int) -> builtins.list[Announcement]:
        query = select(AnnouncementRow).order_by(AnnouncementRow.id.desc()).limit(limit)
        if author_id is not None:
            query = query.where(AnnouncementRow.author_id == author_id)
        return [_announcement(row) for row in self._session.scalars(query)]


def _copy(announcement: Announcement, row: AnnouncementRow) -> None:
    row.author_id = announcement.author_id
    row.texts = dict(announcement.texts)
    row.audience = announcement.audience.to_json()
    row.status = announcement.status.value
    row.send_at = announcement.send_at
    row.recipients = announcement.recipients
    row.created_at = announcement.created_at
    row.sent_at = announcement.sent_at


def _announcement(row: AnnouncementRow) -> Announcement:
    return Announcement(
        id=row.id,
        author_id=row.author_id,
        texts=dict(row.texts),
        audience=Audience.from_json(row.audience),
        status=AnnouncementStatus(row.status),
        created_at=row.created_at,
        send_at=row.send_at,
        recipients=row.recipients,
        sent_at=row.sent_at,
    )


class SqlReminderRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, key: str, member_id: int, due_at: datetime, texts: dict[str, str]) -> bool:
        statement = (
            _insert(self._session, ReminderRow)
            .values(key=key, member_id=member_id, due_at=due_at, texts=dict(texts), sent=False)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(ReminderRow.id)
        )
        return self._session.execute(statement).first() is not None

    def due(self, now: datetime, limit: int) -> builtins.list[DueReminder]:
        rows = self._session.execute(
            select(ReminderRow.id, ReminderRow.key, ReminderRow.member_id, ReminderRow.texts)
            .where(ReminderRow.sent.is_(False), ReminderRow.due_at <= now)
            .order_by(ReminderRow.due_at, ReminderRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # concurrent scans take different rows (PostgreSQL)
        )
        return [DueReminder(id=i, key=k, member_id=m, texts=dict(t)) for i, k, m, t in rows]

    def mark_sent(self, ids: builtins.list[int]) -> None:
        for start in range(0, len(ids), 500):
            self._session.execute(
                update(ReminderRow).where(ReminderRow.id.in_(ids[start : start + 500])).values(sent=True)
            )


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self._session = session

    def record(
        self, actor_id: int | None, action: str, details: dict[str, Any], audience_size: int | None, at: datetime
    ) -> None:
        self._session.add(
            AuditRow(at=at, actor_id=actor_id, action=action, details=details, audience_size=audience_size)
        )
        self._session.flush()

    def recent(self, limit: int, before_id: int | None = None) -> builtins.list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(AuditRow.id < before_id)
        return [
            AuditEntry(row.id, row.at, row.actor_id, row.action, dict(row.details), row.audience_size)
            for row in self._session.scalars(query)
        ]
