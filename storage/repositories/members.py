"""Members, their platform identities and their roles."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.members import Identity, Member, Role, RoleGrant
from bot.ports import IdentityTaken
from storage.models import NETWORK_WIDE, IdentityRow, MemberRow, RoleRow, utcnow

_members: Table = MemberRow.__table__  # type: ignore[assignment]
_identities: Table = IdentityRow.__table__  # type: ignore[assignment]
_roles: Table = RoleRow.__table__  # type: ignore[assignment]

_FIELDS = (
    "display_name",
    "consent_at",
    "home_chapter",
    "languages",
    "interests",
    "time_zone",
    "bio",
    "is_mentor",
    "is_mentee",
    "preferred_language",
    "detected_language",
    "announcements_muted",
    "quiet_start",
    "quiet_end",
    "announcement_dms",
    "expertise",
    "mentor_capacity",
    "learning",
    "preferred_chapter",
    "paused_until",
    "coffee",
)

# The reads and writes of every event, prepared once: plain SQL rows, no ORM entities.
_BY_ID = select(_members).where(_members.c.id == bindparam("member_id"))
_BY_IDENTITY = (
    select(_members)
    .join(_identities, _identities.c.member_id == _members.c.id)
    .where(_identities.c.platform == bindparam("b_platform"), _identities.c.user_id == bindparam("b_user_id"))
)
_SAVE = (
    update(_members)
    .where(_members.c.id == bindparam("member_id"))
    .values(**{name: bindparam(f"v_{name}") for name in _FIELDS}, updated_at=bindparam("v_updated_at"))
)
_IDENTITIES = (
    select(_identities.c.platform, _identities.c.user_id, _identities.c.unreachable)
    .where(_identities.c.member_id == bindparam("member_id"))
    .order_by(_identities.c.id)
)
_ROLES = (
    select(_roles.c.role, _roles.c.chapter, _roles.c.source)
    .where(_roles.c.member_id == bindparam("member_id"))
    .order_by(_roles.c.id)
)
#: "Last seen" is written when it is older than this (or, after a clock change, in the future).
TOUCH_EVERY = timedelta(hours=12)
_TOUCH = (
    update(_members)
    .where(
        _members.c.id == bindparam("member_id"),
        or_(_members.c.updated_at < bindparam("v_stale"), _members.c.updated_at > bindparam("v_at")),
    )
    .values(updated_at=bindparam("v_at"))
)


class SqlMemberRepository:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._seen: dict[int, datetime] = {}  # member id -> updated_at as last read

    # -- members -------------------------------------------------------------------------

    def get(self, member_id: int) -> Member | None:
        row = self._session.connection().execute(_BY_ID, {"member_id": member_id}).first()
        return None if row is None else self._read(row)

    def _read(self, row: Any) -> Member:
        self._seen[row.id] = row.updated_at
        return _to_member(row)

    def get_many(self, member_ids: builtins.list[int]) -> dict[int, Member]:
        found: dict[int, Member] = {}
        for start in range(0, len(member_ids), 500):
            rows = self._session.scalars(select(MemberRow).where(MemberRow.id.in_(member_ids[start : start + 500])))
            found.update((row.id, _to_member(row)) for row in rows)
        return found

    def by_identity(self, platform: str, user_id: str) -> Member | None:
        row = self._session.connection().execute(_BY_IDENTITY, {"b_platform": platform, "b_user_id": user_id}).first()
        return None if row is None else self._read(row)

    def touch(self, member_id: int, at: datetime) -> None:
        # The row was read for this event already: most events write nothing here.
        seen = self._seen.get(member_id)
        if seen is not None and at - TOUCH_EVERY <= seen <= at:
            return
        self._session.connection().execute(_TOUCH, {"member_id": member_id, "v_at": at, "v_stale": at - TOUCH_EVERY})
        self._seen[member_id] = at

    def add(self, member: Member) -> Member:
        if member.id is not None:
            raise ValueError(f"member {member.id} is stored already; use save()")
        row = MemberRow()
        _copy_to_row(member, row)
        self._session.add(row)
        self._session.flush()
        member.id = row.id
        return member

    def save(self, member: Member) -> None:
        if member.id is None:
            raise ValueError("member has no id; use add()")
        self._session.flush()  # anything pending through the ORM goes first
        values = {f"v_{name}": getattr(member, name) for name in _FIELDS}
        values["v_languages"], values["v_interests"] = list(member.languages), list(member.interests)
        values["v_expertise"], values["v_learning"] = list(member.expertise), list(member.learning)
        result = self._session.connection().execute(_SAVE, {"member_id": member.id, "v_updated_at": utcnow(), **values})
        if not result.rowcount:
            raise LookupError(f"no member {member.id}")
        stale = self._session.identity_map.get(self._session.identity_key(MemberRow, member.id))
        if stale is not None:
            self._session.expire(stale)

    def list(self, chapter: str | None = None) -> builtins.list[Member]:
        query = select(MemberRow).order_by(MemberRow.id)
        if chapter is not None:
            query = query.where(MemberRow.home_chapter == chapter)
        return _to_members(self._session.scalars(query))

    def count(self) -> int:
        return self._session.scalar(select(func.count()).select_from(MemberRow)) or 0

    def find(self, query: str) -> builtins.list[Member]:
        """Members matching ``query`` as an id, a "platform:user_id" or an exact display
        name (case-insensitive); for the operator's command line. Ordered by id."""
        query = query.strip()
        if not query:
            return []
        found: dict[int, MemberRow] = {}
        if query.isdigit():
            row = self._session.get(MemberRow, int(query))
            if row is not None:
                found[row.id] = row
        platform, colon, user_id = query.partition(":")
        if colon and platform and user_id:
            member = self._session.scalar(
                select(MemberRow)
                .join(IdentityRow, IdentityRow.member_id == MemberRow.id)
                .where(
                    IdentityRow.platform == platform.strip().lower(),
                    IdentityRow.user_id == user_id.strip(),
                )
            )
            if member is not None:
                found[member.id] = member
        for row in self._by_name(query):
            found[row.id] = row
        return _to_members(found[key] for key in sorted(found))

    def _by_name(self, name: str) -> builtins.list[MemberRow]:
        rows = list(self._session.scalars(select(MemberRow).where(func.lower(MemberRow.display_name) == name.lower())))
        if rows or name.isascii():
            return rows
        # SQLite's lower() (and PostgreSQL's under the C locale) folds ASCII only.
        folded = name.casefold()
        return [row for row in self._session.scalars(select(MemberRow)) if row.display_name.casefold() == folded]

    # -- identities ----------------------------------------------------------------------

    def identities(self, member_id: int) -> builtins.list[Identity]:
        rows = self._session.connection().execute(_IDENTITIES, {"member_id": member_id})
        return [Identity(platform, user_id, bool(unreachable)) for platform, user_id, unreachable in rows]

    def identities_of(self, member_ids: builtins.list[int]) -> dict[int, builtins.list[Identity]]:
        found: dict[int, builtins.list[Identity]] = {member_id: [] for member_id in member_ids}
        for start in range(0, len(member_ids), 500):
            chunk = member_ids[start : start + 500]
            rows = self._session.execute(
                select(IdentityRow.member_id, IdentityRow.platform, IdentityRow.user_id, IdentityRow.unreachable)
                .where(IdentityRow.member_id.in_(chunk))
                .order_by(IdentityRow.id)
            )
            for member_id, platform, user_id, unreachable in rows:
                found[member_id].append(Identity(platform, user_id, unreachable))
        return found

    def mark_unreachable(self, platform: str, user_id: str) -> int | None:
        row = self._session.scalar(
            select(IdentityRow).where(IdentityRow.platform == platform, IdentityRow.user_id == user_id)
        )
        if row is None:
            return None
        row.unreachable = True
        self._session.flush()
        return row.member_id

    def add_identity(self, member_id: int, platform: str, user_id: str) -> None:
        owner = self._identity_owner(platform, user_id)
        if owner == member_id:
            return
        if owner is not None:
            raise IdentityTaken(f"{platform}:{user_id} belongs to another member")
        try:
            with self._session.begin_nested():
                self._session.add(IdentityRow(member_id=member_id, platform=platform, user_id=user_id))
        except IntegrityError:
            # Someone linked it in the meantime, or there is no such member.
            owner = self._identity_owner(platform, user_id)
            if owner == member_id:
                return
            if owner is not None:
                raise IdentityTaken(f"{platform}:{user_id} belongs to another member") from None
            raise

    def _identity_owner(self, platform: str, user_id: str) -> int | None:
        return self._session.scalar(
            select(IdentityRow.member_id).where(IdentityRow.platform == platform, IdentityRow.user_id == user_id)
        )

    # -- roles ---------------------------------------------------------------------------

    def roles(self, member_id: int) -> builtins.list[RoleGrant]:
        rows = self._session.connection().execute(_ROLES, {"member_id": member_id})
        return [RoleGrant(Role(role), chapter or None, source) for role, chapter, source in rows]

    def grant(self, member_id: int, role: Role, chapter: str | None, source: str = "") -> bool:
        stored_chapter = chapter or NETWORK_WIDE
        if self._has_grant(member_id, role, stored_chapter):
            return False
        try:
            with self._session.begin_nested():
                self._session.add(RoleRow(member_id=member_id, role=role.value, chapter=stored_chapter, source=source))
        except IntegrityError:
            if self._has_grant(member_id, role, stored_chapter):
                return False
            raise
        return True

    def revoke(self, member_id: int, role: Role, chapter: str | None, source: str) -> bool:
        rows = builtins.list(
            self._session.scalars(
                select(RoleRow).where(
                    RoleRow.member_id == member_id,
                    RoleRow.role == role.value,
                    RoleRow.chapter == (chapter or NETWORK_WIDE),
                    RoleRow.source == source,
                )
            )
        )
        for row in rows:
            self._session.delete(row)
        self._session.flush()
        return bool(rows)

    def _has_grant(self, member_id: int, role: Role, stored_chapter: str) -> bool:
        found = self._session.scalar(
            select(RoleRow.id).where(
                RoleRow.member_id == member_id,
                RoleRow.role == role.value,
                RoleRow.chapter == stored_chapter,
            )
        )
        return found is not None


