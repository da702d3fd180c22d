"""Mentorships, matching runs, coffee rounds and their schedules."""

from __future__ import annotations

import builtins
import zlib
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from bot.mentoring.model import CoffeeRound, MatchRun, Mentorship, MentorshipStatus
from storage.models import CoffeeRoundRow, CoffeeScheduleRow, MatchRunRow, MentorshipRow
from storage.repositories.delivery import _insert


class SqlMentoringRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # --- mentorships -------------------------------------------------------------------------

    def add(self, mentorship: Mentorship) -> Mentorship:
        row = MentorshipRow()
        _copy(mentorship, row)
        self._session.add(row)
        self._session.flush()
        mentorship.id = row.id
        return mentorship

    def get(self, mentorship_id: int, *, lock: bool = False) -> Mentorship | None:
        row = self._session.get(MentorshipRow, mentorship_id, with_for_update=lock or None, populate_existing=lock)
        return None if row is None else _mentorship(row)

    def save(self, mentorship: Mentorship) -> None:
        row = self._session.get(MentorshipRow, mentorship.id)
        if row is None:
            raise LookupError(f"no mentorship {mentorship.id}")
        _copy(mentorship, row)
        self._session.flush()

    def active(self) -> builtins.list[Mentorship]:
        rows = self._session.scalars(
            select(MentorshipRow)
            .where(MentorshipRow.status == MentorshipStatus.ACTIVE.value)
            .order_by(MentorshipRow.id)
        )
        return [_mentorship(row) for row in rows]

    def of_member(self, member_id: int) -> builtins.list[Mentorship]:
        rows = self._session.scalars(
            select(MentorshipRow)
            .where((MentorshipRow.mentor_id == member_id) | (MentorshipRow.mentee_id == member_id))
            .order_by(MentorshipRow.id)
        )
        return [_mentorship(row) for row in rows]

    def load_by_mentor(self) -> dict[int, int]:
        """Active mentees per mentor."""
        rows = self._session.execute(
            select(MentorshipRow.mentor_id, func.count())
            .where(MentorshipRow.status == MentorshipStatus.ACTIVE.value)
            .group_by(MentorshipRow.mentor_id)
        )
        return {mentor: int(n) for mentor, n in rows}

    def pairs_ever(self) -> set[tuple[int, int]]:
        """(mentee, mentor) of every mentorship there ever was."""
        return {
            (mentee, mentor)
            for mentee, mentor in self._session.execute(select(MentorshipRow.mentee_id, MentorshipRow.mentor_id))
        }

    def serialize(self, name: str) -> None:
        if self._session.get_bind().dialect.name == "postgresql":
            key = zlib.crc32(f"twinbot:{name}".encode())
            self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    # --- matching runs -----------------------------------------------------------------------

    def add_run(self, run: MatchRun) -> MatchRun:
        row = MatchRunRow(
            author_id=run.author_id,
            created_at=run.created_at,
            proposals=run.proposals,
            unmatched=run.unmatched,
            confirmed=run.confirmed,
        )
        self._session.add(row)
        self._session.flush()
        run.id = row.id
        return run

    def latest_run(self, author_id: int | None, *, lock: bool = False) -> MatchRun | None:
        query = select(MatchRunRow).where(MatchRunRow.author_id == author_id).order_by(MatchRunRow.id.desc())
        if lock:
            query = query.with_for_update()
        row = self._session.scalars(query.limit(1)).first()
        if row is None:
            return None
        return MatchRun(
            id=row.id,
            author_id=row.author_id,
            created_at=row.created_at,
            proposals=list(row.proposals),
            unmatched=list(row.unmatched),
            confirmed=row.confirmed,
        )

    def confirm_run(self, run_id: int) -> bool:
        """Mark a run confirmed; False if it was confirmed already (a second press)."""
        row = self._session.get(MatchRunRow, run_id, with_for_update=True)
        if row is None or row.confirmed:
            return False
        row.confirmed = True
        self._session.flush()
        return True

    # --- coffee ------------------------------------------------------------------------------

    def add_round(self, coffee: CoffeeRound) -> CoffeeRound:
        row = CoffeeRoundRow(scope=coffee.scope, created_at=coffee.created_at, groups=coffee.groups)
        self._session.add(row)
        self._session.flush()
        coffee.id = row.id
        return coffee

    def recent_rounds(self, scope: str, limit: int) -> builtins.list[CoffeeRound]:
        rows = self._session.scalars(
            select(CoffeeRoundRow).where(CoffeeRoundRow.scope == scope).order_by(CoffeeRoundRow.id.desc()).limit(limit)
        )
        return [_round(row) for row in rows]

    def rounds_to_follow_up(self, before: datetime) -> builtins.list[CoffeeRound]:
        rows = self._session.scalars(
            select(CoffeeRoundRow)
            .where(CoffeeRoundRow.followup_sent.is_(False), CoffeeRoundRow.created_at <= before)
            .order_by(CoffeeRoundRow.id)
            .with_for_update(skip_locked=True)
        )
        return [_round(row) for row in rows]

    def get_round(self, round_id: int, *, lock: bool = False) -> CoffeeRound | None:
        row = self._session.get(CoffeeRoundRow, round_id, with_for_update=lock or None, populate_existing=lock)
        return None if row is None else _round(row)

    def save_round(self, coffee: CoffeeRound) -> None:
        row = self._session.get(CoffeeRoundRow, coffee.id)
        if row is None:
            raise LookupError(f"no coffee round {coffee.id}")
        row.groups = [list(g) for g in coffee.groups]
        row.followup_sent = coffee.followup_sent
        row.met = dict(coffee.met)
        self._session.flush()

    def set_schedule(self, scope: str, cron: str, time_zone: str) -> None:
        statement = (
            _insert(self._session, CoffeeScheduleRow)
            .values(scope=scope, cron=cron, time_zone=time_zone)
            .on_conflict_do_update(index_elements=["scope"], set_={"cron": cron, "time_zone": time_zone})
        )
        self._session.execute(statement)

    def clear_schedule(self, scope: str) -> bool:
        result = self._session.execute(delete(CoffeeScheduleRow).where(CoffeeScheduleRow.scope == scope))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def schedules(self) -> builtins.list[tuple[str, str, str]]:
        rows = self._session.execute(
            select(CoffeeScheduleRow.scope, CoffeeScheduleRow.cron, CoffeeScheduleRow.time_zone).order_by(
                CoffeeScheduleRow.scope
            )
        )
        return [(scope, cron, zone) for scope, cron, zone in rows]


