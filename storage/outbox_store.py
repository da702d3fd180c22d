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

from sqlalchemy import Engine, Integer, Table, Update, and_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.delivery import Status, Target, TargetKind
from storage.models import IdentityRow, MemberRow, OutboxRow
from storage.uow import OUTBOX_CHANNEL

_outbox: Table = OutboxRow.__table__  # type: ignore[assignment]
_identities: Table = IdentityRow.__table__  # type: ignore[assignment]
_members: Table = MemberRow.__table__  # type: ignore[assignment]


def _claim_statement(postgres: bool) -> Update:
    due = (
        select(_outbox.c.id)
        .where(
            _outbox.c.platform == bindparam("b_platform"),
            _outbox.c.status == Status.QUEUED.value,
            _outbox.c.next_attempt_at <= bindparam("due_at"),
        )
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
        .limit(bindparam("batch_limit", type_=Integer))
    )
    if postgres:
        due = due.with_for_update(skip_locked=True)
    return (
        update(_outbox)
        .where(_outbox.c.id.in_(due.scalar_subquery()))
        .values(status=Status.SENDING.value, claimed_by=bindparam("claimer"), claimed_at=bindparam("claimed"))
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


def _finish_statement(**values: Any) -> Update:
    """An UPDATE of one claimed row (only if this relay still holds the claim) that ends
    the claim. Built once: the relay runs these for every message."""
    return (
        update(_outbox)
        .where(_outbox.c.id == bindparam("row_id"), _outbox.c.claimed_by == bindparam("claimer"))
        .values(claimed_by=None, claimed_at=None, **values)
    )


# Prepared once, bound per call: building statements was half of the relay's cost.
_CLAIM = _claim_statement(postgres=False)
_CLAIM_POSTGRES = _claim_statement(postgres=True)
_SENT = _finish_statement(status=Status.SENT.value, sent_at=bindparam("at"), attempts=_outbox.c.attempts + 1)
_RETRY = _finish_statement(
    status=Status.QUEUED.value,
    next_attempt_at=bindparam("at"),
    last_error=bindparam("error"),
    attempts=_outbox.c.attempts + bindparam("counted", type_=Integer),
)
_DEFER = _finish_statement(status=Status.QUEUED.value, next_attempt_at=bindparam("at"))
_GIVE_UP = _finish_statement(status=bindparam("final"), last_error=bindparam("error"), attempts=_outbox.c.attempts + 1)


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
    def __init__(self, engine: Engine, claimer: str, dm_opt_in: tuple[str, ...] = ()) -> None:
        """``dm_opt_in``: platforms where an announcement goes by DM only to members who
        asked for it; a re-routed announcement respects that too."""
        self._dm_opt_in = dm_opt_in
        self._engine = engine
        self.claimer = claimer[:64]
        self._postgres = engine.dialect.name == "postgresql"

    def claim(self, platform: str, now: datetime, limit: int) -> list[Claimed]:
        """Take up to ``limit`` due rows of ``platform`` for this relay, oldest first."""
        statement = _CLAIM_POSTGRES if self._postgres else _CLAIM
        params = {"b_platform": platform, "due_at": now, "claimed": now, "claimer": self.claimer, "batch_limit": limit}
        with self._engine.begin() as connection:
            rows = connection.execute(statement, params).all()
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

    def _finish(self, statement: Update, row_id: int, **params: Any) -> None:
        with self._engine.begin() as connection:
            connection.execute(statement, {"row_id": row_id, "claimer": self.claimer, **params})

    def sent(self, row_id: int, now: datetime) -> None:
        self._finish(_SENT, row_id, at=now)

    def sent_many(self, row_ids: list[int], now: datetime) -> None:
        """Mark several rows sent in one transaction (one statement, many parameter sets)."""
        if not row_ids:
            return
        with self._engine.begin() as connection:
            connection.execute(_SENT, [{"row_id": i, "claimer": self.claimer, "at": now} for i in row_ids])

    def retry(self, row_id: int, at: datetime, error: str, *, count_attempt: bool = True) -> None:
        self._finish(_RETRY, row_id, at=at, error=error[:500], counted=1 if count_attempt else 0)

    def defer(self, row_id: int, at: datetime) -> None:
        """Back to the queue until ``at``, as it was: no attempt counted, no error recorded."""
        self._finish(_DEFER, row_id, at=at)

    def give_up(self, row_id: int, error: str, status: Status = Status.FAILED) -> None:
        self._finish(_GIVE_UP, row_id, error=error[:500], final=status.value)

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
            candidates = select(_identities.c.platform, _identities.c.user_id).where(
                _identities.c.member_id == row.member_id, _identities.c.unreachable.is_(False)
            )
            announcement = (row.batch or "").startswith("announce:")
            if announcement and self._dm_opt_in:
                opted_in = connection.execute(
                    select(_members.c.announcement_dms).where(_members.c.id == row.member_id)
                ).scalar()
                if not opted_in:
                    candidates = candidates.where(_identities.c.platform.not_in(self._dm_opt_in))
            other = connection.execute(candidates.order_by(_identities.c.id).limit(1)).first()
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
            if self._postgres:  # the other platform's relays, in whichever process, wake at the commit
                notice = {"channel": OUTBOX_CHANNEL, "platform": other.platform}
                connection.execute(text("SELECT pg_notify(:channel, :platform)"), notice)
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