def _to_member(row: Any) -> Member:
    """A Member from an ORM row or a plain SQL row of the members table."""
    # Lists are copied both ways: an in-place change to a list shared with the row would
    # also change the row's remembered value, and the change would never be written.
    return Member(
        id=row.id,
        display_name=row.display_name,
        consent_at=row.consent_at,
        home_chapter=row.home_chapter,
        languages=list(row.languages),
        interests=list(row.interests),
        time_zone=row.time_zone,
        bio=row.bio,
        is_mentor=row.is_mentor,
        is_mentee=row.is_mentee,
        preferred_language=row.preferred_language,
        detected_language=row.detected_language,
        announcements_muted=row.announcements_muted,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        announcement_dms=row.announcement_dms,
        expertise=list(row.expertise or []),
        mentor_capacity=row.mentor_capacity,
        learning=list(row.learning or []),
        preferred_chapter=row.preferred_chapter,
        paused_until=row.paused_until,
        coffee=row.coffee,
    )


def _to_members(rows: Iterable[MemberRow]) -> builtins.list[Member]:
    return [_to_member(row) for row in rows]


def _copy_to_row(member: Member, row: MemberRow) -> None:
    row.display_name = member.display_name
    row.consent_at = member.consent_at
    row.home_chapter = member.home_chapter
    row.languages = list(member.languages)
    row.interests = list(member.interests)
    row.time_zone = member.time_zone
    row.bio = member.bio
    row.is_mentor = member.is_mentor
    row.is_mentee = member.is_mentee
    row.preferred_language = member.preferred_language
    row.detected_language = member.detected_language
    row.announcements_muted = member.announcements_muted
    row.quiet_start = member.quiet_start
    row.quiet_end = member.quiet_end
    row.announcement_dms = member.announcement_dms
    row.expertise = list(member.expertise)
    row.mentor_capacity = member.mentor_capacity
    row.learning = list(member.learning)
    row.preferred_chapter = member.preferred_chapter
    row.paused_until = member.paused_until
    row.coffee = member.coffee