def _copy(m: Mentorship, row: MentorshipRow) -> None:
    row.mentor_id = m.mentor_id
    row.mentee_id = m.mentee_id
    row.status = m.status.value
    row.score = m.score
    row.reasons = [list(r) for r in m.reasons]
    row.created_at = m.created_at
    row.ended_at = m.ended_at
    row.ended_by = m.ended_by
    row.end_reason = m.end_reason
    row.checkin_sent = m.checkin_sent
    row.feedback_sent = m.feedback_sent
    row.met = dict(m.met)
    row.feedback = dict(m.feedback)
    row.notes = dict(m.notes)


def _mentorship(row: MentorshipRow) -> Mentorship:
    return Mentorship(
        id=row.id,
        mentor_id=row.mentor_id,
        mentee_id=row.mentee_id,
        status=MentorshipStatus(row.status),
        score=row.score,
        reasons=[(str(code), str(detail)) for code, detail in row.reasons or []],
        created_at=row.created_at,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
        end_reason=row.end_reason,
        checkin_sent=row.checkin_sent,
        feedback_sent=row.feedback_sent,
        met=dict(row.met or {}),
        feedback=dict(row.feedback or {}),
        notes=dict(row.notes or {}),
    )


def _round(row: CoffeeRoundRow) -> CoffeeRound:
    return CoffeeRound(
        id=row.id,
        scope=row.scope,
        created_at=row.created_at,
        groups=[list(g) for g in row.groups],
        followup_sent=row.followup_sent,
        met=dict(row.met or {}),
    )
