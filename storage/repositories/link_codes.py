"""One-time codes that join a second platform account to a member."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from storage.models import LinkCodeRow


class SqlLinkCodeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, code_hash: str, member_id: int, expires_at: datetime) -> None:
        self._session.add(LinkCodeRow(code_hash=code_hash, member_id=member_id, expires_at=expires_at))
        self._session.flush()

    def take(self, code_hash: str, now: datetime) -> int | None:
        """Mark the code used and return its member id, or None if it cannot be used.

        A single conditional UPDATE decides, so of two concurrent takers only one sees a row
        changed: on PostgreSQL the second waits for the first's row lock and then finds
        ``used_at`` set; SQLite lets one writer in at a time.
        """
        self._session.flush()
        result = self._session.execute(
            update(LinkCodeRow)
            .where(
                LinkCodeRow.code_hash == code_hash,
                LinkCodeRow.used_at.is_(None),
                LinkCodeRow.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        if result.rowcount != 1:
            return None
        return self._session.scalar(select(LinkCodeRow.member_id).where(LinkCodeRow.code_hash == code_hash))
