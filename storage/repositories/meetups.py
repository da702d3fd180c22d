"""Meetups and the members' answers to them."""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.audience import Audience
from bot.meetups.model import Attendance, Meetup, MeetupStatus, Rsvp
from storage.models import AttendanceRow, MeetupRow
from storage.repositories.delivery import _insert


class SqlMeetupRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, meetup: Meetup) -> Meetup:
        row = MeetupRow()
        _copy(meetup, row)
        self._session.add(row)
        self._session.flush()
        meetup.id = row.id
        return meetup

    def get(self, meetup_id: int, *, lock: bool = False) -> Meetup | None:
        row = self._session.get(MeetupRow, meetup_id, with_for_update=lock or None, populate_existing=lock)
        return None if row is None else _meetup(row)

    def save(self, meetup: Meetup) -> None:
        row = self._session.get(MeetupRow, meetup.id)
        if row is None:
            raise LookupError(f"no meetup {meetup.id}")
        _copy(meetup, row)
        self._session.flush()

    def by_code(self, code: str) -> Meetup | None:
        row = self._session.scalars(select(MeetupRow).where(MeetupRow.checkin_code == code)).first()
        return None if row is None else _meetup(row)

    def upcoming(self, after: datetime, limit: int) -> builtins.list[Meetup]:
        """Published meetups starting after ``after``, soonest first."""
        rows = self._session.scalars(
            select(MeetupRow)
            .where(MeetupRow.status == MeetupStatus.PUBLISHED.value, MeetupRow.starts_at > after)
            .order_by(MeetupRow.starts_at, MeetupRow.id)
            .limit(limit)
        )
        return [_meetup(row) for row in rows]

    def attendance(self, meetup_id: int, member_id: int) -> Attendance | None:
        row = self._session.get(AttendanceRow, (meetup_id, member_id), populate_existing=True)
        return None if row is None else _attendance(row)

    def attendances(self, meetup_id: int) -> builtins.list[Attendance]:
        rows = self._session.scalars(
            select(AttendanceRow)
            .where(AttendanceRow.meetup_id == meetup_id)
            .order_by(AttendanceRow.position, AttendanceRow.member_id)
        )
        return [_attendance(row) for row in rows]

    def seats_taken(self, meetup_id: int, but: int | None = None) -> int:
        query = select(func.coalesce(func.sum(1 + AttendanceRow.guests), 0)).where(
            AttendanceRow.meetup_id == meetup_id, AttendanceRow.status == Rsvp.GOING.value
        )
        if but is not None:
            query = query.where(AttendanceRow.member_id != but)
        return int(self._session.scalar(query) or 0)

    def waitlist(self, meetup_id: int) -> builtins.list[Attendance]:
        rows = self._session.scalars(
            select(AttendanceRow)
            .where(AttendanceRow.meetup_id == meetup_id, AttendanceRow.status == Rsvp.WAITLIST.value)
            .order_by(AttendanceRow.position)
        )
        return [_attendance(row) for row in rows]

    def next_position(self, meetup_id: int) -> int:
        found = self._session.scalar(
            select(func.max(AttendanceRow.position)).where(AttendanceRow.meetup_id == meetup_id)
        )
        return int(found or 0) + 1

    def put(self, attendance: Attendance) -> None:
        values = {
            "status": attendance.status.value,
            "guests": attendance.guests,
            "position": attendance.position,
            "checked_in": attendance.checked_in,
        }
        statement = (
            _insert(self._session, AttendanceRow)
            .values(meetup_id=attendance.meetup_id, member_id=attendance.member_id, **values)
            .on_conflict_do_update(index_elements=["meetup_id", "member_id"], set_=values)
        )
        self._session.execute(statement)

    def of_member(self, member_id: int, meetup_ids: builtins.list[int]) -> dict[int, Attendance]:
        if not meetup_ids:
            return {}
        rows = self._session.scalars(
            select(AttendanceRow).where(AttendanceRow.member_id == member_id, AttendanceRow.meetup_id.in_(meetup_ids))
        )
        return {row.meetup_id: _attendance(row) for row in rows}

    def attended(self, meetup_id: int) -> builtins.list[int]:
        query = select(AttendanceRow.member_id).where(
            AttendanceRow.meetup_id == meetup_id, AttendanceRow.checked_in.is_(True)
        )
        return list(self._session.scalars(query.order_by(AttendanceRow.member_id)))


def _copy(meetup: Meetup, row: MeetupRow) -> None:
    row.author_id = meetup.author_id
    row.title = meetup.title
    row.description = meetup.description
    row.chapter = meetup.chapter
    row.starts_at = meetup.starts_at
    row.duration_s = int(meetup.duration.total_seconds())
    row.place = meetup.place
    row.audience = meetup.audience.to_json()
    row.capacity = meetup.capacity
    row.rsvp_deadline = meetup.rsvp_deadline
    row.status = meetup.status.value
    row.checkin_code = meetup.checkin_code
    row.revision = meetup.revision
    row.reminders_sent = list(meetup.reminders_sent)
    row.followup_survey_id = meetup.followup_survey_id
    row.created_at = meetup.created_at


def _meetup(row: MeetupRow) -> Meetup:
    return Meetup(
        id=row.id,
        author_id=row.author_id,
        title=row.title,
        description=row.description,
        chapter=row.chapter,
        starts_at=row.starts_at,
        duration=timedelta(seconds=row.duration_s),
        place=row.place,
        audience=Audience.from_json(row.audience),
        capacity=row.capacity,
        rsvp_deadline=row.rsvp_deadline,
        status=MeetupStatus(row.status),
        checkin_code=row.checkin_code,
        revision=row.revision,
        reminders_sent=list(row.reminders_sent or []),
        followup_survey_id=row.followup_survey_id,
        created_at=row.created_at,
    )


def _attendance(row: AttendanceRow) -> Attendance:
    return Attendance(
        meetup_id=row.meetup_id,
        member_id=row.member_id,
        status=Rsvp(row.status),
        guests=row.guests,
        position=row.position,
        checked_in=row.checked_in,
    )
