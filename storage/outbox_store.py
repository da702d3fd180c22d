"""The relay's side of the outbox: claim due rows, record each outcome at once.

Each call is its own short transaction, so a message's 'sent' mark is committed right after
the platform accepted it: a crash can repeat at most the messages in flight at that moment.
On PostgreSQL, relays in several processes claim with ``FOR UPDATE SKIP LOCKED`` and never
take the same row; on SQLite, ``BEGIN IMMEDIATE`` serialises claims (run one relay).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.delivery import Status, Target, TargetKind
from storage.models import IdentityRow, OutboxRow

_outbox: Table = OutboxRow.__table__  # type: ignore[assignment]
_identities: Table = IdentityRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Claimed:
    id: int
    dedupe_key: str
    target: Target
    payload: dict[str, Any]
    attempts: int
    member_id: int | None
    batch: str | None


class OutboxStore:
    def __init__(self, engine: Engine, claimer: str) -> None:
        self._engine = engine
        self.claimer = claimer[:64]
        self._postgres = engine.dialect.name == "postgresql"

    def claim(self, platform: str, now: datetime, limit: int) -> list[Claimed]:
        """Take up to ``limit`` due rows of ``platform`` for this relay, oldest first."""
        due = (
            select(_outbox.c.id)
            .where(
                _outbox.c.platform == platform,
                _outbox.c.status == Status.QUEUED.value,
                _outbox.c.next_attempt_at <= now,
            )
            .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(_outbox)
            .where(_outbox.c.id.in_(due.scalar_subquery()))
            .values(status=Status.SENDING.value, claimed_by=self.claimer, claimed_at=now)
            .returning(
                _outbox.c.id,
                _outbox.c.dedupe_key,
                _outbox.c.platform,
                _outbox.c.target_kind,
                _outbox.c.target_id,
                _outbox.c.payload,
                _outbox.c.attempts,
                _outbox.c.member_id,
                _outbox.c.batch,
            )
        )
        with self._engine.begin() as connection:
            rows = connection.execute(statement).all()
        claimed = [
            Claimed(
                id=row.id,
                dedupe_key=row.dedupe_key,
                target=Target(row.platform, TargetKind(row.target_kind), row.target_id),
                payload=row.payload,
                attempts=row.attempts,
                member_id=row.member_id,
                batch=row.batch,
            )
            for row in rows
        ]
        return sorted(claimed, key=lambda c: c.id)

    def _finish(self, row_id: int, **values: Any) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(_outbox)
                .where(_outbox.c.id == row_id, _outbox.c.claimed_by == self.claimer)
                .values(claimed_by=None, claimed_at=None, **values)
            )

    def sent(self, row_id: int, now: datetime) -> None:
        self._finish(row_id, status=Status.SENT.value, sent_at=now, attempts=_outbox.c.attempts + 1)

    def retry(self, row_id: int, at: datetime, error: str, *, count_attempt: bool = True) -> None:
        self._finish(
            row_id,
            status=Status.QUEUED.value,
            next_attempt_at=at,
            last_error=error[:500],
            attempts=_outbox.c.attempts + (1 if count_attempt else 0),
        )

    def give_up(self, row_id: int, error: str, status: Status = Status.FAILED) -> None:
        self._finish(row_id, status=status.value, last_error=error[:500], attempts=_outbox.c.attempts + 1)

    def unreachable(self, row: Claimed, error: str, now: datetime) -> Target | None:
        """Mark the row and its identity unreachable; re-queue it to the member's next
        reachable identity, if they linked one. Returns that new target, if any."""
        with self._engine.begin() as connection:
            connection.execute(
                update(_outbox)
                .where(_outbox.c.id == row.id, _outbox.c.claimed_by == self.claimer)
                .values(
                    status=Status.UNREACHABLE.value,
                    last_error=error[:500],
                    attempts=_outbox.c.attempts + 1,
                    claimed_by=None,
                    claimed_at=None,
                )
            )
            if row.target.kind is not TargetKind.USER:
                return None
            connection.execute(
                update(_identities)
                .where(
                    _identities.c.platform == row.target.platform,
                    _identities.c.user_id == row.target.target_id,
                )
                .values(unreachable=True)
            )
            if row.member_id is None:
                return None
            other = connection.execute(
                select(_identities.c.platform, _identities.c.user_id)
                .where(_identities.c.member_id == row.member_id, _identities.c.unreachable.is_(False))
                .order_by(_identities.c.id)
                .limit(1)
            ).first()
            if other is None:
                return None
            insert = (postgresql.insert if self._postgres else sqlite.insert)(_outbox)
            connection.execute(
                insert.values(
                    dedupe_key=f"{row.dedupe_key}:via:{other.platform}"[:200],
                    platform=other.platform,
                    target_kind=TargetKind.USER.value,
                    target_id=other.user_id,
                    member_id=row.member_id,
                    batch=row.batch,
                    payload=row.payload,
                    status=Status.QUEUED.value,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                ).on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
            return Target(other.platform, TargetKind.USER, other.user_id)

    def release(self, platform: str, *, claimed_before: datetime | None = None, mine: bool = False) -> int:
        """Put claimed-but-unfinished rows back in the queue: this relay's own (``mine``, at
        shutdown), or anyone's claimed before ``claimed_before`` (a relay that died)."""
        condition = and_(_outbox.c.platform == platform, _outbox.c.status == Status.SENDING.value)
        if mine:
            condition = and_(condition, _outbox.c.claimed_by == self.claimer)
        if claimed_before is not None:
            condition = and_(condition, _outbox.c.claimed_at < claimed_before)
        with self._engine.begin() as connection:
            result = connection.execute(
                update(_outbox).where(condition).values(status=Status.QUEUED.value, claimed_by=None, claimed_at=None)
            )
        return int(result.rowcount)

    def next_due(self, platform: str) -> datetime | None:
        with self._engine.connect() as connection:
            value = connection.execute(
                select(func.min(_outbox.c.next_attempt_at)).where(
                    _outbox.c.platform == platform, _outbox.c.status == Status.QUEUED.value
                )
            ).scalar()
        return _aware(value)

    def counts(self, platform: str | None = None) -> dict[str, int]:
        query = select(_outbox.c.status, func.count()).group_by(_outbox.c.status)
        if platform is not None:
            query = query.where(_outbox.c.platform == platform)
        with self._engine.connect() as connection:
            return {status: count for status, count in connection.execute(query)}


def _aware(value: datetime | None) -> datetime | None:
    """min() over a UTCDateTime column may come back naive on SQLite: it is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


LEASE = timedelta(minutes=2)
