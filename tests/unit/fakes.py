"""In-memory fakes of the core's ports, in the manner of cosmicpython's FakeUnitOfWork."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Self

from bot.dialogs.state import DialogState
from bot.events import ChatRef
from bot.members import Identity, Member, Role, RoleGrant
from bot.ports import IdentityTaken


@dataclass
class FakeDatabase:
    """What a FakeUnitOfWork commits to; shared by every unit of work of one test."""

    members: dict[int, Member] = field(default_factory=dict)
    identities: dict[tuple[str, str], int] = field(default_factory=dict)
    roles: set[tuple[int, Role, str | None]] = field(default_factory=set)
    dialogs: dict[tuple[str, str], DialogState] = field(default_factory=dict)
    link_codes: dict[str, tuple[int, datetime, bool]] = field(default_factory=dict)
    commits: int = 0


class FakeMembers:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def get(self, member_id: int) -> Member | None:
        return self.db.members.get(member_id)

    def by_identity(self, platform: str, user_id: str) -> Member | None:
        member_id = self.db.identities.get((platform, user_id))
        return self.db.members.get(member_id) if member_id is not None else None

    def add(self, member: Member) -> Member:
        member.id = max(self.db.members, default=0) + 1
        self.db.members[member.id] = member
        return member

    def save(self, member: Member) -> None:
        assert member.id is not None
        self.db.members[member.id] = member

    def list(self, chapter: str | None = None) -> list[Member]:
        return [m for _, m in sorted(self.db.members.items()) if chapter is None or m.home_chapter == chapter]

    def count(self) -> int:
        return len(self.db.members)

    def identities(self, member_id: int) -> list[Identity]:
        return [Identity(p, u) for (p, u), m in self.db.identities.items() if m == member_id]

    def add_identity(self, member_id: int, platform: str, user_id: str) -> None:
        owner = self.db.identities.get((platform, user_id))
        if owner is not None and owner != member_id:
            raise IdentityTaken(f"{platform}:{user_id}")
        self.db.identities[(platform, user_id)] = member_id

    def roles(self, member_id: int) -> list[RoleGrant]:
        return [RoleGrant(r, c) for m, r, c in sorted(self.db.roles, key=str) if m == member_id]

    def grant(self, member_id: int, role: Role, chapter: str | None) -> bool:
        key = (member_id, role, chapter)
        if key in self.db.roles:
            return False
        self.db.roles.add(key)
        return True


class FakeDialogs:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def get(self, chat: ChatRef) -> DialogState | None:
        state = self.db.dialogs.get((chat.platform, chat.chat_id))
        return copy.deepcopy(state)

    def put(self, chat: ChatRef, state: DialogState) -> None:
        self.db.dialogs[(chat.platform, chat.chat_id)] = copy.deepcopy(state)

    def delete(self, chat: ChatRef) -> None:
        self.db.dialogs.pop((chat.platform, chat.chat_id), None)


class FakeLinkCodes:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def add(self, code_hash: str, member_id: int, expires_at: datetime) -> None:
        self.db.link_codes[code_hash] = (member_id, expires_at, False)

    def take(self, code_hash: str, now: datetime) -> int | None:
        entry = self.db.link_codes.get(code_hash)
        if entry is None or entry[2] or entry[1] <= now:
            return None
        self.db.link_codes[code_hash] = (entry[0], entry[1], True)
        return entry[0]


class FakeUnitOfWork:
    """Works on a private copy of the database; commit() publishes it, exit drops the rest."""

    def __init__(self, db: FakeDatabase) -> None:
        self.shared = db

    def __enter__(self) -> Self:
        self.work = copy.deepcopy(self.shared)
        self.members = FakeMembers(self.work)
        self.dialogs = FakeDialogs(self.work)
        self.link_codes = FakeLinkCodes(self.work)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.work = copy.deepcopy(self.shared)

    def commit(self) -> None:
        for name in ("members", "identities", "roles", "dialogs", "link_codes"):
            setattr(self.shared, name, copy.deepcopy(getattr(self.work, name)))
        self.shared.commits += 1

    def rollback(self) -> None:
        self.work = copy.deepcopy(self.shared)
